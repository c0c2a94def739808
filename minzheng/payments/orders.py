"""One-off payments (一次性救助发放): temporary and medical assistance, and back pay outside the
monthly run, from decision to bank or cash, with a ledger per township fund.

1. An order is created by the decision: `order_for_case` runs when a one-off decision is approved, or
   when emergency aid is given first (先行救助) before the paperwork (one order per case: the later
   approval finds it). Back pay outside the monthly run is ordered from the enrolment
   (`back_pay_order`), its change recorded without a queued one-off, so the monthly run never pays
   it too.
2. The township (or the county) says how it is paid (`order_set_method`): by the bank to an account
   (by default the one the payee's monthly benefit is paid to), or in cash from the township's
   reserve fund.
3. Bank orders are paid in batches (`orders_batch`): a PayrollRun of kind ONE_OFF with one line per
   order, which is then approved by a second person, exported in the bank layouts, reconciled and
   re-issued exactly as the monthly payroll (payments.services: one mechanism). A batch is made only
   when each township's temporary-assistance fund covers its orders and those still unpaid in
   earlier batches.
4. Cash is paid from the reserve fund against a receipt (`order_pay_cash`); the fund may not go below
   zero.
5. Every movement of a fund is a `FundEntry` with the balance after it: allocations (`fund_allocate`),
   bank payments when the bank confirms them (`post_reconciled`, called by the reconciliation), cash
   payments and recoveries (`order_recover`). The ledger (`selectors.fund_ledger`) shows budget, paid,
   pending, recovered and balance per township fund and month, to the fen.

Money: Decimal yuan with two places throughout, no rounding (amounts are decided to the fen).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from minzheng.cases.models import Case, Decision, Outcome
from minzheng.cases.services import latest_calculation
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.inputs import InputRuleError, MoneyKind, check_money
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require_in_scope
from minzheng.payments.models import (
    CashPayment,
    ChangeKind,
    Enrolment,
    EnrolmentStatus,
    EntryKind,
    Fund,
    FundEntry,
    FundKind,
    LineStatus,
    OrderBasis,
    OrderStatus,
    PaymentMethod,
    PaymentOrder,
    PayrollLine,
    PayrollRun,
    PayrollTotal,
    RunKind,
    RunStatus,
)
from minzheng.payments.months import first_of_month

ONE_OFF_PROGRAMMES = ("temporary_assistance", "medical_assistance")
# Who may say how an order is paid and hand out cash: the township office, or the county.
ORDER_PERMS = (Perm.PAYROLL_RUN, Perm.CASE_REVIEW_TOWNSHIP)


def _require_any(actor: Staff, perms: tuple[Perm, ...], message: str) -> None:
    if not any(actor.can(p) for p in perms):
        raise PermissionDenied(message)


def _township(division_code: str) -> str:
    return division_code[:9] + "000"


def _audit(actor: Staff | None, action: str, order: PaymentOrder, **after: object) -> None:
    audit_record(
        actor=actor,
        action=f"payments.{action}",
        object_type="payments.PaymentOrder",
        object_id=order.pk,
        scope_code=order.division_id,
        after={"amount": order.amount, "status": order.status, **after},
    )


def _default_account(payee_id: int) -> Enrolment | None:
    """The account the payee's monthly benefit is paid to, if any (newest first)."""
    return (
        Enrolment.objects.filter(payee_id=payee_id)
        .exclude(status=EnrolmentStatus.TERMINATED)
        .order_by("-created_at")
        .first()
    )


def _with_default_account(order: PaymentOrder) -> None:
    enrolment = _default_account(order.payee_id)
    if enrolment is not None:
        order.method = PaymentMethod.BANK
        order.bank_name = enrolment.bank_name
        order.account_encrypted = enrolment.account_encrypted
        order.account_masked = enrolment.account_masked
        order.status = OrderStatus.READY


# --- Orders -------------------------------------------------------------------------------------


def order_for_case(case: Case, actor: Staff) -> PaymentOrder | None:
    """The payment order of a one-off case (temporary or medical assistance), when it is approved or
    its emergency aid is given first; the existing one if there is (one order per case). Called by
    the case workflow inside its transaction (cases.services.DECISION_HOOKS)."""
    existing = PaymentOrder.objects.filter(case=case).first()
    if existing is not None:
        return existing
    calculation = latest_calculation(case)  # the calculation the case's decision rests on
    if calculation is None or calculation.programme not in ONE_OFF_PROGRAMMES:
        return None
    decision = Decision.objects.filter(case=case).first()
    approved = decision is not None and decision.outcome == Outcome.APPROVED
    if case.applicant_id is None:
        raise InvalidInput("申请未关联申请人，不能生成支付单")
    amount = decision.amount if approved and decision is not None else calculation.amount
    if amount <= 0:
        return None
    cause = (case.details.get("temporary") or {}).get("cause", "") if isinstance(case.details, dict) else ""
    order = PaymentOrder(
        county=case.division_id[:6],
        division_id=case.division_id,
        township_code=_township(case.division_id),
        programme=calculation.programme,
        basis=OrderBasis.DECISION if approved else OrderBasis.AID_FIRST,
        case=case,
        payee_id=case.applicant_id,
        amount=amount,
        reason=f"{case.item.name}（受理编号{case.number}）{('：' + cause) if cause else ''}"[:300],
        created_by=actor,
    )
    _with_default_account(order)
    order.save()
    _audit(actor, "order_created", order, basis=order.basis, case=case.number)
    return order


@transaction.atomic
def back_pay_order(
    *, actor: Staff, enrolment_id: int, amount: Decimal, month: date, reason: str
) -> PaymentOrder:
    """Back pay (补发) of an enrolment paid now, in a one-off batch, rather than with its next monthly
    line: the change is recorded with its amount but not queued for the monthly run."""
    from minzheng.payments.services import _change, _check_amount, _enrolment, _reason

    if not actor.can(Perm.PAYROLL_RUN):
        raise PermissionDenied("您没有办理补发的权限")
    enrolment = _enrolment(actor, enrolment_id)
    reason = _reason(reason)
    amount = _check_amount(amount, field="amount")
    if amount <= 0:
        raise InvalidInput("补发金额须大于0", field_errors={"amount": ["须大于0"]})
    change = _change(
        enrolment, actor, ChangeKind.BACK_PAY, first_of_month(month), reason, one_off=amount, queue=False
    )
    order = PaymentOrder.objects.create(
        county=enrolment.division_id[:6],
        division_id=enrolment.division_id,
        township_code=_township(enrolment.division_id),
        programme=enrolment.programme,
        basis=OrderBasis.BACK_PAY,
        change=change,
        case_id=None,
        payee_id=enrolment.payee_id,
        amount=amount,
        reason=f"补发：{reason}"[:300],
        status=OrderStatus.READY,
        method=PaymentMethod.BANK,
        bank_name=enrolment.bank_name,
        account_encrypted=enrolment.account_encrypted,
        account_masked=enrolment.account_masked,
        created_by=actor,
    )
    _audit(actor, "order_created", order, basis=order.basis, enrolment=enrolment.pk)
    return order


def _order_for_update(actor: Staff, order_id: int) -> PaymentOrder:
    order = PaymentOrder.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound("没有找到该支付单")
    require_in_scope(actor, order.division_id)
    return order


def _failed_line(order: PaymentOrder) -> PayrollLine | None:
    return (
        PayrollLine.objects.filter(order=order, status=LineStatus.FAILED).order_by("-pk").first()
        if order.status == OrderStatus.BATCHED
        else None
    )


@transaction.atomic
def order_set_method(
    *, actor: Staff, order_id: int, method: str, bank_name: str = "", account_number: str = ""
) -> PaymentOrder:
    """How an order is paid: to a bank account, or in cash from the reserve fund. Also corrects the
    account of an order whose bank payment failed (then it can be re-issued)."""
    from minzheng.payments.services import mask_account, parse_account

    _require_any(actor, ORDER_PERMS, "您没有确定发放方式的权限")
    order = _order_for_update(actor, order_id)
    failed = _failed_line(order)
    if order.status not in (OrderStatus.AWAITING, OrderStatus.READY) and failed is None:
        raise Conflict(f"支付单状态为“{order.get_status_display()}”，不能变更发放方式")
    if method not in PaymentMethod.values:
        raise InvalidInput("请选择发放方式", field_errors={"method": ["银行代发或现金发放"]})
    if failed is not None and method != PaymentMethod.BANK:
        raise Conflict("已编入代发批次的支付单只能更正银行账户后重发")
    before = {"method": order.method, "account": order.account_masked, "status": order.status}
    if method == PaymentMethod.BANK:
        if not bank_name.strip():
            raise InvalidInput("请填写开户银行", field_errors={"bank_name": ["必填"]})
        digits = parse_account(account_number)
        order.bank_name = bank_name.strip()[:60]
        order.account_encrypted = protect.encrypt(digits)
        order.account_masked = mask_account(digits)
        order.account_changed_at = timezone.now()
    else:
        order.bank_name = order.account_encrypted = order.account_masked = ""
    order.method = method
    if failed is None:
        order.status = OrderStatus.READY
    order.save()
    audit_record(
        actor=actor,
        action="payments.order_method_set",
        object_type="payments.PaymentOrder",
        object_id=order.pk,
        scope_code=order.division_id,
        before=before,
        after={"method": order.method, "account": order.account_masked, "status": order.status},
    )
    return order


@transaction.atomic
def order_cancel(*, actor: Staff, order_id: int, reason: str) -> PaymentOrder:
    """Cancel an order not yet paid or batched (e.g. the decision was revoked), with the reason."""
    _require_any(actor, (Perm.PAYROLL_RUN,), "您没有撤销支付单的权限")
    order = _order_for_update(actor, order_id)
    if order.status not in (OrderStatus.AWAITING, OrderStatus.READY):
        raise Conflict(f"支付单状态为“{order.get_status_display()}”，不能撤销")
    if not reason.strip():
        raise InvalidInput("请填写撤销原因", field_errors={"reason": ["必填"]})
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="payments.order_cancelled",
        object_type="payments.PaymentOrder",
        object_id=order.pk,
        scope_code=order.division_id,
        reason=reason.strip(),
        after={"status": order.status},
    )
    return order


# --- Funds --------------------------------------------------------------------------------------


def _fund(kind: str, township_code: str) -> Fund:
    """The fund, locked for the movement (created empty on first use)."""
    Fund.objects.get_or_create(kind=kind, township_code=township_code)
    return Fund.objects.select_for_update().get(kind=kind, township_code=township_code)


def _move(
    fund: Fund,
    *,
    kind: str,
    amount: Decimal,
    actor: Staff,
    month: date,
    order: PaymentOrder | None = None,
    run: PayrollRun | None = None,
    note: str = "",
) -> FundEntry:
    """One ledger entry; the balance moves with it and may not go below zero."""
    sign = -1 if kind == EntryKind.PAID else 1
    after = fund.balance + sign * amount
    if after < 0:
        label = FundKind(fund.kind).label
        raise Conflict(
            f"{label}余额不足：余额{fund.balance}元，本次需{amount}元",
            field_errors={"amount": [f"{label}余额不足"]},
        )
    fund.balance = after
    fund.save(update_fields=["balance"])
    return FundEntry.objects.create(
        fund=fund,
        kind=kind,
        month=first_of_month(month),
        amount=amount,
        balance_after=after,
        order=order,
        run=run,
        note=note[:300],
        created_by=actor,
    )


@transaction.atomic
def fund_allocate(
    *, actor: Staff, township_code: str, kind: str, amount: Decimal, month: date, note: str
) -> FundEntry:
    """Money allocated to a township's fund (预算拨入, 备用金拨付) by the county."""
    if not actor.can(Perm.PAYROLL_RUN):
        raise PermissionDenied("您没有拨付资金的权限")
    if kind not in FundKind.values:
        raise InvalidInput("请选择资金类别", field_errors={"kind": ["未知类别"]})
    if not (len(township_code) == 12 and township_code.isdigit() and township_code.endswith("000")):
        raise InvalidInput("请选择乡镇（街道）", field_errors={"township_code": ["须为乡镇（街道）区划代码"]})
    require_in_scope(actor, township_code)
    try:
        amount = check_money(amount, kind=MoneyKind.STOCK)
    except InputRuleError as exc:
        raise InvalidInput(exc.message, field_errors={"amount": [exc.message]}) from exc
    if amount <= 0:
        raise InvalidInput("拨入金额须大于0", field_errors={"amount": ["须大于0"]})
    if not note.strip():
        raise InvalidInput("请填写拨款依据（文号）", field_errors={"note": ["必填"]})
    entry = _move(
        _fund(kind, township_code), kind=EntryKind.BUDGET, amount=amount, actor=actor, month=month, note=note
    )
    audit_record(
        actor=actor,
        action="payments.fund_allocated",
        object_type="payments.Fund",
        object_id=entry.fund_id,
        scope_code=township_code,
        reason=note.strip(),
        after={"kind": kind, "amount": amount, "balance": entry.balance_after},
    )
    return entry


def _unpaid_in_batches(township_code: str) -> Decimal:
    """Bank orders of the township in batches whose lines the bank has not confirmed yet."""
    total = PayrollLine.objects.filter(
        order__isnull=False,
        division_code__startswith=township_code[:9],
        status=LineStatus.PENDING,
    ).aggregate(t=Sum("amount"))["t"]
    return total or Decimal("0")


@transaction.atomic
def orders_batch(*, actor: Staff, county: str) -> PayrollRun:
    """Every bank order of the county ready to pay (within the actor's jurisdiction) in one batch, set
    based: a ONE_OFF run COMPUTED with one line per order, waiting for a second person's approval.
    Refused, with nothing changed, when a township's fund would not cover its orders."""
    if not actor.can(Perm.PAYROLL_RUN):
        raise PermissionDenied("您没有生成代发批次的权限")
    require_in_scope(actor, county)
    prefix = jurisdiction_of(actor).prefix
    ids = list(
        PaymentOrder.objects.select_for_update()
        .filter(
            county=county,
            status=OrderStatus.READY,
            method=PaymentMethod.BANK,
            division__code__startswith=prefix,
        )
        .values_list("pk", flat=True)
    )
    ready = PaymentOrder.objects.filter(pk__in=ids)
    by_township = dict(
        ready.values_list("township_code")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("township_code", "t")
    )
    if not by_township:
        raise Conflict("没有待编入批次的银行代发支付单")
    short = []
    for township, total in sorted(by_township.items()):
        fund = _fund(FundKind.ASSISTANCE, township)
        needed = total + _unpaid_in_batches(township)
        if needed > fund.balance:
            short.append(f"{township}：余额{fund.balance}元，待发{needed}元")
    if short:
        raise Conflict("临时救助资金余额不足，未生成批次：" + "；".join(short))
    now = timezone.now()
    run = PayrollRun.objects.create(
        kind=RunKind.ONE_OFF,
        county=county,
        month=first_of_month(timezone.localdate()),
        status=RunStatus.COMPUTED,
        created_by=actor,
        computed_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO payments_payrollline (run_id, enrolment_id, order_id, programme, month, payee_id,
                division_code, monthly_amount, adjustment, arrears, amount, status, bank_reference,
                failure_reason)
            SELECT %s, NULL, o.id, o.programme, %s, o.payee_id, o.division_id, o.amount, 0, 0, o.amount,
                'pending', '', ''
            FROM payments_paymentorder o WHERE o.run_id IS NULL AND o.id IN ({})""".format(  # noqa: S608
                ", ".join(str(int(i)) for i in ids)  # integers read above
            ),
            [run.pk, connection.ops.adapt_datefield_value(run.month)],
        )
    PaymentOrder.objects.filter(pk__in=ids).update(status=OrderStatus.BATCHED, run=run)
    totals = list(
        PayrollLine.objects.filter(run=run)
        .values_list("order__township_code", "programme")
        .order_by()
        .annotate(n=Count("pk"), t=Sum("amount"))
    )
    PayrollTotal.objects.bulk_create(
        PayrollTotal(run=run, township_code=t, programme=p, line_count=n, amount=a) for t, p, n, a in totals
    )
    run.line_count = len(ids)
    run.total_amount = sum((a for *_, a in totals), Decimal("0"))
    run.progress_done = run.progress_total = len(ids)
    run.save(update_fields=["line_count", "total_amount", "progress_done", "progress_total"])
    audit_record(
        actor=actor,
        action="payments.orders_batched",
        object_type="payments.PayrollRun",
        object_id=run.pk,
        scope_code=county,
        after={"orders": len(ids), "total": run.total_amount},
    )
    return run


def post_reconciled(run: PayrollRun, *, actor: Staff, at: datetime) -> None:
    """The fund entries of a one-off batch's lines the bank has just confirmed paid (result_at = at):
    one PAID entry per township. Called by the reconciliation inside its transaction; a township
    whose fund no longer covers them fails the whole reconciliation (nothing is applied)."""
    if run.kind != RunKind.ONE_OFF:
        return
    paid = (
        PayrollLine.objects.filter(run=run, result_at=at, status=LineStatus.PAID)
        .values_list("order__township_code")
        .annotate(total=Sum("amount"))
        .order_by("order__township_code")
    )
    for township, total in paid:  # summed by the database, one row per township
        _move(
            _fund(FundKind.ASSISTANCE, township),
            kind=EntryKind.PAID,
            amount=total,
            actor=actor,
            month=run.month,
            run=run,
            note=f"代发批次{run.pk}银行回盘成功",
        )


@transaction.atomic
def order_pay_cash(
    *,
    actor: Staff,
    order_id: int,
    receipt_number: str,
    paid_on: date,
    recipient_name: str,
    recipient_signed: bool,
    note: str = "",
) -> CashPayment:
    """Cash handed over from the township's reserve fund against a signed receipt."""
    _require_any(actor, ORDER_PERMS, "您没有现金发放的权限")
    order = _order_for_update(actor, order_id)
    if order.status not in (OrderStatus.AWAITING, OrderStatus.READY):
        raise Conflict(f"支付单状态为“{order.get_status_display()}”，不能现金发放")
    errors: dict[str, list[str]] = {}
    receipt_number = receipt_number.strip()
    if not receipt_number:
        errors["receipt_number"] = ["请填写收据编号"]
    elif CashPayment.objects.filter(receipt_number=receipt_number).exists():
        errors["receipt_number"] = ["该收据编号已使用"]
    if not recipient_name.strip():
        errors["recipient_name"] = ["请填写领款人"]
    if not recipient_signed:
        errors["recipient_signed"] = ["现金发放须由领款人签字确认"]
    if paid_on > timezone.localdate():
        errors["paid_on"] = ["发放日期不能晚于今天"]
    if errors:
        raise InvalidInput("现金发放信息不完整", field_errors=errors)
    _move(
        _fund(FundKind.RESERVE, order.township_code),
        kind=EntryKind.PAID,
        amount=order.amount,
        actor=actor,
        month=paid_on,
        order=order,
        note=f"现金发放，收据{receipt_number}",
    )
    payment = CashPayment.objects.create(
        order=order,
        receipt_number=receipt_number,
        paid_on=paid_on,
        recipient_name=recipient_name.strip()[:60],
        recipient_signed=True,
        paid_by=actor,
        note=note.strip()[:300],
    )
    order.method = PaymentMethod.CASH
    order.status = OrderStatus.CASH_PAID
    order.save(update_fields=["method", "status"])
    _audit(actor, "order_paid_cash", order, receipt=receipt_number, paid_on=paid_on)
    return payment


def _paid_from(order: PaymentOrder) -> str | None:
    """The fund an order was paid from, or None while it is not paid."""
    if order.status == OrderStatus.CASH_PAID:
        return FundKind.RESERVE
    if PayrollLine.objects.filter(order=order, status=LineStatus.PAID).exists():
        return FundKind.ASSISTANCE
    return None


@transaction.atomic
def order_recover(*, actor: Staff, order_id: int, amount: Decimal, reason: str) -> FundEntry:
    """Money of a paid order recovered (追回, e.g. obtained by false statements) back into the fund it
    was paid from; never more than was paid."""
    if not actor.can(Perm.PAYROLL_RUN):
        raise PermissionDenied("您没有办理追回的权限")
    order = _order_for_update(actor, order_id)
    fund_kind = _paid_from(order)
    if fund_kind is None:
        raise Conflict("支付单尚未发放，无需追回")
    from minzheng.payments.services import _check_amount

    amount = _check_amount(amount, field="amount")
    if amount <= 0:
        raise InvalidInput("追回金额须大于0", field_errors={"amount": ["须大于0"]})
    if not reason.strip():
        raise InvalidInput("请填写追回原因", field_errors={"reason": ["必填"]})
    recovered = order.entries.filter(kind=EntryKind.RECOVERED).aggregate(t=Sum("amount"))["t"] or Decimal("0")
    if recovered + amount > order.amount:
        raise InvalidInput(
            f"追回金额合计不能超过发放金额{order.amount}元（已追回{recovered}元）",
            field_errors={"amount": ["超过发放金额"]},
        )
    entry = _move(
        _fund(fund_kind, order.township_code),
        kind=EntryKind.RECOVERED,
        amount=amount,
        actor=actor,
        month=timezone.localdate(),
        order=order,
        note=reason,
    )
    _audit(actor, "order_recovered", order, recovered=amount, reason=reason.strip())
    return entry
