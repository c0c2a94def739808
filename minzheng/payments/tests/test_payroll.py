"""Enrolment, payroll runs (idempotent, resumable, maker-checker), changes over time, re-review."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from minzheng.cases.models import Case
from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.core.errors import Conflict, InvalidInput, PermissionDenied
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import selectors, services, tasks
from minzheng.payments.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    LineStatus,
    OneOffSettlement,
    PayrollLine,
    PayrollRun,
    PayrollTotal,
    PendingOneOff,
    ReviewTask,
    RunStatus,
)
from minzheng.payments.testing import raise_dibao_standard as raise_standard
from minzheng.registry.circumstances import IncomeItem
from minzheng.registry.testing import make_household

ACCOUNT = "6222020200112233446"  # passes the Luhn check
DEC = date(2026, 12, 1)


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


def raise_dibao_standard(people: dict[str, Staff], effective_from: date) -> None:
    """The urban dibao standard of 640202 raised to 700 from `effective_from`, proposed and approved."""
    raise_standard(proposer=people["admin"], approver=people["approver"], effective_from=effective_from)


def run_month(people: dict[str, Staff], month: date, *, approve: bool = True) -> PayrollRun:
    """The month's run requested, computed and (so that the next month may be asked for) approved."""
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)
    run = services.payroll_compute(run_id=run.pk)
    if approve:
        run = services.payroll_approve(actor=people["approver"], run_id=run.pk)
    return run


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
    run = run_month(people, month, approve=False)
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


@pytest.mark.django_db
def test_lines_and_enrolments_are_stored_as_the_bulk_write_needs() -> None:
    """The line table's indexes and ids as payments migrations 0004-0007 leave them (bench/README.md):
    the uniqueness by month, payee, programme; on PostgreSQL the run found through BRIN, the ids
    handed out 1,000 at a time per connection, and room on the enrolments' pages for a changed
    amount."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "payments_payrollline")
        assert constraints["payrollline_once_per_payee_programme_month"]["columns"] == [
            "month",
            "payee_id",
            "programme",
        ]
        assert constraints["payrollline_once_per_payee_programme_month"]["unique"]
        if connection.vendor == "postgresql":
            assert constraints["payrollline_run"]["type"] == "brin"
            cursor.execute(
                "SELECT seqcache FROM pg_sequence WHERE seqrelid = "
                "pg_get_serial_sequence('payments_payrollline', 'id')::regclass"
            )
            assert cursor.fetchone()[0] == 1000
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'payments_enrolment'")
            assert cursor.fetchone()[0] == ["fillfactor=90"]


def test_approval_needs_a_second_person(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    run = run_month(people, enrolment.start_month, approve=False)
    both = make_staff("both", "640202000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER])
    with pytest.raises(PermissionDenied):
        services.payroll_approve(actor=people["admin"], run_id=run.pk)
    approved_run = services.payroll_approve(actor=people["approver"], run_id=run.pk)
    assert approved_run.status == RunStatus.APPROVED
    own = services.payroll_run_request(
        actor=both, county="640202", month=services.add_months(enrolment.start_month, 1)
    )
    services.payroll_compute(run_id=own.pk)
    with pytest.raises(PermissionDenied, match="双人复核"):
        services.payroll_approve(actor=both, run_id=own.pk)
    with pytest.raises(Conflict):
        services.payroll_compute(run_id=run.pk)


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
    # The enrolment's lines, newest first, found by month, payee and programme.
    other = enrol(people, approved(people, name="同月另户"))
    assert [line.month for line in selectors.enrolment_lines(enrolment)] == [
        services.add_months(month, 1),
        month,
    ]
    assert [line.month for line in selectors.enrolment_lines(enrolment, limit=1)] == [
        services.add_months(month, 1)
    ]
    assert selectors.enrolment_lines(other) == []  # enrolled after those runs
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


@pytest.mark.django_db(transaction=True)
def test_migration_0008_moves_the_one_offs_to_the_queue_and_the_settlements_and_back(
    people: dict[str, Staff],
) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month

    def one_off(amount: str, when: date) -> EnrolmentChange:
        services.enrolment_one_off(
            actor=people["admin"], enrolment_id=enrolment.pk, amount=Decimal(amount), month=when, reason="x"
        )
        return EnrolmentChange.objects.filter(enrolment=enrolment).latest("pk")

    settled = one_off("650.00", month)
    run = run_month(people, month)
    pending = one_off("-20.00", services.add_months(month, 2))

    def settled_in() -> dict[int, int | None]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, settled_in_id FROM payments_enrolmentchange WHERE NOT (one_off_amount = 0)"
            )
            return dict(cursor.fetchall())

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("payments", "0007_enrolment_room_for_updates")])
        assert settled_in() == {settled.pk: run.pk, pending.pk: None}
        executor.loader.build_graph()
        executor.migrate([("payments", "0008_one_offs_queued")])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(PendingOneOff.objects.values_list("change_id", "county")) == [(pending.pk, "640202")]
    assert list(OneOffSettlement.objects.values_list("change_id", "run_id")) == [(settled.pk, run.pk)]


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


@pytest.mark.parametrize(
    ("new_amount", "field"),
    [(None, "new_amount"), (Decimal("-1"), "new_amount"), (Decimal("1.234"), "new_amount")],
)
def test_a_review_that_changes_the_amount_needs_a_valid_one(
    people: dict[str, Staff], new_amount: Decimal | None, field: str
) -> None:
    enrolment = enrol(people, approved(people))
    services.reviews_schedule(on=date.fromordinal(enrolment.next_review.toordinal() - 10))
    task = ReviewTask.objects.get(enrolment=enrolment, kind="periodic")
    with pytest.raises(InvalidInput) as error:
        services.review_complete(
            actor=people["reviewer"],
            task_id=task.pk,
            outcome="change",
            reason="收入变化",
            new_amount=new_amount,
        )
    assert field in error.value.field_errors
    task.refresh_from_db()
    enrolment.refresh_from_db()
    assert task.done_at is None
    assert enrolment.monthly_amount > 0


def test_lines_start_pending(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    line = PayrollLine.objects.get(run=run_month(people, enrolment.start_month))
    assert line.status == LineStatus.PENDING


def test_a_household_no_longer_eligible_gets_a_review_and_keeps_its_amount(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    IncomeItem.objects.create(
        person_id=enrolment.payee_id,
        category="wages",
        monthly_amount=Decimal("3000.00"),
        counted=True,
        valid_from=date(2020, 1, 1),
    )
    line = PayrollLine.objects.get(run=run_month(people, enrolment.start_month))
    assert line.amount == Decimal("1300.00")
    task = ReviewTask.objects.get(enrolment=enrolment)
    assert (task.kind, task.due_date, task.office_code) == ("periodic", enrolment.start_month, "640202001000")
    assert not EnrolmentChange.objects.filter(enrolment=enrolment, kind="amount").exists()
    run_month(people, services.add_months(enrolment.start_month, 1))
    assert ReviewTask.objects.filter(enrolment=enrolment).count() == 1  # one open task, not one a month


def test_a_recovery_larger_than_the_month_pays_nothing_rather_than_a_negative_amount(
    people: dict[str, Staff],
) -> None:
    enrolment = enrol(people, approved(people))
    services.enrolment_one_off(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        amount=Decimal("-2000.00"),
        month=enrolment.start_month,
        reason="追回冒领",
    )
    line = PayrollLine.objects.get(run=run_month(people, enrolment.start_month))
    assert (line.monthly_amount, line.adjustment, line.amount) == (
        Decimal("1300.00"),
        Decimal("-2000.00"),
        Decimal("0.00"),
    )


def test_the_background_task_computes_a_requested_run(
    people: dict[str, Staff], django_capture_on_commit_callbacks: Any
) -> None:
    enrolment = enrol(people, approved(people))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = tasks.payroll_run_start(actor=people["admin"], county="640202", month=enrolment.start_month)
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert (run.status, run.line_count, run.progress_done, run.progress_total) == (
        RunStatus.COMPUTED,
        1,
        1,
        1,
    )
    assert tasks.payroll_compute_task.call(run.pk) == 1  # delivered again: nothing new
    assert PayrollLine.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        same = tasks.payroll_run_start(actor=people["admin"], county="640202", month=enrolment.start_month)
    assert (same.pk, callbacks) == (run.pk, [])


def test_a_failed_run_is_continued_by_the_task(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = enrol(people, approved(people))
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=enrolment.start_month)
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="断电")
    assert tasks.payroll_compute_task.call(run.pk) == 1
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.COMPUTED, "")


def test_the_commands_run_a_payroll_and_schedule_reviews(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = f"{enrolment.start_month:%Y-%m}"
    with pytest.raises(CommandError, match="--user"):
        call_command("run_payroll", county="640202", month=month, stdout=io.StringIO())
    out = io.StringIO()
    call_command("run_payroll", county="640202", month=month, user="p_admin", stdout=out)
    assert "1 笔" in out.getvalue()
    out = io.StringIO()
    call_command("run_payroll", county="640202", month=month, stdout=out)  # the run exists: continue it
    assert PayrollLine.objects.count() == 1
    out = io.StringIO()
    due = date.fromordinal(enrolment.next_review.toordinal() - 10)
    call_command("schedule_reviews", on=due.isoformat(), stdout=out)
    assert "新生成复核任务 1 个" in out.getvalue()


def test_a_payee_already_paid_this_month_is_not_paid_again_under_another_enrolment(
    people: dict[str, Staff],
) -> None:
    first = enrol(people, approved(people, name="甲户"))
    second = enrol(people, approved(people, name="乙户"))
    Enrolment.objects.filter(pk=second.pk).update(payee_id=first.payee_id)
    run = run_month(people, first.start_month)
    assert PayrollLine.objects.filter(run=run).count() == 1
    assert (run.line_count, run.total_amount) == (1, Decimal("1300.00"))
    assert PayrollTotal.objects.get(run=run).line_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_amount_change_runs_in_its_own_transaction(people: dict[str, Staff]) -> None:
    """Called outside any transaction, as a page or the API calls it (no ATOMIC_REQUESTS): the row
    lock and the change with its audit are one transaction."""
    enrolment = enrol(people, approved(people))
    changed = services.enrolment_change_amount(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        new_amount=Decimal("1250.00"),
        month=enrolment.start_month,
        reason="家庭收入变化",
    )
    assert changed.monthly_amount == Decimal("1250.00")
    assert EnrolmentChange.objects.filter(enrolment=enrolment, kind="amount").count() == 1
