"""Payments (资金发放): enrolments (在保对象) and their changes, monthly payroll runs with their totals
and lines, maker-checker approval, bank files, reconciliation, re-issue, village rosters,
re-review tasks (复核), one-off payment orders (一次性救助支付单: method, bank batches, cash,
cancellation, recovery, back pay paid on its own) and the township funds' ledger (资金台账)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import field_validator

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.errors import DomainError, InvalidInput, NotFound
from minzheng.core.inputs import BenefitMoney, BoundedDate, Money, Month, SignedBenefitMoney
from minzheng.org.models import Division
from minzheng.payments import orders, selectors, services, tasks
from minzheng.payments.models import (
    AmountProposal,
    BankExport,
    Enrolment,
    EnrolmentChange,
    FundEntry,
    PaymentOrder,
    PayrollLine,
    PayrollRun,
    ReconciliationReport,
    ReviewTask,
)

router = Router(tags=["资金发放 payments"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FEN = Decimal("0.01")

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Reason = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$", description="理由")]

_READ_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _attachment(content: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Enrolments -------------------------------------------------------------------------------------


class EnrolmentOut(Schema):
    id: int
    programme: str
    programme_label: str
    case_id: int
    case_number: str = Field(alias="case.number")
    household_id: int
    household_number: str = Field(alias="household.number")
    payee_id: int
    payee_name: str = Field(alias="payee.name")
    payee_id_number_masked: str = Field(alias="payee.id_masked")
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    monthly_amount: Decimal
    start_month: date
    end_month: date | None
    status: str
    status_label: str
    calculated_amount: Decimal | None = Field(description="决定所依据的测算金额（调整建议按差额提出）")
    bank_name: str
    account_masked: str = Field(description="银行账号（脱敏）")
    review_months: int = Field(description="复核周期（月）")
    next_review: date

    @staticmethod
    def resolve_programme_label(obj: Enrolment) -> str:
        return selectors.programme_label(obj.programme)

    @staticmethod
    def resolve_status_label(obj: Enrolment) -> str:
        return str(obj.get_status_display())


class ChangeOut(Schema):
    kind: str
    kind_label: str
    effective_month: date
    old_amount: Decimal | None
    new_amount: Decimal | None
    one_off_amount: Decimal = Field(description="一次性补发（正）或追回扣减（负）")
    reason: str
    notice: str = Field(description="停发等书面告知内容")
    settled: bool = Field(description="补发/扣减已在发放批次中结算")
    actor_name: str = Field(alias="actor.full_name")
    at: datetime

    @staticmethod
    def resolve_kind_label(obj: EnrolmentChange) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_settled(obj: EnrolmentChange) -> bool:
        return obj.settled_in_id is not None


class ReviewTaskOut(Schema):
    id: int
    enrolment_id: int
    kind: str
    kind_label: str
    due_date: date
    office_code: str
    payee_name: str = Field(alias="enrolment.payee.name")
    household_number: str = Field(alias="enrolment.household.number")
    division_name: str = Field(alias="enrolment.division.name")
    monthly_amount: Decimal = Field(alias="enrolment.monthly_amount")
    done_at: datetime | None
    outcome: str
    note: str

    @staticmethod
    def resolve_kind_label(obj: ReviewTask) -> str:
        return str(obj.get_kind_display())


class ProposalOut(Schema):
    id: int
    enrolment_id: int
    run_id: int
    payee_name: str = Field(alias="enrolment.payee.name")
    division_code: str = Field(alias="enrolment.division_id")
    reason: str
    reason_label: str
    current_amount: Decimal
    basis_amount: Decimal = Field(description="原决定所依据的测算金额")
    calculated_amount: Decimal = Field(description="按本月标准和家庭情况重新测算的金额")
    proposed_amount: Decimal = Field(description="建议金额：现发放金额加测算差额")
    status: str
    status_label: str
    effective_month: date | None
    notice: str
    note: str
    decided_at: datetime | None

    @staticmethod
    def resolve_reason_label(obj: AmountProposal) -> str:
        return str(obj.get_reason_display())

    @staticmethod
    def resolve_status_label(obj: AmountProposal) -> str:
        return str(obj.get_status_display())


class PaidLineOut(Schema):
    run_id: int
    month: date
    arrears: Decimal = Field(description="其中补发漏发月份的金额")
    amount: Decimal
    status: str


class ArrearsOut(Schema):
    month: date = Field(description="漏发月份")
    amount: Decimal
    run_id: int = Field(description="补发所在批次")
    paid_in: date = Field(alias="run.month", description="补发所在月份")


class EnrolmentDetailOut(EnrolmentOut):
    changes: list[ChangeOut]
    open_reviews: list[ReviewTaskOut]
    recent_lines: list[PaidLineOut] = Field(description="最近12笔发放")
    arrears: list[ArrearsOut] = Field(description="补发的漏发月份")
    amount_proposals: list[ProposalOut] = Field(description="金额调整建议")


class EnrolmentFilter(Schema):
    search: str = Field("", max_length=60, description="领取人姓名、家庭编号或受理编号")
    status: str = Field("", max_length=12, description="active|suspended|exiting|terminated")
    programme: str = Field("", max_length=40)
    division: str = Field("", max_length=12, pattern=r"^\d*$", description="区划代码（前缀）")


class PendingCaseOut(Schema):
    case_id: int = Field(alias="id")
    case_number: str = Field(alias="number")
    item_name: str = Field(alias="item.name")
    applicant_name: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    amount: Decimal = Field(alias="decision.amount")
    start_month: date | None = Field(alias="decision.start_month")
    decided_at: datetime = Field(alias="decision.decided_at")


class EnrolIn(Schema):
    case_id: Id
    bank_name: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00]*$")
    account_number: str = Field(min_length=1, max_length=40, pattern=r"^[\d ]*$")


class AmountIn(Schema):
    new_amount: BenefitMoney = Field(description="新的月发放金额（元）")
    month: Month = Field(description="生效月份（取该月1日）")
    reason: Reason


class MonthReasonIn(Schema):
    month: Month = Field(description="生效月份（取该月1日）")
    reason: Reason


class ExitIn(MonthReasonIn):
    months: int = Field(ge=1, le=6, description="渐退月数（1至6）")


class TerminateIn(MonthReasonIn):
    notice: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$", description="书面告知内容")


class OneOffIn(MonthReasonIn):
    amount: SignedBenefitMoney = Field(description="补发为正数，追回（从发放中扣减）为负数")


def _enrolment(request: HttpRequest, enrolment_id: int) -> Enrolment:
    return selectors.enrolment_get(actor=actor(request), enrolment_id=enrolment_id)


@router.get("/payments/enrolments", response=list[EnrolmentOut], summary="在保对象列表（检索、按状态筛选）")
@paginate(BoundedPageNumberPagination, page_size=50)
def enrolments(request: HttpRequest, filters: Query[EnrolmentFilter]) -> object:
    return selectors.enrolment_list(
        actor=actor(request),
        search=filters.search,
        status=filters.status,
        programme=filters.programme,
        division_code=filters.division,
    )


@router.get(
    "/payments/pending-cases",
    response=list[PendingCaseOut],
    summary="待纳入发放的已批准申请（按月发放、尚未纳入）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def pending_cases(request: HttpRequest) -> object:
    return selectors.cases_awaiting_enrolment(actor=actor(request))


@router.post(
    "/payments/enrolments",
    response={201: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="依已批准的决定纳入发放（金额和起始月份取自决定；银行账号加密保存）",
)
def enrolment_create(request: HttpRequest, payload: EnrolIn) -> Status:
    created = services.enrolment_create(
        actor=actor(request),
        case_id=payload.case_id,
        bank_name=payload.bank_name,
        account_number=payload.account_number,
    )
    return Status(201, _enrolment(request, created.pk))


@router.get(
    "/payments/enrolments/{enrolment_id}",
    response={200: EnrolmentDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="在保对象详情：变更记录、待办复核、最近发放",
)
def enrolment_detail(request: HttpRequest, enrolment_id: int) -> Enrolment:
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/amount",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="调整月发放金额（须说明理由）",
)
def enrolment_amount(request: HttpRequest, enrolment_id: int, payload: AmountIn) -> Enrolment:
    services.enrolment_change_amount(
        actor=actor(request),
        enrolment_id=enrolment_id,
        new_amount=payload.new_amount,
        month=payload.month,
        reason=payload.reason,
    )
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/suspend",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="暂停发放（须说明理由）",
)
def enrolment_suspend(request: HttpRequest, enrolment_id: int, payload: MonthReasonIn) -> Enrolment:
    services.enrolment_suspend(
        actor=actor(request), enrolment_id=enrolment_id, month=payload.month, reason=payload.reason
    )
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/resume",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="恢复发放（须说明理由）",
)
def enrolment_resume(request: HttpRequest, enrolment_id: int, payload: MonthReasonIn) -> Enrolment:
    services.enrolment_resume(
        actor=actor(request), enrolment_id=enrolment_id, month=payload.month, reason=payload.reason
    )
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/exit",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="启动渐退（1至6个月后停发）",
)
def enrolment_exit(request: HttpRequest, enrolment_id: int, payload: ExitIn) -> Enrolment:
    services.enrolment_start_exit(
        actor=actor(request),
        enrolment_id=enrolment_id,
        months=payload.months,
        month=payload.month,
        reason=payload.reason,
    )
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/terminate",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="停发（自生效月份起不再发放；须书面告知并说明理由）",
)
def enrolment_terminate(request: HttpRequest, enrolment_id: int, payload: TerminateIn) -> Enrolment:
    services.enrolment_terminate(
        actor=actor(request),
        enrolment_id=enrolment_id,
        month=payload.month,
        reason=payload.reason,
        notice=payload.notice,
    )
    return _enrolment(request, enrolment_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/one-off",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="补发或追回（在下一次发放中结算；追回为负数）",
)
def enrolment_one_off(request: HttpRequest, enrolment_id: int, payload: OneOffIn) -> Enrolment:
    services.enrolment_one_off(
        actor=actor(request),
        enrolment_id=enrolment_id,
        amount=payload.amount,
        month=payload.month,
        reason=payload.reason,
    )
    return _enrolment(request, enrolment_id)


class BankAccountIn(Schema):
    bank_name: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00]*$")
    account_number: str = Field(min_length=1, max_length=40, pattern=r"^[\d ]*$")
    reason: Reason


@router.post(
    "/payments/enrolments/{enrolment_id}/bank-account",
    response={200: EnrolmentDetailOut, **_WRITE_ERRORS},
    summary="变更收款银行账户（须说明理由；发放失败的笔数改户后可重发）",
)
def enrolment_bank_account(request: HttpRequest, enrolment_id: int, payload: BankAccountIn) -> Enrolment:
    services.enrolment_bank_account_change(
        actor=actor(request),
        enrolment_id=enrolment_id,
        bank_name=payload.bank_name,
        account_number=payload.account_number,
        reason=payload.reason,
    )
    return _enrolment(request, enrolment_id)


# --- One-off payment orders (schemas; the endpoints follow the runs) -------------------------------


class OrderOut(Schema):
    id: int
    county: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    township_code: str
    programme: str
    programme_label: str
    basis: str = Field(description="decision 审批决定 | aid_first 先行救助 | back_pay 补发（单独发放）")
    basis_label: str
    case_id: int | None
    case_number: str | None = Field(None, alias="case.number")
    change_id: int | None = Field(description="补发所依据的在保对象变更")
    payee_id: int
    payee_name: str = Field(alias="payee.name")
    payee_id_number_masked: str = Field(alias="payee.id_masked")
    amount: Decimal
    reason: str
    status: str = Field(description="awaiting|ready|batched|cash_paid|cancelled")
    status_label: str
    method: str = Field(description="bank 银行代发 | cash 备用金现金发放 | 空：尚未确定")
    method_label: str
    bank_name: str
    account_masked: str = Field(description="银行账号（脱敏）")
    run_id: int | None = Field(description="编入的代发批次")
    created_by: str = Field(alias="created_by.full_name")
    created_at: datetime

    @staticmethod
    def resolve_programme_label(obj: PaymentOrder) -> str:
        return selectors.programme_label(obj.programme)

    @staticmethod
    def resolve_basis_label(obj: PaymentOrder) -> str:
        return str(obj.get_basis_display())

    @staticmethod
    def resolve_status_label(obj: PaymentOrder) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_method_label(obj: PaymentOrder) -> str:
        return str(obj.get_method_display()) if obj.method else ""


# --- Payroll runs -----------------------------------------------------------------------------------


class RunOut(Schema):
    id: int
    county: str
    month: date
    status: str
    status_label: str
    progress_done: int = Field(description="已写入的发放笔数（计算完成时）")
    progress_total: int
    line_count: int
    total_amount: Decimal
    arrears_total: Decimal = Field(description="其中补发漏发月份的金额")
    error: str
    claimed_by: str = Field(description="计算进程（主机:进程号）")
    started_at: datetime | None = Field(description="最近一次开始计算的时间")
    attempts: int = Field(description="计算次数")
    changes_since: datetime | None = Field(description="重新测算的变化起点（空：全部重新测算）")
    recomputed_households: int = Field(description="重新测算的户数")
    proposals: int = Field(description="待审核的金额调整建议数")
    reviews_opened: int = Field(description="不再符合条件、转复核的数量")
    created_by: str = Field(alias="created_by.full_name")
    created_at: datetime
    computed_at: datetime | None
    approved_by: str | None = Field(None, alias="approved_by.full_name")
    approved_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: PayrollRun) -> str:
        return str(obj.get_status_display())


class TotalOut(Schema):
    township_code: str
    township_name: str
    programme: str
    programme_label: str
    line_count: int
    amount: Decimal


class SubtotalOut(Schema):
    code: str
    name: str
    line_count: int
    amount: Decimal


class RunDetailOut(Schema):
    run: RunOut
    county_name: str
    percent: int = Field(description="计算进度（%）")
    stuck: bool = Field(description="计算进程已中断，可继续计算")
    totals: list[TotalOut] = Field(description="按乡镇（街道）和救助项目汇总")
    by_township: list[SubtotalOut]
    by_programme: list[SubtotalOut]
    status_counts: dict[str, int] = Field(description="各发放状态的笔数")


class RunIn(Schema):
    county: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$", description="县（区）代码")
    month: Month = Field(description="发放月份（取该月1日）")


class ApproveIn(Schema):
    note: str = Field("", max_length=300, pattern=r"^[^\x00]*$", description="审批意见")


class PayrollLineOut(Schema):
    id: int
    enrolment_id: int | None = Field(description="在保对象（月度名册的笔数）")
    order_id: int | None = Field(description="一次性救助支付单（代发批次的笔数）")
    programme: str
    month: date
    payee_id: int
    payee_name: str = Field(alias="payee.name")
    payee_id_number_masked: str = Field(alias="payee.id_masked")
    division_code: str
    village_name: str | None
    account_masked: str = Field(description="银行账号（脱敏）：在保对象或支付单的账户")
    monthly_amount: Decimal
    arrears: Decimal = Field(description="补发漏发月份的金额")
    adjustment: Decimal
    amount: Decimal
    status: str
    status_label: str
    bank_reference: str
    failure_reason: str
    reissue_of: int | None = Field(None, alias="reissue_of_id")

    @staticmethod
    def resolve_status_label(obj: PayrollLine) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_account_masked(obj: PayrollLine) -> str:
        if obj.enrolment is not None:
            return obj.enrolment.account_masked
        return obj.order.account_masked if obj.order is not None else ""


class LineFilter(Schema):
    village: str = Field("", max_length=12, pattern=r"^\d*$", description="村（社区）代码（或前缀）")
    status: str = Field("", max_length=10, description="pending|paid|failed|reissued")


class VillageOut(Schema):
    code: str
    name: str
    township_name: str
    line_count: int
    amount: Decimal


def _run_detail(request: HttpRequest, run_id: int) -> selectors.RunDetail:
    return selectors.run_get(actor=actor(request), run_id=run_id)


@router.get("/payments/runs", response=list[RunOut], summary="发放批次列表")
@paginate(BoundedPageNumberPagination, page_size=50)
def runs(request: HttpRequest) -> object:
    return selectors.run_list(actor=actor(request))


@router.post(
    "/payments/runs",
    response={201: RunDetailOut, 202: RunDetailOut, **_WRITE_ERRORS},
    summary="生成某县（区）某月的发放名册（后台计算，返回202，轮询批次状态；一县一月一个批次，再次提交返回同一批次）",
)
def run_start(request: HttpRequest, payload: RunIn) -> Status:
    run = tasks.payroll_run_start(actor=actor(request), county=payload.county, month=payload.month)
    detail = _run_detail(request, run.pk)
    return Status(202 if detail.running else 201, detail)


@router.get(
    "/payments/runs/{run_id}",
    response={200: RunDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="发放批次：状态、计算进度、按乡镇和项目汇总",
)
def run_detail(request: HttpRequest, run_id: int) -> selectors.RunDetail:
    return _run_detail(request, run_id)


@router.get(
    "/payments/runs/{run_id}/lines",
    response={200: list[PayrollLineOut], **_READ_ERRORS},
    summary="发放明细（按村（社区）、发放状态筛选，分页）",
)
@paginate(BoundedPageNumberPagination, page_size=100)
def run_lines(request: HttpRequest, run_id: int, filters: Query[LineFilter]) -> object:
    return selectors.run_lines(
        actor=actor(request), run_id=run_id, village=filters.village, status=filters.status
    ).select_related("order")


@router.get(
    "/payments/runs/{run_id}/villages",
    response={200: list[VillageOut], 403: ErrorOut, 404: ErrorOut},
    summary="批次中各村（社区）的笔数和金额",
)
def run_villages(request: HttpRequest, run_id: int) -> list[selectors.VillageRow]:
    return selectors.run_villages(actor=actor(request), run_id=run_id)


@router.post(
    "/payments/runs/{run_id}/approve",
    response={200: RunDetailOut, **_WRITE_ERRORS},
    summary="审批发放名册（双人复核：生成人不能审批）",
)
def run_approve(request: HttpRequest, run_id: int, payload: ApproveIn) -> selectors.RunDetail:
    services.payroll_approve(actor=actor(request), run_id=run_id, note=payload.note)
    return _run_detail(request, run_id)


@router.post(
    "/payments/runs/{run_id}/resume",
    response={202: RunDetailOut, **_WRITE_ERRORS},
    summary="继续计算失败或计算进程已中断的发放名册（后台计算；已写入的不重复发放）",
)
def run_resume(request: HttpRequest, run_id: int) -> Status:
    tasks.payroll_run_resume(actor=actor(request), run_id=run_id)
    return Status(202, _run_detail(request, run_id))


class RunParameterOut(Schema):
    name: str
    description: str
    area: str
    region: str
    effective_from: date | None
    value: str
    reference: str


@router.get(
    "/payments/runs/{run_id}/parameters",
    response={200: list[RunParameterOut], 403: ErrorOut, 404: ErrorOut},
    summary="批次计算所用的规则参数（名称、地区、生效日期、值、依据文件）",
)
def run_parameters(request: HttpRequest, run_id: int) -> list[Any]:
    return selectors.run_parameters(actor=actor(request), run_id=run_id)


class AmountSetByOut(Schema):
    kind: str
    effective_month: date
    new_amount: Decimal | None
    reason: str
    notice: str
    actor_name: str = Field(alias="actor.full_name")
    at: datetime


class DecisionRefOut(Schema):
    case_id: int
    amount: Decimal
    decided_at: datetime
    calculation_id: int | None


class OneOffOut(Schema):
    kind: str
    one_off_amount: Decimal
    reason: str
    at: datetime


class LineExplanationOut(Schema):
    line: PayrollLineOut
    amount_set_by: AmountSetByOut | None = Field(description="确定本月标准金额的变更（纳入或批准的调整）")
    decision: DecisionRefOut | None = Field(description="纳入所依据的审批决定（含测算记录）")
    proposal: ProposalOut | None = Field(
        description="金额来自批准的调整建议时，该建议（其批次的参数见 parameters）"
    )
    arrears: list[ArrearsOut] = Field(description="本笔补发的漏发月份")
    one_offs: list[OneOffOut] = Field(description="本笔结算的补发/追回")
    parameters: list[RunParameterOut] = Field(description="本批次测算所用规则参数")
    order: OrderOut | None = Field(None, description="代发批次的笔数：所支付的一次性救助支付单")


class ProposalFilter(Schema):
    status: str = Field("proposed", max_length=12, pattern=r"^(proposed|approved|rejected|superseded|)$")


class ProposalDecisionIn(Schema):
    approve: bool = Field(description="true 批准，false 不予调整")
    proposal_ids: list[int] | None = Field(
        None, max_length=10000, description="逐条审核；留空则审核本批次全部待审核建议"
    )
    note: str = Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$", description="审核意见")
    notice: str = Field("", max_length=2000, pattern=r"^[^\x00]*$", description="书面告知内容（批准时必填）")


class DecidedOut(Schema):
    decided: int


@router.get(
    "/payments/runs/{run_id}/lines/{line_id}",
    response={200: LineExplanationOut, 403: ErrorOut, 404: ErrorOut},
    summary="一笔发放的说明：标准金额的来源（决定或批准的调整）、补发月份、结算的补发/追回、所用参数",
)
def line_explanation(request: HttpRequest, run_id: int, line_id: int) -> selectors.LineExplanation:
    return selectors.line_explanation(actor=actor(request), run_id=run_id, line_id=line_id)


@router.get(
    "/payments/runs/{run_id}/proposals",
    response={200: list[ProposalOut], **_READ_ERRORS},
    summary="批次提出的金额调整建议（默认待审核的）",
)
@paginate(BoundedPageNumberPagination, page_size=100)
def run_proposals(request: HttpRequest, run_id: int, filters: Query[ProposalFilter]) -> object:
    return selectors.run_proposals(actor=actor(request), run_id=run_id, status=filters.status)


@router.post(
    "/payments/runs/{run_id}/proposals/decide",
    response={200: DecidedOut, **_WRITE_ERRORS},
    summary="审核金额调整建议（逐条或整批；须由生成名册以外的人审核，批准须书面告知）",
)
def run_proposals_decide(request: HttpRequest, run_id: int, payload: ProposalDecisionIn) -> dict[str, int]:
    if payload.proposal_ids:
        proposals = selectors.run_proposals(actor=actor(request), run_id=run_id, status="")
        if proposals.filter(pk__in=payload.proposal_ids).count() != len(set(payload.proposal_ids)):
            raise NotFound("没有找到该批次的这些调整建议")
        decided = services.proposals_decide(
            actor=actor(request),
            approve=payload.approve,
            note=payload.note,
            notice=payload.notice,
            proposal_ids=payload.proposal_ids,
        )
    else:
        decided = services.proposals_decide(
            actor=actor(request),
            approve=payload.approve,
            note=payload.note,
            notice=payload.notice,
            run_id=run_id,
        )
    return {"decided": decided}


# --- Bank files and reconciliation ------------------------------------------------------------------


class BankFileTooLarge(DomainError):
    code = "file_too_large"
    status = 413
    default_message = "文件不能超过20MB"


RESULTS_MAX_BYTES = 20 * 1024 * 1024
RESULTS_FILE = File(
    ..., description="银行回盘文件：业务参考号、状态（成功/失败），可含失败原因、银行流水号、金额"
)


class LayoutOut(Schema):
    code: str
    name: str
    bank: str
    format: str


class ExportIn(Schema):
    layout: str = Field(
        min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$", description="文件格式代码（见 bank-layouts）"
    )


class ExportOut(Schema):
    id: int
    run_id: int
    layout: str
    file_name: str
    content_type: str
    sha256: str
    line_count: int
    total_amount: Decimal
    created_by: str = Field(alias="created_by.full_name")
    created_at: datetime
    download_url: str

    @staticmethod
    def resolve_download_url(obj: BankExport) -> str:
        return f"/api/v1/payments/runs/{obj.run_id}/exports/{obj.pk}/file"


class ResultErrorOut(Schema):
    row: int = Field(description="文件中的行号（0表示整个文件）")
    reference: str
    message: str


class ReconciliationOut(Schema):
    id: int
    run_id: int
    file_name: str
    sha256: str
    rows: int
    accepted: bool = Field(description="全部无误并已入账；否则一笔也未入账，见 errors")
    paid: int
    paid_amount: Decimal
    failed: int
    failed_amount: Decimal
    pending_after: int = Field(description="导入后仍待发放的笔数")
    errors: list[ResultErrorOut]
    created_by: str = Field(alias="created_by.full_name")
    created_at: datetime


class ReissueOut(Schema):
    reissued: int = Field(description="重发的笔数（已变更银行账户的失败笔数）")
    run: RunDetailOut


@router.get("/payments/bank-layouts", response=list[LayoutOut], summary="可选的银行代发文件格式")
def bank_layouts(request: HttpRequest) -> list[Any]:
    return services.bank_layouts()


@router.post(
    "/payments/runs/{run_id}/exports",
    response={201: ExportOut, **_WRITE_ERRORS},
    summary="生成银行代发文件（已审批的批次；含全部待发放笔数，之后只含重发的笔数）",
)
def export_create(request: HttpRequest, run_id: int, payload: ExportIn) -> Status:
    selectors.run_get(actor=actor(request), run_id=run_id)
    export = services.bank_export(actor=actor(request), run_id=run_id, layout=payload.layout)
    return Status(201, selectors.export_get(actor=actor(request), run_id=run_id, export_id=export.pk))


@router.get(
    "/payments/runs/{run_id}/exports",
    response={200: list[ExportOut], 403: ErrorOut, 404: ErrorOut},
    summary="批次的银行代发文件",
)
def exports(request: HttpRequest, run_id: int) -> list[BankExport]:
    return list(selectors.export_list(actor=actor(request), run_id=run_id))


@router.get(
    "/payments/runs/{run_id}/exports/{export_id}/file",
    response={403: ErrorOut, 404: ErrorOut},
    openapi_extra={
        "responses": {
            200: {
                "description": "银行代发文件（CSV 或 Excel；含完整账号，下载留痕）",
                "content": {"text/csv": {}, XLSX: {}},
            }
        }
    },
    summary="下载银行代发文件",
)
def export_file(request: HttpRequest, run_id: int, export_id: int) -> HttpResponse:
    selectors.export_get(actor=actor(request), run_id=run_id, export_id=export_id)
    name, content_type, content = services.bank_export_file(actor=actor(request), export_id=export_id)
    return _attachment(content, name, content_type)


def _rejected(report: ReconciliationReport) -> InvalidInput:
    field_errors: dict[str, list[str]] = {}
    for e in report.errors:
        key = f"第{e['row']}行" if e["row"] else "file"
        field_errors.setdefault(key, []).append(e["message"])
    message = (
        f"回盘文件有{len(report.errors)}处错误，未入账（对账报告 {report.pk}，"
        f"详情见 /api/v1/payments/runs/{report.run_id}/reconciliations/{report.pk}）"
    )
    return InvalidInput(message, code="reconciliation_rejected", field_errors=field_errors)


@router.post(
    "/payments/runs/{run_id}/reconciliations",
    response={201: ReconciliationOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="导入银行回盘文件对账（CSV或Excel；全部无误才入账，否则返回422及逐行错误）",
)
def reconciliation_create(
    request: HttpRequest,
    run_id: int,
    file: UploadedFile = RESULTS_FILE,
) -> Status:
    selectors.run_get(actor=actor(request), run_id=run_id)
    if (file.size or 0) > RESULTS_MAX_BYTES:
        raise BankFileTooLarge(field_errors={"file": ["文件不能超过20MB"]})
    report = services.reconciliation_import(
        actor=actor(request),
        run_id=run_id,
        file_name=(file.name or "").replace("\x00", "") or "results.csv",
        content=file.read(RESULTS_MAX_BYTES + 1),
    )
    if not report.accepted:
        raise _rejected(report)
    return Status(201, selectors.reconciliation_get(actor=actor(request), run_id=run_id, report_id=report.pk))


@router.get(
    "/payments/runs/{run_id}/reconciliations",
    response={200: list[ReconciliationOut], 403: ErrorOut, 404: ErrorOut},
    summary="批次的对账记录（含被拒绝的回盘文件及其逐行错误）",
)
def reconciliations(request: HttpRequest, run_id: int) -> list[ReconciliationReport]:
    return list(selectors.reconciliation_list(actor=actor(request), run_id=run_id)[:100])


@router.get(
    "/payments/runs/{run_id}/reconciliations/{report_id}",
    response={200: ReconciliationOut, 403: ErrorOut, 404: ErrorOut},
    summary="对账报告",
)
def reconciliation(request: HttpRequest, run_id: int, report_id: int) -> ReconciliationReport:
    return selectors.reconciliation_get(actor=actor(request), run_id=run_id, report_id=report_id)


@router.post(
    "/payments/runs/{run_id}/reissue",
    response={200: ReissueOut, **_WRITE_ERRORS},
    summary="重发：已变更银行账户的失败笔数重新发放（下一个银行文件携带）",
)
def reissue(request: HttpRequest, run_id: int) -> dict[str, Any]:
    selectors.run_get(actor=actor(request), run_id=run_id)
    count = services.payroll_reissue(actor=actor(request), run_id=run_id)
    return {"reissued": count, "run": _run_detail(request, run_id)}


@router.get(
    "/payments/runs/{run_id}/roster/{village_code}",
    response={403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    openapi_extra={"responses": {200: {"description": "发放花名册 (.xlsx)", "content": {XLSX: {}}}}},
    summary="下载村（社区）发放花名册（Excel，A4横向；身份证号和账号脱敏）",
)
def roster(request: HttpRequest, run_id: int, village_code: str) -> HttpResponse:
    found = selectors.roster(actor=actor(request), run_id=run_id, village_code=village_code)
    content = services.roster_workbook(actor=actor(request), run_id=run_id, village_code=village_code)
    return _attachment(content, f"发放花名册_{found.village_name}_{found.run.month:%Y%m}.xlsx", XLSX)


# --- Re-review --------------------------------------------------------------------------------------


class ReviewFilter(Schema):
    open: bool = Field(True, description="只看未完成")
    office: str = Field("", max_length=12, pattern=r"^\d*$", description="负责机构（乡镇）代码")


class ReviewIn(Schema):
    outcome: Literal["keep", "change", "stop"] = Field(description="keep=维持，change=调整，stop=停发")
    reason: Reason
    new_amount: BenefitMoney | None = Field(None, description="调整后的月发放金额（调整时必填）")


@router.get("/payments/reviews", response=list[ReviewTaskOut], summary="复核任务（本机构，按应完成日期）")
@paginate(BoundedPageNumberPagination, page_size=50)
def reviews(request: HttpRequest, filters: Query[ReviewFilter]) -> object:
    return selectors.review_tasks(actor=actor(request), open_only=filters.open, office_code=filters.office)


@router.post(
    "/payments/reviews/{task_id}/complete",
    response={200: ReviewTaskOut, **_WRITE_ERRORS},
    summary="完成复核：维持、调整或停发（须说明理由）",
)
def review_complete(request: HttpRequest, task_id: int, payload: ReviewIn) -> ReviewTask:
    services.review_complete(
        actor=actor(request),
        task_id=task_id,
        outcome=payload.outcome,
        reason=payload.reason,
        new_amount=payload.new_amount,
    )
    return selectors.review_task_get(actor=actor(request), task_id=task_id)


# --- One-off payment orders (一次性救助支付单) and funds (资金台账) -------------------------------------


class OrderLineOut(Schema):
    id: int
    run_id: int
    amount: Decimal
    status: str
    status_label: str
    bank_reference: str
    failure_reason: str
    result_at: datetime | None
    reissue_of: int | None = Field(None, alias="reissue_of_id")

    @staticmethod
    def resolve_status_label(obj: PayrollLine) -> str:
        return str(obj.get_status_display())


class FundEntryOut(Schema):
    id: int
    township_code: str = Field(alias="fund.township_code")
    fund_kind: str = Field(alias="fund.kind", description="assistance 临时救助资金 | reserve 备用金")
    kind: str = Field(description="budget 拨入 | paid 支出 | recovered 追回 | returned 退回")
    kind_label: str
    month: date
    amount: Decimal
    balance_after: Decimal = Field(description="本笔之后的余额")
    order_id: int | None
    run_id: int | None
    note: str
    created_by: str = Field(alias="created_by.full_name")
    at: datetime

    @staticmethod
    def resolve_kind_label(obj: FundEntry) -> str:
        return str(obj.get_kind_display())


class CashOut(Schema):
    receipt_number: str
    paid_on: date
    recipient_name: str
    recipient_signed: bool
    paid_by: str = Field(alias="paid_by.full_name")
    note: str
    at: datetime


class OrderDetailOut(Schema):
    order: OrderOut
    lines: list[OrderLineOut] = Field(description="银行代发的笔数（含重发）")
    entries: list[FundEntryOut] = Field(description="本单的资金台账记录（现金发放、追回）")
    cash: CashOut | None = Field(description="现金发放收据")
    paid: bool = Field(description="已发放（现金，或银行回盘成功）")
    recovered: Decimal = Field(description="已追回金额")


class OrderFilter(Schema):
    status: str = Field(
        "", max_length=10, pattern=r"^(awaiting|ready|batched|cash_paid|cancelled|)$", description="状态"
    )
    county: str = Field("", max_length=6, pattern=r"^(\d{6})?$", description="县（区）代码")


class MethodIn(Schema):
    method: Literal["bank", "cash"] = Field(description="bank 银行代发，cash 备用金现金发放")
    bank_name: str = Field("", max_length=60, pattern=r"^[^\x00]*$", description="开户银行（银行代发时必填）")
    account_number: str = Field(
        "", max_length=40, pattern=r"^[\d ]*$", description="银行账号（银行代发时必填；加密保存）"
    )


class CashIn(Schema):
    receipt_number: str = Field(min_length=1, max_length=40, pattern=r"^[^\x00]*$", description="收据编号")
    paid_on: BoundedDate = Field(description="发放日期（不晚于今天）")
    recipient_name: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00]*$", description="领款人")
    recipient_signed: bool = Field(description="领款人已在收据上签字（须为 true）")
    note: str = Field("", max_length=300, pattern=r"^[^\x00]*$")


class CancelIn(Schema):
    reason: Reason


class RecoverIn(Schema):
    amount: BenefitMoney = Field(description="追回金额（元），合计不超过发放金额")
    reason: Reason


class BatchIn(Schema):
    county: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$", description="县（区）代码")


class FundOut(Schema):
    township_code: str
    township_name: str
    kind: str
    kind_label: str
    balance: Decimal


class LedgerRowOut(Schema):
    township_code: str
    township_name: str
    kind: str
    kind_label: str
    month: date
    budget: Decimal = Field(description="拨入")
    paid: Decimal = Field(description="支出（已发放）")
    recovered: Decimal = Field(description="追回")
    pending: Decimal = Field(description="本月生成、尚未发放的支付单金额")
    balance: Decimal = Field(description="月末余额")

    @field_validator("budget", "paid", "recovered", "pending", "balance")
    @classmethod
    def _to_the_fen(cls, value: Decimal) -> Decimal:
        return value.quantize(FEN)  # sums read from the database may come without their places


class LedgerFilter(Schema):
    county: str = Field("", max_length=6, pattern=r"^(\d{6})?$", description="县（区）代码")


class AllocateIn(Schema):
    township_code: str = Field(
        min_length=12, max_length=12, pattern=r"^\d{9}000$", description="乡镇（街道）区划代码"
    )
    kind: Literal["assistance", "reserve"] = Field(description="assistance 临时救助资金，reserve 备用金")
    amount: Money = Field(description="拨入金额（元）")
    month: Month = Field(description="所属月份（取该月1日）")
    note: str = Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$", description="拨款依据（文号）")


class BackPayOrderIn(Schema):
    amount: BenefitMoney = Field(description="补发金额（元）")
    month: Month = Field(description="补发所属月份（取该月1日）")
    reason: Reason


def _order(request: HttpRequest, order_id: int) -> selectors.OrderDetail:
    """The order in scope (404 otherwise), before anything is done to it."""
    return selectors.order_get(actor=actor(request), order_id=order_id)


@router.get(
    "/payments/orders", response=list[OrderOut], summary="一次性救助支付单（按状态、县筛选，新的在前）"
)
@paginate(BoundedPageNumberPagination, page_size=50)
def order_list(request: HttpRequest, filters: Query[OrderFilter]) -> object:
    return selectors.order_list(
        actor=actor(request), status=filters.status, county=filters.county
    ).select_related("created_by")


@router.post(
    "/payments/orders/batch",
    response={201: RunDetailOut, **_WRITE_ERRORS},
    summary="生成一次性救助代发批次：县内待编入的银行代发支付单一批（乡镇临时救助资金不足时不生成，返回409）",
)
def orders_batch(request: HttpRequest, payload: BatchIn) -> Status:
    run = orders.orders_batch(actor=actor(request), county=payload.county)
    return Status(201, _run_detail(request, run.pk))


@router.get(
    "/payments/orders/{order_id}",
    response={200: OrderDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="支付单：依据、发放方式、代发记录、资金台账记录、现金收据",
)
def order_detail(request: HttpRequest, order_id: int) -> selectors.OrderDetail:
    return _order(request, order_id)


@router.post(
    "/payments/orders/{order_id}/method",
    response={200: OrderDetailOut, **_WRITE_ERRORS},
    summary="确定发放方式：银行代发（开户银行、账号）或备用金现金发放；代发失败的更正账户后可重发",
)
def order_method(request: HttpRequest, order_id: int, payload: MethodIn) -> selectors.OrderDetail:
    _order(request, order_id)
    orders.order_set_method(
        actor=actor(request),
        order_id=order_id,
        method=payload.method,
        bank_name=payload.bank_name,
        account_number=payload.account_number,
    )
    return _order(request, order_id)


@router.post(
    "/payments/orders/{order_id}/cash",
    response={200: OrderDetailOut, **_WRITE_ERRORS},
    summary="现金发放：从乡镇备用金支出，凭领款人签字的收据（备用金不足返回409）",
)
def order_cash(request: HttpRequest, order_id: int, payload: CashIn) -> selectors.OrderDetail:
    _order(request, order_id)
    orders.order_pay_cash(
        actor=actor(request),
        order_id=order_id,
        receipt_number=payload.receipt_number,
        paid_on=payload.paid_on,
        recipient_name=payload.recipient_name,
        recipient_signed=payload.recipient_signed,
        note=payload.note,
    )
    return _order(request, order_id)


@router.post(
    "/payments/orders/{order_id}/cancel",
    response={200: OrderDetailOut, **_WRITE_ERRORS},
    summary="撤销尚未发放、尚未编入批次的支付单（须说明原因）",
)
def order_cancel(request: HttpRequest, order_id: int, payload: CancelIn) -> selectors.OrderDetail:
    _order(request, order_id)
    orders.order_cancel(actor=actor(request), order_id=order_id, reason=payload.reason)
    return _order(request, order_id)


@router.post(
    "/payments/orders/{order_id}/recover",
    response={200: OrderDetailOut, **_WRITE_ERRORS},
    summary="追回已发放的金额，退回所支出的资金（合计不超过发放金额）",
)
def order_recover(request: HttpRequest, order_id: int, payload: RecoverIn) -> selectors.OrderDetail:
    _order(request, order_id)
    orders.order_recover(
        actor=actor(request), order_id=order_id, amount=payload.amount, reason=payload.reason
    )
    return _order(request, order_id)


@router.post(
    "/payments/enrolments/{enrolment_id}/back-pay-order",
    response={201: OrderDetailOut, **_WRITE_ERRORS},
    summary="补发（单独发放）：生成一次性救助支付单，由代发批次发放，不随月度名册发放",
)
def enrolment_back_pay_order(request: HttpRequest, enrolment_id: int, payload: BackPayOrderIn) -> Status:
    _enrolment(request, enrolment_id)
    order = orders.back_pay_order(
        actor=actor(request),
        enrolment_id=enrolment_id,
        amount=payload.amount,
        month=payload.month,
        reason=payload.reason,
    )
    return Status(201, _order(request, order.pk))


def _fund_rows(request: HttpRequest) -> list[FundOut]:
    funds = selectors.funds_of(actor=actor(request))
    codes = {f.township_code for f in funds}
    names = dict(Division.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return [
        FundOut(
            township_code=f.township_code,
            township_name=names.get(f.township_code, f.township_code),
            kind=f.kind,
            kind_label=str(f.get_kind_display()),
            balance=f.balance,
        )
        for f in funds
    ]


@router.get(
    "/payments/funds",
    response={200: list[FundOut], 403: ErrorOut},
    summary="各乡镇（街道）的临时救助资金和备用金余额",
)
def funds(request: HttpRequest) -> list[FundOut]:
    return _fund_rows(request)


@router.get(
    "/payments/funds/ledger",
    response={200: list[LedgerRowOut], **_READ_ERRORS},
    summary="资金台账：各乡镇各资金按月的拨入、支出、追回、待发放和月末余额",
)
def fund_ledger(request: HttpRequest, filters: Query[LedgerFilter]) -> list[selectors.LedgerRow]:
    return selectors.fund_ledger(actor=actor(request), county=filters.county)


@router.post(
    "/payments/funds/allocate",
    response={201: FundEntryOut, **_WRITE_ERRORS},
    summary="拨入资金（县级）：乡镇临时救助资金或备用金，须有拨款依据（文号）",
)
def fund_allocate(request: HttpRequest, payload: AllocateIn) -> Status:
    entry = orders.fund_allocate(
        actor=actor(request),
        township_code=payload.township_code,
        kind=payload.kind,
        amount=payload.amount,
        month=payload.month,
        note=payload.note,
    )
    return Status(201, entry)
