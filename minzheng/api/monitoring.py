"""Monitoring and active discovery (低收入人口动态监测, 主动发现): warnings by state and age, a warning
and its steps (accept, visit, verify, dispose), emergency reports, the departments' feeds (import as
a file: whole or not at all) and the rules with their hit and true-positive rates."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from minzheng.api.cases import FileTooLarge, In
from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.inputs import BoundedDate, Line
from minzheng.monitoring import selectors, services
from minzheng.monitoring.models import Feed, Warning

router = Router(tags=["低收入人口动态监测 monitoring"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
FEED_MAX_BYTES = 100 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MonitoringStateOut(Schema):
    state: str
    label: str
    by_age: list[int] = Field(description="按线索日期起算天数：0–5、6–10、11–15、16天以上")
    total: int


class MonitoringOverviewOut(Schema):
    states: list[MonitoringStateOut]
    overdue: int
    escalated: int
    disposed: int
    total: int


class WarningOut(Schema):
    id: int
    number: str
    rule: str | None = Field(description="规则代码；急难情况报告为空")
    emergency: str
    person_id: int
    person_name: str = Field(alias="person.name")
    household_id: int
    village_code: str
    township_code: str
    cohorts: str
    discovery: bool = Field(description="监测对象以外（新发现）")
    direction: str
    severity: int
    description: str
    records: int
    amount: Decimal | None
    state: str
    clue_on: date
    due_on: date
    escalated_at: datetime | None
    verified: bool | None
    verified_note: str
    outcome: str
    outcome_reason: str
    referred_to: str
    case_id: int | None

    @staticmethod
    def resolve_rule(obj: Warning) -> str | None:
        return obj.rule.code if obj.rule else None


class WarningVisitIn(In):
    visited_on: BoundedDate
    workers: list[Line] = Field(min_length=1, max_length=6, description="入户人员（两人以上）")
    findings: str = Field(max_length=2000)


class WarningVerifyIn(In):
    true: bool = Field(description="核实属实")
    note: Line


class WarningDisposeIn(In):
    outcome: str = Field(
        max_length=12, description="application / temporary / referral / recheck / no_action"
    )
    reason: Line
    item_code: str = Field("", max_length=40)
    referred_to: str = Field("", max_length=60)


class EmergencyIn(In):
    household_id: Id
    person_id: Id
    kind: str = Field(max_length=40, description="disaster / accident / breadwinner_death / illness / other")
    description: str = Field(max_length=250)


class FeedOut(Schema):
    id: int
    county: str
    department: str
    event_type: str
    period: date
    file_name: str
    sha256: str
    rows: int
    matched: int
    warnings: int
    imported_at: datetime


class RuleFiguresOut(Schema):
    code: str
    name: str
    region: str
    valid_from: date
    event_type: str
    threshold: Decimal | None
    cohorts: list[str]
    outside_cohorts: bool
    direction: str
    severity: int
    dedupe_days: int
    records: int
    warnings: int
    verified_true: int
    verified_false: int
    hit_rate: float | None
    true_rate: float | None


class RuleVersionIn(In):
    code: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    name: Line
    region: str = Field(pattern=r"^\d{6}$")
    valid_from: BoundedDate
    event_type: str = Field(max_length=24)
    threshold: Decimal | None = Field(None, max_digits=14, decimal_places=2)
    cohorts: list[str] = Field(default_factory=list, max_length=6)
    outside_cohorts: bool = False
    direction: str = Field(max_length=16)
    severity: int = Field(ge=1, le=3)
    dedupe_days: int = Field(ge=0, le=366)
    active: bool = True
    reference: str = Field("", max_length=200)


class WarningFilter(Schema):
    state: str = Field("", max_length=16)
    overdue: bool = False
    rule: str = Field("", max_length=40)


@router.get(
    "/monitoring/overview",
    response=MonitoringOverviewOut,
    summary="预警按状态和线索天数统计，逾期、已上报县级数",
)
def overview(request: HttpRequest) -> Any:
    return selectors.overview(actor=actor(request))


@router.get("/monitoring/warnings", response=list[WarningOut], summary="监测预警列表（默认：未处置的）")
@paginate(BoundedPageNumberPagination, page_size=50)
def warning_list(request: HttpRequest, filters: Query[WarningFilter]) -> Any:
    return selectors.warnings(
        actor=actor(request),
        state=filters.state,
        overdue=filters.overdue,
        rule=filters.rule,
        open_only=not filters.state,
    )


@router.get(
    "/monitoring/warnings/{warning_id}", response={200: WarningOut, **_READ_ERRORS}, summary="一条预警"
)
def warning_detail(request: HttpRequest, warning_id: Id) -> Any:
    return selectors.warning_get(actor=actor(request), warning_id=warning_id)


def _again(request: HttpRequest, warning_id: int) -> Warning:
    return selectors.warning_get(actor=actor(request), warning_id=warning_id)


@router.post(
    "/monitoring/warnings/{warning_id}/accept",
    response={200: WarningOut, **_WRITE_ERRORS},
    summary="签收预警",
)
def warning_accept(request: HttpRequest, warning_id: Id) -> Any:
    found = _again(request, warning_id)
    services.warning_accept(actor=actor(request), warning_id=found.pk)
    return _again(request, found.pk)


@router.post(
    "/monitoring/warnings/{warning_id}/visit",
    response={200: WarningOut, **_WRITE_ERRORS},
    summary="登记入户核实（两人以上；照片在手机页面上传）",
)
def warning_visit(request: HttpRequest, warning_id: Id, payload: WarningVisitIn) -> Any:
    found = _again(request, warning_id)
    services.warning_visit(
        actor=actor(request),
        warning_id=found.pk,
        visited_on=payload.visited_on,
        workers=list(payload.workers),
        findings=payload.findings,
    )
    return _again(request, found.pk)


@router.post(
    "/monitoring/warnings/{warning_id}/verify",
    response={200: WarningOut, **_WRITE_ERRORS},
    summary="核实结论",
)
def warning_verify(request: HttpRequest, warning_id: Id, payload: WarningVerifyIn) -> Any:
    found = _again(request, warning_id)
    services.warning_verify(actor=actor(request), warning_id=found.pk, true=payload.true, note=payload.note)
    return _again(request, found.pk)


@router.post(
    "/monitoring/warnings/{warning_id}/dispose",
    response={200: WarningOut, **_WRITE_ERRORS},
    summary="处置预警（引导申请以“主动发现”预填申请；对现有救助复核不直接停发）",
)
def warning_dispose(request: HttpRequest, warning_id: Id, payload: WarningDisposeIn) -> Any:
    found = _again(request, warning_id)
    services.warning_dispose(
        actor=actor(request),
        warning_id=found.pk,
        outcome=payload.outcome,
        reason=payload.reason,
        item_code=payload.item_code,
        referred_to=payload.referred_to,
    )
    return _again(request, found.pk)


@router.post(
    "/monitoring/emergencies", response={201: WarningOut, **_WRITE_ERRORS}, summary="报告急难情况（当日处置）"
)
def emergency(request: HttpRequest, payload: EmergencyIn) -> Any:
    warning = services.emergency_report(
        actor=actor(request),
        household_id=payload.household_id,
        person_id=payload.person_id,
        kind=payload.kind,
        description=payload.description,
    )
    return Status(201, _again(request, warning.pk))


@router.get("/monitoring/feeds", response=list[FeedOut], summary="已导入的部门监测数据")
@paginate(BoundedPageNumberPagination, page_size=50)
def feed_list(request: HttpRequest) -> Any:
    return selectors.feeds(actor=actor(request))


@router.get(
    "/monitoring/feeds/{feed_id}", response={200: FeedOut, **_READ_ERRORS}, summary="一份部门监测数据"
)
def feed_detail(request: HttpRequest, feed_id: Id) -> Feed:
    return selectors.feed_get(actor=actor(request), feed_id=feed_id)


@router.post(
    "/monitoring/feeds",
    response={201: FeedOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="导入部门监测数据（Excel 或 CSV；任何一行有误则不导入，并逐行说明）并按规则比对",
)
def feed_import(
    request: HttpRequest,
    file: UploadedFile = File(..., description="列：身份证号、姓名、日期、金额、说明"),  # noqa: B008
    county: str = Form(..., pattern=r"^\d{6}$"),
    department: str = Form(..., max_length=60, pattern=r"^[^\x00]*$"),
    event_type: str = Form(..., max_length=24, pattern=r"^[a-z_]+$"),
    period: date = Form(...),  # noqa: B008
) -> Any:

    if (file.size or 0) > FEED_MAX_BYTES:
        raise FileTooLarge(field_errors={"file": ["文件不能超过100MB"]})
    feed = services.feed_import(
        actor=actor(request),
        county=county,
        department=department,
        event_type=event_type,
        period=period,
        file_name=(file.name or "feed").replace("\x00", ""),
        content=file.read(FEED_MAX_BYTES + 1),
    )
    return Status(201, feed)


@router.get("/monitoring/rules", response=list[RuleFiguresOut], summary="在用的预警规则及命中率、核实属实率")
def rule_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            **{
                k: getattr(f.rule, k)
                for k in (
                    "code",
                    "name",
                    "region",
                    "valid_from",
                    "event_type",
                    "threshold",
                    "cohorts",
                    "outside_cohorts",
                    "direction",
                    "severity",
                    "dedupe_days",
                )
            },
            "records": f.records,
            "warnings": f.warnings,
            "verified_true": f.verified_true,
            "verified_false": f.verified_false,
            "hit_rate": f.hit_rate,
            "true_rate": f.true_rate,
        }
        for f in selectors.rule_figures(actor=actor(request))
    ]


@router.post(
    "/monitoring/rules",
    response={201: None, **_WRITE_ERRORS},
    summary="本地规则新版本（自生效日期起替代默认规则）",
)
def rule_create(request: HttpRequest, payload: RuleVersionIn) -> Any:
    services.rule_version_create(actor=actor(request), **payload.dict())
    return Status(201, None)


class CohortCountOut(Schema):
    township_code: str
    township: str
    counts: dict[str, int] = Field(description="各监测类别人数")


class CohortMembershipIn(In):
    id_number: str = Field(max_length=18)
    cohort: str = Field(max_length=16, description="return_risk（防返贫监测）或 other")
    since: BoundedDate
    until: BoundedDate | None = None
    source: Line


class CohortMembershipOut(Schema):
    id: int
    person_id: int
    cohort: str
    since: date
    until: date | None
    source: str


@router.get("/monitoring/cohorts", response=list[CohortCountOut], summary="各乡镇（街道）各监测类别人数")
def cohort_counts(request: HttpRequest) -> Any:
    return selectors.cohort_counts(actor=actor(request))


@router.post(
    "/monitoring/cohort-memberships",
    response={201: CohortMembershipOut, **_WRITE_ERRORS},
    summary="登记监测对象（防返贫监测对象等，注明来源）",
)
def cohort_record(request: HttpRequest, payload: CohortMembershipIn) -> Any:
    return Status(201, services.cohort_record_by_id_number(actor=actor(request), **payload.dict()))


class CohortImportOut(Schema):
    id: int
    county: str
    source: str
    file_name: str
    sha256: str
    rows: int
    added: int = Field(description="新登记人数")
    already: int = Field(description="已在监测中、未重复登记的人数")
    imported_at: datetime


@router.post(
    "/monitoring/cohort-imports",
    response={201: CohortImportOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="导入监测对象名单（Excel 或 CSV；任何一行有误则不导入，并逐行说明）",
)
def cohort_import(
    request: HttpRequest,
    file: UploadedFile = File(..., description="列：身份证号、姓名、监测类别、纳入日期、退出日期"),  # noqa: B008
    county: str = Form(..., pattern=r"^\d{6}$"),
    source: str = Form(..., max_length=120, pattern=r"^[^\x00]*$"),
) -> Any:
    if (file.size or 0) > FEED_MAX_BYTES:
        raise FileTooLarge(field_errors={"file": ["文件不能超过100MB"]})
    batch = services.cohort_import(
        actor=actor(request),
        county=county,
        source=source,
        file_name=(file.name or "cohort").replace("\x00", ""),
        content=file.read(FEED_MAX_BYTES + 1),
    )
    return Status(201, batch)


@router.get(
    "/monitoring/cohort-imports", response=list[CohortImportOut], summary="监测对象名单导入记录（最近100份）"
)
def cohort_import_list(request: HttpRequest) -> Any:
    return selectors.cohort_imports(actor=actor(request))[:100]


class FeedFeedbackOut(Schema):
    id: int
    feed_id: int
    rows: int
    open_warnings: int = Field(description="生成时未处置的预警数")
    final: bool = Field(description="预警全部处置后的最终反馈")
    sha256: str
    issued_at: datetime


@router.get(
    "/monitoring/feeds/{feed_id}/feedback",
    response={200: list[FeedFeedbackOut], **_READ_ERRORS},
    summary="向来源部门的反馈文件",
)
def feed_feedback_list(request: HttpRequest, feed_id: Id) -> Any:
    return selectors.feed_feedbacks(actor=actor(request), feed_id=feed_id)


@router.post(
    "/monitoring/feeds/{feed_id}/feedback",
    response={201: FeedFeedbackOut, **_WRITE_ERRORS},
    summary="生成向来源部门的反馈文件（逐行：是否在档、预警及核实、处置结果）",
)
def feed_feedback_issue(request: HttpRequest, feed_id: Id) -> Any:
    return Status(201, services.feed_feedback_issue(actor=actor(request), feed_id=feed_id))


@router.get(
    "/monitoring/feed-feedback/{feed_feedback_id}/file",
    response={200: None, **_READ_ERRORS},
    summary="下载反馈文件（Excel，按生成时封存）",
)
def feed_feedback_file(request: HttpRequest, feed_feedback_id: Id) -> HttpResponse:
    found = selectors.feed_feedback_get(actor=actor(request), feedback_id=feed_feedback_id)
    response = HttpResponse(bytes(found.content), content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="monitoring-feedback-{found.feed_id}-{found.pk}.xlsx"'
    )
    return response
