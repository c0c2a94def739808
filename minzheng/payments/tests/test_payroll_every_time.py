"""A payroll that is right every time: a failed run leaves nothing, a late enrolment gets its arrears,
the decided amount is paid (changes are proposed, approved by a second person), gradual exit counts
calendar months, months are asked for in order, runs are reproducible from their parameters."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from minzheng.cases.models import Decision
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.payments import payroll, selectors, services, tasks
from minzheng.payments.models import (
    AmountProposal,
    ArrearsMonth,
    EnrolmentChange,
    EnrolmentStatus,
    OneOffSettlement,
    PayrollLine,
    PayrollRun,
    PendingOneOff,
    ProposalStatus,
    ReviewTask,
    RunParameter,
    RunStatus,
)
from minzheng.payments.months import add_months
from minzheng.payments.tests.test_payroll import approved, enrol, raise_dibao_standard, run_month
from minzheng.registry.circumstances import IncomeItem
from minzheng.rules.models import FactsChange, ParameterValue
from minzheng.rules.summary import KEEP_DAYS


def test_a_run_that_fails_midway_leaves_nothing_but_its_failure(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = enrol(people, approved(people, name="失败户"))
    month = enrolment.start_month
    raise_dibao_standard(people, month)  # a proposal would be made
    services.enrolment_start_exit(  # an exit that ends with this month
        actor=people["admin"],
        enrolment_id=enrol(people, approved(people, name="渐退户")).pk,
        months=1,
        month=month,
        reason="收入增加",
    )
    services.enrolment_one_off(
        actor=people["admin"], enrolment_id=enrolment.pk, amount=Decimal("80.00"), month=month, reason="补发"
    )
    counts = (EnrolmentChange.objects.count(), ReviewTask.objects.count())

    def broken(**kwargs: object) -> None:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(payroll, "_store_parameters", broken)  # the last step but the totals
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)
    with pytest.raises(RuntimeError):
        services.payroll_compute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "未生成任何发放记录" in run.error
    assert "磁盘" not in run.error
    assert not PayrollLine.objects.exists()
    assert not OneOffSettlement.objects.exists()
    assert PendingOneOff.objects.filter(change__enrolment=enrolment).count() == 1
    assert not AmountProposal.objects.exists()
    assert (EnrolmentChange.objects.count(), ReviewTask.objects.count()) == counts
    assert not EnrolmentChange.objects.filter(kind="terminate").exists()
    assert AuditEvent.objects.filter(action="payments.run_failed", object_id=str(run.pk)).exists()

    monkeypatch.undo()
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)  # again
    run = services.payroll_compute(run_id=run.pk)
    assert (run.status, run.line_count) == (RunStatus.COMPUTED, 2)
    line = PayrollLine.objects.get(run=run, enrolment=enrolment)
    assert (line.monthly_amount, line.adjustment, line.amount) == (
        Decimal("1300.00"),
        Decimal("80.00"),
        Decimal("1380.00"),
    )
    assert OneOffSettlement.objects.get(enrolment=enrolment).run_id == run.pk


def test_a_late_enrolment_is_paid_the_months_it_missed_as_arrears(people: dict[str, Staff]) -> None:
    early = enrol(people, approved(people, name="按时户"))
    january = early.start_month
    run_month(people, january)
    run_month(people, add_months(january, 1))
    late_case = approved(people, name="迟纳入户")
    Decision.objects.filter(case=late_case).update(start_month=january)  # paid from January on
    late = enrol(people, late_case)
    assert late.start_month == january
    march = run_month(people, add_months(january, 2))
    line = PayrollLine.objects.get(run=march, enrolment=late)
    assert (line.monthly_amount, line.arrears, line.amount) == (
        Decimal("1300.00"),
        Decimal("2600.00"),
        Decimal("3900.00"),
    )
    months = list(ArrearsMonth.objects.filter(enrolment=late).values_list("month", "amount", "run_id"))
    assert months == [
        (january, Decimal("1300.00"), march.pk),
        (add_months(january, 1), Decimal("1300.00"), march.pk),
    ]
    assert march.arrears_total == Decimal("2600.00")
    export = services.bank_export(actor=people["admin"], run_id=march.pk, layout="ningxia_bank_csv")
    _, _, content = services.bank_export_file(actor=people["admin"], export_id=export.pk)
    rows = {row.split(",")[2]: row for row in content.decode("gbk").splitlines()}
    late_name = late.payee.name
    assert rows[late_name].endswith(f"补发{january:%Y年%m月}、{add_months(january, 1):%Y年%m月}")
    assert "补发" not in rows[early.payee.name]
    assert PayrollLine.objects.get(run=march, enrolment=early).arrears == Decimal("0.00")
    # April: paid the month only; the arrears are never paid twice.
    april = run_month(people, add_months(january, 3))
    assert PayrollLine.objects.get(run=april, enrolment=late).amount == Decimal("1300.00")
    assert ArrearsMonth.objects.filter(enrolment=late).count() == 2
    detail = selectors.enrolment_arrears(late)
    assert [a.month for a in detail] == [january, add_months(january, 1)]


def test_the_decided_amount_is_paid_and_a_raise_is_proposed_for_a_second_person(
    people: dict[str, Staff],
) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    first = run_month(people, month)
    assert first.recomputed_households == 1  # the county's first run: everyone
    raise_dibao_standard(people, add_months(month, 1))
    second = run_month(people, add_months(month, 1), approve=False)
    line = PayrollLine.objects.get(run=second)
    assert line.amount == Decimal("1300.00")  # the decision, not the rules, is paid
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == Decimal("1300.00")
    proposal = AmountProposal.objects.get(enrolment=enrolment)
    assert (proposal.reason, proposal.current_amount, proposal.proposed_amount, proposal.status) == (
        "parameters",
        Decimal("1300.00"),
        Decimal("1400.00"),
        ProposalStatus.PROPOSED,
    )
    assert second.proposals == 1
    standard = RunParameter.objects.get(run=second, name="dibao.standard", area="urban")
    assert (standard.value, standard.region, standard.reference) == (
        "700.00",
        "640202",
        "石大政发〔2026〕20号",
    )
    # Computed again: the same proposal, not a second one.
    services.payroll_compute(run_id=second.pk)
    assert AmountProposal.objects.filter(enrolment=enrolment).count() == 1
    # The maker cannot decide; a notice is required; the approver decides the run's proposals at once.
    with pytest.raises(PermissionDenied):
        services.proposals_decide(
            actor=people["admin"], approve=True, note="提标", notice="告知", run_id=second.pk
        )
    with pytest.raises(InvalidInput):
        services.proposals_decide(
            actor=people["approver"], approve=True, note="提标", notice="", run_id=second.pk
        )
    decided = services.proposals_decide(
        actor=people["approver"],
        approve=True,
        note="石大政发〔2026〕20号提标",
        notice="您家的低保金自下月起按新标准调整为每月1400元。",
        run_id=second.pk,
    )
    assert decided == 1
    proposal.refresh_from_db()
    enrolment.refresh_from_db()
    third_month = add_months(month, 2)
    assert (proposal.status, proposal.effective_month) == (ProposalStatus.APPROVED, third_month)
    assert (enrolment.monthly_amount, enrolment.calculated_amount) == (Decimal("1400.00"), Decimal("1400.00"))
    change = proposal.change
    assert change is not None
    assert (change.kind, change.old_amount, change.new_amount, change.effective_month) == (
        "amount",
        Decimal("1300.00"),
        Decimal("1400.00"),
        third_month,
    )
    assert "1400元" in change.notice
    services.payroll_approve(actor=people["approver"], run_id=second.pk)
    third = run_month(people, third_month)
    assert PayrollLine.objects.get(run=third).amount == Decimal("1400.00")
    assert AmountProposal.objects.filter(enrolment=enrolment).count() == 1  # nothing more to propose
    with pytest.raises(NotFound):
        services.proposals_decide(
            actor=people["approver"], approve=False, note="x", proposal_ids=[proposal.pk]
        )


def test_a_component_the_decision_refused_is_never_paid_without_a_new_decision(
    people: dict[str, Staff],
) -> None:
    case = approved(people)
    Decision.objects.filter(case=case).update(amount=Decimal("120.00"))  # approver refused the rest
    enrolment = enrol(people, case)
    assert (enrolment.monthly_amount, enrolment.calculated_amount) == (Decimal("120.00"), Decimal("1300.00"))
    month = enrolment.start_month
    run_month(people, month)
    # A change that does not alter what the rules give: recomputed, nothing proposed.
    IncomeItem.objects.create(
        person_id=enrolment.payee_id,
        category="pension",
        monthly_amount=Decimal("0.00"),
        counted=True,
        valid_from=date(2020, 1, 1),
    )
    run = run_month(people, add_months(month, 1))
    assert run.recomputed_households == 1
    assert PayrollLine.objects.get(run=run).amount == Decimal("120.00")
    assert not AmountProposal.objects.exists()
    # A raise of 100 is proposed on top of the decided 120, never the refused 1,180.
    raise_dibao_standard(people, add_months(month, 2))
    run = run_month(people, add_months(month, 2))
    assert PayrollLine.objects.get(run=run).amount == Decimal("120.00")
    assert AmountProposal.objects.get().proposed_amount == Decimal("220.00")


def test_a_household_no_longer_eligible_is_sent_to_review_not_stopped(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    run_month(people, month)
    IncomeItem.objects.create(
        person_id=enrolment.payee_id,
        category="wages",
        monthly_amount=Decimal("5000.00"),
        counted=True,
        valid_from=date(2020, 1, 1),
    )
    run = run_month(people, add_months(month, 1))
    assert PayrollLine.objects.get(run=run).amount == Decimal("1300.00")
    assert ReviewTask.objects.filter(enrolment=enrolment, done_at=None).count() == 1
    assert not AmountProposal.objects.exists()


def test_gradual_exit_counts_calendar_months_not_runs(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    services.enrolment_start_exit(
        actor=people["admin"], enrolment_id=enrolment.pk, months=2, month=month, reason="就业增收"
    )
    enrolment.refresh_from_db()
    assert enrolment.end_month == add_months(month, 2)
    assert run_month(people, month).line_count == 1
    # The next month's run is never asked for: two months later the exit is over all the same.
    assert run_month(people, add_months(month, 2)).line_count == 0
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.TERMINATED
    change = EnrolmentChange.objects.get(enrolment=enrolment, kind="terminate")
    assert (change.effective_month, change.reason) == (add_months(month, 2), "渐退期满，停止发放")


def test_months_are_asked_for_in_order_and_within_the_window(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    month = enrolment.start_month
    run_month(people, month, approve=False)
    with pytest.raises(Conflict, match="尚未审批") as exc:
        services.payroll_run_request(actor=people["admin"], county="640202", month=add_months(month, 1))
    assert exc.value.code == "earlier_month_unapproved"
    ParameterValue.objects.filter(name__startswith="payroll.months_", source="test").delete()
    for bad in (date(9999, 12, 1), date(1, 1, 1), add_months(date.today(), 3)):
        with pytest.raises(InvalidInput, match="发放月份应在"):
            services.payroll_run_request(actor=people["admin"], county="640202", month=bad)
    assert PayrollRun.objects.count() == 1


def test_a_resume_queues_a_failed_run_and_refuses_a_finished_one(
    people: dict[str, Staff], django_capture_on_commit_callbacks: object
) -> None:
    enrolment = enrol(people, approved(people))
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=enrolment.start_month)
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="中断")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        resumed = tasks.payroll_run_resume(actor=people["admin"], run_id=run.pk)
    resumed.refresh_from_db()
    assert (resumed.status, resumed.line_count) == (RunStatus.COMPUTED, 1)
    with pytest.raises(Conflict, match="无需继续"):
        services.payroll_run_resume(actor=people["admin"], run_id=run.pk)
    with pytest.raises(PermissionDenied):
        services.payroll_run_resume(actor=people["approver"], run_id=run.pk)


def test_a_run_left_computing_by_a_dead_process_is_recovered(
    people: dict[str, Staff], django_capture_on_commit_callbacks: object
) -> None:
    enrolment = enrol(people, approved(people))
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=enrolment.start_month)
    # As a process that died after claiming it leaves it (long ago, for SQLite's lease by time).
    PayrollRun.objects.filter(pk=run.pk).update(
        status=RunStatus.COMPUTING, started_at=timezone.now() - timedelta(days=365), claimed_by="gone:1"
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert tasks.recover_stuck_runs() == 1
    run.refresh_from_db()
    assert (run.status, run.line_count, run.attempts) == (RunStatus.COMPUTED, 1, 1)
    assert tasks.recover_stuck_runs() == 0


def test_a_usual_month_recomputes_only_the_households_that_changed(people: dict[str, Staff]) -> None:
    changed, same = (enrol(people, approved(people, name=name)) for name in ("变化户", "不变户"))
    month = changed.start_month
    first = run_month(people, month)
    assert first.recomputed_households == 2
    # A month passes: what the first run saw is older than its margin.
    long_ago = timezone.now() - timedelta(days=30)
    PayrollRun.objects.filter(pk=first.pk).update(started_at=long_ago)
    before_margin = long_ago - payroll.CHANGES_MARGIN - timedelta(seconds=1)
    EnrolmentChange.objects.update(at=before_margin)
    FactsChange.objects.update(at=before_margin)
    ParameterValue.objects.update(decided_at=before_margin)
    IncomeItem.objects.create(
        person_id=changed.payee_id,
        category="pension",
        monthly_amount=Decimal("100.00"),
        counted=True,
        valid_from=date(2020, 1, 1),
    )
    second = run_month(people, add_months(month, 1))
    assert (second.recomputed_households, second.line_count) == (1, 2)
    assert second.changes_since == long_ago - payroll.CHANGES_MARGIN
    proposal = AmountProposal.objects.get()
    assert (proposal.enrolment_id, proposal.reason) == (changed.pk, "facts")
    assert proposal.proposed_amount < proposal.current_amount
    assert not AmountProposal.objects.filter(enrolment=same).exists()


def test_a_run_computed_again_adds_only_the_enrolments_it_lacks(people: dict[str, Staff]) -> None:
    first = enrol(people, approved(people, name="先纳入户"))
    run = run_month(people, first.start_month, approve=False)
    line = PayrollLine.objects.get(run=run)
    enrol(people, approved(people, name="后纳入户"))
    run = services.payroll_compute(run_id=run.pk)
    assert (run.line_count, run.total_amount, run.attempts) == (2, Decimal("2600.00"), 2)
    assert PayrollLine.objects.get(pk=line.pk).amount == line.amount  # the first line untouched
    assert PayrollLine.objects.filter(run=run).count() == 2


def test_a_run_after_a_gap_longer_than_the_change_log_recomputes_everyone(people: dict[str, Staff]) -> None:
    enrolments = [enrol(people, approved(people, name=name)) for name in ("甲户", "乙户")]
    month = enrolments[0].start_month
    first = run_month(people, month)
    # The previous run more than a change log's keeping ago: what changed since may be gone from it.
    long_ago = timezone.now() - timedelta(days=KEEP_DAYS + 5)
    PayrollRun.objects.filter(pk=first.pk).update(started_at=long_ago)
    EnrolmentChange.objects.update(at=long_ago - timedelta(days=2))
    FactsChange.objects.all().delete()  # pruned with age
    ParameterValue.objects.update(decided_at=long_ago - timedelta(days=2))
    later = run_month(people, add_months(month, 1))
    assert later.recomputed_households == 2
