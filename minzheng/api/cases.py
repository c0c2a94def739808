"""Applications (申请案件): intake, the case page, every workflow action, visits, calculations,
documents, time limits, village notices and the conflict-of-interest register; and, without login,
online application, the applicant's status lookup and a village's current notices."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import register_converter
from django.utils import timezone
from django.utils.http import content_disposition_header
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.schema import DjangoGetter
from pydantic import ConfigDict, model_validator

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.api.rules import CalculationOut
from minzheng.cases import documents, online, selectors, services
from minzheng.cases.models import (
    Case,
    CaseStep,
    Decision,
    Document,
    MaterialCheck,
    PublicNotice,
)
from minzheng.cases.workflows import WORKFLOWS, state_label
from minzheng.core import throttle
from minzheng.core.errors import DomainError
from minzheng.core.inputs import BoundedDate, Code, Line
from minzheng.org.models import Staff
from minzheng.registry import selectors as registry_selectors
from minzheng.rules.facts import MedicalFacts, TemporaryFacts
from minzheng.rules.models import Calculation

router = Router(tags=["申请案件 cases"])
public_router = Router(tags=["公开查询 public"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a database id: larger numbers are refused as input

_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class FileTooLarge(DomainError):
    code = "file_too_large"
    status = 413
    default_message = "文件不能超过10MB"


def _today() -> date:
    return timezone.localdate()


# --- Output ----------------------------------------------------------------------------------------


class CaseOut(Schema):
    id: int
    number: str
    item_code: str = Field(alias="item.code")
    item_name: str = Field(alias="item.name")
    workflow: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    household_id: int | None
    applicant_name: str
    channel: str
    state: str
    state_label: str
    is_open: bool
    outcome: str
    submitted_at: datetime
    accepted_on: date | None
    due_date: date | None = Field(description="办结时限（受理之日起的法定总时限）")
    step_due_date: date | None = Field(None, description="当前环节应完成日期")
    conflict_of_interest: bool

    @staticmethod
    def resolve_state_label(obj: Case) -> str:
        return state_label(obj.workflow, obj.state)

    @staticmethod
    def resolve_step_due_date(obj: Case) -> date | None:
        return getattr(obj, "open_due", None)


class CaseStepOut(Schema):
    state: str
    label: str
    started_on: date
    due_date: date | None
    limit_text: str
    completed_on: date | None
    overdue: bool = Field(description="未在应完成日期前完成（未完成的按今天计）")


class EventOut(Schema):
    at: datetime
    actor_name: str
    action: str
    label: str
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any]


class CaseMaterialOut(Schema):
    requirement_id: int
    name: str = Field(alias="requirement.name")
    required: bool = Field(alias="requirement.required")
    fetchable_by_office: bool = Field(alias="requirement.fetchable_by_office")
    pledge_allowed: bool = Field(alias="requirement.pledge_allowed")
    status: str
    status_label: str
    note: str

    @staticmethod
    def resolve_status_label(obj: MaterialCheck) -> str:
        return str(obj.get_status_display())


class VisitOut(Schema):
    id: int
    visited_on: date
    investigators: list[str]
    by_county: bool
    findings: str
    signed_by_applicant: bool
    recorded_at: datetime


class ObjectionOut(Schema):
    received_on: date
    raised_by: str
    content: str
    handling: str
    outcome: str


class NoticeOut(Schema):
    id: int
    kind: str
    starts_on: date
    ends_on: date
    content: dict[str, Any]
    objections: list[ObjectionOut]


class NoticeListOut(NoticeOut):
    case_id: int
    case_number: str = Field(alias="case.number")
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    current: bool

    @staticmethod
    def resolve_current(obj: PublicNotice) -> bool:
        return obj.starts_on <= _today() <= obj.ends_on


class CaseCalculationOut(CalculationOut):
    id: int
    digest: str = Field(description="结果摘要（SHA-256），用于核验")
    on_date: date
    created_at: datetime


class DecisionOut(Schema):
    outcome: str
    level: str
    amount: str
    period: str
    start_month: date | None = Field(description="起始发放月份（批准后次月）")
    reasons: str
    decided_at: datetime
    notice_due: date | None = Field(description="不予批准的书面告知期限")
    notice_sent_on: date | None
    calculation: CaseCalculationOut | None = Field(description="决定所依据的测算及其说明（存档）")


class TransferOut(Schema):
    department: str
    sent_on: date
    feedback_due: date
    feedback_on: date | None
    feedback: str


class DocumentOut(Schema):
    id: int
    kind: str
    file_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ActionOut(Schema):
    action: str
    label: str
    target: str
    target_label: str


class CaseDetailOut(CaseOut):
    applicant_id: int | None
    applicant_id_masked: str
    applicant_phone: str
    proxy_name: str
    proxy_relation: str
    mandate: str
    details: dict[str, Any]
    workflow_label: str
    closed_at: datetime | None
    conflict_note: str
    decided_at_township: bool
    sampled_for_county_visit: bool
    steps: list[CaseStepOut]
    events: list[EventOut]
    materials: list[CaseMaterialOut]
    visits: list[VisitOut]
    notices: list[NoticeOut]
    documents: list[DocumentOut]
    decision: DecisionOut | None
    transfer: TransferOut | None
    actions: list[ActionOut] = Field(description="当前账号在本环节可执行的操作")


def _calculation(calc: Calculation | None) -> dict[str, Any] | None:
    if calc is None:
        return None
    return {
        **calc.result,
        "id": calc.pk,
        "digest": calc.digest,
        "on_date": calc.on_date,
        "created_at": calc.created_at,
    }


def _step(step: CaseStep, workflow: str, today: date) -> dict[str, Any]:
    return {
        "state": step.state,
        "label": state_label(workflow, step.state),
        "started_on": step.started_on,
        "due_date": step.due_date,
        "limit_text": step.limit_text,
        "completed_on": step.completed_on,
        "overdue": step.due_date is not None and (step.completed_on or today) > step.due_date,
    }


def _decision(case: Case) -> dict[str, Any] | None:
    decision: Decision | None = getattr(case, "decision", None)
    if decision is None:
        return None
    return {
        "outcome": decision.outcome,
        "level": decision.level,
        "amount": str(decision.amount),
        "period": decision.period,
        "start_month": decision.start_month,
        "reasons": decision.reasons,
        "decided_at": decision.decided_at,
        "notice_due": decision.notice_due,
        "notice_sent_on": decision.notice_sent_on,
        "calculation": _calculation(decision.calculation),
    }


class _With:
    """An object seen through its own attributes plus computed ones, for a response schema."""

    def __init__(self, obj: object, **extra: Any) -> None:
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._obj, name)


def _detail(staff: Staff, case_id: int) -> _With:
    case = selectors.case_get(actor=staff, case_id=case_id)
    today = _today()
    return _With(
        case,
        workflow_label=WORKFLOWS[case.workflow].label,
        steps=[_step(s, case.workflow, today) for s in case.steps.all()],
        decision=_decision(case),
        transfer=getattr(case, "transfer", None),
        actions=[
            {
                "action": t.action,
                "label": t.label,
                "target": t.target,
                "target_label": state_label(case.workflow, t.target),
            }
            for t in selectors.available_actions(actor=staff, case=case)
        ],
    )


# --- Input -----------------------------------------------------------------------------------------


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class In(Schema):
    """Input: text with a NUL character is refused here (the database would fail on it)."""

    @model_validator(mode="before")
    @classmethod
    def reject_nul(cls, data: Any) -> Any:
        if _has_nul(data._obj if isinstance(data, DjangoGetter) else data):
            raise ValueError("输入不能包含空字符")
        return data


class DetailsIn(In):
    """What the application states beyond the registry (read by the calculation)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000, description="申请事由")
    individual: bool = Field(False, description="单人户申请（重残、重病成员单独申请）")
    temporary: TemporaryFacts | None = Field(None, description="临时救助：类型、事由、金额")
    medical: MedicalFacts | None = Field(None, description="医疗救助：就医成员、费用")

    @staticmethod
    def of(details: "DetailsIn | None") -> dict[str, Any]:
        """What is stored with the case: only the statements made."""
        if details is None:
            return {}
        return details.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


class IntakeIn(In):
    item_code: str = Field(min_length=1, max_length=40)
    household_id: Id
    applicant_id: Id
    channel: Literal["window", "proxy"] = Field("window", description="window=窗口受理，proxy=村（居）代办")
    proxy_name: str = Field("", max_length=60)
    proxy_relation: str = Field("", max_length=60)
    mandate: str = Field("", max_length=300, description="委托书或授权说明（代办时必填）")
    phone: str = Field("", max_length=20)
    details: DetailsIn | None = None
    materials: dict[int, str] = Field(
        default_factory=dict,
        description="{材料ID: provided|fetched|pledged|missing}；未列出的：可共享获取的记为已获取，其余记为缺少",
    )


class MaterialsIn(In):
    materials: dict[int, str] = Field(description="{材料ID: provided|fetched|pledged|missing}")


class ActionIn(In):
    note: str = Field("", max_length=2000, description="意见、理由或说明")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="操作所需数据，如登记异议 {content, raised_by}、登记部门反馈 {feedback}",
    )


class VisitIn(In):
    visited_on: BoundedDate
    investigators: list[Line] = Field(min_length=1, max_length=10, description="调查人员姓名（不少于2人）")
    findings: str = Field(min_length=1, max_length=5000)
    signed_by_applicant: bool


class ConflictIn(In):
    division_code: str = Field(min_length=12, max_length=12)
    name: str = Field(min_length=1, max_length=60)
    position: str = Field(min_length=1, max_length=60)
    id_number: Code = Field(min_length=15, max_length=18)


class ConflictOut(Schema):
    id: int
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    name: str
    position: str
    registered_at: datetime


class CaseFilter(In):
    state: str = Field("", max_length=32, description="环节代码")
    item: str = Field("", max_length=40, description="事项编码")
    search: Line = Field("", max_length=60, description="受理编号或申请人姓名")
    open: bool = Field(False, description="只看未办结")


class OverdueStepOut(Schema):
    case_id: int
    case_number: str = Field(alias="case.number")
    applicant_name: str = Field(alias="case.applicant_name")
    item_name: str = Field(alias="case.item.name")
    division_name: str = Field(alias="case.division.name")
    state: str
    label: str
    started_on: date
    due_date: date
    limit_text: str

    @staticmethod
    def resolve_label(obj: CaseStep) -> str:
        return state_label(obj.case.workflow, obj.state)


class OverdueTransferOut(Schema):
    case_id: int
    case_number: str = Field(alias="case.number")
    item_name: str = Field(alias="case.item.name")
    department: str
    sent_on: date
    feedback_due: date


class OverdueOut(Schema):
    on: date
    overdue: list[OverdueStepOut] = Field(description="已超期的环节")
    due_soon: list[OverdueStepOut] = Field(description="2个工作日内到期的环节")
    transfers_overdue: list[OverdueTransferOut] = Field(description="超过反馈期限的转办事项")


class TimeStatsOut(Schema):
    code: str
    name: str
    open_cases: int
    open_overdue: int
    closed: int
    closed_late: int
    on_time_rate: str


class MissingMaterialOut(Schema):
    requirement_id: int
    name: str = Field(alias="requirement.name")
    note: str = Field(alias="requirement.note")
    pledge_allowed: bool = Field(alias="requirement.pledge_allowed", description="可书面承诺代替")


class MissingNoticeOut(Schema):
    case_number: str
    applicant_name: str
    item_name: str
    division_name: str
    date: date
    missing: list[MissingMaterialOut]
    text: str = Field(description="一次性告知书正文")


# --- Staff endpoints -------------------------------------------------------------------------------


@router.get("/cases", response=list[CaseOut], summary="申请案件列表（按环节、事项、编号或姓名筛选）")
@paginate(BoundedPageNumberPagination, page_size=50)
def case_list(request: HttpRequest, filters: Query[CaseFilter]) -> object:
    return selectors.case_list(
        actor=actor(request),
        state=filters.state,
        item=filters.item,
        search=filters.search,
        open_only=filters.open,
    )


@router.get(
    "/cases/worklist", response=list[CaseOut], summary="待办：当前账号可处理的案件（按环节到期日排序）"
)
@paginate(BoundedPageNumberPagination, page_size=50)
def worklist(request: HttpRequest) -> object:
    return selectors.worklist(actor=actor(request))


@router.get(
    "/cases/overdue",
    response={200: OverdueOut, 403: ErrorOut},
    summary="时限预警：超期环节、即将到期环节和超期未反馈的转办事项",
)
def overdue(request: HttpRequest) -> dict[str, Any]:
    staff, today = actor(request), _today()
    return {
        "on": today,
        "overdue": list(selectors.overdue_steps(actor=staff, on=today)[:500]),
        "due_soon": list(selectors.due_soon_steps(actor=staff, on=today)[:500]),
        "transfers_overdue": list(selectors.transfers_overdue(actor=staff, on=today)[:500]),
    }


@router.get(
    "/cases/time-limit-stats",
    response={200: list[TimeStatsOut], 403: ErrorOut},
    summary="按乡镇（街道）统计办理时限：在办、超期、办结、超时办结",
)
def time_limit_stats(request: HttpRequest) -> object:
    return selectors.time_limit_stats(actor=actor(request))


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="案件详情：环节与时限、办理记录、材料、入户调查、公示与异议、决定（含测算说明）、可执行操作",
)
def case_detail(request: HttpRequest, case_id: int) -> _With:
    return _detail(actor(request), case_id)


@router.post(
    "/cases",
    response={201: CaseDetailOut, **_WRITE_ERRORS},
    summary="受理申请（窗口受理或村（居）代办；材料不全的一次性告知）",
)
def case_intake(request: HttpRequest, payload: IntakeIn) -> Status:
    staff = actor(request)
    household = registry_selectors.household_get(actor=staff, pk=payload.household_id)
    applicant = registry_selectors.person_get(actor=staff, pk=payload.applicant_id)
    case = services.case_intake(
        actor=staff,
        item_code=payload.item_code,
        household=household,
        applicant=applicant,
        channel=payload.channel,
        proxy_name=payload.proxy_name,
        proxy_relation=payload.proxy_relation,
        mandate=payload.mandate,
        phone=payload.phone,
        details=DetailsIn.of(payload.details),
        materials=payload.materials,
    )
    return Status(201, _detail(staff, case.pk))


@router.post(
    "/cases/{case_id}/materials",
    response={200: CaseDetailOut, **_WRITE_ERRORS},
    summary="更新材料情况（受理前）",
)
def case_materials(request: HttpRequest, case_id: int, payload: MaterialsIn) -> _With:
    staff = actor(request)
    services.case_materials_update(actor=staff, case_id=case_id, materials=payload.materials)
    return _detail(staff, case_id)


@router.post(
    "/cases/{case_id}/actions/{action}",
    response={200: CaseDetailOut, **_WRITE_ERRORS},
    summary="执行流程操作（操作代码见案件详情的 actions；不允许的操作返回409及原因）",
)
def case_action(
    request: HttpRequest,
    case_id: int,
    action: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$", description="操作代码")],
    payload: ActionIn,
) -> _With:
    staff = actor(request)
    services.case_transition(
        actor=staff, case_id=case_id, action=action, note=payload.note, data=payload.data
    )
    return _detail(staff, case_id)


@router.post(
    "/cases/{case_id}/visits",
    response={201: VisitOut, **_WRITE_ERRORS},
    summary="录入入户调查记录（不少于2名调查人员，申请人签字确认）",
)
def case_visit(request: HttpRequest, case_id: int, payload: VisitIn) -> Status:
    visit = services.visit_record(
        actor=actor(request),
        case_id=case_id,
        visited_on=payload.visited_on,
        investigators=payload.investigators,
        findings=payload.findings,
        signed_by_applicant=payload.signed_by_applicant,
    )
    return Status(201, visit)


@router.post(
    "/cases/{case_id}/calculation",
    response={200: CaseCalculationOut, **_WRITE_ERRORS},
    summary="待遇测算：按现行标准计算并随案保存测算说明（决定将引用）",
)
def case_calculation(request: HttpRequest, case_id: int, on: date | None = None) -> dict[str, Any] | None:
    calc = services.case_calculate(actor=actor(request), case_id=case_id, on=on)
    return _calculation(calc)


@router.post(
    "/cases/{case_id}/documents",
    response={201: DocumentOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="上传材料（PDF、JPG、PNG，不超过10MB）",
)
def document_upload(
    request: HttpRequest,
    case_id: int,
    file: UploadedFile = File(..., description="PDF、JPG 或 PNG 文件，不超过10MB"),  # noqa: B008
    kind: str = Form(..., max_length=40, pattern=r"^[^\x00]*$", description="材料类型，如：申请书、收入证明"),
) -> Status:
    if (file.size or 0) > services.DOCUMENT_MAX_BYTES:
        raise FileTooLarge(field_errors={"file": ["文件不能超过10MB"]})
    document = services.document_upload(
        actor=actor(request),
        case_id=case_id,
        kind=kind,
        file_name=(file.name or "").replace("\x00", "") or "upload",
        content_type=file.content_type or "",
        content=file.read(services.DOCUMENT_MAX_BYTES + 1),
    )
    return Status(201, document)


# --- Written decisions (审批决定书, 不予批准告知书) ------------------------------------------------------
# Declared before the download of uploaded materials below: both live under /cases/{id}/documents/,
# and a route's order decides the match. The converter takes only names (letters), so an uploaded
# document's number still reaches the download and a name never does.


class _DocumentNameConverter:
    regex = "[a-z][a-z_]{0,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_DocumentNameConverter, "casedocument")


class DocumentLineOut(Schema):
    label: str
    amount: str = Field(description="金额（元）")
    explanation: str = Field(description="计算说明（成员以姓名表示）")
    member: str = Field(description="所涉家庭成员姓名，家庭整体为空")


class DocumentFindingOut(Schema):
    text: str
    met: bool
    member: str


class DocumentStandardOut(Schema):
    description: str
    value: str
    unit: str
    effective_from: date | None
    reference: str


class RemediesOut(Schema):
    statement: str = Field(description="复议、诉讼权利告知")
    reconsideration_body: str
    reconsideration_days: int
    reconsideration_basis: str
    court: str
    litigation_months: int
    litigation_basis: str


class CaseDocumentOut(Schema):
    document: str = Field(description="decision=审批决定书，refusal=不予批准告知书")
    title: str
    case_id: int
    case_number: str
    applicant_name: str
    item_name: str
    submitted_on: date
    county_name: str
    township_name: str
    deciding_organ: str = Field(description="决定机关")
    decided_on: date
    opening: str
    reasons: str = Field(description="审核意见或不予批准的理由")
    amount: Decimal | None = Field(description="核定金额（元）；不予批准时为空")
    period: str = Field(description="month=按月发放，once=一次性")
    amount_text: str
    start_month: date | None = Field(description="起始发放月份（按月发放的待遇）")
    amount_summary: str
    payment: str = Field(description="发放方式")
    lines: list[DocumentLineOut]
    findings: list[DocumentFindingOut]
    standards: list[DocumentStandardOut]
    rounding: str
    legal_basis: list[str] = Field(description="决定依据（事项的设定依据）")
    remedies: RemediesOut
    notice_due: date | None = Field(description="书面告知期限（不予批准）")
    closing: str


@router.get(
    "/cases/{case_id}/documents/{casedocument:document}",
    response={200: CaseDocumentOut, 403: ErrorOut, 404: ErrorOut},
    summary="案件文书：审批决定书（decision）或不予批准告知书（refusal），与打印件内容一致",
)
def case_document(
    request: HttpRequest,
    case_id: Id,
    document: Annotated[str, Path(pattern=r"^[a-z][a-z_]{0,39}$", description="decision 或 refusal")],
) -> documents.CaseDocument:
    return documents.case_document(actor=actor(request), case_id=case_id, document=document)


@router.get(
    "/cases/{case_id}/documents/{document_id}",
    response={403: ErrorOut, 404: ErrorOut},
    openapi_extra={
        "responses": {200: {"description": "材料文件", "content": {t: {} for t in services.DOCUMENT_TYPES}}}
    },
    summary="下载材料",
)
def document_download(request: HttpRequest, case_id: int, document_id: int) -> HttpResponse:
    document: Document = services.document_download(
        actor=actor(request), case_id=case_id, document_id=document_id
    )
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=document.file_name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/cases/{case_id}/missing-materials",
    response={200: MissingNoticeOut, 403: ErrorOut, 404: ErrorOut},
    summary="一次性告知书：尚缺的全部必需材料",
)
def missing_materials(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case = selectors.case_get(actor=actor(request), case_id=case_id)
    missing = services.missing_materials(case)
    today = _today()
    if missing:
        lines = "\n".join(
            f"{i}. {m.requirement.name}" + ("（可书面承诺代替）" if m.requirement.pledge_allowed else "")
            for i, m in enumerate(missing, 1)
        )
        text = (
            f"{case.applicant_name}：您申请的“{case.item.name}”（受理编号{case.number}）尚缺以下材料，"
            f"现一次性告知，请补齐后提交：\n{lines}"
        )
    else:
        text = f"{case.applicant_name}：您申请的“{case.item.name}”（受理编号{case.number}）所需材料已齐全。"
    return {
        "case_number": case.number,
        "applicant_name": case.applicant_name,
        "item_name": case.item.name,
        "division_name": case.division.name,
        "date": today,
        "missing": missing,
        "text": text,
    }


@router.get("/notices", response=list[NoticeListOut], summary="管辖范围内的村（居）公示及异议")
@paginate(BoundedPageNumberPagination, page_size=50)
def notices(request: HttpRequest) -> object:
    return selectors.notices_in_scope(actor=actor(request))


@router.post(
    "/conflict-registrations",
    response={201: ConflictOut, **_WRITE_ERRORS},
    summary="经办人员和村（居）干部备案（其近亲属的申请单独登记、由县级调查）",
)
def conflict_register(request: HttpRequest, payload: ConflictIn) -> Status:
    entry = services.conflict_register(
        actor=actor(request),
        division_code=payload.division_code,
        name=payload.name,
        position=payload.position,
        id_number=payload.id_number,
    )
    return Status(201, entry)


@router.get(
    "/conflict-registrations",
    response=list[ConflictOut],
    summary="管辖范围内的经办人员和村（居）干部备案",
)
@paginate(BoundedPageNumberPagination, page_size=100)
def conflict_registrations(request: HttpRequest) -> object:
    return selectors.conflict_registrations(actor=actor(request))


# --- Public (no login) -----------------------------------------------------------------------------


class OnlineApplicationIn(In):
    item_code: str = Field(min_length=1, max_length=40)
    division_code: str = Field(min_length=12, max_length=12, description="所在村（社区）12位代码")
    applicant_name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=15, max_length=18)
    phone: str = Field(min_length=1, max_length=20)
    details: DetailsIn | None = None


class OnlineApplicationOut(Schema):
    number: str = Field(description="受理编号：凭编号和身份证号查询办理进度")
    item_name: str
    state_label: str
    message: str


class PublicStepOut(Schema):
    label: str
    started_on: date
    due_date: date | None
    completed_on: date | None


class PublicStatusOut(Schema):
    item_name: str
    state_label: str
    steps: list[PublicStepOut]


class StatusQuery(In):
    number: str = Field(min_length=1, max_length=24, description="受理编号")
    id_number: str = Field(min_length=1, max_length=18, description="申请人身份证号")


class PublicNoticeOut(Schema):
    kind: str = Field(description="preliminary=初审公示，result=结果公示")
    item: str
    applicant: str
    household_size: int
    amount: str
    starts_on: date
    ends_on: date


@public_router.post(
    "/public/applications",
    response={201: OnlineApplicationOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="网上申请（无需登录；乡镇（街道）窗口审查材料后受理或一次性告知；按来源地址限制频次）",
)
def online_application(request: HttpRequest, payload: OnlineApplicationIn) -> Status:
    throttle.check(request, "online_application")
    case = services.case_submit_online(
        item_code=payload.item_code,
        division_code=payload.division_code,
        applicant_name=payload.applicant_name,
        id_number=payload.id_number,
        phone=payload.phone,
        details=DetailsIn.of(payload.details),
    )
    return Status(
        201,
        {
            "number": case.number,
            "item_name": case.item.name,
            "state_label": state_label(case.workflow, case.state),
            "message": "申请已提交，请记下受理编号，凭编号和身份证号查询办理进度",
        },
    )


@public_router.get(
    "/public/status",
    response={200: PublicStatusOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="办理进度查询（受理编号和身份证号须一致；按来源地址限制频次）",
)
def public_status(request: HttpRequest, query: Query[StatusQuery]) -> dict[str, Any]:
    throttle.check(request, "status_lookup")
    case = selectors.public_status(number=query.number, id_number=query.id_number)
    return {
        "item_name": case.item.name,
        "state_label": state_label(case.workflow, case.state),
        "steps": [
            {
                "label": state_label(case.workflow, s.state),
                "started_on": s.started_on,
                "due_date": s.due_date,
                "completed_on": s.completed_on,
            }
            for s in case.steps.all()
        ],
    }


@public_router.get(
    "/public/notices/{village_code}",
    response={200: list[PublicNoticeOut], 404: ErrorOut},
    auth=None,
    summary="村（社区）当前公示：申请人姓名、家庭人口、金额、事项和公示期",
)
def public_notices(
    request: HttpRequest,
    village_code: Annotated[str, Path(pattern=r"^\d{12}$", description="村（社区）12位代码")],
) -> list[dict[str, Any]]:
    return [
        {
            "kind": n.kind,
            "item": n.content.get("item", n.case.item.name),
            "applicant": n.content.get("applicant", ""),
            "household_size": n.content.get("household_size", 0),
            "amount": n.content.get("amount", ""),
            "starts_on": n.starts_on,
            "ends_on": n.ends_on,
        }
        for n in selectors.public_notices(village_code=village_code)
    ]


# --- The online applicant (no login: number + ID number or phone, then a short-lived token) ---------


class ApplicantSessionIn(In):
    number: str = Field(min_length=1, max_length=24, description="受理编号")
    id_number: str = Field(min_length=1, max_length=18, description="申请人身份证号，或申请时填写的手机号")


class ApplicantSessionOut(Schema):
    token: str = Field(description="放在请求头 X-Applicant-Token 中；有效期见 expires_in")
    expires_in: int = Field(description="秒")


class ApplicantStepOut(Schema):
    label: str
    status: Literal["done", "current", "overdue", "upcoming"]
    limit_text: str
    started_on: date | None
    due_date: date | None = Field(description="按工作日计算的应完成日期")
    completed_on: date | None


class ApplicantMissingOut(Schema):
    requirement_id: int
    name: str
    pledge_allowed: bool
    uploaded: list[str]


class ApplicantUploadOut(Schema):
    file_name: str
    material: str
    size: int
    uploaded_at: datetime


class ApplicantNoticeOut(Schema):
    kind: str
    state_label: str
    created_at: datetime
    sms: str = Field(description="短信状态：pending/sent/failed/abandoned/off；空为未发短信")


class ApplicantCaseOut(Schema):
    number: str
    item_name: str
    state: str
    state_label: str
    closed: bool
    submitted_on: date
    due_date: date | None
    steps: list[ApplicantStepOut]
    missing: list[ApplicantMissingOut]
    missing_notified: bool
    uploads: list[ApplicantUploadOut]
    notices: list[ApplicantNoticeOut]
    can_upload: bool
    uploads_left: int
    phone_masked: str


def _applicant(request: HttpRequest) -> Case:
    return online.applicant_case(token=request.headers.get("X-Applicant-Token", ""))


@public_router.post(
    "/public/applications/session",
    response={200: ApplicantSessionOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="申请人身份确认（受理编号 + 身份证号或手机号），得到短时有效的查询令牌；按来源地址限制频次",
)
def applicant_session(request: HttpRequest, payload: ApplicantSessionIn) -> dict[str, Any]:
    throttle.check(request, "status_lookup")
    case = online.applicant_identify(number=payload.number, secret=payload.id_number)
    return {"token": online.applicant_token(case), "expires_in": settings.MINZHENG_APPLICANT_SESSION_SECONDS}


@public_router.get(
    "/public/applications/mine",
    response={200: ApplicantCaseOut, 403: ErrorOut},
    auth=None,
    summary="申请人查看本人申请：各环节及应完成日期、一次性告知的缺少材料、已补交材料、消息",
)
def applicant_case(request: HttpRequest) -> online.ApplicantView:
    return online.applicant_view(_applicant(request))


@public_router.post(
    "/public/applications/mine/documents",
    response={
        201: ApplicantUploadOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    auth=None,
    summary="申请人网上补交一次性告知所列的缺少材料（PDF、JPG、PNG；个数与大小见设置）",
)
def applicant_upload(
    request: HttpRequest,
    file: UploadedFile = File(..., description="PDF、JPG 或 PNG 文件"),  # noqa: B008
    requirement_id: Id = Form(..., description="缺少材料的编号（见 missing[].requirement_id）"),  # noqa: B008
) -> Status:
    case = _applicant(request)
    limit = settings.MINZHENG_APPLICANT_UPLOAD_MAX_BYTES
    if (file.size or 0) > limit:
        message = f"每个文件不超过{limit // (1024 * 1024)}MB"
        raise FileTooLarge(message, field_errors={"file": [message]})
    document = online.applicant_document_upload(
        case_id=case.pk,
        requirement_id=requirement_id,
        file_name=(file.name or "").replace("\x00", "") or "upload",
        content_type=file.content_type or "",
        content=file.read(limit + 1),
    )
    return Status(
        201,
        {
            "file_name": document.file_name,
            "material": document.kind,
            "size": document.size,
            "uploaded_at": document.uploaded_at,
        },
    )


# --- The window: the online application and the registry --------------------------------------------


class HouseholdCandidateOut(Schema):
    id: int
    number: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    head_name: str = Field(alias="head.name", default="")


class LinkHouseholdIn(In):
    household_id: Id


class RegisterHouseholdIn(In):
    id_number: str = Field(min_length=15, max_length=18, description="申请人身份证号（须与网上申请一致）")
    address: Line = Field(min_length=1, max_length=200)
    area: Literal["urban", "rural"]


class ApplicantSmsOut(Schema):
    phone_masked: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None


class CaseNotificationOut(Schema):
    id: int
    kind: str
    state: str
    created_at: datetime
    sms: ApplicantSmsOut | None = None


@router.get(
    "/cases/{case_id}/household-candidates",
    response={200: list[HouseholdCandidateOut], 403: ErrorOut, 404: ErrorOut},
    summary="网上申请可关联的家庭：辖区内登记有申请人（按身份证号摘要匹配）的家庭",
)
def household_candidates(request: HttpRequest, case_id: int) -> object:
    case = selectors.case_get(actor=actor(request), case_id=case_id)
    return online.household_candidates(actor=actor(request), case=case)


@router.post(
    "/cases/{case_id}/household",
    response={200: CaseOut, **_WRITE_ERRORS},
    summary="网上申请关联到已登记家庭（须为辖区内、申请人所在的家庭）",
)
def case_link_household(request: HttpRequest, case_id: int, payload: LinkHouseholdIn) -> Case:
    return online.case_link_household(
        actor=actor(request), case_id=case_id, household_id=payload.household_id
    )


@router.post(
    "/cases/{case_id}/household/register",
    response={201: CaseOut, **_WRITE_ERRORS},
    summary="依网上申请登记新家庭（申请人为户主）并关联",
)
def case_register_household(request: HttpRequest, case_id: int, payload: RegisterHouseholdIn) -> Status:
    case = online.case_register_household(
        actor=actor(request),
        case_id=case_id,
        id_number=payload.id_number,
        address=payload.address,
        area=payload.area,
    )
    return Status(201, case)


@router.get(
    "/cases/{case_id}/applicant-notifications",
    response={200: list[CaseNotificationOut], 403: ErrorOut, 404: ErrorOut},
    summary="给网上申请人的消息及短信发送情况（手机号脱敏）",
)
def case_applicant_notifications(request: HttpRequest, case_id: int) -> object:
    case = selectors.case_get(actor=actor(request), case_id=case_id)
    return [
        {
            "id": n.pk,
            "kind": n.kind,
            "state": n.state,
            "created_at": n.created_at,
            "sms": getattr(n, "sms", None),
        }
        for n in online.case_notifications(actor=actor(request), case=case)
    ]
