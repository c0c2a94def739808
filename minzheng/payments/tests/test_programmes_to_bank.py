"""Every programme from decision to bank (issue 19): statuses that flow between programmes, the child
allowance from an orphan record, one-off aid through orders, batches, bank files, reconciliation and
the fund ledger, cash from the reserve fund, and the refusals that change nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from minzheng.cases import services as case_services
from minzheng.cases.models import Case
from minzheng.cases.testing import complete_materials, decided_review_case, registered_long_ago
from minzheng.core.errors import Conflict, InvalidInput, PermissionDenied
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import orders, selectors, services
from minzheng.payments.models import (
    CashPayment,
    EnrolmentChange,
    Fund,
    FundEntry,
    LineStatus,
    OrderBasis,
    OrderStatus,
    PaymentOrder,
    PayrollLine,
    PendingOneOff,
    RunKind,
    RunStatus,
)
from minzheng.payments.tests.test_bank_files import results_csv
from minzheng.payments.tests.test_payroll import ACCOUNT, approved, enrol, run_month
from minzheng.registry.models import Household
from minzheng.registry.services import MemberInput, circumstance_record, household_create
from minzheng.registry.testing import make_household, resident_id
from minzheng.rules import standing

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"
OTHER_ACCOUNT = "6222020200112233453"  # passes the Luhn check


@pytest.fixture
def staff(people: dict[str, Staff]) -> dict[str, Staff]:
    people["head"] = make_staff("p_head", TOWNSHIP, [Role.TOWNSHIP_HEAD])
    people["admin2"] = make_staff("p_admin2", "640202000000", [Role.COUNTY_ADMIN])
    return people


def review_case(staff: dict[str, Staff], household: Household, item: str, **kwargs: object) -> Case:
    return decided_review_case(
        household,
        item_code=item,
        clerk=staff["clerk"],
        reviewer=staff["reviewer"],
        township_head=staff["head"],
        approver=staff["approver"],
        **kwargs,  # type: ignore[arg-type]
    )


def temporary_expense(staff: dict[str, Staff], name: str = "支出户", cause: str = "住院医疗") -> Case:
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, name, members=2))
    return review_case(
        staff,
        household,
        "temporary_expense",
        details={"temporary": {"type": "expense", "cause": cause, "expenses": "1500.00"}},
    )


# --- Statuses flow between programmes -----------------------------------------------------------


def test_a_dibao_household_gets_the_disability_living_subsidy_and_both_are_paid(
    staff: dict[str, Staff],
) -> None:
    dibao_case = approved(staff)
    household = dibao_case.household
    assert household is not None
    dibao = enrol(staff, dibao_case)
    member = next(
        m.person for m in household.memberships.select_related("person") if m.person != household.head
    )
    circumstance_record(
        actor=staff["clerk"],
        kind="disability",
        subject=member,
        valid_from=date(2020, 1, 1),
        values={"certificate_number": "64020219800517001X43", "category": "physical", "grade": 3},
    )
    on = case_services._today()
    statuses = {s.status for s in standing.statuses_of(household.pk, on=on)}
    assert "dibao" in statuses  # from the approved decision, dated from its month

    case = review_case(staff, household, "disability_living")
    assert case.outcome == "approved", case.state
    assert case.decision.amount == Decimal("110.00")  # Dawukou living subsidy, dibao household
    subsidy = enrol(staff, case)
    run = run_month(staff, dibao.start_month)
    lines = {line.programme: line.amount for line in PayrollLine.objects.filter(run=run)}
    assert lines == {"dibao": dibao.monthly_amount, "disability_subsidy": Decimal("110.00")}
    assert subsidy.monthly_amount == Decimal("110.00")


def test_a_second_decision_in_the_same_programme_is_refused_and_changes_nothing(
    staff: dict[str, Staff],
) -> None:
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, "残疾户", members=2))
    head = household.head
    assert head is not None
    circumstance_record(
        actor=staff["clerk"],
        kind="disability",
        subject=head,
        valid_from=date(2020, 1, 1),
        values={"certificate_number": "64020219800517001X44", "category": "physical", "grade": 1},
    )
    first = review_case(staff, household, "disability_care")
    assert first.outcome == "approved"
    with pytest.raises(Conflict) as refused:
        review_case(staff, household, "disability_living")
    assert "已有批准的同一项目" in refused.value.message
    second = Case.objects.exclude(pk=first.pk).get(household=household)
    assert second.state == "county_review"
    assert not hasattr(second, "decision")


def test_an_orphan_record_needs_evidence_and_parents_who_are_gone(staff: dict[str, Staff]) -> None:
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, "祖父", members=1))
    with pytest.raises(InvalidInput) as no_evidence:
        circumstance_record(
            actor=staff["clerk"],
            kind="child_status",
            subject=household.head,  # type: ignore[arg-type]
            valid_from=date(2024, 1, 1),
            values={"kind": "orphan", "father": "dead", "mother": "dead", "evidence": " "},
        )
    assert "evidence" in no_evidence.value.field_errors
    with pytest.raises(InvalidInput) as not_orphan:
        circumstance_record(
            actor=staff["clerk"],
            kind="child_status",
            subject=household.head,  # type: ignore[arg-type]
            valid_from=date(2024, 1, 1),
            values={"kind": "orphan", "father": "dead", "mother": "imprisoned", "evidence": "死亡证明"},
        )
    assert "kind" in not_orphan.value.field_errors
    assert not standing.statuses_of(household.pk, on=date(2026, 12, 1))


def orphan_household(staff: dict[str, Staff]) -> tuple[Household, object]:
    household = household_create(
        actor=staff["clerk"],
        division_code=VILLAGE,
        address="孤儿户住址1号",
        area="urban",
        members=[
            MemberInput(
                name="祖母",
                id_number=resident_id("640202", date(1955, 3, 1), male=False),
                relationship="head",
            ),
            MemberInput(
                name="孙子", id_number=resident_id("640202", date(2015, 6, 1)), relationship="grandchild"
            ),
        ],
    )
    registered_long_ago(household)
    child = next(m.person for m in household.memberships.select_related("person") if m.person.name == "孙子")
    return household, child


def test_an_orphans_allowance_is_approved_without_notice_and_paid_topped_up(staff: dict[str, Staff]) -> None:
    household, child = orphan_household(staff)
    circumstance_record(
        actor=staff["clerk"],
        kind="child_status",
        subject=child,  # type: ignore[arg-type]
        valid_from=date(2024, 1, 1),
        values={
            "kind": "orphan",
            "father": "dead",
            "mother": "missing",
            "evidence": "父亲死亡证明（编号A123）；母亲宣告失踪判决书（（2023）宁0202民特12号）",
            "care": "scattered",
            "other_payments": Decimal("200.00"),
        },
    )
    statuses = standing.statuses_of(household.pk, on=case_services._today())
    assert [(s.status, s.person_name) for s in statuses] == [("orphan", "孙子")]
    case = review_case(staff, household, "orphan")
    assert case.outcome == "approved"
    assert not case.notices.exists()  # no public notice for children (privacy)
    assert case.decision.amount == Decimal("800.00")  # 1,000 standard topped up against 200
    enrolment = enrol(staff, case)
    run = run_month(staff, enrolment.start_month)
    line = PayrollLine.objects.get(run=run)
    assert (line.programme, line.amount) == ("child_allowance", Decimal("800.00"))


# --- One-off aid from decision to bank ------------------------------------------------------------


def test_temporary_aid_decision_order_batch_bank_file_reconciliation_and_ledger(
    staff: dict[str, Staff],
) -> None:
    case = temporary_expense(staff)
    assert case.outcome == "approved", case.state
    order = PaymentOrder.objects.get(case=case)
    assert (order.basis, order.status, order.amount) == (
        OrderBasis.DECISION,
        OrderStatus.AWAITING,
        case.decision.amount,
    )
    amount = order.amount

    with pytest.raises(Conflict):  # nothing ready yet
        orders.orders_batch(actor=staff["admin"], county="640202")
    orders.order_set_method(
        actor=staff["reviewer"],
        order_id=order.pk,
        method="bank",
        bank_name="宁夏银行",
        account_number=ACCOUNT,
    )
    with pytest.raises(Conflict) as short:  # the township's fund is empty
        orders.orders_batch(actor=staff["admin"], county="640202")
    assert "余额不足" in short.value.message
    assert not PayrollLine.objects.exists()

    orders.fund_allocate(
        actor=staff["admin"],
        township_code=TOWNSHIP,
        kind="assistance",
        amount=Decimal("10000.00"),
        month=date(2026, 12, 1),
        note="大民发〔2026〕1号",
    )
    run = orders.orders_batch(actor=staff["admin"], county="640202")
    assert (run.kind, run.status, run.line_count, run.total_amount) == (
        RunKind.ONE_OFF,
        RunStatus.COMPUTED,
        1,
        amount,
    )
    order.refresh_from_db()
    assert (order.status, order.run_id) == (OrderStatus.BATCHED, run.pk)

    with pytest.raises(PermissionDenied):  # maker-checker, as for the monthly payroll
        services.payroll_approve(actor=staff["admin"], run_id=run.pk)
    services.payroll_approve(actor=staff["approver"], run_id=run.pk)
    export = services.bank_export(actor=staff["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    _, _, content = services.bank_export_file(actor=staff["admin"], export_id=export.pk)
    assert ACCOUNT in content.decode("gbk")
    assert export.total_amount == amount

    line = PayrollLine.objects.get(run=run)
    report = services.reconciliation_import(
        actor=staff["admin"],
        run_id=run.pk,
        file_name="回盘.csv",
        content=results_csv([(line.pk, "失败", "账户已冻结")]),
    )
    assert report.accepted
    assert report.failed == 1
    assert not FundEntry.objects.filter(kind="paid").exists()  # nothing left the fund

    orders.order_set_method(
        actor=staff["admin"],
        order_id=order.pk,
        method="bank",
        bank_name="工商银行",
        account_number=OTHER_ACCOUNT,
    )
    assert services.payroll_reissue(actor=staff["admin"], run_id=run.pk) == 1
    export = services.bank_export(actor=staff["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    _, _, content = services.bank_export_file(actor=staff["admin"], export_id=export.pk)
    assert OTHER_ACCOUNT in content.decode("gbk")
    again = PayrollLine.objects.get(run=run, status=LineStatus.PENDING)
    services.reconciliation_import(
        actor=staff["admin"],
        run_id=run.pk,
        file_name="回盘2.csv",
        content=results_csv([(again.pk, "成功", "")]),
    )
    run.refresh_from_db()
    assert run.status == RunStatus.RECONCILED

    fund = Fund.objects.get(kind="assistance", township_code=TOWNSHIP)
    assert fund.balance == Decimal("10000.00") - amount
    ledger = selectors.fund_ledger(actor=staff["admin"], county="640202")
    december = [r for r in ledger if r.kind == "assistance"]
    assert sum(r.budget for r in december) == Decimal("10000.00")
    assert sum(r.paid for r in december) == amount
    assert december[-1].balance == fund.balance  # balances to the fen
    assert selectors.order_get(actor=staff["admin"], order_id=order.pk).paid

    entry = orders.order_recover(
        actor=staff["admin"], order_id=order.pk, amount=Decimal("100.00"), reason="重复领取"
    )
    assert entry.balance_after == fund.balance + Decimal("100.00")
    with pytest.raises(InvalidInput):
        orders.order_recover(actor=staff["admin"], order_id=order.pk, amount=amount, reason="超过")


def test_emergency_aid_first_is_paid_in_cash_from_the_reserve_fund_with_a_receipt(
    staff: dict[str, Staff],
) -> None:
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, "急难户", members=1))
    case = case_services.case_intake(
        actor=staff["clerk"],
        item_code="temporary_emergency",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        details={"temporary": {"type": "emergency", "cause": "火灾", "requested_amount": "1000.00"}},
        materials=complete_materials("temporary_emergency"),
    )
    case_services.case_calculate(actor=staff["reviewer"], case_id=case.pk)
    case_services.case_transition(actor=staff["reviewer"], case_id=case.pk, action="aid_first")
    order = PaymentOrder.objects.get(case=case)
    assert (order.basis, order.amount) == (OrderBasis.AID_FIRST, Decimal("1000.00"))

    def pay() -> CashPayment:
        return orders.order_pay_cash(
            actor=staff["reviewer"],
            order_id=order.pk,
            receipt_number="BYJ-2026-001",
            paid_on=date(2026, 12, 1),
            recipient_name="急难户",
            recipient_signed=True,
        )

    with pytest.raises(Conflict):  # the reserve fund is empty: nothing is paid, nothing recorded
        pay()
    assert not CashPayment.objects.exists()
    assert not FundEntry.objects.exists()
    orders.fund_allocate(
        actor=staff["admin"],
        township_code=TOWNSHIP,
        kind="reserve",
        amount=Decimal("5000.00"),
        month=date(2026, 12, 1),
        note="备用金拨付",
    )
    with pytest.raises(InvalidInput):
        orders.order_pay_cash(
            actor=staff["reviewer"],
            order_id=order.pk,
            receipt_number="BYJ-2026-001",
            paid_on=date(2026, 12, 1),
            recipient_name="急难户",
            recipient_signed=False,
        )
    payment = pay()
    order.refresh_from_db()
    assert (order.status, payment.receipt_number) == (OrderStatus.CASH_PAID, "BYJ-2026-001")
    assert Fund.objects.get(kind="reserve").balance == Decimal("4000.00")
    with pytest.raises(Conflict):
        pay()  # paid once

    # Paperwork completed afterwards: the approval finds the order, no second one.
    case_services.visit_record(
        actor=staff["reviewer"],
        case_id=case.pk,
        visited_on=case_services._today(),
        investigators=["甲", "乙"],
        findings="补齐手续",
        signed_by_applicant=True,
    )
    case_services.case_transition(actor=staff["head"], case_id=case.pk, action="complete_paperwork")
    assert PaymentOrder.objects.filter(case=case).count() == 1


def test_the_same_applicant_and_cause_within_the_interval_is_flagged_at_intake(
    staff: dict[str, Staff],
) -> None:
    first = temporary_expense(staff, name="重复户", cause="住院 医疗")
    household = first.household
    assert household is not None
    again = case_services.case_intake(
        actor=staff["clerk"],
        item_code="temporary_expense",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        details={"temporary": {"type": "expense", "cause": "住院医疗", "expenses": "3000.00"}},
    )
    assert again.details["repeat_of"]["number"] == first.number
    assert again.details["temporary"]["months_since_same_cause"] == 0
    other = case_services.case_intake(
        actor=staff["clerk"],
        item_code="temporary_expense",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        details={"temporary": {"type": "expense", "cause": "子女上学", "expenses": "3000.00"}},
    )
    assert "repeat_of" not in other.details


def test_one_order_per_decision_and_none_for_an_unapproved_case(staff: dict[str, Staff]) -> None:
    case = temporary_expense(staff, name="单次户")
    order = PaymentOrder.objects.get(case=case)
    assert orders.order_for_case(case, staff["admin"]) == order
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentOrder.objects.create(
            county="640202",
            division_id=VILLAGE,
            township_code=TOWNSHIP,
            programme="temporary_assistance",
            basis=OrderBasis.DECISION,
            case=case,
            payee_id=order.payee_id,
            amount=Decimal("1.00"),
            reason="重复",
            created_by=staff["admin"],
        )
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, "未批户", members=1))
    pending = case_services.case_intake(
        actor=staff["clerk"],
        item_code="temporary_expense",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        details={"temporary": {"type": "expense", "cause": "医疗", "expenses": "2000.00"}},
    )
    assert orders.order_for_case(pending, staff["admin"]) is None
    assert not PaymentOrder.objects.filter(case=pending).exists()


def test_back_pay_outside_the_run_is_ordered_and_never_paid_by_the_run_too(staff: dict[str, Staff]) -> None:
    enrolment = enrol(staff, approved(staff, name="补发户"))
    order = orders.back_pay_order(
        actor=staff["admin"],
        enrolment_id=enrolment.pk,
        amount=Decimal("650.00"),
        month=enrolment.start_month,
        reason="漏发",
    )
    assert (order.status, order.method, order.account_masked) == (
        OrderStatus.READY,
        "bank",
        enrolment.account_masked,
    )
    assert order.change_id is not None
    change = EnrolmentChange.objects.get(pk=order.change_id)
    assert change.one_off_amount == Decimal("650.00")
    assert not PendingOneOff.objects.filter(change=change).exists()
    run = run_month(staff, enrolment.start_month)
    assert PayrollLine.objects.get(run=run).adjustment == Decimal("0.00")
    with pytest.raises(InvalidInput):
        orders.back_pay_order(
            actor=staff["admin"],
            enrolment_id=enrolment.pk,
            amount=Decimal("0"),
            month=enrolment.start_month,
            reason="零",
        )
