"""Grassroots capacity (基层民政服务能力): compliance against the county's norm set, norm sets, the
county's choice, population figures, purchased-service contracts and their evaluations, monthly
bulletins."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from minzheng.api.cases import In
from minzheng.api.org import ErrorOut, actor
from minzheng.core.inputs import BoundedDate, Line, Month
from minzheng.core.permissions import Perm
from minzheng.org.scope import require
from minzheng.oversight import selectors, services
from minzheng.oversight.models import NormSet

router = Router(tags=["基层能力建设 oversight"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
DivisionCode = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12位统计用区划代码")]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class NormCellOut(Schema):
    metric: str
    label: str
    required: Decimal | None = Field(description="标准要求；无人口数据或无该项标准时为空")
    actual: Decimal | None
    short: bool = Field(description="未达标")
    note: str


class UnitOut(Schema):
    code: str
    name: str
    level: int
    population: int | None
    population_year: int
    norm_set: str
    shortfalls: int
    cells: list[NormCellOut]
    facilities: list[NormCellOut]


class CountyRollupOut(Schema):
    code: str
    name: str
    norm_set: str
    townships: int
    townships_compliant: int
    compliance_percent: int
    shortfalls: int
    staff_required: Decimal
    staff_actual: Decimal
    short_by_norm: dict[str, int]


class ComplianceOut(Schema):
    code: str
    name: str
    on: date
    counties: list[CountyRollupOut]
    townships: list[UnitOut]
    villages: list[UnitOut]


class NormBandOut(Schema):
    metric: str
    population_min: int
    population_max: int | None
    value: Decimal
    quote: str


class NormSetOut(Schema):
    code: str
    name: str
    region_code: str
    source_document: str
    source_reference: str
    issued_on: date
    pre_job_training_required: bool
    window_sign_required: bool
    bands: list[NormBandOut]
    facilities: list[str]

    @staticmethod
    def resolve_bands(obj: NormSet) -> list[Any]:
        return list(obj.bands.all())

    @staticmethod
    def resolve_facilities(obj: NormSet) -> list[str]:
        return [f.label for f in obj.facility_items.all()]


class NormChoiceOut(Schema):
    id: int
    county_code: str = Field(alias="county_id")
    norm_set: str = Field(alias="norm_set.code")
    valid_from: date


class PopulationOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    year: int
    resident_population: int
    households: int | None
    source: str


class ContractOut(Schema):
    id: int
    number: str
    title: str
    county_code: str = Field(alias="county_id")
    provider: str = Field(alias="provider.name")
    provider_uscc: str = Field(alias="provider.uscc")
    mode: str
    category: str
    items: list[str]
    posts_count: int
    amount: Decimal
    funding_source: str
    share_percent: Decimal | None = Field(description="占当年困难群众救助资金的比例（%）")
    cap_percent: Decimal | None = Field(description="本省上限（%）")
    start_on: date
    end_on: date
    status: str


class EvaluationOut(Schema):
    id: int
    stage: str
    evaluator: str
    evaluated_on: date
    score: Decimal
    outcome: str
    barred_until: date | None
    note: str


class ContractDetailOut(ContractOut):
    posts_filled: int
    deliveries: int
    deliveries_confirmed: int
    evaluations: list[EvaluationOut]


class BulletinOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    month: date
    as_of: date
    sha256: str
    content: dict[str, Any]


class NormChoiceIn(In):
    county_code: DivisionCode
    norm_set: Line = Field(min_length=1, max_length=40, description="标准代码，如 yinchuan_2018")
    valid_from: BoundedDate
    reason: Line = Field(min_length=1, max_length=200)


class PopulationIn(In):
    division_code: DivisionCode
    year: int | None = Field(ge=2000, le=2100, description="年度（必填）")
    resident_population: int = Field(ge=0, le=10_000_000)
    households: int | None = Field(None, ge=0, le=10_000_000)
    source: Line = Field(min_length=1, max_length=120, description="数据来源")


class EvaluationIn(In):
    stage: Literal["routine", "mid_term", "final"]
    evaluator: Literal["bureau", "third_party", "satisfaction"]
    evaluated_on: BoundedDate
    score: Decimal = Field(ge=0, le=100, max_digits=4, decimal_places=1, description="得分（0–100）")
    outcome: Literal["continue", "rectify", "terminate", "bar"]
    barred_until: BoundedDate | None = None
    note: Line = Field("", max_length=300)


class BulletinIn(In):
    division_code: DivisionCode
    month: Month


class ComplianceFilter(In):
    code: DivisionCode | None = Field(None, description="区划；不填为本机构辖区")
    on: BoundedDate | None = Field(None, description="日期；不填为今天")


def _unit(row: selectors.UnitRow) -> dict[str, Any]:
    return selectors.as_dict(row)


def _contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    who = actor(request)
    contract = selectors.contract_get(actor=who, contract_id=contract_id)
    summary = selectors.contract_summary(actor=who, contract=contract)
    out = ContractOut.from_orm(contract).dict()
    return {
        **out,
        "posts_filled": summary.posts_filled,
        "deliveries": summary.deliveries,
        "deliveries_confirmed": summary.confirmed,
        "evaluations": list(contract.evaluations.all()),
    }


@router.get(
    "/oversight/compliance",
    response={200: ComplianceOut, **_READ_ERRORS},
    summary="达标情况：市、区看各县并列，县看各乡镇，乡镇看各村（标准要求与实际，未达标标红）",
)
def compliance(request: HttpRequest, filters: Query[ComplianceFilter]) -> dict[str, Any]:
    view = selectors.compliance(actor=actor(request), code=filters.code, on=filters.on)
    return {
        "code": view.division.code,
        "name": view.division.name,
        "on": view.on,
        "counties": [{**r.__dict__, "compliance_percent": r.compliance_percent} for r in view.counties],
        "townships": [_unit(r) for r in view.townships],
        "villages": [_unit(r) for r in view.villages],
    }


@router.get(
    "/oversight/norm-sets", response={200: list[NormSetOut], **_READ_ERRORS}, summary="能力建设标准及依据文件"
)
def norm_sets(request: HttpRequest) -> Any:
    require(actor(request), Perm.OVERSIGHT_VIEW)
    return NormSet.objects.prefetch_related("bands", "facility_items")


@router.post(
    "/oversight/norm-choices",
    response={201: NormChoiceOut, **_WRITE_ERRORS},
    summary="县（区）选择适用的标准（自某日起），所有差距按新标准重算",
)
def norm_choose(request: HttpRequest, payload: NormChoiceIn) -> Status:
    choice = services.county_norm_choose(
        actor=actor(request),
        county_code=payload.county_code,
        norm_set_code=payload.norm_set,
        valid_from=payload.valid_from,
        reason=payload.reason,
    )
    return Status(201, choice)


@router.post(
    "/oversight/population",
    response={201: PopulationOut, **_WRITE_ERRORS},
    summary="登记乡镇或村的年度常住人口（须注明年度和来源）",
)
def population(request: HttpRequest, payload: PopulationIn) -> Status:
    record = services.population_record(
        actor=actor(request),
        division_code=payload.division_code,
        year=payload.year,
        resident_population=payload.resident_population,
        households=payload.households,
        source=payload.source,
    )
    return Status(201, record)


@router.get(
    "/oversight/contracts", response={200: list[ContractOut], **_READ_ERRORS}, summary="政府购买服务合同"
)
def contracts(request: HttpRequest) -> Any:
    return selectors.contracts(actor=actor(request))[:500]


@router.get(
    "/oversight/contracts/{contract_id}",
    response={200: ContractDetailOut, **_READ_ERRORS},
    summary="购买服务合同：岗位到岗、服务记录、考核评价",
)
def contract(request: HttpRequest, contract_id: Id) -> dict[str, Any]:
    return _contract(request, contract_id)


@router.post(
    "/oversight/contracts/{contract_id}/evaluations",
    response={201: ContractDetailOut, **_WRITE_ERRORS},
    summary="登记考核评价（日常、中期、终期）及结论（继续、整改、终止、禁入）",
)
def evaluate(request: HttpRequest, contract_id: Id, payload: EvaluationIn) -> Status:
    services.evaluation_record(
        actor=actor(request),
        contract_id=contract_id,
        stage=payload.stage,
        evaluator=payload.evaluator,
        evaluated_on=payload.evaluated_on,
        score=payload.score,
        outcome=payload.outcome,
        barred_until=payload.barred_until,
        note=payload.note,
    )
    return Status(201, _contract(request, contract_id))


@router.get("/oversight/bulletins", response={200: list[BulletinOut], **_READ_ERRORS}, summary="月通报")
def bulletins(request: HttpRequest) -> Any:
    return selectors.bulletins(actor=actor(request))[:500]


@router.post(
    "/oversight/bulletins",
    response={201: BulletinOut, **_WRITE_ERRORS},
    summary="生成月通报：按月底数据固化，此后不再变化",
)
def bulletin_freeze(request: HttpRequest, payload: BulletinIn) -> Status:
    who = actor(request)
    content = selectors.bulletin_content(actor=who, division_code=payload.division_code, month=payload.month)
    bulletin = services.bulletin_freeze(
        actor=who, division_code=payload.division_code, month=payload.month, content=content
    )
    return Status(201, bulletin)


@router.get(
    "/oversight/bulletins/{bulletin_id}", response={200: BulletinOut, **_READ_ERRORS}, summary="月通报内容"
)
def bulletin(request: HttpRequest, bulletin_id: Id) -> Any:
    return selectors.bulletin_get(actor=actor(request), bulletin_id=bulletin_id)
