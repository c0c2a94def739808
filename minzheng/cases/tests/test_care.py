"""Extreme-poverty support: the support mode, the county's sampled visits before approval, and the
visiting plans (探访照料) of home-supported people with their visits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from minzheng.cases import care, services
from minzheng.cases.models import CareVisit, CareVisitPlan, Case, CaseEvent, SupportMode
from minzheng.cases.testing import complete_materials, registered_long_ago
from minzheng.core.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.services import MemberInput, household_create
from minzheng.registry.testing import resident_id
from minzheng.rules import standing
from minzheng.rules.population import household_facts

MONDAY = date(2026, 11, 2)
AFTER_NOTICE = date(2026, 11, 9)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """ "Today" for the case services and for care alike."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)
        monkeypatch.setattr(care, "_today", lambda: day)

    return set_today


def alone(people: dict[str, Staff], name: str, village: str = "640202001001") -> Household:
    """An elderly person living alone without income: eligible for extreme-poverty support."""
    return registered_long_ago(
        household_create(
            actor=people["clerk"],
            division_code=village,
            address="敬老路1号",
            area="urban",
            members=[
                MemberInput(name=name, id_number=resident_id("640202", date(1948, 2, 2)), relationship="head")
            ],
        )
    )


def move(actor: Staff, case: Case, action: str, note: str = "") -> Case:
    return services.case_transition(actor=actor, case_id=case.pk, action=action, note=note)


def investigate(actor: Staff, case: Case) -> None:
    services.visit_record(
        actor=actor,
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["张调查", "李调查"],
        findings="独居，无固定收入",
        signed_by_applicant=True,
    )


def to_county_review(people: dict[str, Staff], clock: Callable[[date], None], name: str) -> Case:
    clock(MONDAY)
    household = alone(people, name)
    case = services.case_intake(
        actor=people["clerk"],
        item_code="extreme_poverty",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("extreme_poverty"),
    )
    move(people["reviewer"], case, "start_investigation")
    investigate(people["reviewer"], case)
    move(people["reviewer"], case, "request_verification")
    move(people["county_reviewer"], case, "record_verification")
    assert services.case_calculate(actor=people["reviewer"], case_id=case.pk).eligible
    move(people["reviewer"], case, "propose_approval")
    clock(AFTER_NOTICE)
    move(people["reviewer"], case, "close_notice")
    return Case.objects.get(pk=case.pk)


def approved(
    people: dict[str, Staff], clock: Callable[[date], None], name: str, mode: str = SupportMode.HOME
) -> Case:
    case = to_county_review(people, clock, name)
    care.case_support_mode_set(
        actor=people["reviewer"], case_id=case.pk, mode=mode, institution="大武口区中心敬老院"
    )
    if case.sampled_for_county_visit:
        investigate(people["county_reviewer"], case)
    move(people["approver"], case, "approve", "符合特困人员认定条件")
    return Case.objects.get(pk=case.pk)


# --- Support mode --------------------------------------------------------------------------------


def test_support_mode_is_recorded_on_the_open_case_with_its_event_and_audit(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = to_county_review(people, clock, "特困甲")
    with pytest.raises(InvalidInput) as exc:
        care.case_support_mode_set(actor=people["reviewer"], case_id=case.pk, mode="institutional")
    assert exc.value.field_errors == {"institution": ["集中供养须填写供养服务机构名称"]}
    with pytest.raises(InvalidInput) as exc:
        care.case_support_mode_set(actor=people["reviewer"], case_id=case.pk, mode="hotel")
    assert "mode" in exc.value.field_errors

    care.case_support_mode_set(
        actor=people["reviewer"], case_id=case.pk, mode="institutional", institution=" 大武口区中心敬老院 "
    )
    case.refresh_from_db()
    assert case.details["support_mode"] == "institutional"
    assert case.details["institution"] == "大武口区中心敬老院"
    assert case.details["calculation_id"]  # what was there stays

    care.case_support_mode_set(
        actor=people["assistant"], case_id=case.pk, mode="home", institution="不该保存"
    )
    case.refresh_from_db()
    assert case.details["support_mode"] == "home"
    assert "institution" not in case.details
    events = list(CaseEvent.objects.filter(case=case, action="support_mode").order_by("pk"))
    assert [e.note for e in events] == ["集中供养（大武口区中心敬老院）", "分散供养"]
    audits = list(AuditEvent.objects.filter(action="cases.support_mode_set").order_by("seq"))
    assert [a.after["support_mode"] for a in audits] == ["institutional", "home"]  # type: ignore[index]
    assert audits[1].before["institution"] == "大武口区中心敬老院"  # type: ignore[index]
    assert audits[1].scope_code == "640202001001"


def test_support_mode_only_in_scope_with_the_permission_on_an_open_extreme_poverty_case(
    people: dict[str, Staff], clock: Callable[[date], None], household: Household
) -> None:
    case = to_county_review(people, clock, "特困乙")
    with pytest.raises(NotFound):
        care.case_support_mode_set(actor=people["outsider"], case_id=case.pk, mode="home")
    other_village = make_staff("c_assistant2", "640202001002", [Role.VILLAGE_ASSISTANT])
    with pytest.raises(NotFound):
        care.case_support_mode_set(actor=other_village, case_id=case.pk, mode="home")
    with pytest.raises(PermissionDenied):
        care.case_support_mode_set(actor=people["approver"], case_id=case.pk, mode="home")
    dibao = services.case_intake(
        actor=people["clerk"],
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("dibao"),
    )
    with pytest.raises(InvalidInput):
        care.case_support_mode_set(actor=people["reviewer"], case_id=dibao.pk, mode="home")
    closed = approved(people, clock, "特困丙")
    with pytest.raises(TransitionNotAllowed):
        care.case_support_mode_set(actor=people["reviewer"], case_id=closed.pk, mode="institutional")
    assert "support_mode" not in Case.objects.get(pk=case.pk).details
    assert not AuditEvent.objects.filter(action="cases.support_mode_set", object_id=str(case.pk)).exists()


# --- County sampled visits -----------------------------------------------------------------------


def test_a_sampled_case_needs_a_visit_by_county_staff_before_the_county_approves(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = to_county_review(people, clock, "特困丁")
    assert case.sampled_for_county_visit  # the county's first case of the year is always sampled
    assert care.county_visit_missing(case)
    investigate(people["reviewer"], case)  # a second township visit is not the county's
    assert care.county_visit_missing(case)
    with pytest.raises(TransitionNotAllowed, match="县级入户"):
        move(people["approver"], case, "approve")
    investigate(people["county_reviewer"], case)
    assert not care.county_visit_missing(case)
    assert move(people["approver"], case, "approve").state == "approved"


def test_county_sampling_shows_the_years_share_and_visits_in_scope(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    cases = [to_county_review(people, clock, f"特困{i}") for i in range(4)]
    # 0/1 < 30% sampled; 1/2 and 1/3 not; 1/4 < 30% sampled again.
    assert [c.sampled_for_county_visit for c in cases] == [True, False, False, True]
    investigate(people["county_reviewer"], cases[3])

    [row] = care.county_sampling(actor=people["approver"], year=2026)
    assert (row.code, row.name, row.reviewed, row.sampled, row.visited, row.pending) == (
        "640202",
        "大武口区",
        4,
        2,
        1,
        1,
    )
    assert str(row.share) == "0.500"
    assert row.meets_target
    assert care.county_sampling(actor=people["approver"], year=2025) == []
    assert care.county_sampling(actor=people["outsider"], year=2026) == []

    listed = list(care.sampled_cases(actor=people["approver"], year=2026))
    assert [c.pk for c in listed] == [cases[0].pk, cases[3].pk]  # not visited first
    assert listed[0].county_visit_on is None  # type: ignore[attr-defined]
    assert listed[1].county_visit_on == AFTER_NOTICE  # type: ignore[attr-defined]
    pending = care.sampled_cases(actor=people["approver"], year=2026, pending_only=True)
    assert [c.pk for c in pending] == [cases[0].pk]
    assert not care.sampled_cases(actor=people["outsider"], year=2026).exists()


# --- Visiting plans ------------------------------------------------------------------------------


def test_an_approved_home_supported_case_gets_one_visiting_plan(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困戊")
    # Made by the approval itself (cases.services._approve), on the approval day.
    plan = CareVisitPlan.objects.get(case=case)
    assert (plan.person_id, plan.division_id, plan.interval_days, plan.active) == (
        case.applicant_id,
        "640202001001",
        care.VISIT_INTERVAL_DAYS,
        True,
    )
    assert plan.next_due == AFTER_NOTICE + timedelta(days=30)
    assert care.care_plan_for_case(case, actor=people["approver"]) == plan
    assert care.care_plans_bring_in(actor=people["county_reviewer"]) == []
    assert CareVisitPlan.objects.count() == 1
    audit = AuditEvent.objects.get(action="cases.care_plan_created")
    assert (audit.object_id, audit.scope_code, audit.after["case"]) == (  # type: ignore[index]
        str(plan.pk),
        "640202001001",
        case.number,
    )


def test_institutional_or_unapproved_cases_get_no_plan(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    institutional = approved(people, clock, "特困己", mode=SupportMode.INSTITUTIONAL)
    assert care.care_plan_for_case(institutional) is None
    pending = to_county_review(people, clock, "特困庚")
    care.case_support_mode_set(actor=people["reviewer"], case_id=pending.pk, mode="home")
    pending.refresh_from_db()
    assert care.care_plan_for_case(pending) is None
    assert care.care_plans_bring_in(actor=people["county_reviewer"]) == []
    assert not CareVisitPlan.objects.exists()


def test_plans_are_brought_in_for_approved_cases_without_one_once_and_in_scope(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困辛")
    CareVisitPlan.objects.filter(case=case).delete()  # as a case approved before plans were made
    clock(date(2027, 3, 1))  # decided months ago: the first visit is due today, not in the past
    with pytest.raises(PermissionDenied):
        care.care_plans_bring_in(actor=people["assistant"])
    assert care.care_plans_bring_in(actor=people["outsider"]) == []
    [plan] = care.care_plans_bring_in(actor=people["reviewer"])
    assert (plan.case_id, plan.next_due, plan.created_by_id) == (
        case.pk,
        date(2027, 3, 1),
        people["reviewer"].pk,
    )
    assert care.care_plans_bring_in(actor=people["county_reviewer"]) == []
    assert CareVisitPlan.objects.count() == 1


def test_a_visit_moves_the_next_due_day_and_is_recorded_only_in_scope(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困壬")
    plan = care.care_plan_for_case(case, actor=people["approver"], on=AFTER_NOTICE)
    assert plan is not None
    clock(date(2026, 12, 1))
    visit = care.care_visit_record(
        actor=people["assistant"],
        plan_id=plan.pk,
        visited_on=date(2026, 11, 30),
        companions=["村医王五", " ", "网格员赵六"],
        living_conditions="房屋安全，取暖正常",
        health="高血压，按时服药",
        needs="冬季需要棉被",
        follow_up_needed=True,
    )
    plan.refresh_from_db()
    assert plan.next_due == date(2026, 12, 30)
    assert (visit.visitor_id, visit.companions, visit.follow_up_needed) == (
        people["assistant"].pk,
        ["村医王五", "网格员赵六"],
        True,
    )
    # A late entry of an earlier visit does not pull the next visit back.
    care.care_visit_record(
        actor=people["reviewer"],
        plan_id=plan.pk,
        visited_on=date(2026, 11, 20),
        living_conditions="正常",
        health="正常",
    )
    plan.refresh_from_db()
    assert plan.next_due == date(2026, 12, 30)
    audit = AuditEvent.objects.filter(action="cases.care_visit_recorded").order_by("seq").first()
    assert audit is not None
    assert (audit.before, audit.after["next_due"], audit.scope_code) == (  # type: ignore[index]
        {"next_due": "2026-12-09"},
        "2026-12-30",
        "640202001001",
    )

    kwargs = {"plan_id": plan.pk, "visited_on": date(2026, 11, 30), "living_conditions": "x", "health": "y"}
    other_village = make_staff("c_assistant3", "640202001002", [Role.VILLAGE_ASSISTANT])
    with pytest.raises(NotFound):
        care.care_visit_record(actor=other_village, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        care.care_visit_record(actor=people["outsider"], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        care.care_visit_record(actor=people["approver"], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        care.care_visit_record(
            actor=people["assistant"],
            plan_id=plan.pk,
            visited_on=date(2026, 12, 2),
            living_conditions="",
            health="",
        )
    assert set(exc.value.field_errors) == {"visited_on", "living_conditions", "health"}
    CareVisitPlan.objects.filter(pk=plan.pk).update(active=False)
    with pytest.raises(TransitionNotAllowed):
        care.care_visit_record(actor=people["assistant"], **kwargs)  # type: ignore[arg-type]
    assert CareVisit.objects.filter(plan=plan).count() == 2


def test_the_due_list_shows_overdue_and_soon_due_visits_of_the_jurisdiction(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困癸")
    plan = care.care_plan_for_case(case, actor=people["approver"], on=AFTER_NOTICE)
    assert plan is not None
    assert plan.next_due == date(2026, 12, 9)
    assistant = people["assistant"]
    assert not care.care_plan_list(actor=assistant, due_only=True, on=date(2026, 12, 1)).exists()
    assert [p.pk for p in care.care_plan_list(actor=assistant, due_only=True, on=date(2026, 12, 2))] == [
        plan.pk
    ]
    assert [p.pk for p in care.care_plan_list(actor=assistant, due_only=True, on=date(2027, 1, 5))] == [
        plan.pk
    ]
    assert care.visit_tone(plan.next_due, date(2026, 12, 10)) == "overdue"
    assert care.visit_tone(plan.next_due, date(2026, 12, 2)) == "due"
    assert care.visit_tone(plan.next_due, date(2026, 11, 20)) == ""
    other_village = make_staff("c_assistant4", "640202001002", [Role.VILLAGE_ASSISTANT])
    assert not care.care_plan_list(actor=other_village).exists()
    assert not care.care_plan_list(actor=people["outsider"]).exists()
    with pytest.raises(NotFound):
        care.care_plan_get(actor=other_village, plan_id=plan.pk)
    assert care.care_plan_get(actor=people["approver"], plan_id=plan.pk) == plan


def test_an_approved_case_makes_the_person_supported_in_the_mode_decided_for_every_rule(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困集中", mode=SupportMode.INSTITUTIONAL)
    assert case.household is not None
    assert case.decision is not None
    # Dated from the month of the decision (the month before payment starts).
    on = case.decision.start_month
    assert on is not None
    rows = standing.statuses_of(case.household.pk, on=on)
    assert {(r.status, r.person_id) for r in rows} >= {("extreme_poverty", case.applicant_id)}
    facts = household_facts(case.household, on)
    member = facts.member(str(case.applicant_id))
    assert (facts.household_status, member.extreme_poverty_supported, member.support_mode) == (
        "extreme_poverty",
        True,
        "institutional",
    )
    before = date(on.year - 1, 1, 1)
    assert not standing.statuses_of(case.household.pk, on=before)
