"""Economic-status verification (家庭经济状况核对): a case's authorisations and requests, the county's
list of requests, each request with its departments' queries and findings, resending failed
queries, dispositions of discrepancies, and the sealed report."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.cases import In
from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.inputs import BoundedDate, Line
from minzheng.verification import pdf, recheck, selectors, services
from minzheng.verification.models import (
    Authorisation,
    DepartmentQuery,
    Finding,
    QueryStatus,
    Report,
    RequestStatus,
    VerificationRequest,
)

router = Router(tags=["家庭经济状况核对 verification"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def callback_site(request: HttpRequest) -> str:
    """Where the departments call us back: the configured address, else the one this request came
    in on."""
    return getattr(settings, "MINZHENG_EXCHANGE_CALLBACK_BASE", "") or request.build_absolute_uri("/")


# --- Output ----------------------------------------------------------------------------------------


class VerificationPersonOut(Schema):
    id: int
    name: str
    id_masked: str


class AuthorisationOut(Schema):
    id: int
    person_id: int
    person_name: str = Field(alias="person.name")
    role: str
    role_label: str
    signer_name: str
    signed_on: date
    reference: str
    recorded_at: datetime

    @staticmethod
    def resolve_role_label(obj: Authorisation) -> str:
        return str(obj.get_role_display())


class QueryOut(Schema):
    department: str = Field(description="部门代码")
    department_name: str
    status: str
    status_label: str
    attempts: int
    due_on: date = Field(description="反馈期限（工作日）")
    overdue: bool = Field(description="超过反馈期限仍未反馈")
    sent_at: datetime | None
    answered_at: datetime | None
    error: str


class RequestOut(Schema):
    id: int
    case_id: int | None
    case_number: str
    transaction_id: str
    as_of: date
    status: str
    status_label: str
    requested_at: datetime
    report_id: int | None
    queries: list[QueryOut]


class FindingOut(Schema):
    id: int
    person_id: int | None
    person_name: str
    department: str
    item: str
    item_label: str
    description: str
    amount: str | None
    quantity: str | None
    unit: str
    period_start: date | None
    period_end: date | None
    declared: str | None
    discrepancy: bool = Field(description="与申报不符")
    disposition: str
    disposition_label: str
    disposition_note: str


class RequestDetailOut(RequestOut):
    findings: list[FindingOut]
    pending_dispositions: int = Field(description="尚未处理的与申报不符的结果")


class CaseVerificationOut(Schema):
    case_id: int
    complete: bool = Field(description="家庭成员的核对授权是否齐全")
    authorisations: list[AuthorisationOut]
    missing: list[VerificationPersonOut] = Field(description="尚未签署核对授权的家庭成员")
    requests: list[RequestOut]


class ReportOut(Schema):
    id: int
    request_id: int
    number: str
    issued_at: datetime
    issued_by: str = Field(alias="issued_by.full_name")
    sha256: str = Field(description="报告内容（键排序的 JSON）的 SHA-256 摘要")
    content: dict[str, Any]


def _query(q: DepartmentQuery, names: dict[str, str], today: date) -> dict[str, Any]:
    return {
        "department": q.counterparty,
        "department_name": names.get(q.counterparty, q.counterparty),
        "status": q.status,
        "status_label": str(QueryStatus(q.status).label),
        "attempts": q.attempts,
        "due_on": q.due_on,
        "overdue": q.status not in services.FINAL and q.due_on < today,
        "sent_at": q.sent_at,
        "answered_at": q.answered_at,
        "error": q.error,
    }


def _request(r: VerificationRequest, names: dict[str, str]) -> dict[str, Any]:
    today = timezone.localdate()
    report: Report | None = getattr(r, "report", None)
    return {
        "id": r.pk,
        "case_id": r.case_id,
        "case_number": r.case.number if r.case else "",
        "transaction_id": r.transaction_id,
        "as_of": r.as_of,
        "status": r.status,
        "status_label": str(RequestStatus(r.status).label),
        "requested_at": r.requested_at,
        "report_id": report.pk if report else None,
        "queries": [_query(q, names, today) for q in r.queries.all()],
    }


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


def _finding(f: Finding, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": f.pk,
        "person_id": f.person_id,
        "person_name": f.person.name if f.person else "",
        "department": names.get(f.query.counterparty, f.query.counterparty),
        "item": f.item,
        "item_label": selectors.item_label(f.item),
        "description": f.description,
        "amount": _dec(f.amount),
        "quantity": _dec(f.quantity),
        "unit": f.unit,
        "period_start": f.period_start,
        "period_end": f.period_end,
        "declared": _dec(f.declared),
        "discrepancy": f.discrepancy,
        "disposition": f.disposition,
        "disposition_label": str(f.get_disposition_display()),
        "disposition_note": f.disposition_note,
    }


def _detail(request: HttpRequest, request_id: int) -> dict[str, Any]:
    found = selectors.request_get(actor=actor(request), request_id=request_id)
    names = selectors.department_names()
    return {
        **_request(found, names),
        "findings": [_finding(f, names) for f in found.findings.all()],
        "pending_dispositions": selectors.pending_dispositions(found),
    }


def _case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    view = selectors.case_verification(actor=actor(request), case_id=case_id)
    names = selectors.department_names()
    signed = [m.authorisation for m in view.members if m.authorisation is not None]
    return {
        "case_id": view.case.pk,
        "complete": view.complete,
        "authorisations": [*signed, *view.supporters],
        "missing": view.missing,
        "requests": [_request(r, names) for r in view.requests],
    }


# --- Input -----------------------------------------------------------------------------------------


class AuthorisationIn(In):
    person_id: Id = Field(description="被核对人（家庭成员，或赡养、抚养、扶养义务人）")
    role: Literal["member", "guardian", "supporter"] = Field(
        description="member=本人，guardian=监护人（未成年人等），supporter=义务人"
    )
    signer_name: Line = Field(min_length=1, max_length=60)
    signed_on: BoundedDate
    reference: Line = Field("", max_length=60, description="授权书编号")


class DisposeIn(In):
    disposition: Literal["accepted", "explained"] = Field(description="accepted=采信，explained=说明")
    note: Line = Field(min_length=1, max_length=300, description="处理说明")


class ContestIn(In):
    statement: Line = Field(min_length=1, max_length=200, description="申请人的异议内容")
    evidence: Line = Field(min_length=1, max_length=200, description="申请人提供的证明材料")


class RequestFilter(In):
    status: Literal["", "open", "answered", "reported", "superseded"] = Field(
        "", description="状态；不填为进行中（核对中、待出具报告）"
    )


# --- Endpoints -------------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/verification",
    response={200: CaseVerificationOut, **_READ_ERRORS},
    summary="案件的家庭经济状况核对：核对授权、尚缺授权的成员、核对请求",
)
def case_verification(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _case(request, case_id)


@router.post(
    "/cases/{case_id}/authorisations",
    response={201: CaseVerificationOut, **_WRITE_ERRORS},
    summary="登记核对授权（本人、监护人或义务人签署）",
)
def authorisation_record(request: HttpRequest, case_id: int, payload: AuthorisationIn) -> Status:
    staff = actor(request)
    view = selectors.case_verification(actor=staff, case_id=case_id)
    services.authorisation_record(
        actor=staff,
        case_id=view.case.pk,
        person_id=payload.person_id,
        role=payload.role,
        signer_name=payload.signer_name,
        signed_on=payload.signed_on,
        reference=payload.reference,
    )
    return Status(201, _case(request, case_id))


@router.post(
    "/cases/{case_id}/verification-requests",
    response={201: RequestDetailOut, **_WRITE_ERRORS},
    summary="提请核对：向各核对部门同时查询（核对授权须齐全；各部门稍后回调反馈）",
)
def request_send(request: HttpRequest, case_id: int) -> Status:
    staff = actor(request)
    view = selectors.case_verification(actor=staff, case_id=case_id)
    sent = services.request_send(actor=staff, case_id=view.case.pk, site=callback_site(request))
    return Status(201, _detail(request, sent.pk))


@router.get(
    "/verification/requests",
    response=list[RequestOut],
    summary="核对请求列表（默认：进行中的，含各部门状态和反馈期限）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def request_list(request: HttpRequest, filters: Query[RequestFilter]) -> object:
    qs = selectors.request_list(actor=actor(request), status=filters.status, in_progress=filters.status == "")
    names = selectors.department_names()
    return _Mapped(qs, lambda r: _request(r, names))


class _Mapped:
    """A queryset whose page is turned into output rows (the paginator slices, then we map)."""

    def __init__(self, qs: Any, fn: Any) -> None:
        self.qs, self.fn = qs, fn

    def count(self) -> int:
        return int(self.qs.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Any]:
        return [self.fn(r) for r in self.qs[index]]


@router.get(
    "/verification/requests/{verification_id}",
    response={200: RequestDetailOut, **_READ_ERRORS},
    summary="核对请求详情：各部门反馈情况、核对结果及处理",
)
def request_detail(request: HttpRequest, verification_id: int) -> dict[str, Any]:
    return _detail(request, verification_id)


@router.post(
    "/verification/requests/{verification_id}/resend",
    response={200: RequestDetailOut, **_WRITE_ERRORS},
    summary="重新发送失败的部门查询",
)
def request_resend(request: HttpRequest, verification_id: int) -> dict[str, Any]:
    staff = actor(request)
    found = selectors.request_get(actor=staff, request_id=verification_id)
    services.request_resend(actor=staff, request_id=found.pk, site=callback_site(request))
    return _detail(request, found.pk)


@router.post(
    "/verification/findings/{finding_id}/dispose",
    response={200: FindingOut, **_WRITE_ERRORS},
    summary="处理与申报不符的核对结果：采信或说明",
)
def finding_dispose(request: HttpRequest, finding_id: int, payload: DisposeIn) -> dict[str, Any]:
    staff = actor(request)
    found = selectors.finding_get(actor=staff, finding_id=finding_id)
    services.finding_dispose(
        actor=staff, finding_id=found.pk, disposition=payload.disposition, note=payload.note
    )
    return _finding(selectors.finding_get(actor=staff, finding_id=found.pk), selectors.department_names())


@router.post(
    "/verification/findings/{finding_id}/contest",
    response={200: FindingOut, **_WRITE_ERRORS},
    summary="登记申请人对已出具报告中核对结果的异议（附证明材料），待复核",
)
def finding_contest(request: HttpRequest, finding_id: int, payload: ContestIn) -> dict[str, Any]:
    staff = actor(request)
    found = selectors.finding_get(actor=staff, finding_id=finding_id)
    services.finding_contest(
        actor=staff, finding_id=found.pk, statement=payload.statement, evidence=payload.evidence
    )
    return _finding(selectors.finding_get(actor=staff, finding_id=found.pk), selectors.department_names())


@router.post(
    "/verification/requests/{verification_id}/recheck",
    response={201: RequestDetailOut, **_WRITE_ERRORS},
    summary="复核有异议的核对结果：只向相关部门查询相关成员，新报告替代原报告（均保留）",
)
def request_recheck(request: HttpRequest, verification_id: int) -> Status:
    staff = actor(request)
    found = selectors.request_get(actor=staff, request_id=verification_id)
    recheck = services.recheck_send(actor=staff, request_id=found.pk, site=callback_site(request))
    return Status(201, _detail(request, recheck.pk))


@router.post(
    "/verification/requests/{verification_id}/report",
    response={201: ReportOut, **_WRITE_ERRORS},
    summary="出具核对报告（各部门均已反馈、拒绝或超时，不符结果均已处理）",
)
def report_issue(request: HttpRequest, verification_id: int) -> Status:
    staff = actor(request)
    found = selectors.request_get(actor=staff, request_id=verification_id)
    report = services.report_issue(actor=staff, request_id=found.pk)
    return Status(201, selectors.report_get(actor=staff, report_id=report.pk))


@router.get(
    "/verification/reports/{verification_report_id}",
    response={200: ReportOut, **_READ_ERRORS},
    summary="核对报告：出具时固定的内容及其 SHA-256 摘要",
)
def report_detail(request: HttpRequest, verification_report_id: int) -> Report:
    return selectors.report_get(actor=actor(request), report_id=verification_report_id)


@router.get(
    "/verification/reports/{verification_report_id}/pdf",
    response=_READ_ERRORS,
    summary="核对报告 PDF 文件（A4，按出具时固定的内容生成）",
    openapi_extra={
        "responses": {200: {"description": "核对报告 (.pdf)", "content": {"application/pdf": {}}}}
    },
)
def report_pdf(request: HttpRequest, verification_report_id: int) -> HttpResponse:
    report = selectors.report_get(actor=actor(request), report_id=verification_report_id)
    name, data = pdf.report_file(report)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


# --- The monthly re-check of recipients -------------------------------------------------------


class RecheckQueryOut(QueryOut):
    records: int = Field(description="部门结果文件中的记录数")


class RecheckBatchOut(Schema):
    id: int
    county: str
    month: date
    transaction_id: str
    as_of: date
    status: str
    status_label: str
    households: int
    persons: int
    hits: int = Field(description="与申报不符的核对结果数")
    requested_at: datetime
    queries: list[RecheckQueryOut]


class RecheckHitOut(Schema):
    id: int
    batch_id: int
    household_id: int
    household_number: str
    village: str
    person_id: int
    person_name: str
    department: str
    item: str
    item_label: str
    amount: str | None = Field(description="部门数据（按成员和项目合计）")
    records: int
    declared: str | None = Field(description="核对时点的申报值")
    source_ref: str


class RecheckIn(In):
    county: Annotated[str, Field(pattern=r"^\d{6}$", description="县（区）代码")]
    month: BoundedDate = Field(description="核对月份（任一日期，取其所在月份）")


def _batch(b: Any, names: dict[str, str]) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": b.pk,
        "county": b.county,
        "month": b.month,
        "transaction_id": b.transaction_id,
        "as_of": b.as_of,
        "status": b.status,
        "status_label": str(RequestStatus(b.status).label),
        "households": b.households,
        "persons": b.persons,
        "hits": getattr(b, "hit_count", 0),
        "requested_at": b.requested_at,
        "queries": [{**_query(q, names, today), "records": q.records} for q in b.queries.all()],
    }


def _hit(h: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": h.pk,
        "batch_id": h.batch_id,
        "household_id": h.subject.household_id,
        "household_number": h.subject.household.number,
        "village": h.subject.household.division.name,
        "person_id": h.subject.person_id,
        "person_name": h.subject.person.name,
        "department": h.query.counterparty,
        "item": h.item,
        "item_label": selectors.item_label(h.item),
        "amount": _dec(h.amount),
        "records": h.records,
        "declared": _dec(h.declared),
        "source_ref": h.source_ref,
    }


@router.get("/verification/rechecks", response=list[RecheckBatchOut], summary="在保对象定期核对批次")
@paginate(BoundedPageNumberPagination, page_size=50)
def recheck_list(request: HttpRequest) -> object:
    names = selectors.department_names()
    return _Mapped(selectors.recheck_batches(actor=actor(request)), lambda b: _batch(b, names))


@router.post(
    "/verification/rechecks",
    response={201: RecheckBatchOut, **_WRITE_ERRORS},
    summary="生成某县（区）某月的定期核对批次（该月底前到期复核的在保家庭全部成员），并向各部门发送核对文件",
)
def recheck_create(request: HttpRequest, payload: RecheckIn) -> Status[dict[str, Any]]:
    staff = actor(request)
    batch = recheck.batch_create(actor=staff, county=payload.county, month=payload.month)
    recheck.batch_send(batch_id=batch.pk, actor=staff)
    found = selectors.recheck_batch_get(actor=staff, batch_id=batch.pk)
    return Status(201, _batch(found, selectors.department_names()))


@router.get(
    "/verification/rechecks/{batch_id}",
    response={200: RecheckBatchOut, **_READ_ERRORS},
    summary="定期核对批次：各部门状态",
)
def recheck_detail(request: HttpRequest, batch_id: Id) -> dict[str, Any]:
    found = selectors.recheck_batch_get(actor=actor(request), batch_id=batch_id)
    return _batch(found, selectors.department_names())


@router.post(
    "/verification/rechecks/{batch_id}/send",
    response={200: RecheckBatchOut, **_WRITE_ERRORS},
    summary="重新发送未送达（待发送或发送失败）的核对文件",
)
def recheck_send(request: HttpRequest, batch_id: Id) -> dict[str, Any]:
    staff = actor(request)
    found = selectors.recheck_batch_get(actor=staff, batch_id=batch_id)
    recheck.batch_send(batch_id=found.pk, actor=staff)
    return _batch(selectors.recheck_batch_get(actor=staff, batch_id=found.pk), selectors.department_names())


@router.get(
    "/verification/rechecks/{batch_id}/hits",
    response=list[RecheckHitOut],
    summary="定期核对批次中与申报不符的核对结果（每户已生成复核任务）",
)
@paginate(BoundedPageNumberPagination, page_size=100)
def recheck_hits(request: HttpRequest, batch_id: Id) -> object:
    staff = actor(request)
    found = selectors.recheck_batch_get(actor=staff, batch_id=batch_id)
    names = selectors.department_names()
    return _Mapped(selectors.recheck_hits(actor=staff, batch_id=found.pk), lambda h: _hit(h, names))
