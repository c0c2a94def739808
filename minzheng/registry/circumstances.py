"""Circumstances over time (家庭状况): disability, self-care, illness, labour capacity, employment,
schooling, income, assets and rigid expenses, each a dated record queryable "as of" any day.

A record is in force on day D when valid_from <= D and (valid_until is null or D <= valid_until).
Records are never edited in place: a change ends the old record and starts a new one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.registry.models import Household, Person


class DatedRecord(models.Model):
    valid_from = models.DateField(_("起始日期"))
    valid_until = models.DateField(_("截止日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    source = models.CharField(_("信息来源"), max_length=80, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("登记人"),
    )
    recorded_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["valid_from", "pk"]

    def in_force(self, day: object) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)  # type: ignore[operator]


def _period_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=models.F("valid_from")),
        name=f"{name}_period_ordered",
    )


class DisabilityCategory(models.TextChoices):
    VISUAL = "visual", _("视力残疾")
    HEARING = "hearing", _("听力残疾")
    SPEECH = "speech", _("言语残疾")
    PHYSICAL = "physical", _("肢体残疾")
    INTELLECTUAL = "intellectual", _("智力残疾")
    MENTAL = "mental", _("精神残疾")
    MULTIPLE = "multiple", _("多重残疾")


class Disability(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="disabilities")
    certificate_number = models.CharField(_("残疾证号"), max_length=30)
    category = models.CharField(_("残疾类别"), max_length=16, choices=DisabilityCategory.choices)
    grade = models.PositiveSmallIntegerField(_("残疾等级"), choices=[(g, f"{g}级") for g in range(1, 5)])

    class Meta(DatedRecord.Meta):
        verbose_name = _("残疾")
        constraints = [
            _period_check("disability"),
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=4), name="disability_grade_1_4"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}{self.grade}级"

    @property
    def is_severe(self) -> bool:
        """Grade 1-2, or grade 3 intellectual/mental (民发〔2021〕57号)."""
        return self.grade <= 2 or (
            self.grade == 3 and self.category in (DisabilityCategory.INTELLECTUAL, DisabilityCategory.MENTAL)
        )


class SelfCareLevel(models.TextChoices):
    SELF_CARE = "self_care", _("具备生活自理能力")
    PARTLY_LOST = "partly_lost", _("部分丧失生活自理能力")
    FULLY_LOST = "fully_lost", _("完全丧失生活自理能力")


SELF_CARE_ACTIVITIES = ("eating", "dressing", "bed_transfer", "toileting", "indoor_walking", "bathing")


def self_care_level(not_achieved: int) -> SelfCareLevel:
    """民发〔2021〕43号: all six achieved = self-care; 1-3 not achieved = partly lost; 4+ = fully lost."""
    if not_achieved == 0:
        return SelfCareLevel.SELF_CARE
    return SelfCareLevel.PARTLY_LOST if not_achieved <= 3 else SelfCareLevel.FULLY_LOST


class SelfCareAssessment(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="self_care_assessments")
    eating = models.BooleanField(_("进食"), default=True)
    dressing = models.BooleanField(_("穿衣"), default=True)
    bed_transfer = models.BooleanField(_("上下床"), default=True)
    toileting = models.BooleanField(_("如厕"), default=True)
    indoor_walking = models.BooleanField(_("室内行走"), default=True)
    bathing = models.BooleanField(_("洗澡"), default=True)
    level = models.CharField(_("自理能力"), max_length=16, choices=SelfCareLevel.choices)

    class Meta(DatedRecord.Meta):
        verbose_name = _("生活自理能力评估")
        constraints = [_period_check("selfcare")]

    def __str__(self) -> str:
        return self.get_level_display()

    @property
    def not_achieved(self) -> int:
        return sum(1 for a in SELF_CARE_ACTIVITIES if not getattr(self, a))


class Illness(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="illnesses")
    name = models.CharField(_("疾病名称"), max_length=80)
    is_listed_serious = models.BooleanField(_("属于当地重特大疾病目录"), default=False)

    class Meta(DatedRecord.Meta):
        verbose_name = _("疾病")
        constraints = [_period_check("illness")]

    def __str__(self) -> str:
        return self.name


class LabourCapacityLevel(models.TextChoices):
    FULL = "full", _("有劳动能力")
    PARTIAL = "partial", _("部分丧失劳动能力")
    NONE = "none", _("无劳动能力")


class LabourCapacity(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="labour_capacities")
    level = models.CharField(_("劳动能力"), max_length=8, choices=LabourCapacityLevel.choices)

    class Meta(DatedRecord.Meta):
        verbose_name = _("劳动能力")
        constraints = [_period_check("labour")]

    def __str__(self) -> str:
        return self.get_level_display()


class EmploymentStatus(models.TextChoices):
    EMPLOYED = "employed", _("在职")
    SELF_EMPLOYED = "self_employed", _("个体经营/灵活就业")
    FARMING = "farming", _("务农")
    UNEMPLOYED = "unemployed", _("失业")
    RETIRED = "retired", _("退休")
    NOT_IN_LABOUR_FORCE = "not_in_labour_force", _("非劳动力")


class Employment(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="employments")
    status = models.CharField(_("就业状况"), max_length=24, choices=EmploymentStatus.choices)
    employer = models.CharField(_("工作单位"), max_length=120, blank=True)

    class Meta(DatedRecord.Meta):
        verbose_name = _("就业")
        constraints = [_period_check("employment")]

    def __str__(self) -> str:
        return self.get_status_display()


class SchoolStage(models.TextChoices):
    PRESCHOOL = "preschool", _("学前教育")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("普通高中")
    VOCATIONAL = "vocational", _("中等职业教育")
    COLLEGE = "college", _("大专")
    BACHELOR = "bachelor", _("本科")
    POSTGRADUATE = "postgraduate", _("研究生")


class Schooling(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="schoolings")
    stage = models.CharField(_("学段"), max_length=16, choices=SchoolStage.choices)
    school = models.CharField(_("学校"), max_length=120, blank=True)
    full_time = models.BooleanField(_("全日制"), default=True)

    class Meta(DatedRecord.Meta):
        verbose_name = _("就学")
        constraints = [_period_check("schooling")]

    def __str__(self) -> str:
        return self.get_stage_display()


class IncomeCategory(models.TextChoices):
    # Counted (计入) — 民发〔2021〕57号
    WAGES = "wages", _("工资性收入（扣除必要就业成本）")
    BUSINESS = "business", _("经营净收入")
    PROPERTY = "property", _("财产净收入")
    SUPPORT_PAYMENT = "support_payment", _("赡养费、扶养费、抚养费")
    PENSION = "pension", _("离退休金、养老金（不含城乡居民基础养老金）")
    UNEMPLOYMENT_BENEFIT = "unemployment_benefit", _("失业保险金")
    COMPENSATION = "compensation", _("赔偿、补偿收入")
    OTHER = "other", _("其他应计入收入")
    # Not counted (不计入)
    SPECIAL_CARE = "special_care", _("优待抚恤金")
    FAMILY_PLANNING = "family_planning", _("计划生育奖励与扶助金")
    SCHOLARSHIP = "scholarship", _("奖学金、助学金")
    BRAVERY_AWARD = "bravery_award", _("见义勇为等奖励")
    SOCIAL_ASSISTANCE = "social_assistance", _("社会救助金")
    RESIDENT_BASIC_PENSION = "resident_basic_pension", _("城乡居民基本养老保险基础养老金")


EXCLUDED_INCOME: frozenset[str] = frozenset(
    {
        IncomeCategory.SPECIAL_CARE,
        IncomeCategory.FAMILY_PLANNING,
        IncomeCategory.SCHOLARSHIP,
        IncomeCategory.BRAVERY_AWARD,
        IncomeCategory.SOCIAL_ASSISTANCE,
        IncomeCategory.RESIDENT_BASIC_PENSION,
    }
)


class IncomeItem(DatedRecord):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="income_items")
    category = models.CharField(_("收入类别"), max_length=24, choices=IncomeCategory.choices)
    monthly_amount = models.DecimalField(_("月收入（元）"), max_digits=12, decimal_places=2)
    counted = models.BooleanField(_("计入家庭收入"))

    class Meta(DatedRecord.Meta):
        verbose_name = _("收入")
        constraints = [
            _period_check("income"),
            models.CheckConstraint(condition=models.Q(monthly_amount__gte=0), name="income_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.monthly_amount}"


class AssetKind(models.TextChoices):
    DEPOSIT = "deposit", _("存款")
    SECURITIES = "securities", _("有价证券、理财")
    VEHICLE = "vehicle", _("机动车辆")
    REAL_ESTATE = "real_estate", _("房产")
    BUSINESS = "business", _("工商登记、经营实体")
    OTHER = "other", _("其他财产")


class Asset(DatedRecord):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="assets")
    kind = models.CharField(_("财产类别"), max_length=16, choices=AssetKind.choices)
    value = models.DecimalField(_("价值（元）"), max_digits=14, decimal_places=2)
    description = models.CharField(_("描述"), max_length=200, blank=True)

    class Meta(DatedRecord.Meta):
        verbose_name = _("财产")
        constraints = [
            _period_check("asset"),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="asset_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class RigidExpenseKind(models.TextChoices):
    MEDICAL = "medical", _("医疗费用（自付）")
    DISABILITY = "disability", _("残疾康复、护理费用")
    EDUCATION = "education", _("教育费用")
    OTHER = "other", _("其他刚性支出")


class RigidExpense(DatedRecord):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="rigid_expenses")
    kind = models.CharField(_("支出类别"), max_length=16, choices=RigidExpenseKind.choices)
    monthly_amount = models.DecimalField(_("月均金额（元）"), max_digits=12, decimal_places=2)

    class Meta(DatedRecord.Meta):
        verbose_name = _("刚性支出")
        constraints = [
            _period_check("rigid_expense"),
            models.CheckConstraint(
                condition=models.Q(monthly_amount__gte=0), name="rigid_expense_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.monthly_amount}"


class ChildKind(models.TextChoices):
    ORPHAN = "orphan", _("孤儿")
    UNSUPPORTED = "unsupported", _("事实无人抚养儿童")


class ParentSituation(models.TextChoices):
    """A parent's situation as 民发〔2019〕62号 and 国办发〔2010〕54号 name them."""

    DEAD = "dead", _("死亡（含宣告死亡）")
    MISSING = "missing", _("失踪（含宣告失踪、失联满6个月）")
    SEVERELY_DISABLED = "severely_disabled", _("重度残疾")
    SERIOUSLY_ILL = "seriously_ill", _("重病")
    IMPRISONED = "imprisoned", _("服刑在押")
    COMPULSORY_REHAB = "compulsory_rehab", _("强制隔离戒毒")
    RESTRICTED = "restricted", _("被执行其他限制人身自由的措施")
    CUSTODY_REVOKED = "custody_revoked", _("被撤销监护资格")
    DEPORTED = "deported", _("被遣送（驱逐）出境")
    ABLE = "able", _("具备抚养能力")


# 孤儿: both parents dead or missing. 事实无人抚养儿童: both parents in one of the hardships, or one dead
# or missing and the other in a hardship (民发〔2019〕62号 第一条).
_GONE = {ParentSituation.DEAD, ParentSituation.MISSING}
_HARDSHIP = set(ParentSituation) - _GONE - {ParentSituation.ABLE}


class ChildCare(models.TextChoices):
    SCATTERED = "scattered", _("社会散居（亲属抚养、家庭寄养）")
    INSTITUTIONAL = "institutional", _("福利机构集中养育")


class ChildStatus(DatedRecord):
    """A child's standing as an orphan or a de-facto unsupported child, with each parent's situation
    and the evidence for it (death certificates, court declarations, custody or imprisonment papers,
    police reports of a missing parent): what the child allowance rests on."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="child_statuses")
    kind = models.CharField(_("儿童类别"), max_length=12, choices=ChildKind.choices)
    father = models.CharField(_("父亲情况"), max_length=20, choices=ParentSituation.choices)
    mother = models.CharField(_("母亲情况"), max_length=20, choices=ParentSituation.choices)
    evidence = models.CharField(
        _("证明材料"), max_length=300, help_text=_("如死亡证明、宣告失踪判决书、服刑证明的名称和编号")
    )
    care = models.CharField(
        _("养育方式"), max_length=16, choices=ChildCare.choices, default=ChildCare.SCATTERED
    )
    other_payments = models.DecimalField(
        _("其他同类保障（元/月）"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("如遗属抚恤金等已领取的同类保障，儿童基本生活费按差额补足"),
    )

    class Meta(DatedRecord.Meta):
        verbose_name = _("孤儿、事实无人抚养儿童认定")
        constraints = [
            _period_check("child_status"),
            models.CheckConstraint(
                condition=models.Q(other_payments__gte=0), name="child_status_payments_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors: dict[str, list[str]] = {}
        if not (self.evidence or "").strip():
            errors["evidence"] = ["须登记证明材料（如死亡证明、法院判决书、服刑证明）的名称和编号"]
        parents = {self.father, self.mother}
        gone = sum(1 for p in (self.father, self.mother) if p in _GONE)
        hardship = sum(1 for p in (self.father, self.mother) if p in _HARDSHIP)
        if self.kind == ChildKind.ORPHAN and gone < 2:
            errors["kind"] = ["孤儿须父母双方均已死亡或失踪"]
        elif self.kind == ChildKind.UNSUPPORTED:
            if gone == 2:
                errors["kind"] = ["父母双方均已死亡或失踪的，应认定为孤儿"]
            elif gone + hardship < 2 or ParentSituation.ABLE in parents:
                errors["kind"] = [
                    "事实无人抚养儿童须父母双方均有重残、重病、服刑在押等情形，或一方死亡、失踪而另一方有上述情形"
                ]
        if errors:
            raise ValidationError(errors)


PERSON_KINDS: dict[str, type[DatedRecord]] = {
    "disability": Disability,
    "self_care": SelfCareAssessment,
    "illness": Illness,
    "labour_capacity": LabourCapacity,
    "employment": Employment,
    "schooling": Schooling,
    "income": IncomeItem,
    "child_status": ChildStatus,
}
HOUSEHOLD_KINDS: dict[str, type[DatedRecord]] = {"asset": Asset, "rigid_expense": RigidExpense}
ALL_KINDS: dict[str, type[DatedRecord]] = {**PERSON_KINDS, **HOUSEHOLD_KINDS}
# Kinds where only one record can be in force at a time: a new one ends the previous one.
SINGLE_VALUED = frozenset({"self_care", "labour_capacity", "employment", "schooling", "child_status"})
