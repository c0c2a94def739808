"""Grassroots capacity (基层民政服务能力): compliance against the county's norm set, norm sets, the
county's choice, population figures, purchased-service contracts and their evaluations, monthly
bulletins."""

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from minzheng.api.cases import FileTooLarge, In
from minzheng.api.org import ErrorOut, actor
from minzheng.cases.services import DOCUMENT_MAX_BYTES
from minzheng.core.errors import InvalidInput
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


_CONTRACT_FIELDS = (
    *("id", "number", "title", "county_id", "provider", "mode", "category", "items", "posts_count"),
    *("amount", "funding_source", "share_percent", "cap_percent", "start_on", "end_on", "status"),
)


def _contract(request: HttpRequest, contract_id: int) -> SimpleNamespace:
    # An object, not a dict: the output schema reads `county_id` and `provider.name` by attribute
    # (a dict of the schema's field names failed validation), and the contract's own `deliveries`
    # is a relation, not the count shown here.
    who = actor(request)
    contract = selectors.contract_get(actor=who, contract_id=contract_id)
    summary = selectors.contract_summary(actor=who, contract=contract)
    return SimpleNamespace(
        **{name: getattr(contract, name) for name in _CONTRACT_FIELDS},
        posts_filled=summary.posts_filled,
        deliveries=summary.deliveries,
        deliveries_confirmed=summary.confirmed,
        evaluations=list(contract.evaluations.all()),
    )


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
def contract(request: HttpRequest, contract_id: Id) -> SimpleNamespace:
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


# --- Offices and their resources: population, people and posts, qualifications, funding, facility
# checks with photos (multipart) ---------------------------------------------------------------------

Text300 = Annotated[str, Field(max_length=300)]
PostKindIn = Literal["full_time", "part_time", "village_assistant", "purchased_post", "social_worker"]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class EvidenceOut(Schema):
    id: int
    file_name: str
    content_type: str
    size: int
    sha256: str


class QualificationOut(Schema):
    id: int
    kind: str
    certificate_number: str
    obtained_on: date
    fee_reimbursed: Decimal | None


class PostOut(Schema):
    id: int
    worker_id: int
    division_code: str = Field(alias="division_id")
    post: str
    start_on: date
    end_on: date | None
    monthly_allowance: Decimal | None
    contract_id: int | None


class WorkerOut(Schema):
    id: int
    full_name: str
    division_code: str = Field(alias="division_id")
    staff_id: int | None
    phone: str
    posts: list[PostOut]
    qualifications: list[QualificationOut]

    @staticmethod
    def resolve_posts(obj: Any) -> list[Any]:
        return list(obj.assignments.all())

    @staticmethod
    def resolve_qualifications(obj: Any) -> list[Any]:
        return list(obj.qualifications.all())


class FundingOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    year: int
    budgeted: Decimal
    separately_listed: bool
    disbursed: Decimal
    source: str


class FacilityCheckOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    checked_on: date
    office_area_m2: Decimal
    window_has_sign: bool
    note: str
    items: dict[str, int] = Field(description="检查发现的设施及数量")
    evidence: list[EvidenceOut]

    @staticmethod
    def resolve_items(obj: Any) -> dict[str, int]:
        return {i.code: i.quantity for i in obj.items.all()}

    @staticmethod
    def resolve_evidence(obj: Any) -> list[Any]:
        return list(obj.evidence.all())


class OfficeResourcesOut(Schema):
    code: str
    name: str
    level: int
    population: list[PopulationOut]
    workers: list[WorkerOut]
    funding: list[FundingOut]
    facility_checks: list[FacilityCheckOut]
    facility_items: dict[str, str] = Field(description="适用标准的设施清单：代码 → 名称")


class WorkerIn(In):
    division_code: DivisionCode
    full_name: Line = Field(min_length=1, max_length=60)
    staff_id: Id | None = Field(None, description="有系统账号时填写")
    phone: Line = Field("", max_length=20)


class QualificationIn(In):
    kind: Literal["assistant_social_worker", "social_worker", "senior_social_worker"]
    certificate_number: Line = Field(min_length=1, max_length=40)
    obtained_on: BoundedDate
    fee_reimbursed: Amount | None = Field(None, description="报销的考试费用（元）")


class AssignmentIn(In):
    worker_id: Id
    division_code: DivisionCode
    post: PostKindIn
    start_on: BoundedDate
    end_on: BoundedDate | None = None
    monthly_allowance: Amount | None = Field(None, description="月津贴（元），协理员填写")
    contract_id: Id | None = Field(None, description="购买服务岗位所属的合同（岗位到岗）")


class FundingIn(In):
    division_code: DivisionCode
    year: int = Field(ge=2000, le=2100)
    budgeted: Amount
    separately_listed: bool
    disbursed: Amount = Decimal(0)
    source: Line = Field(min_length=1, max_length=120, description="资金来源或预算文件")


def _office(request: HttpRequest, code: str) -> dict[str, Any]:
    found = selectors.office(actor=actor(request), code=code)
    return {
        "code": found.division.code,
        "name": found.division.name,
        "level": found.division.level,
        "population": found.population,
        "workers": found.workers,
        "funding": found.funding,
        "facility_checks": found.checks,
        "facility_items": dict(found.facility_items),
    }


def _facility_items(raw: str) -> dict[str, int]:
    """The facilities found, as a JSON object of code → quantity."""
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in parsed.items()
    ):
        raise InvalidInput(
            '设施应为 JSON 对象，如 {"computer": 2}',
            field_errors={"items": ["应为设施代码到数量的 JSON 对象"]},
        )
    return parsed


@router.get(
    "/oversight/offices/{code}",
    response={200: OfficeResourcesOut, **_READ_ERRORS},
    summary="乡镇（街道）或村（社区）的人口、人员岗位、资格、经费和设施检查",
)
def office(request: HttpRequest, code: DivisionCode) -> dict[str, Any]:
    return _office(request, code)


@router.post("/oversight/workers", response={201: WorkerOut, **_WRITE_ERRORS}, summary="登记基层民政工作人员")
def worker_create(request: HttpRequest, payload: WorkerIn) -> Status:
    worker = services.worker_create(
        actor=actor(request),
        division_code=payload.division_code,
        full_name=payload.full_name,
        staff_id=payload.staff_id,
        phone=payload.phone,
    )
    return Status(201, worker)


@router.post(
    "/oversight/workers/{worker_id}/qualifications",
    response={201: WorkerOut, **_WRITE_ERRORS},
    summary="登记职业资格（社会工作者证书）",
)
def qualification(request: HttpRequest, worker_id: Id, payload: QualificationIn) -> Status:
    who = actor(request)
    services.qualification_record(
        actor=who,
        worker_id=worker_id,
        kind=payload.kind,
        certificate_number=payload.certificate_number,
        obtained_on=payload.obtained_on,
        fee_reimbursed=payload.fee_reimbursed,
    )
    return Status(201, selectors.worker_get(actor=who, worker_id=worker_id))


@router.post(
    "/oversight/assignments",
    response={201: PostOut, **_WRITE_ERRORS},
    summary="人员到岗（专职、兼职、协理员、购买服务岗位、社工）；购买服务岗位须注明合同",
)
def assignment(request: HttpRequest, payload: AssignmentIn) -> Status:
    post = services.assignment_create(
        actor=actor(request),
        worker_id=payload.worker_id,
        division_code=payload.division_code,
        post=payload.post,
        start_on=payload.start_on,
        end_on=payload.end_on,
        monthly_allowance=payload.monthly_allowance,
        contract_id=payload.contract_id,
    )
    return Status(201, post)


class AssignmentEndIn(In):
    end_on: BoundedDate
    reason: Line = Field(min_length=1, max_length=200, description="离岗原因")


@router.post(
    "/oversight/assignments/{assignment_id}/end",
    response={200: PostOut, **_WRITE_ERRORS},
    summary="人员离岗：自离岗次日起不再计入配备标准",
)
def assignment_end(request: HttpRequest, assignment_id: Id, payload: AssignmentEndIn) -> Any:
    return services.assignment_end(
        actor=actor(request), assignment_id=assignment_id, end_on=payload.end_on, reason=payload.reason
    )


@router.post(
    "/oversight/funding",
    response={201: FundingOut, **_WRITE_ERRORS},
    summary="登记乡镇年度工作经费（预算、是否单独列支、已拨付）",
)
def funding(request: HttpRequest, payload: FundingIn) -> Status:
    record = services.funding_record(
        actor=actor(request),
        division_code=payload.division_code,
        year=payload.year,
        budgeted=payload.budgeted,
        separately_listed=payload.separately_listed,
        disbursed=payload.disbursed,
        source=payload.source,
    )
    return Status(201, record)


@router.post(
    "/oversight/facility-checks",
    response={201: FacilityCheckOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="登记设施检查（面积、标志牌、设施清单），须上传现场照片（JPG、PNG 或 PDF，每个不超过10MB）",
)
def facility_check(
    request: HttpRequest,
    division_code: DivisionCode = Form(...),  # noqa: B008
    checked_on: BoundedDate = Form(...),  # noqa: B008
    office_area_m2: Decimal = Form(..., ge=0, max_digits=8, decimal_places=1),  # noqa: B008
    window_has_sign: bool = Form(...),
    items: str = Form(
        "{}", max_length=2000, pattern=r"^[^\x00]*$", description='设施及数量，JSON 对象，如 {"computer": 2}'
    ),
    note: str = Form("", max_length=300, pattern=r"^[^\x00]*$"),
    files: list[UploadedFile] = File(..., description="现场照片，可多个"),  # noqa: B008
) -> Status:
    uploads = _uploads(files)
    check = services.facility_check_record(
        actor=actor(request),
        division_code=division_code,
        checked_on=checked_on,
        office_area_m2=office_area_m2,
        window_has_sign=window_has_sign,
        items=_facility_items(items),
        evidence=uploads,
        note=note,
    )
    return Status(201, check)


def _uploads(files: list[UploadedFile]) -> list[services.Upload]:
    if len(files) > 10:
        raise InvalidInput("最多上传10个文件", field_errors={"files": ["最多上传10个文件"]})
    for file in files:
        if (file.size or 0) > DOCUMENT_MAX_BYTES:
            raise FileTooLarge(field_errors={"files": ["文件不能超过10MB"]})
    return [
        services.Upload(
            (file.name or "").replace("\x00", "") or "upload",
            file.content_type or "",
            file.read(DOCUMENT_MAX_BYTES + 1),
        )
        for file in files
    ]


# --- Training --------------------------------------------------------------------------------------


class TrainingPlanOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    year: int
    title: str
    planned_events: int
    held: int = Field(0, description="已举办期数")


class TrainingEventOut(Schema):
    id: int
    plan_id: int | None
    organiser_code: str = Field(alias="organiser_id")
    kind: str
    title: str
    start_on: date
    end_on: date
    days: Decimal
    location: str


class AttendanceOut(Schema):
    id: int
    worker_id: int
    worker_name: str = Field(alias="worker.full_name")
    days_attended: Decimal
    passed: bool
    certificate_number: str


class TrainingEventDetailOut(TrainingEventOut):
    attendance: list[AttendanceOut] = Field(description="本辖区人员的参训记录")


class PersonDaysOut(Schema):
    worker_id: int
    full_name: str
    division_code: str
    post: str
    days: Decimal
    required: Decimal | None = Field(description="人均培训天数标准；标准未规定时为空")
    short: bool
    pre_job: bool = Field(description="已有岗前培训记录")


class TrainingOverviewOut(Schema):
    year: int
    plans: list[TrainingPlanOut]
    events: list[TrainingEventOut]
    people: list[PersonDaysOut]


class TrainingFilter(In):
    year: int | None = Field(None, ge=2000, le=2100, description="年度；不填为今年")


class TrainingPlanIn(In):
    division_code: DivisionCode
    year: int = Field(ge=2000, le=2100)
    title: Line = Field(min_length=1, max_length=120)
    planned_events: int = Field(ge=1, le=100)


class TrainingEventIn(In):
    organiser_code: DivisionCode
    kind: Literal["pre_job", "business", "legal", "etiquette", "warning"]
    title: Line = Field(min_length=1, max_length=120)
    start_on: BoundedDate
    end_on: BoundedDate
    days: Decimal = Field(gt=0, max_digits=4, decimal_places=1)
    location: Line = Field("", max_length=120)
    plan_id: Id | None = None


class AttendanceIn(In):
    worker_id: Id
    days_attended: Decimal = Field(gt=0, max_digits=4, decimal_places=1)
    passed: bool = True
    certificate_number: Line = Field("", max_length=40)


def _event(request: HttpRequest, event_id: int) -> dict[str, Any]:
    who = actor(request)
    event = selectors.training_event(actor=who, event_id=event_id)
    out = TrainingEventOut.from_orm(event).model_dump(by_alias=True)
    return {**out, "attendance": list(selectors.attendance_in_scope(actor=who, event=event))}


@router.get(
    "/oversight/training",
    response={200: TrainingOverviewOut, **_READ_ERRORS},
    summary="培训：年度计划、培训班次、每人参训天数与标准",
)
def training(request: HttpRequest, filters: Query[TrainingFilter]) -> dict[str, Any]:
    who = actor(request)
    year = filters.year or timezone.localdate().year
    people = selectors.training_days_per_person(actor=who, year=year)
    return {
        "year": year,
        "plans": list(selectors.training_plans(actor=who, year=year)[:500]),
        "events": list(selectors.training_events(actor=who, year=year).order_by("-start_on", "pk")[:500]),
        "people": [
            {
                "worker_id": p.worker.pk,
                "full_name": p.worker.full_name,
                "division_code": p.worker.division_id,
                "post": p.post,
                "days": p.days,
                "required": p.required,
                "short": p.short,
                "pre_job": p.pre_job,
            }
            for p in people
        ],
    }


@router.post(
    "/oversight/training/plans", response={201: TrainingPlanOut, **_WRITE_ERRORS}, summary="制定年度培训计划"
)
def training_plan(request: HttpRequest, payload: TrainingPlanIn) -> Status:
    plan = services.training_plan_create(
        actor=actor(request),
        division_code=payload.division_code,
        year=payload.year,
        title=payload.title,
        planned_events=payload.planned_events,
    )
    return Status(201, plan)


@router.post(
    "/oversight/training/events",
    response={201: TrainingEventOut, **_WRITE_ERRORS},
    summary="登记培训班（岗前、业务、法治、礼仪、警示教育；举办单位为市、县或乡镇）",
)
def training_event_create(request: HttpRequest, payload: TrainingEventIn) -> Status:
    event = services.training_event_create(
        actor=actor(request),
        organiser_code=payload.organiser_code,
        kind=payload.kind,
        title=payload.title,
        start_on=payload.start_on,
        end_on=payload.end_on,
        days=payload.days,
        location=payload.location,
        plan_id=payload.plan_id,
    )
    return Status(201, event)


@router.get(
    "/oversight/training/events/{event_id}",
    response={200: TrainingEventDetailOut, **_READ_ERRORS},
    summary="培训班及本辖区人员的参训记录",
)
def training_event(request: HttpRequest, event_id: Id) -> dict[str, Any]:
    return _event(request, event_id)


@router.post(
    "/oversight/training/events/{event_id}/attendance",
    response={201: TrainingEventDetailOut, **_WRITE_ERRORS},
    summary="登记参训（天数、考核、结业证书）；岗前培训合格后方可授予办案角色",
)
def attendance(request: HttpRequest, event_id: Id, payload: AttendanceIn) -> Status:
    services.attendance_record(
        actor=actor(request),
        event_id=event_id,
        worker_id=payload.worker_id,
        days_attended=payload.days_attended,
        passed=payload.passed,
        certificate_number=payload.certificate_number,
    )
    return Status(201, _event(request, event_id))


# --- Purchased services: providers, contracts, deliveries -------------------------------------------


class ProviderOut(Schema):
    id: int
    name: str
    uscc: str
    kind: str
    county_code: str = Field(alias="county_id")
    barred_until: date | None


class DeliveryOut(Schema):
    id: int
    contract_id: int
    division_code: str = Field(alias="division_id")
    delivered_on: date
    service_type: str
    recipient_name: str
    hours: Decimal
    recipient_confirmed: bool
    worker_id: int | None


class ProviderIn(In):
    county_code: DivisionCode
    name: Line = Field(min_length=1, max_length=120)
    uscc: Line = Field(min_length=1, max_length=18, description="统一社会信用代码（18位）")
    kind: Literal["social_organisation", "labour_company", "public_institution", "enterprise"]


class ContractIn(In):
    county_code: DivisionCode
    provider_id: Id
    number: Line = Field(min_length=1, max_length=40)
    title: Line = Field(min_length=1, max_length=120)
    mode: Literal["posts", "project"]
    category: Literal["transactional", "service"]
    items: list[Annotated[Line, Field(max_length=100)]] = Field(min_length=1, max_length=50)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    funding_source: Literal["work_funds", "assistance_fund", "local_budget"]
    start_on: BoundedDate
    end_on: BoundedDate
    posts_count: int = Field(0, ge=0, le=999)
    assistance_fund_total: Decimal | None = Field(
        None, gt=0, max_digits=16, decimal_places=2, description="资金来自困难群众救助资金时必填"
    )


class DeliveryIn(In):
    division_code: DivisionCode
    delivered_on: BoundedDate
    service_type: Line = Field(min_length=1, max_length=40)
    recipient_name: Line = Field(min_length=1, max_length=60)
    hours: Decimal = Field(gt=0, max_digits=6, decimal_places=1)
    recipient_confirmed: bool = Field(description="服务对象已签字确认")
    worker_id: Id | None = None


@router.get("/oversight/providers", response={200: list[ProviderOut], **_READ_ERRORS}, summary="承接主体")
def providers(request: HttpRequest) -> Any:
    return selectors.providers(actor=actor(request))[:500]


@router.post(
    "/oversight/providers",
    response={201: ProviderOut, **_WRITE_ERRORS},
    summary="登记承接主体（校验统一社会信用代码）",
)
def provider_register(request: HttpRequest, payload: ProviderIn) -> Status:
    provider = services.provider_register(
        actor=actor(request),
        county_code=payload.county_code,
        name=payload.name,
        uscc=payload.uscc,
        kind=payload.kind,
    )
    return Status(201, provider)


@router.post(
    "/oversight/contracts",
    response={201: ContractOut, **_WRITE_ERRORS},
    summary="签订购买服务合同；从困难群众救助资金列支的，占比不得超过本省上限",
)
def contract_create(request: HttpRequest, payload: ContractIn) -> Status:
    contract = services.contract_create(
        actor=actor(request),
        county_code=payload.county_code,
        provider_id=payload.provider_id,
        number=payload.number,
        title=payload.title,
        mode=payload.mode,
        category=payload.category,
        items=payload.items,
        amount=payload.amount,
        funding_source=payload.funding_source,
        start_on=payload.start_on,
        end_on=payload.end_on,
        posts_count=payload.posts_count,
        assistance_fund_total=payload.assistance_fund_total,
    )
    return Status(201, contract)


@router.post(
    "/oversight/contracts/{contract_id}/deliveries",
    response={201: DeliveryOut, **_WRITE_ERRORS},
    summary="登记服务记录（须注明服务对象是否签字确认）",
)
def delivery(request: HttpRequest, contract_id: Id, payload: DeliveryIn) -> Status:
    who = actor(request)
    selectors.contract_get(actor=who, contract_id=contract_id)  # another county's contract: 404
    record = services.delivery_record(
        actor=who,
        contract_id=contract_id,
        division_code=payload.division_code,
        delivered_on=payload.delivered_on,
        service_type=payload.service_type,
        recipient_name=payload.recipient_name,
        hours=payload.hours,
        recipient_confirmed=payload.recipient_confirmed,
        worker_id=payload.worker_id,
    )
    return Status(201, record)


# --- Supervision: spot checks, weekly tasks, rectifications ------------------------------------------


class SpotSampleOut(Schema):
    id: int
    case_id: int
    case_number: str = Field(alias="case.number")
    division_code: str = Field(alias="division_id")
    compliant: bool | None
    finding: str


class SpotCheckOut(Schema):
    id: int
    county_code: str = Field(alias="county_id")
    checked_on: date
    period_start: date
    period_end: date
    sample_size: int
    seed: int
    samples: list[SpotSampleOut]

    @staticmethod
    def resolve_samples(obj: Any) -> list[Any]:
        return list(obj.samples.all())


class SupervisionTaskOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    title: str
    due_on: date
    status: str
    result: str
    created_on: date
    done_on: date | None


class RectificationOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    source: str
    issue: str
    opened_on: date
    due_on: date
    status: str
    submitted_on: date | None
    closed_on: date | None
    note: str
    evidence: list[EvidenceOut]

    @staticmethod
    def resolve_evidence(obj: Any) -> list[Any]:
        return list(obj.evidence.all())


class SpotCheckIn(In):
    county_code: DivisionCode
    period_start: BoundedDate
    period_end: BoundedDate
    sample_size: int = Field(ge=1, le=500)
    seed: int | None = Field(None, ge=1, le=2**31 - 1, description="抽样种子；不填则随机，记录后可复现")


class SampleFindingIn(In):
    compliant: bool
    finding: Line = Field("", max_length=300)
    rectify_by: BoundedDate | None = Field(None, description="不符合时的整改时限（填写则下达整改）")


class SupervisionTaskIn(In):
    division_code: DivisionCode
    title: Line = Field(min_length=1, max_length=200)
    due_on: BoundedDate


class TaskDoneIn(In):
    result: Line = Field(min_length=1, max_length=300)


class RectificationIn(In):
    division_code: DivisionCode
    source: Literal["spot_check", "indicator", "supervision", "provider"]
    issue: Line = Field(min_length=1, max_length=300)
    due_on: BoundedDate


class RectificationVerifyIn(In):
    accepted: bool = Field(description="验收通过（销号）；否则退回重新整改")
    note: Line = Field(min_length=1, max_length=120)


@router.get("/oversight/spot-checks", response={200: list[SpotCheckOut], **_READ_ERRORS}, summary="重点抽查")
def spot_checks(request: HttpRequest) -> Any:
    return selectors.spot_checks(actor=actor(request))[:200]


@router.post(
    "/oversight/spot-checks",
    response={201: SpotCheckOut, **_WRITE_ERRORS},
    summary="随机抽取某期间已作出决定的案件（记录抽样种子，可复现）",
)
def spot_check_create(request: HttpRequest, payload: SpotCheckIn) -> Status:
    who = actor(request)
    check = services.spot_check_create(
        actor=who,
        county_code=payload.county_code,
        period_start=payload.period_start,
        period_end=payload.period_end,
        sample_size=payload.sample_size,
        seed=payload.seed,
    )
    return Status(201, selectors.spot_checks(actor=who).get(pk=check.pk))


@router.post(
    "/oversight/spot-checks/samples/{sample_id}/finding",
    response={200: SpotSampleOut, **_WRITE_ERRORS},
    summary="登记抽查案件的检查结论；不符合且填写时限的，下达整改",
)
def sample_finding(request: HttpRequest, sample_id: Id, payload: SampleFindingIn) -> Any:
    return services.sample_finding_record(
        actor=actor(request),
        sample_id=sample_id,
        compliant=payload.compliant,
        finding=payload.finding,
        rectify_by=payload.rectify_by,
    )


@router.get(
    "/oversight/supervision-tasks",
    response={200: list[SupervisionTaskOut], **_READ_ERRORS},
    summary="周督导事项",
)
def supervision_tasks(request: HttpRequest) -> Any:
    return selectors.supervision_tasks(actor=actor(request))[:500]


@router.post(
    "/oversight/supervision-tasks",
    response={201: SupervisionTaskOut, **_WRITE_ERRORS},
    summary="对落后单位下达督导事项",
)
def supervision_task_create(request: HttpRequest, payload: SupervisionTaskIn) -> Status:
    task = services.supervision_task_create(
        actor=actor(request), division_code=payload.division_code, title=payload.title, due_on=payload.due_on
    )
    return Status(201, task)


@router.post(
    "/oversight/supervision-tasks/{supervision_task_id}/done",
    response={200: SupervisionTaskOut, **_WRITE_ERRORS},
    summary="督导事项完成，登记督导结果",
)
def supervision_task_done(request: HttpRequest, supervision_task_id: Id, payload: TaskDoneIn) -> Any:
    return services.supervision_task_complete(
        actor=actor(request), task_id=supervision_task_id, result=payload.result
    )


@router.get(
    "/oversight/rectifications", response={200: list[RectificationOut], **_READ_ERRORS}, summary="整改事项"
)
def rectifications(request: HttpRequest) -> Any:
    return selectors.rectifications(actor=actor(request))[:500]


@router.post(
    "/oversight/rectifications",
    response={201: RectificationOut, **_WRITE_ERRORS},
    summary="下达整改事项（问题、时限）",
)
def rectification_open(request: HttpRequest, payload: RectificationIn) -> Status:
    item = services.rectification_open(
        actor=actor(request),
        division_code=payload.division_code,
        source=payload.source,
        issue=payload.issue,
        due_on=payload.due_on,
    )
    return Status(201, item)


@router.post(
    "/oversight/rectifications/{rectification_id}/submit",
    response={200: RectificationOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="报送整改情况和凭证（照片或 PDF）",
)
def rectification_submit(
    request: HttpRequest,
    rectification_id: Id,
    note: str = Form(..., min_length=1, max_length=300, pattern=r"^[^\x00]*$"),
    files: list[UploadedFile] = File(..., description="整改凭证，可多个"),  # noqa: B008
) -> Any:
    who = actor(request)
    selectors.rectification_get(actor=who, rectification_id=rectification_id)  # out of scope: 404
    services.rectification_submit(
        actor=who, rectification_id=rectification_id, note=note, evidence=_uploads(files)
    )
    return selectors.rectification_get(actor=who, rectification_id=rectification_id)


@router.post(
    "/oversight/rectifications/{rectification_id}/verify",
    response={200: RectificationOut, **_WRITE_ERRORS},
    summary="验收整改：通过则销号，不通过则退回（整改单位不能自行验收）",
)
def rectification_verify(request: HttpRequest, rectification_id: Id, payload: RectificationVerifyIn) -> Any:
    who = actor(request)
    services.rectification_verify(
        actor=who, rectification_id=rectification_id, accepted=payload.accepted, note=payload.note
    )
    return selectors.rectification_get(actor=who, rectification_id=rectification_id)


# --- The pre-job gate (岗前培训上岗) -------------------------------------------------------------------


class GateOut(Schema):
    id: int
    county_code: str = Field(alias="county_id")
    valid_from: date
    enabled: bool
    roles: list[str]
    reference: str


class GateIn(In):
    county_code: DivisionCode
    valid_from: BoundedDate
    enabled: bool
    reference: Line = Field(min_length=1, max_length=200, description="依据文件")
    roles: list[Annotated[str, Field(max_length=40, pattern=r"^[a-z_]+$")]] | None = Field(
        None, max_length=30, description="适用角色；不填为全部办案角色"
    )


@router.post(
    "/oversight/pre-job-gates",
    response={201: GateOut, **_WRITE_ERRORS},
    summary="县（区）自某日起启用或停用岗前培训上岗规则：未经岗前培训不得授予办案角色",
)
def prejob_gate(request: HttpRequest, payload: GateIn) -> Status:
    rule = services.prejob_gate_set(
        actor=actor(request),
        county_code=payload.county_code,
        valid_from=payload.valid_from,
        enabled=payload.enabled,
        reference=payload.reference,
        roles=payload.roles,
    )
    return Status(201, rule)
