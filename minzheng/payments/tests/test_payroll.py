"""Enrolment, payroll runs (idempotent, resumable, maker-checker), changes over time, re-review."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from minzheng.cases.models import Case
from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import Conflict, InvalidInput, PermissionDenied
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import services
from minzheng.payments.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    LineStatus,
    PayrollLine,
    PayrollRun,
    PayrollTotal,
    ReviewTask,
    RunStatus,
)
from minzheng.registry.testing import make_household
from minzheng.rules import services as rules_services

ACCOUNT = "6222020200112233446"  # passes the Luhn check
DEC = date(2026, 12, 1)


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "clerk": make_staff("p_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("p_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("p_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("p_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "admin": make_staff("p_admin", "640202000000", [Role.COUNTY_ADMIN]),
    }


def township_staff(people: dict[str, Staff], village: str) -> tuple[Staff, Staff]:
    township = village[:9] + "000"
    if township == "640202001000":
        return people["clerk"], people["reviewer"]
    key = f"clerk_{township}"
    if key not in people:
        people[key] = make_staff(key, township, [Role.TOWNSHIP_CLERK])
        people[f"reviewer_{township}"] = make_staff(
            f"reviewer_{township}", township, [Role.TOWNSHIP_REVIEWER]
        )
    return people[key], people[f"reviewer_{township}"]


def approved(people: dict[str, Staff], village: str = "640202001001", name: str = "发放户") -> Case:
    clerk, reviewer = township_staff(people, village)
    household = registered_long_ago(make_household(clerk, village, name, members=2))
    return approved_dibao_case(
        household,
        clerk=clerk,
        reviewer=reviewer,
        county_reviewer=people["county_reviewer"],
        approver=people["approver"],
    )


def enrol(people: dict[str, Staff], case: Case) -> Enrolment:
    return services.enrolment_create(
        actor=people["admin"], case_id=case.pk, bank_name="宁夏银行大武口支行", account_number=ACCOUNT
    )


def run_month(people: dict[str, Staff], month: date) -> PayrollRun:
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)
    return services.payroll_compute(run_id=run.pk)


def test_enrolment_from_a_confirmed_decision(people: dict[str, Staff]) -> None:
    case = approved(people)
    enrolment = enrol(people, case)
    decision = case.decision
    assert enrolment.monthly_amount == decision.amount == Decimal("1300.00")
    assert enrolment.start_month == decision.start_month
    assert enrolment.account_masked == "6222***********3446"
    assert ACCOUNT not in enrolment.account_encrypted
    assert enrolment.review_months == 12
    assert EnrolmentChange.objects.get(enrolment=enrolment).kind == "enrol"
    with pytest.raises(Conflict):
        enrol(people, case)


@pytest.mark.parametrize("account", ["6222020200112233445", "12345", "6222-0202-abc"])
def test_bad_bank_accounts_are_refused(people: dict[str, Staff], account: str) -> None:
    case = approved(people)
    with pytest.raises(InvalidInput) as exc:
        services.enrolment_create(
            actor=people["admin"], case_id=case.pk, bank_name="银行", account_number=account
        )
    assert "account_number" in exc.value.field_errors
    assert not Enrolment.objects.exists()


def test_a_payroll_run_pays_each_beneficiary_once_and_a_rerun_changes_nothing(
    people: dict[str, Staff],
) -> None:
    enrolments = [enrol(people, approved(people, name=f"户{i}")) for i in range(3)]
    month = enrolments[0].start_month
    run = run_month(people, month)
    assert run.status == RunStatus.COMPUTED
    assert run.line_count == 3
    assert run.total_amount == Decimal("3900.00")
    total = PayrollTotal.objects.get(run=run)
    assert (total.township_code, total.programme, total.line_count) == ("640202001000", "dibao", 3)

    again = services.payroll_compute(run_id=run.pk)
    assert again.line_count == 3
    assert PayrollLine.objects.count() == 3
    assert services.payroll_run_request(actor=people["admin"], county="640202", month=month).pk == run.pk


def test_the_database_refuses_a_second_line_for_the_same_payee_programme_and_month(
    people: dict[str, Staff],
) -> None:
    enrolment = enrol(people, approved(people))
    run = run_month(people, enrolment.start_month)
    line = PayrollLine.objects.get(run=run)
    line.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


def test_approval_needs_a_second_person(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    run = run_month(people, enrolment.start_month)
    both = make_staff("both", "640202000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER])
    with pytest.raises(PermissionDenied):
        services.payroll_approve(actor=people["admin"], run_id=run.pk)
    own = services.payroll_run_request(
        actor=both, county="640202", month=services.add_months(enrolment.start_month, 1)
    )
    services.payroll_compute(run_id=own.pk)
    with pytest.raises(PermissionDenied, match="双人复核"):
        services.payroll_approve(actor=both, run_id=own.pk)
    approved_run = services.payroll_approve(actor=people["approver"], run_id=run.pk)
    assert approved_run.status == RunStatus.APPROVED
    with pytest.raises(Conflict):
        services.payroll_compute(run_id=run.pk)


def test_a_crash_mid_run_leaves_whole_townships_and_the_rerun_completes(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = enrol(people, approved(people, "640202001001", "甲村户"))
    enrol(people, approved(people, "640202001002", "乙村户"))
    second_township = enrol(people, approved(people, "640202100201", "镇上户"))
    original = services._compute_township

    def crash_on_second(run: PayrollRun, township: str) -> None:
        if township == "640202100":
            raise RuntimeError("断电")
        original(run, township)

    monkeypatch.setattr(services, "_compute_township", crash_on_second)
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=first.start_month)
    with pytest.raises(RuntimeError):
        services.payroll_compute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert PayrollLine.objects.filter(run=run).count() == 2  # township 001 complete, 100 not started
    assert not PayrollLine.objects.filter(enrolment=second_township).exists()

    monkeypatch.setattr(services, "_compute_township", original)
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=first.start_month)
    run = services.payroll_compute(run_id=run.pk)
    assert (run.status, run.line_count) == (RunStatus.COMPUTED, 3)


def test_a_raised_standard_is_applied_from_its_month_with_the_change_recorded(
    people: dict[str, Staff],
) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    proposal = rules_services.parameter_propose(
        actor=people["admin"],
        name="dibao.standard",
        region="640202",
        area="urban",
        effective_from=services.add_months(month, 1),
        value="700",
        reference="石大政发〔2026〕20号",
        reason="提标",
    )
    rules_services.parameter_approve(actor=people["approver"], value_id=proposal.pk)
    assert PayrollLine.objects.filter(run=run_month(people, month)).get().amount == Decimal("1300.00")
    next_line = PayrollLine.objects.filter(run=run_month(people, services.add_months(month, 1))).get()
    assert next_line.amount == Decimal("1400.00")
    change = EnrolmentChange.objects.filter(enrolment=enrolment, kind="amount").get()
    assert (change.old_amount, change.new_amount) == (Decimal("1300.00"), Decimal("1400.00"))


def test_suspended_benefits_are_not_paid_until_resumed(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    services.enrolment_suspend(
        actor=people["admin"], enrolment_id=enrolment.pk, month=month, reason="外出务工待核实"
    )
    assert run_month(people, month).line_count == 0
    services.enrolment_resume(
        actor=people["admin"], enrolment_id=enrolment.pk, month=month, reason="核实完毕"
    )
    assert run_month(people, services.add_months(month, 1)).line_count == 1


def test_gradual_exit_pays_the_configured_months_then_stops(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    services.enrolment_start_exit(
        actor=people["admin"], enrolment_id=enrolment.pk, months=2, month=month, reason="就业增收"
    )
    paid = [run_month(people, services.add_months(month, i)).line_count for i in range(3)]
    assert paid == [1, 1, 0]
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.TERMINATED
    with pytest.raises(InvalidInput):
        services.enrolment_start_exit(
            actor=people["admin"], enrolment_id=enrolment.pk, months=7, month=month, reason="x"
        )


def test_back_pay_is_settled_once_in_the_next_run(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    services.enrolment_one_off(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        amount=Decimal("650.00"),
        month=month,
        reason="补发11月",
    )
    first = PayrollLine.objects.get(run=run_month(people, month))
    assert (first.adjustment, first.amount) == (Decimal("650.00"), Decimal("1950.00"))
    second = PayrollLine.objects.get(run=run_month(people, services.add_months(month, 1)))
    assert second.adjustment == Decimal("0.00")


def test_termination_needs_a_written_notice(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    with pytest.raises(InvalidInput):
        services.enrolment_terminate(
            actor=people["admin"], enrolment_id=enrolment.pk, month=DEC, reason="收入超标", notice=""
        )
    services.enrolment_terminate(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        month=enrolment.start_month,
        reason="收入超标",
        notice="经复核...",
    )
    assert run_month(people, enrolment.start_month).line_count == 0


def test_reviews_come_up_on_time_and_a_death_triggers_a_recheck(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    assert services.reviews_schedule(on=services.add_months(enrolment.next_review, -2)) == 0
    assert services.reviews_schedule(on=date.fromordinal(enrolment.next_review.toordinal() - 10)) == 1
    assert services.reviews_schedule(on=enrolment.next_review) == 0  # already open
    task = ReviewTask.objects.get(enrolment=enrolment, kind="periodic")
    assert task.office_code == "640202001000"

    death = services.death_report(
        actor=people["clerk"], household_id=enrolment.household_id, died_on=date(2027, 1, 31)
    )
    assert death[0].due_date == date(2027, 4, 30)

    services.review_complete(
        actor=people["reviewer"],
        task_id=task.pk,
        outcome="stop",
        reason="家庭收入超过标准",
        on=date(2027, 11, 20),
    )
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.end_month) == (EnrolmentStatus.TERMINATED, date(2027, 12, 1))


def test_lines_start_pending(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    line = PayrollLine.objects.get(run=run_month(people, enrolment.start_month))
    assert line.status == LineStatus.PENDING
