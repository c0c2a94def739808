"""What a calculation needs to know about a household, as validated input.

The same model serves the API body, the CLI's JSON file, the scenario files and the registry (which
builds it from dated circumstances "as of" a day). Amounts are yuan per month unless named otherwise.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from minzheng.core.errors import InvalidInput
from minzheng.core.i18n import as_stored
from minzheng.registry.circumstances import EXCLUDED_INCOME, IncomeCategory
from minzheng.rules.money import FEN, parse_money

Money = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=2), AfterValidator(lambda v: v.quantize(FEN))
]
Area = Literal["urban", "rural"]
DisabilityCategory = Literal["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
SelfCare = Literal["self_care", "partly_lost", "fully_lost"]
LabourCapacity = Literal["full", "partial", "none"]
HouseholdStatus = Literal["none", "dibao", "near_poor", "extreme_poverty"]


class _Facts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Income(_Facts):
    category: str = Field(description="收入类别（registry IncomeCategory 的代码）")
    monthly_amount: Money

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in IncomeCategory.values:
            raise ValueError(f"未知的收入类别：{value}")
        return value

    @property
    def counted(self) -> bool:
        return self.category not in EXCLUDED_INCOME

    @property
    def label(self) -> str:
        return as_stored(IncomeCategory(self.category).label)


class DisabilityFacts(_Facts):
    category: DisabilityCategory
    grade: int = Field(ge=1, le=4)

    @property
    def is_severe(self) -> bool:
        """Grade 1-2, or grade 3 intellectual/mental (民发〔2021〕57号)."""
        return self.grade <= 2 or (self.grade == 3 and self.category in ("intellectual", "mental"))

    @property
    def means_no_labour_capacity(self) -> bool:
        """民发〔2021〕43号 第八条: intellectual/mental grade 1-3, physical grade 1-2, visual grade 1."""
        return (
            (self.category in ("intellectual", "mental") and self.grade <= 3)
            or (self.category == "physical" and self.grade <= 2)
            or (self.category == "visual" and self.grade == 1)
        )


class Member(_Facts):
    id: str = Field(min_length=1, max_length=40, description="成员标识（姓名或序号）")
    birth_date: date
    disability: DisabilityFacts | None = None
    serious_illness: bool = Field(False, description="患当地重特大疾病目录内疾病")
    labour_capacity: LabourCapacity | None = None
    self_care: SelfCare | None = None
    in_school_full_time: bool = False
    incomes: tuple[Income, ...] = ()
    # Extreme-poverty facts
    has_able_supporter: bool = Field(False, description="有法定赡养、抚养、扶养义务人且有履行能力")
    support_mode: Literal["home", "institutional"] = Field(
        "home", description="分散供养 home / 集中供养 institutional"
    )
    extreme_poverty_supported: bool = Field(False, description="已纳入特困人员救助供养")
    # Child allowance facts
    child_status: Literal["orphan", "unsupported"] | None = None
    child_care: Literal["scattered", "institutional"] = "scattered"
    other_child_payments: Money = Field(
        Decimal("0"), description="已领取的其他同类保障（如遗属抚恤）每月金额"
    )

    def age_on(self, day: date) -> int:
        """Completed years on `day` (a person born on 29 February has their birthday on 1 March in
        common years — the day after 28 February, as the bulk engine computes it too)."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    @property
    def counted_income(self) -> Decimal:
        return sum((i.monthly_amount for i in self.incomes if i.counted), Decimal("0.00"))


class TemporaryFacts(_Facts):
    type: Literal["emergency", "expense"]
    cause: str = Field("", max_length=200)
    requested_amount: Money = Field(Decimal("0"), description="急难型：经评估的救助需求金额")
    expenses: Money = Field(Decimal("0"), description="支出型：医疗、教育等自付费用合计")
    months_since_same_cause: int | None = Field(None, ge=0, description="距上次同一事由救助的月数")


class MedicalFacts(_Facts):
    member: str = Field(description="就医成员标识")
    eligible_costs: Money = Field(description="政策范围内个人自付费用")
    assisted_this_year: Money = Field(Decimal("0"), description="本年度已获医疗救助金额")


class HouseholdFacts(_Facts):
    region: str = Field(pattern=r"^\d{6}(\d{6})?$", description="县级或村级区划代码")
    area: Area
    date: dt.date
    members: tuple[Member, ...] = Field(min_length=1, max_length=30)
    rigid_expenses: Money = Field(Decimal("0"), description="医疗、残疾康复、教育等刚性支出（月均）")
    financial_assets: Money = Field(Decimal("0"), description="存款、有价证券等金融资产合计")
    household_status: HouseholdStatus = Field("none", description="家庭当前救助身份")
    individual_applicant: str | None = Field(None, description="单人户申请（重残、重病成员）的成员标识")
    temporary: TemporaryFacts | None = None
    medical: MedicalFacts | None = None

    @model_validator(mode="after")
    def _members_consistent(self) -> HouseholdFacts:
        ids = [m.id for m in self.members]
        if len(set(ids)) != len(ids):
            raise ValueError("成员标识不能重复")
        for ref in (self.individual_applicant, self.medical.member if self.medical else None):
            if ref is not None and ref not in ids:
                raise ValueError(f"成员 {ref} 不在家庭成员中")
        for member in self.members:
            if member.birth_date > self.date:
                raise ValueError(f"成员 {member.id} 的出生日期晚于计算日期")
        return self

    def member(self, member_id: str) -> Member:
        return next(m for m in self.members if m.id == member_id)


def parse_facts(data: Any, *, prefix: str = "") -> HouseholdFacts:
    """Validate raw input into HouseholdFacts, turning every problem into a field error."""
    try:
        return HouseholdFacts.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for err in exc.errors():
            path = ".".join(str(p) for p in err.get("loc", ())) or "__all__"
            fields.setdefault(prefix + path, []).append(str(err.get("msg", "无效")))
        raise InvalidInput("计算输入有误，请检查后重新提交", field_errors=fields) from exc


def parse_overrides(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput("假设参数必须是“参数名: 值”的对象", field_errors={"overrides": ["格式不正确"]})
    return {str(k): v if isinstance(v, list | dict) else str(v) for k, v in raw.items()}


__all__ = ["HouseholdFacts", "Income", "Member", "parse_facts", "parse_money"]
