"""Tickets and the work-order loop: deadlines in working days across a holiday, reminders and
escalation, the return/re-dispatch loop, merging, a decision to close, reopening, the review a
complaint about a benefit decision opens, and refusals that change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from minzheng.cases.models import Case
from minzheng.catalogue.testing import make_service_item
from minzheng.core.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.models import AuditEvent
from minzheng.feedback import services
from minzheng.feedback.models import Dispatch, Ticket, TicketChannel, TicketEvent
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.testing import make_household
from minzheng.workdays.models import CalendarDay, CalendarSource

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"
OTHER_TOWNSHIP = "640202100000"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    return {
        "desk": make_staff("desk", "640202000000", [Role.COUNTY_ADMIN]),  # the county's 12345 desk
        "clerk": make_staff("t_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK]),
        "head": make_staff("t_head", TOWNSHIP, [Role.TOWNSHIP_HEAD]),
        "reviewer": make_staff("t_reviewer", TOWNSHIP, [Role.TOWNSHIP_REVIEWER]),
        "other_clerk": make_staff("o_clerk", OTHER_TOWNSHIP, [Role.TOWNSHIP_CLERK]),
        "assistant": make_staff("v_assistant", VILLAGE, [Role.VILLAGE_ASSISTANT]),
    }


def register(actor: Staff, **kwargs: object) -> Ticket:
    fields: dict[str, object] = {
        "channel": TicketChannel.PHONE,
        "kind": "complaint",
        "category_code": "100701",
        "title": "窗口人员态度差",
        "content": "来电人反映在窗口办理业务时工作人员态度生硬。",
        "division_code": VILLAGE,
        "complainant_name": "王先生",
        "complainant_phone": "13900000009",
    }
    fields.update(kwargs)
    return services.ticket_register(actor=actor, **fields)  # type: ignore[arg-type]


def office(code: str) -> Office:
    return Office.objects.get(division_id=code)


def snapshot(ticket: Ticket) -> tuple[object, ...]:
    t = Ticket.objects.get(pk=ticket.pk)
    return (t.state, t.office_id, t.decision, t.return_count, t.events.count(), t.dispatches.count())


# --- Deadlines ------------------------------------------------------------------------------------


def test_time_limit_counts_working_days_across_a_holiday(people: dict[str, Staff]) -> None:
    for day in range(1, 8):  # National Day 2026: 1–7 October off
        CalendarDay.objects.create(
            date=date(2026, 10, day), is_working_day=False, name="国庆节", source=CalendarSource.HOLIDAYS
        )
    division = Division.objects.get(code=VILLAGE)
    consult = services.ticket_open(
        actor=None,
        channel=TicketChannel.PHONE,
        kind="consultation",
        category_code="100101",
        title="咨询低保",
        content="咨询低保申请条件",
        division=division,
        received_on=date(2026, 9, 30),
    )
    # 3 working days after Wednesday 30 September, the holiday not counted: 8, 9 and 12 October.
    assert consult.due_date == date(2026, 10, 12)
    assert "3个工作日" in consult.limit_reference
    complaint = services.ticket_open(
        actor=None,
        channel=TicketChannel.PHONE,
        kind="complaint",
        category_code="100701",
        title="投诉",
        content="投诉窗口",
        division=division,
        received_on=date(2026, 9, 30),
    )
    assert complaint.due_date == date(2026, 10, 26)  # 13 working days
    urgent = services.ticket_open(
        actor=None,
        channel=TicketChannel.PHONE,
        kind="help",
        category_code="100202",
        title="紧急求助",
        content="独居老人",
        division=division,
        urgent=True,
        received_on=date(2026, 9, 30),
    )
    assert urgent.due_date == date(2026, 9, 30)  # the same day

    # The day a limit ends nothing happens; the day after, a reminder (催办), once.
    assert len(services.deadlines_run(today=date(2026, 10, 12)).reminded) == 1  # the urgent one
    result = services.deadlines_run(today=date(2026, 10, 13))
    assert result.reminded == [consult.number]
    assert services.deadlines_run(today=date(2026, 10, 13)).reminded == []
    # 5 working days past the limit (12 → 19 October): escalated (通报), once.
    assert consult.number not in services.deadlines_run(today=date(2026, 10, 16)).escalated
    assert consult.number in services.deadlines_run(today=date(2026, 10, 19)).escalated
    assert services.deadlines_run(today=date(2026, 10, 20)).escalated == []
    actions = list(TicketEvent.objects.filter(ticket=consult).values_list("action", flat=True))
    assert actions == ["register", "remind", "escalate"]
    assert AuditEvent.objects.filter(action="feedback.ticket_escalate", object_id=str(consult.pk)).exists()


# --- The loop -------------------------------------------------------------------------------------


def test_returned_order_is_redispatched_signed_replied_called_back_and_closed(
    people: dict[str, Staff],
) -> None:
    desk, clerk, head = people["desk"], people["clerk"], people["head"]
    ticket = register(people["clerk"])
    assert ticket.state == "received"
    assert ticket.number.startswith("MZT-")

    # Dispatched to the wrong township: it returns it with a reason; a return without one is refused.
    services.ticket_act(
        actor=desk, ticket_id=ticket.pk, action="dispatch", data={"office_id": office(OTHER_TOWNSHIP).pk}
    )
    before = snapshot(ticket)
    with pytest.raises(InvalidInput):
        services.ticket_act(actor=people["other_clerk"], ticket_id=ticket.pk, action="return", note=" ")
    assert snapshot(ticket) == before
    # The township concerned cannot sign for another office's dispatch.
    with pytest.raises(PermissionDenied):
        services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="sign")
    services.ticket_act(
        actor=people["other_clerk"],
        ticket_id=ticket.pk,
        action="return",
        note="不属于本镇管辖，应由长胜街道办理",
    )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.return_count, ticket.office_id) == ("returned", 1, None)
    returned = Dispatch.objects.get(ticket=ticket, returned_at__isnull=False)
    assert returned.return_reason.startswith("不属于本镇")
    # Once returned, the other township no longer sees it.
    with pytest.raises(NotFound):
        services.ticket_act(actor=people["other_clerk"], ticket_id=ticket.pk, action="sign")

    services.ticket_act(
        actor=desk, ticket_id=ticket.pk, action="dispatch", data={"office_id": office(TOWNSHIP).pk}
    )
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="sign")
    services.ticket_act(
        actor=clerk, ticket_id=ticket.pk, action="reply", note="已约谈窗口人员并向来电人致歉。"
    )
    # Closing needs a decision.
    before = snapshot(ticket)
    with pytest.raises(TransitionNotAllowed) as refused:
        services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": ""})
    assert "处理结论" in refused.value.message
    assert snapshot(ticket) == before
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="callback", data={"satisfaction": 4})
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "upheld"})
    ticket.refresh_from_db()
    assert (ticket.state, ticket.decision, ticket.satisfaction) == ("closed", "upheld", 4)
    assert list(ticket.events.values_list("action", flat=True)) == [
        "register", "dispatch", "return", "dispatch", "sign", "reply", "callback", "close",
    ]  # fmt: skip
    # A reply after closing is refused and changes nothing.
    before = snapshot(ticket)
    with pytest.raises(TransitionNotAllowed):
        services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="reply", note="补充答复")
    assert snapshot(ticket) == before


def test_unsatisfied_callback_reopens_and_a_closed_ticket_can_be_reopened(people: dict[str, Staff]) -> None:
    clerk, head = people["clerk"], people["head"]
    ticket = register(clerk, kind="consultation", category_code="100101", title="咨询低保")
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="accept")
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="reply", note="已电话告知申请条件。")
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="callback", data={"satisfaction": 2})
    ticket.refresh_from_db()
    assert (ticket.state, ticket.reopen_count) == ("reopened", 1)
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="reply", note="已上门讲解并指导填表。")
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="callback", data={"satisfaction": 5})
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "explained"})
    with pytest.raises(InvalidInput):  # a reason is required
        services.ticket_act(actor=head, ticket_id=ticket.pk, action="reopen", note="")
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="reopen", note="诉求人再次来电，问题未解决")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.reopen_count, ticket.decision, ticket.closed_at) == ("reopened", 2, "", None)
    # A clerk may not close or reopen.
    with pytest.raises(PermissionDenied):
        services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="close", data={"decision": "upheld"})


def test_repeated_requests_are_merged_into_the_first(people: dict[str, Staff]) -> None:
    first = register(people["clerk"])
    second = register(people["clerk"], title="再次投诉窗口态度")
    third = register(people["clerk"], title="第三次投诉")
    services.ticket_act(actor=people["head"], ticket_id=second.pk, action="merge", data={"into_id": first.pk})
    services.ticket_act(actor=people["head"], ticket_id=third.pk, action="merge", data={"into_id": second.pk})
    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.state, second.merged_into_id) == ("merged", first.pk)
    assert third.merged_into_id == first.pk  # into the first of the chain
    assert first.repeat_count == 2
    with pytest.raises(TransitionNotAllowed):  # a merged ticket is no longer worked on
        services.ticket_act(actor=people["clerk"], ticket_id=second.pk, action="accept")
    with pytest.raises(InvalidInput):
        services.ticket_act(
            actor=people["head"], ticket_id=first.pk, action="merge", data={"into_id": first.pk}
        )


def test_bad_input_is_refused_and_changes_nothing(people: dict[str, Staff]) -> None:
    clerk = people["clerk"]
    count = Ticket.objects.count()
    with pytest.raises(InvalidInput) as unknown:
        register(clerk, category_code="999999")
    assert "category_code" in unknown.value.field_errors
    with pytest.raises(InvalidInput):
        register(clerk, kind="gossip")
    with pytest.raises(InvalidInput):  # outside the clerk's township
        register(clerk, division_code="640202100201")
    with pytest.raises(InvalidInput):  # hotline orders come from the platform only
        register(clerk, channel=TicketChannel.HOTLINE)
    with pytest.raises(InvalidInput):
        register(clerk, content="")
    with pytest.raises(PermissionDenied):
        register(make_staff("sup", "640200000000", [Role.SUPERVISOR]))
    assert Ticket.objects.count() == count
    ticket = register(clerk)
    with pytest.raises(InvalidInput):  # an office outside the dispatcher's jurisdiction
        services.ticket_act(
            actor=people["head"],
            ticket_id=ticket.pk,
            action="dispatch",
            data={"office_id": office(OTHER_TOWNSHIP).pk},
        )
    with pytest.raises(InvalidInput):
        services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="fly")
    assert snapshot(ticket)[:2] == ("received", None)


def test_complaint_about_a_benefit_decision_closes_only_with_the_case_review(
    people: dict[str, Staff],
) -> None:
    clerk, head, reviewer = people["clerk"], people["head"], people["reviewer"]
    household = make_household(clerk, VILLAGE, "申诉户", members=1)
    item = make_service_item("temporary_basic", "临时救助")
    case = Case.objects.create(
        number="640202202600000077",
        item=item,
        workflow="temporary",
        division_id=VILLAGE,
        household=household,
        applicant=household.head,
        applicant_name="申诉户",
        applicant_id_digest=household.head.id_digest,  # type: ignore[union-attr]
        applicant_id_masked=household.head.id_masked,  # type: ignore[union-attr]
        channel="window",
        state="refused",
        outcome="refused",
        closed_at=timezone.now(),
    )
    ticket = register(clerk, category_code="100105", title="对不予批准有异议", about_case_id=case.pk)
    assert ticket.case_review_required
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="accept")
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="reply", note="已受理复查，将告知结果。")
    with pytest.raises(TransitionNotAllowed) as refused:
        services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "rejected"})
    assert "复查结论" in refused.value.message
    with pytest.raises(PermissionDenied):  # the clerk does not review cases
        services.ticket_case_review(actor=clerk, ticket_id=ticket.pk, outcome="kept", note="维持")
    services.ticket_case_review(
        actor=reviewer, ticket_id=ticket.pk, outcome="kept", note="重新入户核实，维持原决定"
    )
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "rejected"})
    ticket.refresh_from_db()
    assert (ticket.state, ticket.case_review_outcome) == ("closed", "kept")


def test_other_jurisdictions_neither_see_nor_act(people: dict[str, Staff]) -> None:
    ticket = register(people["clerk"])
    with pytest.raises(NotFound):
        services.ticket_act(actor=people["other_clerk"], ticket_id=ticket.pk, action="accept")
    assert snapshot(ticket)[0] == "received"
