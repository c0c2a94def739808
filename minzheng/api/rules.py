"""Rules and parameters: the parameters in force, proposals with maker-checker approval, and
explainable calculations for one household (with what-if overrides)."""

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from minzheng.api.org import ErrorOut, actor
from minzheng.core.errors import InvalidInput, NotFound, OutOfScope
from minzheng.core.inputs import BoundedDate, Code, Line, Text
from minzheng.core.permissions import Perm
from minzheng.org.scope import jurisdiction_of, require
from minzheng.rules import selectors, services
from minzheng.rules.engine import calculate
from minzheng.rules.facts import HouseholdFacts, parse_overrides
from minzheng.rules.programmes import PROGRAMMES
from minzheng.rules.whatif import whatif_run

router = Router(tags=["规则与标准 rules"])


class ParameterOut(Schema):
    name: str
    description: str
    unit: str
    kind: str
    area: str
    value: str | None
    region: str | None = Field(description="取值所属地区代码：空为全国")
    effective_from: date | None
    reference: str
    provisional: bool


class ParameterValueOut(Schema):
    id: int
    name: str
    region: str
    area: str
    effective_from: date
    value: str
    reference: str
    provisional: bool
    source: str
    status: str
    reason: str
    proposed_by: str | None = Field(None, alias="proposed_by.username")
    decided_by: str | None = Field(None, alias="decided_by.username")
    decision_note: str
    superseded_by_id: int | None


class ProposalIn(Schema):
    name: Line = Field(max_length=80)
    region: Code = Field(max_length=12, description="空=全国；2/4/6位区划代码（须在本机构管辖范围内）")
    area: Line = Field("all", max_length=8, description="urban / rural（分城乡的参数），否则 all")
    effective_from: BoundedDate
    value: Any = Field(description="新值：金额、比例、整数、选项代码或表格（行的列表）")
    reference: Text = Field(max_length=300)
    reason: Text = Field(max_length=300)


class ParameterDecisionIn(Schema):
    note: Text = Field("", max_length=300)


class ProgrammeOut(Schema):
    code: str
    label: str
    period: str


class ReasonOut(Schema):
    code: str
    text: str
    met: bool
    member: str | None


class CalculationLineOut(Schema):
    code: str
    label: str
    amount: str
    explanation: str
    member: str | None


class ParameterUsedOut(Schema):
    name: str
    description: str
    unit: str
    value: str
    region: str
    area: str
    effective_from: date | None
    reference: str
    provisional: bool
    overridden: bool


class CalculationOut(Schema):
    programme: str
    programme_label: str
    engine_version: str
    eligible: bool
    status: str
    period: str
    amount: str
    monthly_amount: str | None
    approval_level: str
    rounding: str
    overridden: bool
    reasons: list[ReasonOut]
    lines: list[CalculationLineOut]
    parameters: list[ParameterUsedOut]
    facts: dict[str, Any]


class CalculationIn(HouseholdFacts):
    overrides: dict[str, Any] | None = Field(
        None, description="假设参数：{参数名: 值}，结果中标记为“假设值”，用于测算"
    )


class ParameterFilter(Schema):
    date: BoundedDate | None = Field(None, description="日期，默认今天")
    place: Code | None = Field(None, max_length=12, description="区划代码（6、9或12位），默认本机构所在地")


@router.get("/parameters", response=list[ParameterOut])
def parameter_list(request: HttpRequest, filters: Query[ParameterFilter]) -> list[dict[str, Any]]:
    staff = actor(request)
    require(staff, Perm.ORG_VIEW)
    day, place = filters.date, filters.place or jurisdiction_of(staff).division_code
    if not (place.isdigit() and len(place) in (6, 9, 12)):
        raise InvalidInput("区划代码格式不正确", field_errors={"place": ["应为6、9或12位数字"]})
    return [p.as_dict() for p in selectors.parameters_in_force(day=day or timezone.localdate(), place=place)]


@router.get("/parameters/{name}/values", response=list[ParameterValueOut])
def parameter_values(request: HttpRequest, name: str) -> Any:
    staff = actor(request)
    require(staff, Perm.ORG_VIEW)
    try:
        return list(selectors.parameter_history(actor=staff, name=name))
    except ValueError as exc:
        raise NotFound(str(exc)) from exc


@router.get("/parameter-proposals", response=list[ParameterValueOut])
def proposal_list(request: HttpRequest) -> Any:
    staff = actor(request)
    require(staff, Perm.ORG_VIEW)
    return list(selectors.proposals_pending(actor=staff))


@router.post("/parameter-proposals", response={201: ParameterValueOut, 403: ErrorOut, 422: ErrorOut})
def proposal_create(request: HttpRequest, payload: ProposalIn) -> Any:
    value = services.parameter_propose(actor=actor(request), **payload.dict())
    return Status(201, value)


@router.post(
    "/parameter-proposals/{value_id}/approve",
    response={200: ParameterValueOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def proposal_approve(request: HttpRequest, value_id: int, payload: ParameterDecisionIn) -> Any:
    return services.parameter_approve(actor=actor(request), value_id=value_id, note=payload.note)


@router.post(
    "/parameter-proposals/{value_id}/reject",
    response={200: ParameterValueOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def proposal_reject(request: HttpRequest, value_id: int, payload: ParameterDecisionIn) -> Any:
    return services.parameter_reject(actor=actor(request), value_id=value_id, note=payload.note)


@router.get("/programmes", response=list[ProgrammeOut])
def programme_list(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": p.code, "label": p.label, "period": p.period} for p in PROGRAMMES.values()]


@router.post("/calculations/{programme}", response={200: CalculationOut, 404: ErrorOut, 422: ErrorOut})
def calculation(request: HttpRequest, programme: str, payload: CalculationIn) -> Any:
    """Calculate one programme for the household described in the body. Nothing is stored."""
    staff = actor(request)
    require(staff, Perm.CASE_VIEW)
    prefix = jurisdiction_of(staff).prefix
    if not (payload.region.startswith(prefix) or prefix.startswith(payload.region)):
        raise OutOfScope("只能测算本机构管辖范围内的家庭")
    data = payload.model_dump()
    overrides = parse_overrides(data.pop("overrides", None))
    facts = HouseholdFacts.model_validate(data)
    return calculate(programme, facts, selectors.policy_table(), overrides=overrides).as_dict()


class WhatIfIn(Schema):
    programme: str = Field(
        description="dibao / extreme_poverty / elderly_allowance / disability_subsidy / child_allowance"
    )
    parameter: Line = Field(max_length=80, description="参数名称，如 dibao.standard")
    value: Any = Field(description="假设的新值")
    effective_from: BoundedDate = Field(description="自该日起（按该日的家庭情况测算）")
    area: Line = Field("all", max_length=8, description="urban / rural / all：分城乡参数只改其中一类时选择")
    place: Code = Field("", max_length=12, description="区划代码前缀，默认本机构管辖范围")
    change: Line = Field(
        "",
        max_length=20,
        description="逐户变化只列一类：newly_eligible / no_longer_eligible / gain / lose；空为全部",
    )
    page: int = Field(1, ge=1, le=1_000_000, description="逐户变化的页码")
    page_size: int = Field(50, ge=1, le=200, description="逐户变化每页条数")


class TownshipWhatIfOut(Schema):
    code: str
    name: str
    households: int
    eligible_before: int
    eligible_after: int
    monthly_cost_before: str
    monthly_cost_after: str


class WhatIfHouseholdOut(Schema):
    household_id: int
    number: str
    head_name: str
    village: str
    township: str
    change: str = Field(description="newly_eligible / no_longer_eligible / gain / lose")
    monthly_amount_before: str
    monthly_amount_after: str
    monthly_difference: str


class WhatIfOut(Schema):
    programme: str
    parameter: str
    parameter_description: str
    value: str
    area: str
    effective_from: date
    place: str
    households: int
    eligible_before: int
    eligible_after: int
    newly_eligible: int
    no_longer_eligible: int
    monthly_cost_before: str
    monthly_cost_after: str
    monthly_cost_change: str
    townships: list[TownshipWhatIfOut]
    change_counts: dict[str, int] = Field(description="逐户变化：各类户数")
    change: str
    changes_total: int
    page: int
    page_size: int
    changes: list[WhatIfHouseholdOut] = Field(description="逐户变化（本页）：户、乡镇、现行与假设月金额")


@router.post("/whatif", response={200: WhatIfOut, 403: ErrorOut, 422: ErrorOut})
def whatif(request: HttpRequest, payload: WhatIfIn) -> Any:
    """If a standard were X from a date: households gaining or losing eligibility in the caller's
    jurisdiction and the monthly cost, by township, and page by page the households that would gain,
    lose, newly qualify or stop qualifying. Nothing is stored."""
    return whatif_run(actor=actor(request), **payload.dict()).as_dict()
