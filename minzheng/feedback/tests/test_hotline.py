"""The 12345 loop over real HTTP with the hotline-platform simulator (its own process): orders
pulled, refused with a reason when their category is unknown, merged when repeated, every status
reported back signed, the platform's own callback closing the loop."""

from __future__ import annotations

import pytest

from minzheng.core.errors import Conflict
from minzheng.feedback import services
from minzheng.feedback.hotline import HotlineError
from minzheng.feedback.models import HotlineSync, SyncStatus, Ticket, TicketChannel
from minzheng.feedback.testing import HotlineSimulator
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"


@pytest.fixture
def desk(tree: dict[str, Division]) -> Staff:
    return make_staff("desk", "640202000000", [Role.COUNTY_ADMIN])


def test_work_order_round_trip_over_http(hotline_simulator: HotlineSimulator, desk: Staff) -> None:
    clerk = make_staff("t_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK])
    first = hotline_simulator.offer(
        category_code="100101",
        kind="consultation",
        title="咨询低保申请条件",
        content="来电人询问低保申请需要的材料。",
        division_code=VILLAGE,
        citizen_name="张女士",
        citizen_phone="13900000001",
    )
    repeated = hotline_simulator.offer(
        category_code="100101",
        title="再次咨询低保",
        content="同一来电人再次来电。",
        repeat_of=first["order_no"],
    )
    unknown = hotline_simulator.offer(category_code="999999", title="分类错误", content="未知分类的工单")
    outside = hotline_simulator.offer(
        category_code="100101", title="外县工单", content="不在本县", division_code="640205001001"
    )

    pulled = services.hotline_pull(actor=desk)
    assert len(pulled.created) == 1
    assert len(pulled.merged) == 1
    assert set(pulled.refused) == {unknown["order_no"], outside["order_no"]}
    assert "未知的诉求分类" in pulled.refused[unknown["order_no"]]
    ticket = Ticket.objects.get(channel=TicketChannel.HOTLINE, external_ref=first["order_no"])
    assert (ticket.kind, ticket.division_id, ticket.complainant_name) == ("consultation", VILLAGE, "张女士")
    merged = Ticket.objects.get(external_ref=repeated["order_no"])
    assert merged.merged_into_id == ticket.pk
    assert not Ticket.objects.filter(external_ref__in=[unknown["order_no"], outside["order_no"]]).exists()
    # The platform knows what was taken and what was refused, and why.
    assert hotline_simulator.order(first["order_no"])["delivered"] is True
    refused = hotline_simulator.order(unknown["order_no"])
    assert refused["status"] == "refused"
    assert "未知的诉求分类" in refused["history"][0]["reason"]
    # Pulling again takes nothing twice.
    again = services.hotline_pull(actor=desk)
    assert (again.created, again.merged, again.refused) == ([], [], {})

    office = Office.objects.get(division_id=TOWNSHIP)
    services.ticket_act(actor=desk, ticket_id=ticket.pk, action="dispatch", data={"office_id": office.pk})
    services.ticket_act(actor=clerk, ticket_id=ticket.pk, action="sign")
    services.ticket_act(
        actor=clerk, ticket_id=ticket.pk, action="reply", note="已电话告知申请条件和材料清单。"
    )
    # Closing a hotline order needs its callback first.
    with pytest.raises(services.TransitionNotAllowed):
        services.ticket_act(actor=desk, ticket_id=ticket.pk, action="close", data={"decision": "explained"})
    assert services.hotline_push() >= 3
    assert HotlineSync.objects.filter(ticket=ticket, state=SyncStatus.PENDING).count() == 0
    history = hotline_simulator.order(first["order_no"])["history"]
    assert [h["status"] for h in history] == ["dispatch", "sign", "reply"]
    assert history[-1]["reply"].startswith("已电话告知")
    assert history[0]["ticket_number"] == ticket.number

    # The platform calls the citizen back (回访); the next pull records the satisfaction.
    hotline_simulator.evaluate(first["order_no"], 5, "满意")
    pulled = services.hotline_pull(actor=desk)
    assert pulled.evaluated == [ticket.number]
    ticket.refresh_from_db()
    assert (ticket.state, ticket.satisfaction) == ("called_back", 5)
    services.ticket_act(actor=desk, ticket_id=ticket.pk, action="close", data={"decision": "explained"})
    services.hotline_push()
    assert hotline_simulator.order(first["order_no"])["status"] == "close"


def test_a_platform_with_a_bad_signature_is_not_believed(
    hotline_simulator: HotlineSimulator, desk: Staff
) -> None:
    hotline_simulator.offer(category_code="100101", title="咨询", content="咨询低保")
    hotline_simulator.fault("bad_signature")
    with pytest.raises(HotlineError, match="签名无效"):
        services.hotline_pull(actor=desk)
    assert Ticket.objects.count() == 0
    hotline_simulator.fault("refuse")
    assert services.hotline_sweep() == 0  # unreachable: logged, retried by the next sweep
    hotline_simulator.fault("none")
    assert len(services.hotline_pull(actor=desk).created) == 1


def test_pull_without_a_platform_is_refused(desk: Staff) -> None:
    with pytest.raises(Conflict):
        services.hotline_pull(actor=desk)
