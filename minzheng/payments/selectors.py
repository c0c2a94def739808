"""Reads for payments, always within the actor's jurisdiction.

Enrolments, lines and review tasks belong to a village; a payroll run, its totals and its bank files
belong to a county (发放名册由县级生成) and are seen from the county up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from minzheng.cases.models import Case, Decision, Outcome
from minzheng.core.errors import InvalidInput, OutOfScope, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.payments import payroll
from minzheng.payments.models import (
    AmountProposal,
    ArrearsMonth,
    BankExport,
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    EntryKind,
    Fund,
    FundEntry,
    FundKind,
    LineStatus,
    OrderStatus,
    PaymentOrder,
    PayrollLine,
    PayrollRun,
    PayrollTotal,
    ProposalStatus,
    ReconciliationReport,
    ReviewTask,
    RunParameter,
    RunStatus,
)
from minzheng.payments.months import months_between
from minzheng.rules.programmes import PROGRAMMES

RUNNING = (RunStatus.QUEUED, RunStatus.COMPUTING)
# Without a lease to probe (SQLite), a computation started longer ago than this is taken as dead.
STUCK_AFTER = timedelta(minutes=30)


def programme_label(code: str) -> str:
    programme = PROGRAMMES.get(code)
    return programme.label if programme else code


def programme_choices() -> list[tuple[str, str]]:
    return [(p.code, p.label) for p in PROGRAMMES.values() if p.period == "month"]


# --- Enrolments -------------------------------------------------------------------------------------


def enrolment_list(
    *, actor: Staff, search: str = "", status: str = "", programme: str = "", division_code: str = ""
) -> QuerySet[Enrolment]:
    """Enrolments in scope; `search` matches the payee's name, the household number or the case number."""
    require(actor, Perm.PAYMENT_VIEW)
    qs = scoped(Enrolment.objects.all(), actor).select_related("payee", "household", "division", "case")
    if status:
        if status not in EnrolmentStatus.values:
            raise InvalidInput("状态无效", field_errors={"status": ["无效"]})
        qs = qs.filter(status=status)
    if programme:
        qs = qs.filter(programme=programme)
    if division_code:
        qs = qs.filter(division__code__startswith=division_code)
    search = search.strip()
    if search:
        qs = qs.filter(Q(payee__name=search) | Q(household__number=search) | Q(case__number=search))
    return qs.order_by("division_id", "pk")


def enrolment_get(*, actor: Staff, enrolment_id: int) -> Enrolment:
    """One enrolment with its change history (`changes`), open review tasks (`open_reviews`), its
    last twelve payroll lines (`recent_lines`), the months paid late (`arrears`) and its amount
    proposals (`amount_proposals`)."""
    require(actor, Perm.PAYMENT_VIEW)
    found = (
        scoped(Enrolment.objects.all(), actor)
        .select_related("payee", "household", "division__parent", "case", "created_by")
        .prefetch_related(
            Prefetch(
                "changes",
                queryset=EnrolmentChange.objects.select_related("actor", "settlement").order_by("at", "pk"),
            ),
            Prefetch(
                "reviews",
                queryset=ReviewTask.objects.filter(done_at__isnull=True).order_by("due_date"),
                to_attr="open_reviews",
            ),
        )
        .filter(pk=enrolment_id)
        .first()
    )
    if found is None:
        raise OutOfScope()
    found.recent_lines = enrolment_lines(found)  # type: ignore[attr-defined]
    found.arrears = enrolment_arrears(found)  # type: ignore[attr-defined]
    found.amount_proposals = enrolment_proposals(found)  # type: ignore[attr-defined]
    return found


def enrolment_lines(enrolment: Enrolment, *, limit: int = 12) -> list[PayrollLine]:
    """The enrolment's newest lines, re-issues included. Found through the index that pays nobody
    twice, by month, payee and programme: one probe per month from its start to the newest run
    (lines carry no index by enrolment, bench/README.md)."""
    newest = PayrollRun.objects.aggregate(month=Max("month"))["month"]
    if newest is None:
        return []
    months = months_between(enrolment.start_month, newest)
    originals = PayrollLine.objects.filter(
        month__in=months,
        programme=enrolment.programme,
        payee_id=enrolment.payee_id,
        reissue_of__isnull=True,
        enrolment=enrolment,
    )
    reissues = PayrollLine.objects.filter(reissue_of__in=originals.values("pk"))
    lines = list(originals.select_related("run")) + list(reissues.select_related("run"))
    lines.sort(key=lambda line: (line.month, line.pk), reverse=True)
    return lines[:limit]


def cases_awaiting_enrolment(*, actor: Staff) -> QuerySet[Case]:
    """Approved monthly benefits (待纳入发放的已批准申请) not yet enrolled."""
    require(actor, Perm.PAYMENT_VIEW)
    return (
        scoped(Case.objects.all(), actor)
        .filter(outcome=Outcome.APPROVED, decision__period="month")
        .exclude(Exists(Enrolment.objects.filter(case=OuterRef("pk"))))
        .select_related("division", "decision", "item")
        .order_by("decision__decided_at", "pk")
    )


def case_for_enrolment(*, actor: Staff, case_id: int) -> Case:
    require(actor, Perm.PAYMENT_VIEW)
    case = (
        scoped(Case.objects.all(), actor)
        .select_related("division", "item", "decision__calculation", "household", "applicant")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise OutOfScope()
    return case


def decision_of(case: Case) -> Decision | None:
    return getattr(case, "decision", None)


# --- Payroll runs -----------------------------------------------------------------------------------


def enrolment_arrears(enrolment: Enrolment) -> list[ArrearsMonth]:
    """The months an enrolment was paid late (补发), with the run that paid each."""
    return list(ArrearsMonth.objects.filter(enrolment=enrolment).select_related("run").order_by("month"))


def enrolment_proposals(enrolment: Enrolment) -> list[AmountProposal]:
    """The amount proposals of an enrolment, newest first, with their runs and decisions."""
    return list(
        AmountProposal.objects.filter(enrolment=enrolment)
        .select_related("run", "decided_by", "change")
        .order_by("-created_at", "-pk")
    )


def line_arrears(line: PayrollLine) -> list[ArrearsMonth]:
    """The months a line pays as arrears."""
    if line.enrolment_id is None:
        return []
    return list(
        ArrearsMonth.objects.filter(run_id=line.run_id, enrolment_id=line.enrolment_id).order_by("month")
    )


@dataclass(frozen=True)
class LineExplanation:
    """Why a line pays what it pays: the decided monthly amount (the change that set it, and the
    decision or approved proposal behind that change), the arrears months, the one-offs settled, and
    the parameters the run used."""

    line: PayrollLine
    amount_set_by: EnrolmentChange | None
    decision: Decision | None
    proposal: AmountProposal | None
    arrears: list[ArrearsMonth]
    one_offs: list[EnrolmentChange]
    parameters: list[RunParameter]
    # A one-off line (payments.orders): the order it pays, and the decision behind it.
    order: PaymentOrder | None = None


def line_explanation(*, actor: Staff, run_id: int, line_id: int) -> LineExplanation:
    line = (
        run_lines(actor=actor, run_id=run_id)
        .select_related("run", "enrolment__case")
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        raise OutOfScope()
    if line.enrolment_id is None:
        order = PaymentOrder.objects.select_related("case", "change").get(pk=line.order_id or 0)
        return LineExplanation(
            line=line,
            amount_set_by=order.change,
            decision=decision_of(order.case) if order.case is not None else None,
            proposal=None,
            arrears=[],
            one_offs=[],
            parameters=[],
            order=order,
        )
    set_by = (
        EnrolmentChange.objects.filter(
            enrolment_id=line.enrolment_id, new_amount__isnull=False, effective_month__lte=line.month
        )
        .select_related("actor")
        .order_by("-effective_month", "-pk")
        .first()
    )
    proposal = (
        AmountProposal.objects.filter(change=set_by).select_related("run", "decided_by").first()
        if set_by is not None
        else None
    )
    one_offs = list(
        EnrolmentChange.objects.filter(settlement__run_id=line.run_id, enrolment_id=line.enrolment_id)
        .select_related("actor")
        .order_by("at", "pk")
    )
    return LineExplanation(
        line=line,
        amount_set_by=set_by,
        decision=decision_of(line.enrolment.case)
        if set_by is not None and set_by.kind == "enrol" and line.enrolment is not None
        else None,
        proposal=proposal,
        arrears=line_arrears(line),
        one_offs=one_offs,
        parameters=list(RunParameter.objects.filter(run_id=line.run_id).order_by("name", "area")),
    )


def run_parameters(*, actor: Staff, run_id: int) -> list[RunParameter]:
    """The parameter values a run used (what its proposals rest on)."""
    run = _runs(actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    return list(RunParameter.objects.filter(run=run).order_by("name", "area"))


def run_proposals(
    *, actor: Staff, run_id: int, status: str = ProposalStatus.PROPOSED
) -> QuerySet[AmountProposal]:
    """A run's amount proposals (open ones by default), by village, with their enrolments."""
    run = _runs(actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    proposals = AmountProposal.objects.filter(run=run).select_related("enrolment", "enrolment__payee")
    if status:
        proposals = proposals.filter(status=status)
    return scoped(proposals, actor, field="enrolment__division__code").order_by(
        "enrolment__division_id", "pk"
    )


def _runs(actor: Staff) -> QuerySet[PayrollRun]:
    require(actor, Perm.PAYMENT_VIEW)
    return scoped(PayrollRun.objects.all(), actor, field="county")


def run_list(*, actor: Staff) -> QuerySet[PayrollRun]:
    return _runs(actor).select_related("created_by", "approved_by").order_by("-month", "county")


@dataclass(frozen=True)
class TotalRow:
    township_code: str
    township_name: str
    programme: str
    programme_label: str
    line_count: int
    amount: Decimal


@dataclass(frozen=True)
class Subtotal:
    code: str
    name: str
    line_count: int
    amount: Decimal


@dataclass
class RunDetail:
    run: PayrollRun
    county_name: str
    totals: list[TotalRow] = field(default_factory=list)
    by_township: list[Subtotal] = field(default_factory=list)
    by_programme: list[Subtotal] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.run.status in RUNNING

    @property
    def percent(self) -> int:
        run = self.run
        if run.status not in RUNNING:
            return 100
        if not run.progress_total:
            return 0
        return min(100, run.progress_done * 100 // run.progress_total)

    @property
    def stuck(self) -> bool:
        """Computing, but its process is gone: a county administrator may resume it."""
        return run_stuck(self.run)

    @property
    def failed_count(self) -> int:
        return self.status_counts.get(LineStatus.FAILED, 0)


def run_stuck(run: PayrollRun) -> bool:
    """A COMPUTING run whose computing process is gone (its lease free on PostgreSQL; on SQLite
    started longer ago than the lease)."""
    if run.status != RunStatus.COMPUTING:
        return False
    alive = payroll.run_alive(run.pk)
    if alive is not None:
        return not alive
    started = run.started_at or run.created_at
    return started < timezone.now() - STUCK_AFTER


def _names(codes: set[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


def run_get(*, actor: Staff, run_id: int) -> RunDetail:
    """A run with its totals by township and programme, subtotals both ways and line counts by status."""
    run = run_list(actor=actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    totals = list(PayrollTotal.objects.filter(run=run).order_by("township_code", "programme"))
    names = _names({t.township_code for t in totals} | {run.county.ljust(12, "0")})
    rows = [
        TotalRow(
            t.township_code,
            names.get(t.township_code, t.township_code),
            t.programme,
            programme_label(t.programme),
            t.line_count,
            t.amount,
        )
        for t in totals
    ]
    by_township: dict[str, list[Any]] = {}
    by_programme: dict[str, list[Any]] = {}
    for row in rows:
        for acc, code, name in (
            (by_township, row.township_code, row.township_name),
            (by_programme, row.programme, row.programme_label),
        ):
            entry = acc.setdefault(code, [name, 0, Decimal("0")])
            entry[1] += row.line_count
            entry[2] += row.amount
    counts = dict(
        PayrollLine.objects.filter(run=run)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return RunDetail(
        run=run,
        county_name=names.get(run.county.ljust(12, "0"), run.county),
        totals=rows,
        by_township=[Subtotal(k, v[0], v[1], v[2]) for k, v in by_township.items()],
        by_programme=[Subtotal(k, v[0], v[1], v[2]) for k, v in sorted(by_programme.items())],
        status_counts=counts,
    )


def _village_name() -> Subquery:
    return Subquery(Division.objects.filter(code=OuterRef("division_code")).values("name")[:1])


def run_lines(*, actor: Staff, run_id: int, village: str = "", status: str = "") -> QuerySet[PayrollLine]:
    """Lines of a run, by village; `village` is a division code (prefix), `status` a line status."""
    run = _runs(actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    qs = (
        scoped(PayrollLine.objects.filter(run=run), actor, field="division_code")
        .select_related("payee", "enrolment")
        .annotate(village_name=_village_name())
    )
    if village:
        qs = qs.filter(division_code__startswith=village)
    if status:
        if status not in LineStatus.values:
            raise InvalidInput("发放状态无效", field_errors={"status": ["无效"]})
        qs = qs.filter(status=status)
    return qs.order_by("division_code", "pk")


@dataclass(frozen=True)
class VillageRow:
    code: str
    name: str
    township_name: str
    line_count: int
    amount: Decimal


def run_villages(*, actor: Staff, run_id: int) -> list[VillageRow]:
    """The villages with lines in a run (for the filter and the per-village rosters)."""
    lines = run_lines(actor=actor, run_id=run_id).filter(reissue_of__isnull=True)
    acc: dict[str, list[Any]] = {}
    for code, amount in lines.values_list("division_code", "amount").order_by():
        entry = acc.setdefault(code, [0, Decimal("0")])
        entry[0] += 1
        entry[1] += amount
    names = _names(set(acc) | {c[:9] + "000" for c in acc})
    return [
        VillageRow(code, names.get(code, code), names.get(code[:9] + "000", ""), v[0], v[1])
        for code, v in sorted(acc.items())
    ]


ROSTER_READY = (RunStatus.COMPUTED, RunStatus.APPROVED, RunStatus.EXPORTED, RunStatus.RECONCILED)


def local_rosters(*, actor: Staff, limit: int = 12) -> list[tuple[PayrollRun, list[VillageRow]]]:
    """For a township or village office (runs are county records): the county's recent computed
    runs, each with the office's own villages in it, for their rosters."""
    require(actor, Perm.PAYMENT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    if len(prefix) <= 6 or not actor.is_active:
        return []
    runs = list(
        PayrollRun.objects.filter(county=prefix[:6], status__in=ROSTER_READY).order_by("-month")[:limit]
    )
    found: dict[int, dict[str, list[Any]]] = {run.pk: {} for run in runs}
    lines = scoped(
        PayrollLine.objects.filter(run__in=runs, reissue_of__isnull=True), actor, field="division_code"
    )
    for run_id, code, amount in lines.values_list("run_id", "division_code", "amount").order_by():
        entry = found[run_id].setdefault(code, [0, Decimal("0")])
        entry[0] += 1
        entry[1] += amount
    codes = {code for villages in found.values() for code in villages}
    names = _names(codes | {c[:9] + "000" for c in codes})
    return [
        (
            run,
            [
                VillageRow(code, names.get(code, code), names.get(code[:9] + "000", ""), v[0], v[1])
                for code, v in sorted(found[run.pk].items())
            ],
        )
        for run in runs
    ]


@dataclass
class Roster:
    run: PayrollRun
    village_code: str
    village_name: str
    township_name: str
    county_name: str
    lines: list[PayrollLine]
    total: Decimal


def roster(*, actor: Staff, run_id: int, village_code: str) -> Roster:
    """The payment roster (发放花名册) of one village in a run, for printing and signature: for the
    county, and for the township and village offices whose village it is."""
    require(actor, Perm.PAYMENT_VIEW)
    if len(village_code) != 12 or not village_code.isdigit():
        raise OutOfScope()
    run = PayrollRun.objects.filter(pk=run_id, county=village_code[:6]).first()
    if run is None:
        raise OutOfScope()
    lines = list(
        scoped(PayrollLine.objects.filter(run=run, division_code=village_code), actor, field="division_code")
        .select_related("payee", "enrolment")
        .order_by("pk")
    )
    names = _names({village_code, village_code[:9] + "000", run.county.ljust(12, "0")})
    if village_code not in names or not jurisdiction_of(actor).contains(village_code):
        raise OutOfScope()
    for line in lines:
        line.programme_label = programme_label(line.programme)  # type: ignore[attr-defined]
    return Roster(
        run=run,
        village_code=village_code,
        village_name=names[village_code],
        township_name=names.get(village_code[:9] + "000", ""),
        county_name=names.get(run.county.ljust(12, "0"), run.county),
        lines=lines,
        total=sum((line.amount for line in lines), Decimal("0")),
    )


def export_list(*, actor: Staff, run_id: int) -> QuerySet[BankExport]:
    run = _runs(actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    return BankExport.objects.filter(run=run).select_related("created_by").defer("content")


def export_get(*, actor: Staff, run_id: int, export_id: int) -> BankExport:
    require(actor, Perm.PAYMENT_VIEW)
    found = (
        scoped(BankExport.objects.all(), actor, field="run__county")
        .filter(pk=export_id, run_id=run_id)
        .first()
    )
    if found is None:
        raise OutOfScope()
    return found


def reconciliation_list(*, actor: Staff, run_id: int) -> QuerySet[ReconciliationReport]:
    """The bank results files imported for a run, newest first."""
    run = _runs(actor).filter(pk=run_id).first()
    if run is None:
        raise OutOfScope()
    return (
        ReconciliationReport.objects.filter(run=run)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def reconciliation_get(*, actor: Staff, run_id: int, report_id: int) -> ReconciliationReport:
    found = reconciliation_list(actor=actor, run_id=run_id).filter(pk=report_id).first()
    if found is None:
        raise OutOfScope()
    return found


# --- Re-review --------------------------------------------------------------------------------------


def _may_see_reviews(actor: Staff) -> None:
    if not (actor.can(Perm.PAYMENT_VIEW) or actor.can(Perm.CASE_REVIEW_TOWNSHIP)):
        raise PermissionDenied()


def review_tasks(*, actor: Staff, open_only: bool = True, office_code: str = "") -> QuerySet[ReviewTask]:
    """Re-review tasks in scope, soonest due first; `office_code` narrows to one township office."""
    _may_see_reviews(actor)
    qs = scoped(ReviewTask.objects.all(), actor, field="enrolment__division__code").select_related(
        "enrolment__payee", "enrolment__household", "enrolment__division", "done_by"
    )
    if open_only:
        qs = qs.filter(done_at__isnull=True)
    if office_code:
        qs = qs.filter(office_code=office_code)
    return qs.order_by(F("done_at").desc(nulls_first=True), "due_date", "pk")


def review_task_get(*, actor: Staff, task_id: int) -> ReviewTask:
    _may_see_reviews(actor)
    found = (
        scoped(ReviewTask.objects.all(), actor, field="enrolment__division__code")
        .select_related("enrolment__payee", "enrolment__household", "enrolment__division", "done_by")
        .filter(pk=task_id)
        .first()
    )
    if found is None:
        raise OutOfScope()
    return found


# --- One-off payment orders and fund ledgers (payments.orders) -------------------------------------


def order_list(*, actor: Staff, status: str = "", county: str = "") -> QuerySet[PaymentOrder]:
    """Payment orders in the actor's jurisdiction, newest first, optionally by status and county."""
    require(actor, Perm.PAYMENT_VIEW)
    orders = scoped(PaymentOrder.objects.all(), actor, field="division__code").select_related(
        "payee", "division", "case", "run"
    )
    if status:
        orders = orders.filter(status=status)
    if county:
        orders = orders.filter(county=county)
    return orders.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class OrderDetail:
    order: PaymentOrder
    lines: list[PayrollLine]
    entries: list[Any]
    cash: Any
    paid: bool
    recovered: Decimal


def order_get(*, actor: Staff, order_id: int) -> OrderDetail:
    """One order with its bank lines (re-issues included), its fund entries and its cash receipt."""
    order = order_list(actor=actor).select_related("change", "created_by").filter(pk=order_id).first()
    if order is None:
        raise OutOfScope()
    lines = list(PayrollLine.objects.filter(order=order).order_by("pk"))
    entries = list(order.entries.select_related("fund", "created_by").order_by("at", "pk"))
    cash = getattr(order, "cash_payment", None) if hasattr(order, "cash_payment") else None
    recovered = sum((e.amount for e in entries if e.kind == "recovered"), Decimal("0"))
    paid = order.status == "cash_paid" or any(line.status == LineStatus.PAID for line in lines)
    return OrderDetail(order, lines, entries, cash, paid, recovered)


@dataclass(frozen=True)
class LedgerRow:
    """A township fund's month: money in (budget), out (paid), back (recovered), the balance at the
    month's end, and the orders of the month not paid yet (pending)."""

    township_code: str
    township_name: str
    kind: str
    kind_label: str
    month: Any
    budget: Decimal
    paid: Decimal
    recovered: Decimal
    pending: Decimal
    balance: Decimal


def fund_ledger(*, actor: Staff, county: str = "") -> list[LedgerRow]:
    """The ledger of every township fund in the actor's jurisdiction (of a county), by month: the
    sums of its entries, and its balance at each month's end, which is the balance after the
    month's last entry and, for the latest month, the fund's balance (the two agree by
    construction: each entry carries the balance after it, under the fund's row lock)."""
    funds = _funds(actor)
    if county:
        funds = funds.filter(township_code__startswith=county)
    sums: dict[tuple[int, Any], dict[str, Decimal]] = {}
    for row in (
        FundEntry.objects.filter(fund__in=funds)
        .values("fund_id", "month", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        sums.setdefault((row["fund_id"], row["month"]), {})[row["kind"]] = row["total"]
    last = {
        (row["fund_id"], row["month"]): row["balance_after"]
        for row in FundEntry.objects.filter(fund__in=funds)
        .order_by("fund_id", "month", "at", "pk")
        .values("fund_id", "month", "balance_after")
    }
    unpaid = [OrderStatus.AWAITING, OrderStatus.READY]
    pending: dict[tuple[str, str, Any], Decimal] = {}
    open_orders = PaymentOrder.objects.filter(
        Q(status__in=unpaid) | Q(status=OrderStatus.BATCHED, lines__status__in=["pending", "failed"]),
        township_code__in=funds.values("township_code"),
    ).values_list("pk", "township_code", "method", "created_at", "amount")
    # An order whose failed line was re-issued joins two lines: counted once.
    for _pk, township, method, created, amount in {row[0]: row for row in open_orders}.values():
        kind: str = FundKind.RESERVE if method == "cash" else FundKind.ASSISTANCE
        month = timezone.localtime(created).date().replace(day=1)
        key = (township, kind, month)
        pending[key] = pending.get(key, Decimal("0")) + amount
    fund_rows = {f.pk: f for f in funds}
    months: dict[int, set[Any]] = {}
    for fund_id, month in sums:
        months.setdefault(fund_id, set()).add(month)
    by_key = {(f.township_code, f.kind): f for f in fund_rows.values()}
    for township, fund_kind, month in pending:
        if (found := by_key.get((township, fund_kind))) is not None:
            months.setdefault(found.pk, set()).add(month)
    names = _names({f.township_code for f in fund_rows.values()})
    rows: list[LedgerRow] = []
    for fund_id, fund_months in months.items():
        fund = fund_rows[fund_id]
        balance = Decimal("0")
        for month in sorted(fund_months):
            figures = sums.get((fund_id, month), {})
            balance = last.get((fund_id, month), balance)
            rows.append(
                LedgerRow(
                    fund.township_code,
                    names.get(fund.township_code, fund.township_code),
                    fund.kind,
                    str(FundKind(fund.kind).label),
                    month,
                    figures.get(EntryKind.BUDGET, Decimal("0")),
                    figures.get(EntryKind.PAID, Decimal("0")),
                    figures.get(EntryKind.RECOVERED, Decimal("0")),
                    pending.get((fund.township_code, fund.kind, month), Decimal("0")),
                    balance,
                )
            )
    rows.sort(key=lambda r: (r.township_code, r.kind, r.month))
    return rows


def _funds(actor: Staff) -> QuerySet[Fund]:
    """The township funds in the actor's jurisdiction (a village's staff see their township's)."""
    require(actor, Perm.PAYMENT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    if len(prefix) > 9:
        return Fund.objects.filter(township_code=prefix[:9] + "000")
    return Fund.objects.filter(township_code__startswith=prefix)


def funds_of(*, actor: Staff) -> list[Fund]:
    """The township funds in the actor's jurisdiction with their balances."""
    return list(_funds(actor).order_by("township_code", "kind"))
