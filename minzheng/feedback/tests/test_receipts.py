"""Service-quality receipts (一次一评): issued when a window service closes, rated once on a public
page without login, a poor rating becoming a ticket for the office head with its callback and
rectification limits, and the office's callback and rectification rates."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.cases.services import case_intake, case_transition
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.testing import make_service_item
from minzheng.core.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from minzheng.feedback import receipts, selectors, services
from minzheng.feedback.models import ServiceReceipt, Ticket, TicketKind
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.testing import make_household
from minzheng.workdays.selectors import add_working_days

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"


@pytest.fixture
def clerk(tree: dict[str, Division]) -> Staff:
    return make_staff("r_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK])


def closed_window_case(clerk: Staff) -> ServiceReceipt:
    """An education-aid application taken at the window, transferred, answered: the service is done."""
    item = make_service_item("education_aid", "教育救助")
    ServiceItem.objects.filter(pk=item.pk).update(department="education", intake_mode="transfer")
    household = make_household(clerk, VILLAGE, "回执户", members=1)
    case = case_intake(
        actor=clerk,
        item_code="education_aid",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials={m.pk: "provided" for m in item.materials.all()},
    )
    assert not ServiceReceipt.objects.filter(case=case).exists()
    case_transition(actor=clerk, case_id=case.pk, action="transfer")
    case_transition(actor=clerk, case_id=case.pk, action="record_feedback", data={"feedback": "已资助"})
    return ServiceReceipt.objects.get(case=case)


def test_a_closed_window_service_issues_one_receipt_rated_once(clerk: Staff) -> None:
    receipt = closed_window_case(clerk)
    assert receipt.office == Office.objects.get(division_id=TOWNSHIP)
    assert len(receipt.code) == receipts.CODE_LENGTH
    assert receipt.service_name == "教育救助"
    shown = receipts.receipt_public(code=receipt.code.lower())
    assert shown.office_name == receipt.office.name
    receipts.receipt_rate(code=receipt.code, rating=5)
    with pytest.raises(Conflict):
        receipts.receipt_rate(code=receipt.code, rating=1, comment="改成差评")
    receipt.refresh_from_db()
    assert (receipt.rating, receipt.ticket_id) == (5, None)
    with pytest.raises(NotFound):  # a rating for a service that did not happen
        receipts.receipt_rate(code="ZZZZZZZZ", rating=5)


def test_a_poor_rating_becomes_a_ticket_for_the_office_head(clerk: Staff) -> None:
    receipt = closed_window_case(clerk)
    with pytest.raises(InvalidInput):  # a poor rating says why
        receipts.receipt_rate(code=receipt.code, rating=1)
    with pytest.raises(InvalidInput):
        receipts.receipt_rate(code=receipt.code, rating=6, comment="超出范围")
    assert ServiceReceipt.objects.get(pk=receipt.pk).rating is None
    receipts.receipt_rate(code=receipt.code, rating=1, comment="等了两个小时", contact_phone="13900000003")
    receipt.refresh_from_db()
    ticket = receipt.ticket
    assert ticket is not None
    assert (ticket.kind, ticket.state, ticket.office_id) == (
        TicketKind.BAD_REVIEW,
        "processing",
        receipt.office_id,
    )
    assert ticket.callback_due == add_working_days(ticket.received_on, 1)
    assert ticket.rectify_due == add_working_days(ticket.received_on, 5)

    head = make_staff("r_head", TOWNSHIP, [Role.TOWNSHIP_HEAD])
    with pytest.raises(TransitionNotAllowed):  # not before the callback and the rectification
        services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "upheld"})
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="callback", data={"satisfaction": 2})
    [rates] = selectors.office_rates(actor=head)
    assert (rates.receipts, rates.rated, rates.poor, rates.called_back_in_time, rates.rectified) == (
        1,
        1,
        1,
        1,
        0,
    )
    assert rates.callback_rate == 1.0
    assert rates.rectification_rate == 0.0
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="rectify", note="增设叫号机，高峰期增开窗口")
    services.ticket_act(actor=head, ticket_id=ticket.pk, action="close", data={"decision": "upheld"})
    assert Ticket.objects.get(pk=ticket.pk).state == "closed"
    assert selectors.office_rates(actor=head)[0].rectification_rate == 1.0


def test_public_rating_page_needs_no_login(clerk: Staff) -> None:
    receipt = closed_window_case(clerk)
    client = Client()
    url = reverse("web:receipt_rate", args=[receipt.code])
    page = client.get(url)
    assert page.status_code == 200
    assert "教育救助" in page.content.decode()
    assert "回执户" not in page.content.decode()  # no names on the public page
    bad = client.post(url, {"rating": "9"})
    assert bad.status_code == 422
    assert ServiceReceipt.objects.get(pk=receipt.pk).rating is None
    done = client.post(url, {"rating": "4", "comment": "很快"})
    assert done.status_code == 200
    assert ServiceReceipt.objects.get(pk=receipt.pk).rating == 4
    assert client.post(url, {"rating": "1", "comment": "再评"}).status_code == 409
    assert client.get(reverse("web:receipt_rate", args=["NOPE2345"])).status_code == 404
    lookup = client.post(reverse("web:receipt_lookup"), {"code": receipt.code})
    assert lookup.status_code == 302
