"""Statutory workflows: intake, every move checked against the item's table, clocks, decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from minzheng.cases import selectors, services
from minzheng.cases.models import Case, CaseStep, Decision, MaterialStatus, Outcome, PublicNotice, Transfer
from minzheng.cases.testing import registered_long_ago
from minzheng.cases.workflows import WORKFLOW_FOR_ITEM, WORKFLOWS
from minzheng.catalogue.models import IntakeMode, ServiceItem
from minzheng.catalogue.selectors import item_materials
from minzheng.core.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.registry.models import Household, Person
from minzheng.registry.services import MemberInput, household_create
from minzheng.registry.testing import resident_id

MONDAY = date(2026, 11, 2)


def complete_materials(item_code: str) -> dict[int, str]:
    item = ServiceItem.objects.get(code=item_code)
    return {
        m.pk: (MaterialStatus.FETCHED if m.fetchable_by_office else MaterialStatus.PROVIDED)
        for m in item_materials(item=item)
    }


def intake(people: dict[str, Staff], household: Household, item: str = "dibao", **kw: object) -> Case:
    return services.case_intake(
        actor=people["assistant"],
        item_code=item,
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="proxy",
        proxy_name="村协理员李四",
        proxy_relation="村民政协理员",
        mandate="申请人书面委托（2026-11-02）",
        materials=complete_materials(item),
        **kw,  # type: ignore[arg-type]
    )


def move(actor: Staff, case: Case, action: str, note: str = "", **data: object) -> Case:
    return services.case_transition(actor=actor, case_id=case.pk, action=action, note=note, data=data)


def visit(actor: Staff, case: Case, *, signed: bool = True) -> None:
    services.visit_record(
        actor=actor,
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["张调查", "李调查"],
        findings="家中无固定收入，住房简陋",
        signed_by_applicant=signed,
    )


def test_every_item_handled_in_the_system_has_a_workflow_and_every_table_is_consistent(
    catalogue: None,
) -> None:
    for item in ServiceItem.objects.filter(intake_mode=IntakeMode.HANDLE):
        assert item.code in WORKFLOW_FOR_ITEM, item.code
    for workflow in WORKFLOWS.values():
        for t in workflow.transitions:
            assert t.source in workflow.states, (workflow.code, t)
            assert t.target in workflow.states, (workflow.code, t)
        for state in workflow.states.values():
            assert state.final or workflow.actions_from(state.code), (workflow.code, state.code)


def test_dibao_from_proxy_intake_to_county_confirmation(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    case = intake(people, household)
    assert case.state == "accepted"
    assert case.accepted_on == MONDAY
    assert case.number.startswith("6402022026")
    step = CaseStep.objects.get(case=case, completed_on__isnull=True)
    assert step.due_date == date(2026, 11, 5)  # investigation starts within 3 working days

    move(people["reviewer"], case, "start_investigation")
    with pytest.raises(TransitionNotAllowed, match="入户调查记录"):
        move(people["reviewer"], case, "request_verification")
    visit(people["assistant"], case)
    move(people["reviewer"], case, "request_verification")
    move(people["county_reviewer"], case, "record_verification", "核对无异常")
    with pytest.raises(TransitionNotAllowed, match="待遇测算"):
        move(people["reviewer"], case, "propose_approval")
    calc = services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    assert calc.eligible
    move(people["reviewer"], case, "propose_approval", "符合条件，拟纳入")

    notice = PublicNotice.objects.get(case=case, kind="preliminary")
    assert (notice.starts_on, notice.ends_on) == (MONDAY, date(2026, 11, 8))
    assert set(notice.content) == {"applicant", "household_size", "amount", "item"}
    assert household.head is not None
    assert household.head.id_masked not in str(notice.content)
    with pytest.raises(TransitionNotAllowed, match="公示期"):
        move(people["reviewer"], case, "close_notice")

    clock(date(2026, 11, 9))
    move(people["reviewer"], case, "close_notice")
    assert Case.objects.get(pk=case.pk).state == "county_review"
    with pytest.raises(PermissionDenied):
        move(people["reviewer"], case, "approve")
    clock(date(2026, 11, 10))
    move(people["approver"], case, "approve", "经审核确认，同意纳入")

    case.refresh_from_db()
    assert (case.state, case.outcome) == ("approved", Outcome.APPROVED)
    assert case.closed_at is not None
    decision = Decision.objects.get(case=case)
    assert decision.amount == calc.amount == Decimal("1300.00")
    assert decision.calculation == calc
    assert decision.start_month == date(2026, 12, 1)  # paid from the month after confirmation
    assert decision.level == "county"
    assert not CaseStep.objects.filter(case=case, completed_on__isnull=True).exists()
    actions = list(case.events.values_list("action", flat=True))
    assert actions[0] == "intake"
    assert actions[-1] == "approve"
    assert AuditEvent.objects.filter(object_type="cases.Case", object_id=str(case.pk)).count() >= 8
    assert PublicNotice.objects.filter(case=case, kind="result").exists()


def test_an_illegal_move_is_refused_and_changes_nothing(
    people: dict[str, Staff], household: Household
) -> None:
    case = intake(people, household)
    events = case.events.count()
    with pytest.raises(TransitionNotAllowed):
        move(people["approver"], case, "approve", "越级批准")
    case.refresh_from_db()
    assert case.state == "accepted"
    assert case.events.count() == events


def test_another_county_cannot_see_or_move_the_case(people: dict[str, Staff], household: Household) -> None:
    case = intake(people, household)
    with pytest.raises(NotFound):
        move(people["outsider"], case, "start_investigation")
    with pytest.raises(NotFound):
        selectors.case_get(actor=people["outsider"], case_id=case.pk)
    assert not selectors.case_list(actor=people["outsider"]).exists()


def test_missing_materials_give_a_one_time_notice_of_all_of_them(
    people: dict[str, Staff], household: Household
) -> None:
    item = ServiceItem.objects.get(code="dibao")
    asked = [m for m in item_materials(item=item) if m.required and not m.fetchable_by_office]
    assert len(asked) >= 2
    case = services.case_intake(
        actor=people["clerk"],
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials={},
    )
    assert case.state == "incomplete"
    assert {m.requirement_id for m in services.missing_materials(case)} == {m.pk for m in asked}
    with pytest.raises(TransitionNotAllowed, match="当前环节"):
        move(people["clerk"], case, "accept")
    services.case_materials_update(
        actor=people["clerk"], case_id=case.pk, materials=complete_materials("dibao")
    )
    move(people["clerk"], case, "complete_materials")
    case.refresh_from_db()
    assert (case.state, case.accepted_on) == ("accepted", services._today())


def test_proxy_intake_must_record_the_mandate(people: dict[str, Staff], household: Household) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.case_intake(
            actor=people["assistant"],
            item_code="dibao",
            household=household,
            applicant=household.head,  # type: ignore[arg-type]
            channel="proxy",
        )
    assert {"proxy_name", "mandate"} <= set(exc.value.field_errors)
    assert not Case.objects.exists()


def test_a_relative_of_a_cadre_is_flagged_and_investigated_by_the_county(
    people: dict[str, Staff], household: Household
) -> None:
    assert household.head is not None
    head = household.head
    member_id = resident_id("640202", date(1980, 5, 17))
    other = household.memberships.exclude(person=head).first()
    assert other is not None
    services.conflict_register(
        actor=people["reviewer"],
        division_code="640202001001",
        name="村主任",
        position="村委会主任",
        id_number=member_id,
    )
    Person.objects.filter(pk=other.person_id).update(id_digest=services.protect.lookup_digest(member_id))
    case = intake(people, household)
    assert case.conflict_of_interest
    assert "县级直接调查" in case.conflict_note
    assert not case.decided_at_township
    with pytest.raises(TransitionNotAllowed, match="县级"):
        move(people["reviewer"], case, "start_investigation")
    move(people["county_reviewer"], case, "start_investigation", "县级直接调查")
    assert Case.objects.get(pk=case.pk).state == "investigating"


def test_objection_during_notice_leads_to_reinvestigation(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    case = intake(people, household)
    move(people["reviewer"], case, "start_investigation")
    visit(people["reviewer"], case)
    move(people["reviewer"], case, "request_verification")
    move(people["county_reviewer"], case, "record_verification")
    services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    move(people["reviewer"], case, "propose_approval")
    move(people["reviewer"], case, "record_objection", content="该户有经营性收入未申报", raised_by="村民")
    move(people["reviewer"], case, "reinvestigate", "重新入户核实经营收入")
    case.refresh_from_db()
    assert case.state == "investigating"
    objection = PublicNotice.objects.get(case=case).objections.get()
    assert (objection.handling, objection.content) == ("reinvestigate", "该户有经营性收入未申报")


def test_refusal_needs_reasons_and_a_written_notice_within_three_working_days(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    case = intake(people, household)
    move(people["reviewer"], case, "start_investigation")
    visit(people["reviewer"], case)
    move(people["reviewer"], case, "request_verification")
    move(people["county_reviewer"], case, "record_verification")
    with pytest.raises(TransitionNotAllowed, match="理由"):
        move(people["reviewer"], case, "propose_refusal")
    move(people["reviewer"], case, "propose_refusal", "家庭人均收入高于当地低保标准")
    decision = Decision.objects.get(case=case)
    assert decision.outcome == Outcome.REFUSED
    assert decision.notice_due == date(2026, 11, 5)
    move(people["clerk"], case, "send_refusal_notice")
    case.refresh_from_db()
    assert (case.state, case.outcome) == ("refused", Outcome.REFUSED)


def test_emergency_aid_first_within_the_township_limit_paperwork_after(
    people: dict[str, Staff], household: Household
) -> None:
    case = intake(
        people,
        household,
        "temporary_emergency",
        details={"temporary": {"type": "emergency", "requested_amount": "1500", "cause": "突发火灾"}},
    )
    calc = services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    assert (calc.amount, calc.result["approval_level"]) == (Decimal("1500.00"), "township")
    move(people["reviewer"], case, "aid_first", "火灾急难，先行救助")
    with pytest.raises(TransitionNotAllowed):
        move(people["head"], case, "complete_paperwork")
    visit(people["reviewer"], case)
    move(people["head"], case, "complete_paperwork", "手续已补齐")
    case.refresh_from_db()
    assert case.outcome == Outcome.APPROVED
    assert Decision.objects.get(case=case).amount == Decimal("1500.00")


def test_emergency_aid_above_the_township_limit_goes_to_the_county(
    people: dict[str, Staff], household: Household
) -> None:
    case = intake(
        people,
        household,
        "temporary_emergency",
        details={"temporary": {"type": "emergency", "requested_amount": "3000"}},
    )
    services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    with pytest.raises(TransitionNotAllowed, match="权限"):
        move(people["reviewer"], case, "aid_first")
    move(people["reviewer"], case, "refer_to_county")
    move(people["approver"], case, "approve", "同意救助")
    assert Decision.objects.get(case=case).level == "county"


def test_other_departments_items_are_transferred_and_feedback_is_tracked(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    case = intake(people, household, "education_aid")
    assert (case.workflow, case.state) == ("transfer", "received")
    move(people["clerk"], case, "transfer", "转县教育局学生资助中心")
    transfer = Transfer.objects.get(case=case)
    assert transfer.feedback_due == date(2026, 11, 16)
    clock(date(2026, 11, 17))
    assert list(selectors.transfers_overdue(actor=people["clerk"])) == [transfer]
    with pytest.raises(TransitionNotAllowed, match="反馈"):
        move(people["clerk"], case, "record_feedback")
    move(people["clerk"], case, "record_feedback", feedback="已纳入2026年秋季学期资助名单")
    case.refresh_from_db()
    assert case.outcome == Outcome.TRANSFERRED
    assert not selectors.transfers_overdue(actor=people["clerk"]).exists()


def test_online_application_and_status_lookup_by_number_and_id(
    people: dict[str, Staff], household: Household
) -> None:
    id_number = resident_id("640202", date(1970, 3, 3))
    case = services.case_submit_online(
        item_code="dibao",
        division_code="640202001001",
        applicant_name="赵网申",
        id_number=id_number,
        phone="13900000000",
    )
    assert (case.state, case.channel) == ("submitted", "online")
    assert selectors.public_status(number=case.number, id_number=id_number) == case
    with pytest.raises(NotFound):
        selectors.public_status(number=case.number, id_number=resident_id("640202", date(1970, 3, 4)))
    move(people["clerk"], case, "notify_missing", "请补充材料")
    assert Case.objects.get(pk=case.pk).state == "incomplete"


def test_online_application_with_bad_input_is_refused_with_field_errors(
    catalogue: None, tree: object
) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.case_submit_online(
            item_code="dibao", division_code="640202001000", applicant_name="", id_number="123", phone=""
        )
    assert {"id_number", "applicant_name", "phone", "division_code"} <= set(exc.value.field_errors)
    assert not Case.objects.exists()


def test_overdue_and_due_soon_lists_and_time_limit_statistics(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    case = intake(people, household)
    assert list(selectors.due_soon_steps(actor=people["reviewer"], on=date(2026, 11, 4))) == [
        CaseStep.objects.get(case=case)
    ]
    overdue = list(selectors.overdue_steps(actor=people["reviewer"], on=date(2026, 11, 6)))
    assert [s.case_id for s in overdue] == [case.pk]
    assert not selectors.overdue_steps(actor=people["outsider"], on=date(2026, 11, 6)).exists()
    stats = selectors.time_limit_stats(actor=people["approver"], on=date(2026, 11, 6))
    assert [(s.code, s.open_cases, s.open_overdue) for s in stats] == [("640202001000", 1, 1)]


def elderly_alone(people: dict[str, Staff], name: str) -> Household:
    return registered_long_ago(
        household_create(
            actor=people["clerk"],
            division_code="640202001001",
            address="敬老路1号",
            area="urban",
            members=[
                MemberInput(name=name, id_number=resident_id("640202", date(1948, 2, 2)), relationship="head")
            ],
        )
    )


def test_extreme_poverty_county_samples_at_least_thirty_percent_and_visits_them(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    cases = []
    for i in range(10):
        clock(MONDAY)
        case = intake(people, elderly_alone(people, f"特困{i}"), "extreme_poverty")
        move(people["reviewer"], case, "start_investigation")
        visit(people["reviewer"], case)
        move(people["reviewer"], case, "request_verification")
        move(people["county_reviewer"], case, "record_verification")
        assert services.case_calculate(actor=people["reviewer"], case_id=case.pk).eligible
        move(people["reviewer"], case, "propose_approval")
        clock(date(2026, 11, 9))
        move(people["reviewer"], case, "close_notice")
        cases.append(Case.objects.get(pk=case.pk))
    sampled = [c for c in cases if c.sampled_for_county_visit]
    assert len(sampled) >= 3
    with pytest.raises(TransitionNotAllowed, match="抽中"):
        move(people["approver"], sampled[0], "approve")
    visit(people["county_reviewer"], sampled[0])
    move(people["approver"], sampled[0], "approve", "县级入户核查属实")
