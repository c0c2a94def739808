"""Every write to payments: enrolment from a confirmed decision, its changes (amount, suspension,
resumption, gradual exit, termination, back pay, recovery), monthly payroll runs, approval by a second
person, and re-review tasks.

Payroll idempotency: the database holds at most one line per payee, programme and month
(UNIQUE, re-issues aside), so computing a month twice inserts nothing the second time. A run is
computed township by township, each in its own transaction; a crash leaves whole townships done and
none half done, and computing again continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from minzheng.cases.models import Case, Outcome
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require, require_in_scope
from minzheng.payments import payroll
from minzheng.payments.models import (
    ChangeKind,
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    PayrollRun,
    PayrollTotal,
    ReviewTask,
    RunStatus,
)
from minzheng.rules.selectors import policy_table

MAX_EXIT_MONTHS = 6  # 渐退 up to 6 months, 民发〔2021〕57号
UNSTABLE_INCOME = ("wages", "business")
PAYABLE = (EnrolmentStatus.ACTIVE, EnrolmentStatus.EXITING)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


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
) -> EnrolmentChange:
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


def _enrolment(actor: Staff, enrolment_id: int) -> Enrolment:
    require(actor, Perm.PAYROLL_RUN)
    enrolment = Enrolment.objects.select_for_update().filter(pk=enrolment_id).first()
    if enrolment is None:
        raise NotFound("没有找到该发放对象")
    require_in_scope(actor, enrolment.division_id)
    return enrolment


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("须说明理由", field_errors={"reason": ["请填写理由"]})
    return reason.strip()


@transaction.atomic
def enrolment_change_amount(
    *, actor: Staff, enrolment_id: int, new_amount: Decimal, month: date, reason: str
) -> Enrolment:
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    if new_amount < 0 or new_amount != new_amount.quantize(Decimal("0.01")):
        raise InvalidInput("金额应为非负数，最多两位小数", field_errors={"new_amount": ["格式不正确"]})
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
    """Gradual exit (渐退): keep paying the current amount for up to six more months, then stop."""
    if not 1 <= months <= MAX_EXIT_MONTHS:
        raise InvalidInput(f"渐退期为1至{MAX_EXIT_MONTHS}个月", field_errors={"months": ["超出范围"]})
    enrolment = _set_status(
        actor,
        enrolment_id,
        allowed=(EnrolmentStatus.ACTIVE,),
        to=EnrolmentStatus.EXITING,
        kind=ChangeKind.EXIT,
        month=month,
        reason=reason,
    )
    enrolment.exit_months_left = months
    enrolment.save(update_fields=["exit_months_left"])
    return enrolment


@transaction.atomic
def enrolment_one_off(
    *, actor: Staff, enrolment_id: int, amount: Decimal, month: date, reason: str
) -> EnrolmentChange:
    """Back pay (补发, positive) or a recovery (追回, negative) settled in the next payroll run."""
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    if amount == 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("补发或扣减金额不能为0，最多两位小数", field_errors={"amount": ["格式不正确"]})
    kind = ChangeKind.BACK_PAY if amount > 0 else ChangeKind.RECOVER
    return _change(enrolment, actor, kind, first_of_month(month), reason, one_off=amount)


# --- Payroll ---------------------------------------------------------------------------------------


@transaction.atomic
def payroll_run_request(*, actor: Staff, county: str, month: date) -> PayrollRun:
    """Ask for the payroll of a county and month (one run per county and month; asking again returns
    the same run)."""
    require(actor, Perm.PAYROLL_RUN)
    if len(county) != 6 or not county.isdigit():
        raise InvalidInput("县（区）代码应为6位数字", field_errors={"county": ["格式不正确"]})
    prefix = jurisdiction_of(actor).prefix
    if not county.startswith(prefix) and not prefix.startswith(county):
        raise NotFound()
    if len(prefix) > 6:
        raise PermissionDenied("发放名册由县级生成")
    run, created = PayrollRun.objects.get_or_create(
        county=county, month=first_of_month(month), defaults={"created_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            action="payments.run_requested",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=county,
            after={"month": run.month},
        )
    elif run.status == RunStatus.FAILED:
        run.status = RunStatus.QUEUED
        run.error = ""
        run.save(update_fields=["status", "error"])
    return run


def payroll_compute(*, run_id: int, progress: Callable[[int, int], None] | None = None) -> PayrollRun:
    """Compute a run township by township (resumable; see the module docstring and
    `payments.payroll`). `progress(done, total)` counts enrolments, after each township."""
    run = PayrollRun.objects.get(pk=run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.COMPUTING, RunStatus.COMPUTED, RunStatus.FAILED):
        raise Conflict("已审批的发放名册不能重新计算")
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPUTING, error="")
    counts = payroll.payable_counts(run_id=run.pk, county=run.county, month=run.month)
    total = sum(counts.values())
    PayrollRun.objects.filter(pk=run.pk).update(progress_total=total, progress_done=0)
    done = 0
    try:
        for township in sorted(counts):
            _compute_township(run, township)
            done += counts[township]
            PayrollRun.objects.filter(pk=run.pk).update(progress_done=done)
            if progress is not None:
                progress(done, total)
        _finish(run)
    except Exception as exc:
        PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=str(exc)[:2000])
        raise
    run.refresh_from_db()
    return run


@transaction.atomic
def _compute_township(run: PayrollRun, township: str) -> payroll.TownshipOutcome:
    """One township, whole or not at all. The run row is locked first so that two workers given the
    same run take its townships one after the other (the second then finds nothing left to pay)."""
    PayrollRun.objects.select_for_update().filter(pk=run.pk).values_list("pk").first()
    outcome = payroll.compute_township(
        run_id=run.pk,
        township=township,
        month=run.month,
        next_month=add_months(run.month, 1),
        actor_id=run.created_by_id,
        reason=f"按{run.month:%Y年%m月}生效标准和家庭情况重新计算",
        at=timezone.now(),
        table=policy_table(),
    )
    if outcome.enrolments:
        audit_record(
            actor=run.created_by,
            action="payments.township_computed",
            object_type="payments.PayrollRun",
            object_id=run.pk,
            scope_code=township + "000",
            reason=f"{run.month:%Y年%m月}发放名册",
            after=outcome.as_audit(),
        )
    return outcome


@transaction.atomic
def _finish(run: PayrollRun) -> None:
    """The run's figures from its totals per township and programme (kept by each township's
    transaction), and the run ready for approval."""
    summary = PayrollTotal.objects.filter(run=run).aggregate(n=Sum("line_count"), total=Sum("amount"))
    PayrollRun.objects.filter(pk=run.pk).update(
        status=RunStatus.COMPUTED,
        line_count=summary["n"] or 0,
        total_amount=summary["total"] or 0,
        computed_at=timezone.now(),
    )
    audit_record(
        actor=None,
        action="payments.run_computed",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=run.county,
        after={"lines": summary["n"] or 0, "total": summary["total"] or Decimal("0")},
    )


@transaction.atomic
def payroll_approve(*, actor: Staff, run_id: int, note: str = "") -> PayrollRun:
    """Maker-checker: someone other than the person who asked for the run approves it before export."""
    require(actor, Perm.PAYROLL_APPROVE)
    run = PayrollRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        raise NotFound("没有找到该发放批次")
    require_in_scope(actor, run.county)
    if run.status != RunStatus.COMPUTED:
        raise Conflict(f"发放批次状态为“{run.get_status_display()}”，不能审批")
    if run.created_by_id == actor.pk:
        raise PermissionDenied("生成人不能审批自己生成的发放名册（双人复核）")
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


# --- Re-review ---------------------------------------------------------------------------------------


@transaction.atomic
def reviews_schedule(*, on: date, lead_days: int = 30) -> int:
    """Create the periodic re-review tasks falling due within `lead_days` (yearly, or six-monthly for
    unstable income), for the township office of each enrolment. Returns how many were created."""
    horizon = date.fromordinal(on.toordinal() + lead_days)
    due = Enrolment.objects.filter(status__in=PAYABLE, next_review__lte=horizon).exclude(
        reviews__kind="periodic", reviews__done_at__isnull=True
    )
    tasks = [
        ReviewTask(
            enrolment=e, kind="periodic", due_date=e.next_review, office_code=e.division_id[:9] + "000"
        )
        for e in due
    ]
    ReviewTask.objects.bulk_create(tasks, ignore_conflicts=True)
    return len(tasks)


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
        if new_amount is None:
            raise InvalidInput("调整须填写新的月发放金额", field_errors={"new_amount": ["必填"]})
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
