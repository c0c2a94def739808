"""Every write to payments: enrolment from a confirmed decision, its changes (amount, suspension,
resumption, gradual exit, termination, back pay, recovery, bank account), monthly payroll runs
(computed set-based by `payments.payroll`), approval by a second person, bank files in configurable
layouts (`payments.bankfiles`), reconciliation of the bank's results, re-issue of failed payments,
payment rosters (`payments.rosters`), and re-review tasks. The background job that computes a run is
in `payments.tasks` (payroll_run_start).

Payroll idempotency: the database holds at most one line per payee, programme and month
(UNIQUE, re-issues aside), so computing a month twice pays nobody twice. A run is computed in one
transaction (`payroll_compute`): a crash or a failure leaves nothing of it, and computing again
adds only what is missing. The process computing a run holds its lease (`payroll.run_lease`); the
workers' sweep (`payroll_runs_recover`) queues a run again whose process died.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import zlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from minzheng.cases.models import Case, Outcome
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from minzheng.core.frames import read_frame, write_frame
from minzheng.core.i18n import as_stored
from minzheng.core.inputs import InputRuleError, MoneyKind, check_money
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require, require_in_scope
from minzheng.org.services import require_independent_checker
from minzheng.payments import bankfiles, orders, payroll, rosters, selectors
from minzheng.payments.models import (
    AmountProposal,
    ArrearsMonth,
    BankExport,
    ChangeKind,
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    LineStatus,
    PayrollLine,
    PayrollRun,
    PendingOneOff,
    ProposalStatus,
    ReconciliationReport,
    ReviewTask,
    RunKind,
    RunStatus,
)
from minzheng.payments.months import add_months, first_of_month
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyError
from minzheng.rules.programmes import PROGRAMMES
from minzheng.rules.selectors import policy_table
from minzheng.rules.summary import refresh as refresh_summary

MAX_EXIT_MONTHS = 6  # 渐退 up to 6 months, 民发〔2021〕57号
UNSTABLE_INCOME = ("wages", "business")
PAYABLE = (EnrolmentStatus.ACTIVE, EnrolmentStatus.EXITING)


# --- Bank accounts ---------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def parse_account(raw: str) -> str:
    """A bank account: 12-30 digits; a card number (16-19 digits) must pass the Luhn check."""
    digits = "".join(raw.split())
    if not digits.isdigit() or not 12 <= len(digits) <= 30:
        raise InvalidInput("银行账号应为12至30位数字", field_errors={"account_number": ["格式不正确"]})
    if 16 <= len(digits) <= 19 and not luhn_ok(digits):
        raise InvalidInput("银行卡号校验位不正确，请核对", field_errors={"account_number": ["校验位错误"]})
    return digits


def mask_account(digits: str) -> str:
    return f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}"


# --- Enrolment -------------------------------------------------------------------------------------


def _review_months(case: Case) -> int:
    """Every 6 months for dibao households with unstable income and members able to work; else yearly."""
    if case.workflow != "dibao":
        return 12
    facts = case.decision.calculation.result.get("facts", {}) if case.decision.calculation else {}  # type: ignore[union-attr]
    on = date.fromisoformat(facts.get("date", "2000-01-01"))
    for member in facts.get("members", []):
        born = date.fromisoformat(member["birth_date"])
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        able = member.get("labour_capacity") in (None, "full", "partial") and 16 <= age < 60
        if able and any(i["category"] in UNSTABLE_INCOME for i in member.get("incomes", [])):
            return 6
    return 12


def _change(
    enrolment: Enrolment,
    actor: Staff,
    kind: str,
    month: date,
    reason: str,
    *,
    old: Decimal | None = None,
    new: Decimal | None = None,
    one_off: Decimal = Decimal("0"),
    notice: str = "",
    queue: bool = True,
) -> EnrolmentChange:
    """Record a change (audited); a one-off amount is queued for the county's next run unless
    `queue` is False (back pay paid now by a payment order, `orders.back_pay_order`)."""
    change = EnrolmentChange.objects.create(
        enrolment=enrolment,
        kind=kind,
        effective_month=month,
        old_amount=old,
        new_amount=new,
        one_off_amount=one_off,
        reason=reason,
        notice=notice,
        actor=actor,
    )
    if one_off and queue:
        PendingOneOff.objects.create(
            change=change,
            county=enrolment.division_id[:6],
            enrolment=enrolment,
            effective_month=month,
            amount=one_off,
        )
    audit_record(
        actor=actor,
        action=f"payments.enrolment_{kind}",
        object_type="payments.Enrolment",
        object_id=enrolment.pk,
        scope_code=enrolment.division_id,
        reason=reason,
        before={"amount": old, "status": enrolment.status} if old is not None else None,
        after={"amount": new, "one_off": one_off, "month": month, "status": enrolment.status},
    )
    return change


@transaction.atomic
def enrolment_create(*, actor: Staff, case_id: int, bank_name: str, account_number: str) -> Enrolment:
    """Enrol a confirmed monthly benefit: amount and start month from the decision (paid from the month
    after confirmation), paid to the applicant's bank account."""
    require(actor, Perm.PAYROLL_RUN)
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("decision__calculation")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound("没有找到该申请")
    require_in_scope(actor, case.division_id)
    decision = getattr(case, "decision", None)
    if case.outcome != Outcome.APPROVED or decision is None or decision.period != "month":
        raise Conflict("只有已批准的按月发放事项可以纳入发放")
    if hasattr(case, "enrolment"):
        raise Conflict("该申请已纳入发放")
    if case.household_id is None or case.applicant_id is None:
        raise InvalidInput("申请未关联家庭或申请人")
    programme = decision.calculation.programme if decision.calculation else ""
    if (
        Enrolment.objects.filter(household_id=case.household_id, programme=programme)
        .exclude(status=EnrolmentStatus.TERMINATED)
        .exists()
    ):
        raise Conflict("该家庭已在该项目中发放，不能重复纳入")
    if not bank_name.strip():
        raise InvalidInput("请填写开户银行", field_errors={"bank_name": ["必填"]})
    digits = parse_account(account_number)
    cycle = _review_months(case)
    start = decision.start_month or add_months(first_of_month(timezone.localdate()), 1)
    enrolment = Enrolment.objects.create(
        programme=programme,
        case=case,
        household_id=case.household_id,
        payee_id=case.applicant_id,
        division_id=case.division_id,
        monthly_amount=decision.amount,
        calculated_amount=decision.calculation.amount if decision.calculation else decision.amount,
        start_month=start,
        bank_name=bank_name.strip(),
        account_encrypted=protect.encrypt(digits),
        account_masked=mask_account(digits),
        review_months=cycle,
        next_review=add_months(start, cycle),
        created_by=actor,
    )
    _change(enrolment, actor, ChangeKind.ENROL, start, "依审批决定纳入发放", new=decision.amount)
    return enrolment


def _lock_for_change(enrolment_id: int) -> None:
    """Wait for a payroll computing the enrolment's county (payroll.lock_county), before any row
    lock, so that the two always lock in the same order."""
    division = Enrolment.objects.filter(pk=enrolment_id).values_list("division_id", flat=True).first()
    if division is not None:
        payroll.lock_county(division, shared=True)


def _enrolment(actor: Staff, enrolment_id: int) -> Enrolment:
    require(actor, Perm.PAYROLL_RUN)
    _lock_for_change(enrolment_id)
    enrolment = Enrolment.objects.select_for_update().filter(pk=enrolment_id).first()
    if enrolment is None:
        raise NotFound("没有找到该发放对象")
    require_in_scope(actor, enrolment.division_id)
    return enrolment


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("须说明理由", field_errors={"reason": ["请填写理由"]})
    return reason.strip()


def _check_amount(amount: Decimal | None, *, field: str = "new_amount", negative: bool = False) -> Decimal:
    """An amount per month, a one-off or (negative) a recovery: present, to the fen, within the
    configured limit for benefits (`core.inputs`, MINZHENG_BENEFIT_MONTHLY_MAX)."""
    if amount is None:
        raise InvalidInput("请填写金额", field_errors={field: ["必填"]})
    try:
        return check_money(amount, kind=MoneyKind.BENEFIT, negative=negative)
    except InputRuleError as exc:
        raise InvalidInput(exc.message, field_errors={field: [exc.message]}) from exc


@transaction.atomic
def enrolment_change_amount(
    *, actor: Staff, enrolment_id: int, new_amount: Decimal, month: date, reason: str
) -> Enrolment:
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    _check_amount(new_amount)
    if enrolment.status == EnrolmentStatus.TERMINATED:
        raise Conflict("已停发的对象不能调整金额")
    old = enrolment.monthly_amount
    enrolment.monthly_amount = new_amount
    enrolment.save(update_fields=["monthly_amount"])
    _change(enrolment, actor, ChangeKind.AMOUNT, first_of_month(month), reason, old=old, new=new_amount)
    return enrolment


def _set_status(
    actor: Staff,
    enrolment_id: int,
    *,
    allowed: tuple[str, ...],
    to: str,
    kind: str,
    month: date,
    reason: str,
    notice: str = "",
) -> Enrolment:
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    if enrolment.status not in allowed:
        raise Conflict(f"当前状态为“{enrolment.get_status_display()}”，不能执行该操作")
    enrolment.status = to
    if to == EnrolmentStatus.TERMINATED:
        enrolment.end_month = max(first_of_month(month), enrolment.start_month)
    enrolment.save()
    _change(enrolment, actor, kind, first_of_month(month), reason, notice=notice)
    return enrolment


@transaction.atomic
def enrolment_suspend(*, actor: Staff, enrolment_id: int, month: date, reason: str) -> Enrolment:
    return _set_status(
        actor,
        enrolment_id,
        allowed=(EnrolmentStatus.ACTIVE,),
        to=EnrolmentStatus.SUSPENDED,
        kind=ChangeKind.SUSPEND,
        month=month,
        reason=reason,
    )


@transaction.atomic
def enrolment_resume(*, actor: Staff, enrolment_id: int, month: date, reason: str) -> Enrolment:
    return _set_status(
        actor,
        enrolment_id,
        allowed=(EnrolmentStatus.SUSPENDED,),
        to=EnrolmentStatus.ACTIVE,
        kind=ChangeKind.RESUME,
        month=month,
        reason=reason,
    )


@transaction.atomic
def enrolment_terminate(
    *, actor: Staff, enrolment_id: int, month: date, reason: str, notice: str
) -> Enrolment:
    """Stop the benefit from `month` (no payment for it or later); the notice to the household is kept."""
    if not notice.strip():
        raise InvalidInput("停发须书面告知并说明理由", field_errors={"notice": ["请填写告知内容"]})
    return _set_status(
        actor,
        enrolment_id,
        allowed=(EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED, EnrolmentStatus.EXITING),
        to=EnrolmentStatus.TERMINATED,
        kind=ChangeKind.TERMINATE,
        month=month,
        reason=reason,
        notice=notice,
    )


@transaction.atomic
def enrolment_start_exit(
    *, actor: Staff, enrolment_id: int, months: int, month: date, reason: str
) -> Enrolment:
    """Gradual exit (渐退): keep paying the current amount for `months` calendar months from `month`
    (up to six), then stop: the end month is set now, so the exit ends on time whichever runs are
    computed."""
    if not 1 <= months <= MAX_EXIT_MONTHS:
        raise InvalidInput(f"渐退期为1至{MAX_EXIT_MONTHS}个月", field_errors={"months": ["超出范围"]})
    enrolment = _set_status(
        actor,
        enrolment_id,
        allowed=(EnrolmentStatus.ACTIVE,),
        to=EnrolmentStatus.EXITING,
        kind=ChangeKind.EXIT,
        month=month,
        reason=f"{reason.strip()}（渐退{months}个月，至{add_months(first_of_month(month), months - 1):%Y年%m月}）",
    )
    enrolment.end_month = add_months(max(first_of_month(month), enrolment.start_month), months)
    enrolment.save(update_fields=["end_month"])
    return enrolment


@transaction.atomic
def enrolment_one_off(
    *, actor: Staff, enrolment_id: int, amount: Decimal, month: date, reason: str
) -> EnrolmentChange:
    """Back pay (补发, positive) or a recovery (追回, negative) settled in the next payroll run."""
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    amount = _check_amount(amount, field="amount", negative=True)
    if amount == 0:
        raise InvalidInput("补发或扣减金额不能为0", field_errors={"amount": ["不能为0"]})
    kind = ChangeKind.BACK_PAY if amount > 0 else ChangeKind.RECOVER
    return _change(enrolment, actor, kind, first_of_month(month), reason, one_off=amount)


# --- Payroll ---------------------------------------------------------------------------------------

# Requested months: within this many months of today, before and after (dated parameters).
WINDOW_BEFORE, WINDOW_AFTER = "payroll.months_before", "payroll.months_after"
UNAPPROVED = (RunStatus.QUEUED, RunStatus.COMPUTING, RunStatus.COMPUTED, RunStatus.FAILED)


def _month_window(today: date, county: str) -> tuple[date, date]:
    """The first and last month a run may be requested for today (parameters in force today)."""
    table = policy_table()
    before = int(table.lookup(WINDOW_BEFORE, today, county, "urban").value)
    after = int(table.lookup(WINDOW_AFTER, today, county, "urban").value)
    this = first_of_month(today)
    return add_months(this, -before), add_months(this, after)


def _check_requestable(county: str, month: date) -> None:
    """A month within the window, and no earlier month of the county awaiting approval."""
    first, last = _month_window(timezone.localdate(), county)
    if not first <= month <= last:
        raise InvalidInput(
            f"发放月份应在{first:%Y年%m月}至{last:%Y年%m月}之间",
            field_errors={"month": [f"超出可生成范围（{first:%Y-%m}至{last:%Y-%m}）"]},
        )
    earlier = (
        PayrollRun.objects.filter(kind=RunKind.MONTHLY, county=county, month__lt=month, status__in=UNAPPROVED)
        .order_by("month")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            f"{earlier.month:%Y年%m月}的发放名册尚未审批（{earlier.get_status_display()}），"
            f"请先完成该月再生成{month:%Y年%m月}的名册",
            code="earlier_month_unapproved",
        )


@transaction.atomic
def payroll_run_request(*, actor: Staff, county: str, month: date) -> PayrollRun:
    """Ask for the payroll of a county and month (one run per county and month; asking again returns
    the same run, and a failed one is queued again). Only for a month within the configured window
    around today, and only once every earlier run of the county is approved."""
    require(actor, Perm.PAYROLL_RUN)
    if len(county) != 6 or not county.isdigit():
        raise InvalidInput("县（区）代码应为6位数字", field_errors={"county": ["格式不正确"]})
    prefix = jurisdiction_of(actor).prefix
    if not county.startswith(prefix) and not prefix.startswith(county):
        raise NotFound()
    if len(prefix) > 6:
        raise PermissionDenied("发放名册由县级生成")
    month = first_of_month(month)
    run = (
        PayrollRun.objects.select_for_update()
        .filter(kind=RunKind.MONTHLY, county=county, month=month)
        .first()
    )
    if run is None:
        _check_requestable(county, month)
        run = PayrollRun.objects.create(county=county, month=month, created_by=actor)
        audit_record(
            actor=actor,
            action="payments.run_requested",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=county,
            after={"month": run.month},
        )
    elif run.status == RunStatus.FAILED:
        _requeue(run, actor=actor, reason="重新生成")
    return run


def _requeue(run: PayrollRun, *, actor: Staff | None, reason: str) -> None:
    before = {"status": run.status, "error": run.error}
    run.status = RunStatus.QUEUED
    run.error = ""
    run.save(update_fields=["status", "error"])
    audit_record(
        actor=actor,
        action="payments.run_requeued",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        reason=reason,
        before=before,
        after={"status": run.status},
    )


def worker_name() -> str:
    """This process, as a run records who computes it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def payroll_compute(*, run_id: int) -> PayrollRun:
    """Compute a run (see `payments.payroll`): claimed under its lease, the facts summary refreshed,
    then everything in one transaction under the county's lock. A failure leaves only the run
    FAILED with its reason; computing again (a resumed run) adds only what is missing."""
    with payroll.run_lease(run_id) as mine:
        if not mine:
            raise Conflict("该发放名册正由另一个进程计算，请稍后查看", code="run_busy")
        now = timezone.now()
        claimed = PayrollRun.objects.filter(
            pk=run_id,
            status__in=(RunStatus.QUEUED, RunStatus.COMPUTING, RunStatus.COMPUTED, RunStatus.FAILED),
        ).update(
            status=RunStatus.COMPUTING,
            error="",
            claimed_by=worker_name(),
            started_at=now,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            if not PayrollRun.objects.filter(pk=run_id).exists():
                raise NotFound("没有找到该发放批次")
            raise Conflict("已审批的发放名册不能重新计算")
        run = PayrollRun.objects.select_related("created_by").get(pk=run_id)
        try:
            refresh_summary()
            with payroll.county_locked(run.county):
                _compute_in_one_transaction(run, started=now)
        except Exception as exc:
            _failed(run, exc)
            raise
        payroll.summarize_run_index()
    run.refresh_from_db()
    return run


def _compute_in_one_transaction(run: PayrollRun, *, started: datetime) -> None:
    # REPEATABLE READ must be the transaction's first statement: only where this begins it.
    whole_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if whole_transaction:
            payroll.one_snapshot()
        previous = (
            PayrollRun.objects.filter(
                kind=RunKind.MONTHLY,
                county=run.county,
                month__lt=run.month,
                status__in=payroll.COMPUTED_STATUSES,
            )
            .exclude(started_at=None)
            .order_by("-month")
            .values_list("month", "started_at")
            .first()
        )
        outcome = payroll.compute(
            run_id=run.pk,
            county=run.county,
            month=run.month,
            actor_id=run.created_by_id,
            previous=payroll.Previous(month=previous[0], started_at=previous[1])
            if previous is not None and previous[1] is not None
            else None,
            table=policy_table(),
            at=started,
        )
        PayrollRun.objects.filter(pk=run.pk).update(
            status=RunStatus.COMPUTED,
            line_count=outcome.lines,
            total_amount=from_fen(outcome.total_fen),
            arrears_total=from_fen(outcome.arrears_fen),
            changes_since=outcome.changes_since,
            recomputed_households=outcome.recomputed_households,
            proposals=AmountProposal.objects.filter(run=run, status=ProposalStatus.PROPOSED).count(),
            reviews_opened=outcome.reviews,
            progress_done=outcome.lines,
            progress_total=outcome.lines,
            computed_at=timezone.now(),
        )
        audit_record(
            actor=None,
            action="payments.run_computed",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=run.county,
            reason=f"{run.month:%Y年%m月}发放名册",
            after=outcome.as_audit(),
        )


def _failed(run: PayrollRun, exc: Exception) -> None:
    """The run FAILED with a reason a county administrator can act on (the technical detail in the
    audit record, not on the page)."""
    if isinstance(exc, DomainError):
        message = exc.message
    elif isinstance(exc, PolicyError):
        message = f"规则参数有误：{exc}"
    else:
        message = "计算过程中出现错误，本月名册未生成任何发放记录；请重新生成，如仍失败请联系系统管理员"
    with transaction.atomic():
        PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=message[:2000])
        audit_record(
            actor=None,
            action="payments.run_failed",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=run.county,
            reason=message[:300],
            after={"error": f"{type(exc).__name__}: {exc}"[:2000]},
        )


@transaction.atomic
def payroll_run_resume(*, actor: Staff, run_id: int) -> PayrollRun:
    """Resume a run that failed or whose computing process died: queued again (the worker computes
    it; whatever is already written stays and nobody is paid twice)."""
    require(actor, Perm.PAYROLL_RUN)
    run = _run_for_update(actor, run_id)
    if run.status == RunStatus.COMPUTING and not selectors.run_stuck(run):
        raise Conflict("该发放名册正在计算中，无需继续", code="run_busy")
    if run.status not in (RunStatus.FAILED, RunStatus.COMPUTING, RunStatus.QUEUED):
        raise Conflict(
            f"发放名册状态为“{run.get_status_display()}”，已计算完成，无需继续", code="run_finished"
        )
    _requeue(run, actor=actor, reason="县级管理员继续计算")
    return run


def payroll_runs_recover() -> list[int]:
    """The runs whose computing process died, queued again (the worker's periodic sweep calls
    this; `payments.tasks` enqueues them). Returns their ids."""
    recovered: list[int] = []
    for run in PayrollRun.objects.filter(status=RunStatus.COMPUTING):
        if not selectors.run_stuck(run):
            continue
        with transaction.atomic():
            locked = (
                PayrollRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.COMPUTING).first()
            )
            if locked is None or not selectors.run_stuck(locked):
                continue
            _requeue(locked, actor=None, reason="计算进程已中断，自动继续计算")
        recovered.append(run.pk)
    return recovered


@transaction.atomic
def payroll_approve(*, actor: Staff, run_id: int, note: str = "") -> PayrollRun:
    """Maker-checker: someone other than the person who asked for the run approves it before export."""
    require(actor, Perm.PAYROLL_APPROVE)
    run = _run_for_update(actor, run_id)
    if run.status != RunStatus.COMPUTED:
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”，不能审批")
    if run.created_by_id == actor.pk:
        raise PermissionDenied("生成人不能审批自己生成的发放名册（双人复核）")
    # By person, not account: nor through an account the maker created or gave its roles.
    require_independent_checker(maker=run.created_by, checker=actor)
    run.status = RunStatus.APPROVED
    run.approved_by = actor
    run.approved_at = timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        action="payments.run_approved",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        reason=note,
        after={"lines": run.line_count, "total": run.total_amount},
    )
    return run


# --- Amount proposals --------------------------------------------------------------------------------

# Approved proposals, set-based: the change recorded, the enrolment's amount and basis set, the
# proposal linked to its change (found by enrolment and time: one change per enrolment at `at`).
APPLY_CHANGES_SQL = """INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month, old_amount,
        new_amount, one_off_amount, reason, notice, actor_id, at)
    SELECT p.enrolment_id, 'amount', %(month)s, p.current_amount, p.proposed_amount, 0, %(reason)s,
        %(notice)s, %(actor)s, %(at)s
    FROM payments_amountproposal p WHERE p.id IN (SELECT id FROM payroll_decided)"""
APPLY_AMOUNTS_SQL = """UPDATE payments_enrolment
    SET monthly_amount = p.proposed_amount, calculated_amount = p.calculated_amount
    FROM payments_amountproposal p JOIN payroll_decided d ON d.id = p.id
    WHERE p.enrolment_id = payments_enrolment.id"""
# A run's open proposals, or those named, as the ones to decide.
DECIDE_RUN_SQL = """INSERT INTO payroll_decided (id)
    SELECT id FROM payments_amountproposal WHERE run_id = %s AND status = 'proposed'"""
LINK_CHANGES_SQL = """UPDATE payments_amountproposal SET status = 'approved', decided_by_id = %(actor)s,
        decided_at = %(at)s, effective_month = %(month)s, notice = %(notice)s, note = %(note)s,
        change_id = (SELECT c.id FROM payments_enrolmentchange c
                     WHERE c.enrolment_id = payments_amountproposal.enrolment_id AND c.kind = 'amount'
                       AND c.at = %(at)s)
    WHERE id IN (SELECT id FROM payroll_decided)"""
REJECT_SQL = """UPDATE payments_amountproposal SET status = 'rejected', decided_by_id = %(actor)s,
        decided_at = %(at)s, note = %(note)s
    WHERE id IN (SELECT id FROM payroll_decided)"""


def first_open_month(county: str, today: date | None = None) -> date:
    """The month from which an amount decided today is paid: this month, or the month after the
    county's latest computed run if that is later (a computed month keeps its lines)."""
    this = first_of_month(today or timezone.localdate())
    latest = (
        PayrollRun.objects.filter(kind=RunKind.MONTHLY, county=county, status__in=payroll.COMPUTED_STATUSES)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return max(this, add_months(latest, 1)) if latest else this


@transaction.atomic
def proposals_decide(
    *,
    actor: Staff,
    approve: bool,
    note: str,
    notice: str = "",
    proposal_ids: list[int] | None = None,
    run_id: int | None = None,
) -> int:
    """Approve or reject amount proposals — the ones named, or every open one of a run (a standard
    raise) — as a second person: not the one who asked for the run that proposed them. Approved,
    each enrolment is paid the proposed amount from the first month not yet computed, with the
    written notice recorded on its change. Returns how many were decided."""
    require(actor, Perm.PAYROLL_APPROVE)
    note = _reason(note)
    if approve and not notice.strip():
        raise InvalidInput("调整金额须书面告知对象并说明理由", field_errors={"notice": ["请填写告知内容"]})
    if (proposal_ids is None) == (run_id is None):
        raise InvalidInput("请选择要审核的调整建议或发放批次")
    open_ = AmountProposal.objects.filter(status=ProposalStatus.PROPOSED)
    ids: list[int] = []  # those named (a run's are chosen in the database)
    if run_id is not None:
        run = _run_for_update(actor, run_id)
        chosen = open_.filter(run=run)
        counties = {run.county}
    else:
        ids = sorted({int(i) for i in proposal_ids or []})
        chosen = open_.filter(pk__in=ids).select_related("enrolment")
        found = list(chosen)
        if len(found) != len(ids) or not ids:
            raise NotFound("没有找到待审核的调整建议（可能已处理）")
        for proposal in found:
            require_in_scope(actor, proposal.enrolment.division_id)
        counties = {p.enrolment.division_id[:6] for p in found}
    makers = set(chosen.values_list("run__created_by_id", flat=True).distinct())
    if actor.pk in makers:
        raise PermissionDenied("生成发放名册的人不能审核该名册提出的金额调整（双人复核）")
    for maker in Staff.objects.filter(pk__in=makers):
        require_independent_checker(maker=maker, checker=actor)
    for county in sorted(counties):
        payroll.lock_county(county, shared=True)
    month = min(first_open_month(c) for c in counties)
    at = timezone.now()
    params = {
        "actor": actor.pk,
        "at": connection.ops.adapt_datetimefield_value(at),
        "month": connection.ops.adapt_datefield_value(month),
        "note": note[:300],
        "notice": notice.strip(),
        "reason": f"依规则重新测算调整金额：{note}"[:300],
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS payroll_decided")
        cursor.execute(
            "CREATE TEMPORARY TABLE payroll_decided (id BIGINT PRIMARY KEY)"
            + (" ON COMMIT DROP" if connection.vendor == "postgresql" else "")
        )
        # A standard raise decides a run's proposals, perhaps a million: chosen in the database.
        if run_id is not None:
            cursor.execute(DECIDE_RUN_SQL, [run_id])
        else:
            cursor.executemany("INSERT INTO payroll_decided (id) VALUES (%s)", [(i,) for i in ids])
        cursor.execute("SELECT COUNT(*), MIN(id) FROM payroll_decided")
        decided, first = cursor.fetchone()
        if not decided:
            raise Conflict("没有待审核的金额调整建议")
        if approve:
            cursor.execute(APPLY_CHANGES_SQL, params)
            cursor.execute(APPLY_AMOUNTS_SQL, params)
            cursor.execute(LINK_CHANGES_SQL, params)
        else:
            cursor.execute(REJECT_SQL, params)
        cursor.execute("DROP TABLE payroll_decided")
    audit_record(
        actor=actor,
        action="payments.proposals_approved" if approve else "payments.proposals_rejected",
        object_type="payments.PayrollRun" if run_id is not None else "payments.AmountProposal",
        object_id=run_id if run_id is not None else first,
        scope_code=min(counties),
        reason=note,
        after={
            "proposals": decided,
            "ids": ids or None,
            "effective_month": month if approve else None,
        },
    )
    return int(decided)


# --- Re-review ---------------------------------------------------------------------------------------


@transaction.atomic
def reviews_schedule(*, on: date, lead_days: int = 30) -> int:
    """Create the periodic re-review tasks falling due within `lead_days` (yearly, or six-monthly for
    unstable income), for the township office of each enrolment, in one statement (a province has
    millions of enrolments). Returns how many were created."""
    horizon = date.fromordinal(on.toordinal() + lead_days)
    return payroll.schedule_reviews(horizon=horizon, at=timezone.now())


@transaction.atomic
def death_report(*, actor: Staff, household_id: int, died_on: date) -> list[ReviewTask]:
    """A member's death: every enrolment of the household is re-checked within three months."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    tasks = []
    for e in Enrolment.objects.filter(household_id=household_id, status__in=PAYABLE):
        require_in_scope(actor, e.division_id)
        task, _ = ReviewTask.objects.get_or_create(
            enrolment=e,
            kind="death",
            done_at__isnull=True,
            defaults={"due_date": _plus_months(died_on, 3), "office_code": e.division_id[:9] + "000"},
        )
        tasks.append(task)
        audit_record(
            actor=actor,
            action="payments.death_reported",
            object_type="payments.Enrolment",
            object_id=e.pk,
            scope_code=e.division_id,
            after={"died_on": died_on, "review_due": task.due_date},
        )
    return tasks


def _plus_months(day: date, months: int) -> date:
    first = add_months(day.replace(day=1), months)
    last_day = add_months(first, 1).toordinal() - 1
    return date.fromordinal(min(first.toordinal() + day.day - 1, last_day))


@transaction.atomic
def review_complete(
    *,
    actor: Staff,
    task_id: int,
    outcome: str,
    reason: str,
    new_amount: Decimal | None = None,
    on: date | None = None,
) -> ReviewTask:
    """Keep, change or stop the benefit, with a stated reason."""
    require(actor, Perm.CASE_REVIEW_TOWNSHIP)
    enrolment_id = ReviewTask.objects.filter(pk=task_id).values_list("enrolment_id", flat=True).first()
    if enrolment_id is not None:
        _lock_for_change(enrolment_id)
    task = ReviewTask.objects.select_for_update().select_related("enrolment").filter(pk=task_id).first()
    if task is None:
        raise NotFound("没有找到该复核任务")
    require_in_scope(actor, task.enrolment.division_id)
    if task.done_at is not None:
        raise Conflict("该复核任务已完成")
    reason = _reason(reason)
    on = on or timezone.localdate()
    month = add_months(first_of_month(on), 1)
    e = task.enrolment
    if outcome == "change":
        new_amount = _check_amount(new_amount)
        old = e.monthly_amount
        e.monthly_amount = new_amount
        _change(e, actor, ChangeKind.AMOUNT, month, f"复核调整：{reason}", old=old, new=new_amount)
    elif outcome == "stop":
        e.status = EnrolmentStatus.TERMINATED
        e.end_month = max(month, e.start_month)
        _change(e, actor, ChangeKind.TERMINATE, month, f"复核停发：{reason}", notice=reason)
    elif outcome == "keep":
        _change(e, actor, ChangeKind.REVIEW, month, f"复核维持：{reason}")
    else:
        raise InvalidInput("复核结论应为维持、调整或停发", field_errors={"outcome": ["无效"]})
    e.next_review = add_months(first_of_month(on), e.review_months)
    e.save()
    task.done_at = timezone.now()
    task.outcome = outcome
    task.note = reason
    task.done_by = actor
    task.save(update_fields=["done_at", "outcome", "note", "done_by"])
    return task


# --- Bank accounts of enrolments ---------------------------------------------------------------------


@transaction.atomic
def enrolment_bank_account_change(
    *, actor: Staff, enrolment_id: int, bank_name: str, account_number: str, reason: str
) -> Enrolment:
    """Correct or replace the account an enrolment is paid to (e.g. after the bank returned a
    payment as failed); a failed payment can then be issued again (payroll_reissue)."""
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    if not bank_name.strip():
        raise InvalidInput("请填写开户银行", field_errors={"bank_name": ["必填"]})
    digits = parse_account(account_number)
    before = {"bank_name": enrolment.bank_name, "account": enrolment.account_masked}
    enrolment.bank_name = bank_name.strip()
    enrolment.account_encrypted = protect.encrypt(digits)
    enrolment.account_masked = mask_account(digits)
    enrolment.save(update_fields=["bank_name", "account_encrypted", "account_masked"])
    notice = f"{before['bank_name']} {before['account']} → {enrolment.bank_name} {enrolment.account_masked}"
    EnrolmentChange.objects.create(
        enrolment=enrolment,
        kind=ChangeKind.BANK_ACCOUNT,
        effective_month=first_of_month(timezone.localdate()),
        reason=reason,
        notice=notice,
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="payments.enrolment_bank_account",
        object_type="payments.Enrolment",
        object_id=enrolment.pk,
        scope_code=enrolment.division_id,
        reason=reason,
        before=before,
        after={"bank_name": enrolment.bank_name, "account": enrolment.account_masked},
    )
    return enrolment


# --- Bank files ---------------------------------------------------------------------------------------

EXPORT_SQL = """SELECT l.id, l.enrolment_id, COALESCE(e.account_encrypted, o.account_encrypted), p.name,
    p.id_masked, COALESCE(e.bank_name, o.bank_name),
    CAST(ROUND(l.amount * 100) AS BIGINT), l.programme, COALESCE(d.name, l.division_code)
    FROM payments_payrollline l
    LEFT JOIN payments_enrolment e ON e.id = l.enrolment_id
    LEFT JOIN payments_paymentorder o ON o.id = l.order_id
    JOIN registry_person p ON p.id = l.payee_id
    LEFT JOIN org_division d ON d.code = l.division_code
    WHERE l.run_id = %(run)s AND l.status = 'pending'
    ORDER BY l.division_code, l.id"""
EXPORT_SCHEMA: dict[str, pl.DataType] = {
    "reference": pl.Int64(),
    "enrolment_id": pl.Int64(),
    "account_encrypted": pl.String(),
    "payee_name": pl.String(),
    "id_masked": pl.String(),
    "bank_name": pl.String(),
    "amount_fen": pl.Int64(),
    "programme": pl.String(),
    "village_name": pl.String(),
}
EXPORTABLE = (RunStatus.APPROVED, RunStatus.EXPORTED)


def _arrears_remarks(run: PayrollRun) -> pl.DataFrame:
    """Per enrolment of the run paid arrears, the remark its bank line carries: "补发2027年01月、
    2027年02月" (each month and amount are on the enrolment's page)."""
    rows: dict[int, list[str]] = {}
    for enrolment_id, month in (
        ArrearsMonth.objects.filter(run=run)
        .order_by("enrolment_id", "month")
        .values_list("enrolment_id", "month")
    ):
        rows.setdefault(enrolment_id, []).append(f"{month:%Y年%m月}")
    return pl.DataFrame(
        {"enrolment_id": list(rows), "remark": ["补发" + "、".join(months) for months in rows.values()]},
        schema={"enrolment_id": pl.Int64(), "remark": pl.String()},
    )


def bank_layouts() -> list[bankfiles.BankLayout]:
    """The bank file layouts on offer (payments/layouts/*.yaml), for the UI to choose from."""
    return bankfiles.layouts()


def _run_for_update(actor: Staff, run_id: int) -> PayrollRun:
    run = PayrollRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        raise NotFound("没有找到该发放批次")
    require_in_scope(actor, run.county)
    return run


def _seal(data: bytes) -> bytes:
    """Compressed (a bank file shrinks several times), then encrypted like every identifier."""
    return protect.encrypt(base64.b64encode(zlib.compress(data, 1)).decode("ascii")).encode("ascii")


def _unseal(data: bytes | memoryview) -> bytes:
    return zlib.decompress(base64.b64decode(protect.decrypt(bytes(data).decode("ascii"))))


@transaction.atomic
def bank_export(*, actor: Staff, run_id: int, layout: str) -> BankExport:
    """The payment file of an approved run for its agent bank, in one of the bank_layouts(): every
    line still pending (the whole run the first time; afterwards what is left, re-issues
    included). The file carries full account numbers, so it is stored sealed like every other
    personal identifier; `bank_export_file` gives it back (audited). The run becomes EXPORTED."""
    require(actor, Perm.PAYROLL_RUN)
    chosen = bankfiles.layout(layout)
    run = _run_for_update(actor, run_id)
    if run.status not in EXPORTABLE:
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”：须经审批后才能生成银行文件")
    frame = read_frame(EXPORT_SQL, {"run": run.pk}, EXPORT_SCHEMA)
    if frame.is_empty():
        raise Conflict("该批次没有待发放的笔数，无需生成银行文件")
    tokens = frame["account_encrypted"].unique().to_list()
    accounts = dict(zip(tokens, (protect.decrypt(t) for t in tokens), strict=True))
    labels = {code: programme_label(code) for code in frame["programme"].unique().to_list()}
    frame = frame.join(_arrears_remarks(run), on="enrolment_id", how="left")
    lines = frame.select(
        pl.col("reference"),
        pl.col("account_encrypted").replace_strict(accounts, return_dtype=pl.String).alias("account_number"),
        pl.col("payee_name"),
        pl.col("id_masked"),
        pl.col("bank_name"),
        pl.col("amount_fen"),
        pl.lit(f"{run.month:%Y年%m月}").alias("month"),
        pl.col("programme").replace_strict(labels, return_dtype=pl.String).alias("programme_label"),
        pl.col("village_name"),
        pl.col("remark").fill_null(""),
    )
    content = bankfiles.write_file(chosen, lines)
    seq = BankExport.objects.filter(run=run).count() + 1
    total = from_fen(int(frame["amount_fen"].sum()))
    export = BankExport.objects.create(
        run=run,
        layout=chosen.code,
        file_name=chosen.file_name_for(county=run.county, month=f"{run.month:%Y%m}", run=run.pk, seq=seq),
        content_type=chosen.content_type,
        content=_seal(content),
        sha256=hashlib.sha256(content).hexdigest(),
        line_count=frame.height,
        total_amount=total,
        created_by=actor,
    )
    before = run.status
    run.status = RunStatus.EXPORTED
    run.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="payments.bank_export",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        before={"status": before},
        after={
            "status": run.status,
            "export": export.pk,
            "layout": chosen.code,
            "file_name": export.file_name,
            "lines": export.line_count,
            "total": total,
            "sha256": export.sha256,
        },
    )
    return export


@transaction.atomic
def bank_export_file(*, actor: Staff, export_id: int) -> tuple[str, str, bytes]:
    """(file name, content type, content) of a bank file, for download; every download is audited."""
    require(actor, Perm.PAYROLL_RUN)
    export = BankExport.objects.select_related("run").filter(pk=export_id).first()
    if export is None:
        raise NotFound("没有找到该银行文件")
    require_in_scope(actor, export.run.county)
    content = _unseal(export.content)
    audit_record(
        actor=actor,
        action="payments.bank_export_download",
        object_type="payments.BankExport",
        object_id=export.pk,
        scope_code=export.run.county,
        after={"file_name": export.file_name, "sha256": export.sha256},
    )
    return export.file_name, export.content_type, content


def programme_label(code: str) -> str:
    programme = PROGRAMMES.get(code)
    return programme.label if programme else code


# --- Reconciliation ------------------------------------------------------------------------------------

RUN_LINES_SQL = """SELECT l.id, l.status, CAST(ROUND(l.amount * 100) AS BIGINT)
    FROM payments_payrollline l WHERE l.run_id = %(run)s"""
RUN_LINES_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "line_status": pl.String(),
    "amount_fen": pl.Int64(),
}
APPLY_RESULTS_SQL = """UPDATE payments_payrollline SET status = r.status, failure_reason = r.reason,
    bank_reference = r.bank_reference, result_at = %(at)s
    FROM payroll_results r
    WHERE payments_payrollline.id = r.id AND payments_payrollline.status = 'pending'"""
RESULTS_DDL = """CREATE TEMPORARY TABLE payroll_results (
    id BIGINT NOT NULL, status VARCHAR(10) NOT NULL, reason VARCHAR(200) NOT NULL,
    bank_reference VARCHAR(60) NOT NULL
)"""
MAX_REPORTED_ERRORS = 1000
MAX_LOOKED_UP = 10_000  # foreign references looked up to tell "other run" from "unknown"
_AMOUNT = r"^\d{1,10}(\.\d{1,2})?$"


def _runs_of(ids: list[int]) -> dict[int, int]:
    """The run of each of these line ids that exists."""
    found: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(PayrollLine.objects.filter(pk__in=chunk).values_list("pk", "run_id"))
    return found


def _check_results(run: PayrollRun, rows: pl.DataFrame) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every problem of every row (nothing is written unless there is none) and, when there is
    none, the results to apply (id, status, reason, bank_reference)."""
    status_words = {k.lower(): v for k, v in bankfiles.STATUS_WORDS.items()}
    frame = rows.with_columns(
        pl.when(pl.col("reference").str.contains(r"^\d{1,18}$"))
        .then(pl.col("reference").cast(pl.Int64, strict=False))
        .alias("id"),
        pl.col("status").str.to_lowercase().replace_strict(status_words, default=None).alias("result"),
        pl.when(pl.col("amount").str.replace_all(",", "").str.contains(_AMOUNT))
        .then(
            (pl.col("amount").str.replace_all(",", "").cast(pl.Decimal(14, 2), strict=False) * 100).cast(
                pl.Int64
            )
        )
        .alias("stated_fen"),
    )
    first = (
        frame.filter(pl.col("id").is_not_null()).group_by("id").agg(pl.col("row").min().alias("first_row"))
    )
    lines = read_frame(RUN_LINES_SQL, {"run": run.pk}, RUN_LINES_SCHEMA)
    frame = frame.join(first, on="id", how="left").join(lines, on="id", how="left")
    foreign_ids = frame.filter(pl.col("id").is_not_null() & pl.col("line_status").is_null())["id"].unique()
    runs = _runs_of(sorted(foreign_ids.to_list())[:MAX_LOOKED_UP])
    foreign = pl.DataFrame(
        {"id": list(runs), "other_run": list(runs.values())},
        schema={"id": pl.Int64(), "other_run": pl.Int64()},
    )
    frame = frame.join(foreign, on="id", how="left")
    labels = {s.value: as_stored(s.label) for s in LineStatus}
    ref = pl.col("reference")
    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (ref == "", pl.lit("缺少业务参考号")),
        ((ref != "") & pl.col("id").is_null(), pl.lit("业务参考号应为银行文件中的数字编号")),
        (
            pl.col("result").is_null(),
            pl.format("发放结果“{}”无法识别（应为 成功/失败 或 paid/failed）", pl.col("status")),
        ),
        (
            (pl.col("amount") != "") & pl.col("stated_fen").is_null(),
            pl.format("金额“{}”格式不正确", pl.col("amount")),
        ),
        (
            (pl.col("reason").str.len_chars() > 200) | (pl.col("bank_reference").str.len_chars() > 60),
            pl.lit("失败原因不超过200字，银行流水号不超过60字"),
        ),
        (
            pl.col("row") > pl.col("first_row"),
            pl.format("与第{}行重复（同一笔只能有一个结果）", pl.col("first_row")),
        ),
        (
            pl.col("id").is_not_null() & pl.col("line_status").is_null() & pl.col("other_run").is_not_null(),
            pl.format("业务参考号{}属于其他发放批次", ref),
        ),
        (
            pl.col("id").is_not_null() & pl.col("line_status").is_null() & pl.col("other_run").is_null(),
            pl.format("业务参考号{}不存在", ref),
        ),
        (
            (pl.col("row") == pl.col("first_row"))
            & pl.col("line_status").is_not_null()
            & (pl.col("line_status") != LineStatus.PENDING),
            pl.format(
                "业务参考号{}已有结果（{}），不能重复对账",
                ref,
                pl.col("line_status").replace_strict(labels, default=pl.col("line_status")),
            ),
        ),
        (
            pl.col("stated_fen").is_not_null()
            & pl.col("amount_fen").is_not_null()
            & (pl.col("stated_fen") != pl.col("amount_fen")),
            pl.format(
                "金额{}与发放金额{}不符",
                pl.col("amount"),
                bankfiles.yuan_text(pl.col("amount_fen")),
            ),
        ),
    ]
    errors = pl.concat(
        [
            frame.filter(condition.fill_null(False)).select(
                pl.col("row"), pl.col("reference"), message.alias("message")
            )
            for condition, message in checks
        ]
    ).sort("row", maintain_order=True)
    if not errors.is_empty():
        return pl.DataFrame(), errors.to_dicts()
    results = frame.select(
        pl.col("id"),
        pl.col("result").alias("status"),
        pl.when(pl.col("result") == LineStatus.FAILED)
        .then(pl.when(pl.col("reason") == "").then(pl.lit("银行未注明原因")).otherwise(pl.col("reason")))
        .otherwise(pl.lit(""))
        .alias("reason"),
        pl.col("bank_reference"),
    )
    return results, []


@transaction.atomic
def reconciliation_import(
    *, actor: Staff, run_id: int, file_name: str, content: bytes
) -> ReconciliationReport:
    """Read the bank's results file (CSV or XLSX: 业务参考号, 状态 成功/失败 or paid/failed, optional
    失败原因, 银行流水号, 金额) for an exported run. All or nothing: the whole file is checked first;
    with any problem the report lists every one of them, row by row, and no line changes;
    otherwise the lines take their results (set-based) and the run is RECONCILED once no line is
    left pending."""
    require(actor, Perm.PAYROLL_RUN)
    run = _run_for_update(actor, run_id)
    if run.status != RunStatus.EXPORTED:
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”：生成银行文件后才能导入回盘结果")
    if not content:
        raise InvalidInput("文件为空", field_errors={"file": ["文件为空"]})
    rows, errors = bankfiles.read_results(file_name, content)
    results = pl.DataFrame()
    if not errors:
        if rows.is_empty():
            errors = [{"row": 0, "reference": "", "message": "文件中没有发放结果"}]
        else:
            results, errors = _check_results(run, rows)
    report = ReconciliationReport(
        run=run,
        file_name=file_name[:200],
        sha256=hashlib.sha256(content).hexdigest(),
        rows=rows.height,
        created_by=actor,
    )
    if errors:
        report.errors = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > MAX_REPORTED_ERRORS:
            report.errors.append(
                {
                    "row": 0,
                    "reference": "",
                    "message": f"共{len(errors)}处错误，仅列出前{MAX_REPORTED_ERRORS}处",
                }
            )
        report.save()
        audit_record(
            actor=actor,
            action="payments.reconciliation_rejected",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=run.county,
            reason=file_name,
            after={"report": report.pk, "rows": rows.height, "errors": len(errors)},
        )
        return report
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS payroll_results")
        cursor.execute(RESULTS_DDL + (" ON COMMIT DROP" if connection.vendor == "postgresql" else ""))
        write_frame("payroll_results", results)
        cursor.execute(APPLY_RESULTS_SQL, {"at": connection.ops.adapt_datetimefield_value(now)})
        applied = cursor.rowcount
        cursor.execute("DROP TABLE payroll_results")
    if applied != results.height:
        raise Conflict("回盘结果与发放笔数不一致（可能有人同时在对账），请重新导入")
    orders.post_reconciled(run, actor=actor, at=now)  # a one-off batch's payments leave its funds
    figures = (
        PayrollLine.objects.filter(run=run, result_at=now)
        .values("status")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )
    by_status = {f["status"]: (f["n"], f["total"] or Decimal("0")) for f in figures}
    report.accepted = True
    report.paid, report.paid_amount = by_status.get(LineStatus.PAID, (0, Decimal("0")))
    report.failed, report.failed_amount = by_status.get(LineStatus.FAILED, (0, Decimal("0")))
    report.pending_after = PayrollLine.objects.filter(run=run, status=LineStatus.PENDING).count()
    report.save()
    before = run.status
    if report.pending_after == 0:
        run.status = RunStatus.RECONCILED
        run.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="payments.reconciliation_imported",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        reason=file_name,
        before={"status": before},
        after={
            "status": run.status,
            "report": report.pk,
            "paid": report.paid,
            "paid_amount": report.paid_amount,
            "failed": report.failed,
            "failed_amount": report.failed_amount,
            "pending": report.pending_after,
        },
    )
    return report


REISSUE_SQL = """INSERT INTO payments_payrollline (run_id, enrolment_id, order_id, programme, month, payee_id,
    division_code, monthly_amount, adjustment, amount, status, bank_reference, failure_reason, reissue_of_id)
    SELECT l.run_id, l.enrolment_id, l.order_id, l.programme, l.month, l.payee_id, l.division_code,
        l.monthly_amount, l.adjustment, l.amount, 'pending', '', '', l.id
    FROM payments_payrollline l WHERE l.id IN ({ids})"""


@transaction.atomic
def payroll_reissue(*, actor: Staff, run_id: int) -> int:
    """Issue again, in the same run, every failed payment whose enrolment's bank account has been
    changed since the bank returned it (enrolment_bank_account_change): a new pending line (same
    amounts, `reissue_of` the failed one) that the next bank file carries; the failed line becomes
    REISSUED. Returns how many were issued again (failed lines whose account is unchanged wait)."""
    require(actor, Perm.PAYROLL_RUN)
    run = _run_for_update(actor, run_id)
    if run.status not in (RunStatus.EXPORTED, RunStatus.RECONCILED):
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”：没有可重发的失败笔数")
    corrected = EnrolmentChange.objects.filter(
        enrolment_id=OuterRef("enrolment_id"), kind=ChangeKind.BANK_ACCOUNT, at__gt=OuterRef("result_at")
    )
    failed = PayrollLine.objects.filter(
        run=run, status=LineStatus.FAILED, division_code__startswith=jurisdiction_of(actor).prefix
    )
    corrected_order = Q(order__account_changed_at__gt=F("result_at"))  # one-off lines (payments.orders)
    ids = list(failed.filter(Exists(corrected) | corrected_order).order_by("pk").values_list("pk", flat=True))
    waiting = failed.count() - len(ids)
    if not ids:
        return 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            cursor.execute(
                REISSUE_SQL.format(ids=", ".join(str(int(i)) for i in chunk))
            )  # integers read above
            PayrollLine.objects.filter(pk__in=chunk).update(status=LineStatus.REISSUED)
    before = run.status
    run.status = RunStatus.EXPORTED  # lines are pending again: the next bank file carries them
    run.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="payments.reissued",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        before={"status": before},
        after={"status": run.status, "reissued": len(ids), "failed_waiting_for_account": waiting},
    )
    return len(ids)


# --- Rosters -------------------------------------------------------------------------------------------

ROSTER_SQL = """SELECT l.division_code, p.name, p.id_masked,
    (SELECT COUNT(*) FROM registry_membership m WHERE m.household_id = COALESCE(e.household_id, (
        SELECT m1.household_id FROM registry_membership m1 WHERE m1.person_id = l.payee_id
        ORDER BY m1.start_date DESC LIMIT 1))
        AND m.start_date <= %(month)s AND (m.end_date IS NULL OR m.end_date >= %(month)s)),
    l.programme, CAST(ROUND(l.monthly_amount * 100) AS BIGINT), CAST(ROUND(l.adjustment * 100) AS BIGINT),
    CAST(ROUND(l.amount * 100) AS BIGINT), COALESCE(e.account_masked, o.account_masked), l.status,
    l.failure_reason
    FROM payments_payrollline l
    LEFT JOIN payments_enrolment e ON e.id = l.enrolment_id
    LEFT JOIN payments_paymentorder o ON o.id = l.order_id
    JOIN registry_person p ON p.id = l.payee_id
    WHERE l.run_id = %(run)s AND l.reissue_of_id IS NULL
      AND l.division_code >= %(low)s AND l.division_code < %(high)s
    ORDER BY l.division_code, l.id"""
ROSTER_SCHEMA: dict[str, pl.DataType] = {
    "division_code": pl.String(),
    "payee_name": pl.String(),
    "id_masked": pl.String(),
    "household_size": pl.Int64(),
    "programme": pl.String(),
    "monthly_fen": pl.Int64(),
    "adjustment_fen": pl.Int64(),
    "amount_fen": pl.Int64(),
    "account_masked": pl.String(),
    "status": pl.String(),
    "failure_reason": pl.String(),
}
ROSTER_READY = (RunStatus.COMPUTED, RunStatus.APPROVED, RunStatus.EXPORTED, RunStatus.RECONCILED)


def _roster_note(status: str, reason: str | None) -> str:
    if status == LineStatus.FAILED:
        return f"发放失败：{reason}" if reason else "发放失败"
    if status == LineStatus.REISSUED:
        return "已更正账户重发"
    return ""


@transaction.atomic
def roster_workbook(*, actor: Staff, run_id: int, village_code: str | None = None) -> bytes:
    """The payment roster (发放花名册) of a run as an .xlsx: one village, or every village of the run
    within the actor's jurisdiction, one sheet each (序号, 户主/领取人, 身份证号（脱敏）, 家庭人口,
    救助项目, 月发放金额, 补发/扣减, 实发金额, 银行账号（脱敏）, 签字/备注, totals, signature lines)."""
    require(actor, Perm.PAYMENT_VIEW)
    run = PayrollRun.objects.filter(pk=run_id).first()
    prefix = jurisdiction_of(actor).prefix
    if run is None or not (run.county.startswith(prefix) or prefix.startswith(run.county)):
        raise NotFound("没有找到该发放批次")
    if run.status not in ROSTER_READY:
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”：计算完成后才能打印花名册")
    if village_code:
        if len(village_code) != 12 or not village_code.isdigit() or not village_code.startswith(run.county):
            raise NotFound("没有找到该村（社区）")
        require_in_scope(actor, village_code)
        scope = village_code
    else:
        scope = prefix if len(prefix) > len(run.county) else run.county
    frame = read_frame(
        ROSTER_SQL, {"run": run.pk, "month": run.month, "low": scope, "high": f"{scope}:"}, ROSTER_SCHEMA
    )
    if frame.is_empty():
        raise NotFound("该范围在本批次中没有发放记录")
    villages = sorted(set(frame["division_code"].to_list()))
    county_code = run.county.ljust(12, "0")
    names = dict(
        Division.objects.filter(
            code__in={*villages, *(v[:9] + "000" for v in villages), county_code}
        ).values_list("code", "name")
    )
    sheets = []
    for code, part in frame.group_by("division_code", maintain_order=True):
        sheets.append(
            rosters.VillageRoster(
                village_code=str(code[0]),
                village_name=names.get(str(code[0]), str(code[0])),
                township_name=names.get(str(code[0])[:9] + "000", ""),
                lines=[
                    rosters.RosterLine(
                        payee_name=row["payee_name"],
                        id_masked=row["id_masked"],
                        household_size=row["household_size"],
                        programme_label=programme_label(row["programme"]),
                        monthly_amount=from_fen(row["monthly_fen"]),
                        adjustment=from_fen(row["adjustment_fen"]),
                        amount=from_fen(row["amount_fen"]),
                        account_masked=row["account_masked"],
                        note=_roster_note(row["status"], row["failure_reason"]),
                    )
                    for row in part.iter_rows(named=True)
                ],
            )
        )
    county_name = names.get(county_code, run.county)
    content = rosters.workbook(
        title=f"{county_name}{run.month:%Y年%m月}社会救助资金发放花名册",
        month=run.month,
        county_name=county_name,
        villages=sheets,
    )
    audit_record(
        actor=actor,
        action="payments.roster_exported",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=scope,
        after={"villages": len(sheets), "lines": frame.height},
    )
    return content
