"""The feedback API (bearer token, and a session with CSRF) and pages: a ticket registered, dispatched,
signed, replied, called back and closed; refusals answer with the error shape and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.feedback.models import Ticket
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    return {
        "clerk": make_staff("a_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK]),
        "head": make_staff("a_head", TOWNSHIP, [Role.TOWNSHIP_HEAD]),
        "desk": make_staff("a_desk", "640202000000", [Role.COUNTY_ADMIN]),
    }


def bearer(staff: Staff) -> dict[str, Any]:
    _, raw = api_token_issue(actor=staff, name="脚本")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client: Client, url: str, body: dict[str, Any], **extra: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)  # type: ignore[arg-type]


NEW = {
    "channel": "phone",
    "kind": "complaint",
    "category_code": "100702",
    "title": "办事效率低",
    "content": "来电人反映临时救助申请迟迟没有结果。",
    "division_code": VILLAGE,
    "complainant_name": "赵女士",
}


def test_the_loop_through_the_api_with_bearer_tokens(people: dict[str, Staff]) -> None:
    client = Client()
    clerk, head, desk = bearer(people["clerk"]), bearer(people["head"]), bearer(people["desk"])
    created = post(client, "/api/v1/feedback/tickets", NEW, **clerk)
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert (ticket["state"], ticket["category_name"], ticket["kind"]) == ("received", "办事效率", "complaint")
    url = f"/api/v1/feedback/tickets/{ticket['id']}/actions"
    office = Office.objects.get(division_id=TOWNSHIP).pk
    assert post(client, url, {"action": "dispatch", "office_id": office}, **desk).status_code == 200
    # A return without a reason: refused with the error shape, nothing changed.
    refused = post(client, url, {"action": "return", "note": ""}, **clerk)
    assert refused.status_code == 422
    assert set(refused.json()) == {"code", "message", "field_errors"}
    assert Ticket.objects.get(pk=ticket["id"]).state == "dispatched"
    assert post(client, url, {"action": "sign"}, **clerk).json()["state"] == "processing"
    assert (
        post(client, url, {"action": "reply", "note": "已督促办理并答复。"}, **clerk).json()["state"]
        == "replied"
    )
    no_decision = post(client, url, {"action": "close"}, **head)
    assert no_decision.status_code == 409
    assert "处理结论" in no_decision.json()["message"]
    assert (
        post(client, url, {"action": "callback", "satisfaction": 4}, **head).json()["state"] == "called_back"
    )
    closed = post(client, url, {"action": "close", "decision": "upheld"}, **head)
    assert closed.json()["state"] == "closed"
    assert post(client, url, {"action": "reply", "note": "再答复"}, **clerk).status_code == 409
    listed = client.get("/api/v1/feedback/tickets", {"state": "closed"}, **clerk).json()
    assert [t["number"] for t in listed["items"]] == [ticket["number"]]
    unknown = post(client, "/api/v1/feedback/tickets", {**NEW, "category_code": "999999"}, **clerk)
    assert unknown.status_code == 422
    assert "category_code" in unknown.json()["field_errors"]
    assert Ticket.objects.count() == 1
    assert client.get("/api/v1/feedback/receipt-rates", **head).status_code == 200
    assert post(client, "/api/v1/feedback/hotline/pull", {}, **desk).status_code == 409  # no platform


def test_session_writes_need_the_csrf_token(people: dict[str, Staff]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["clerk"])
    assert post(client, "/api/v1/feedback/tickets", NEW).status_code == 403
    client.get("/login/")
    csrf = client.cookies["csrftoken"].value
    assert post(client, "/api/v1/feedback/tickets", NEW, HTTP_X_CSRFTOKEN=csrf).status_code == 201


def test_pages_register_and_work_a_ticket(people: dict[str, Staff]) -> None:
    client = Client()
    client.force_login(people["clerk"])
    form = {**NEW, "sensitivity": "standard"}
    bad = client.post(reverse("web:feedback_ticket_create"), {**form, "division_code": "640202100201"})
    assert bad.status_code == 422
    assert Ticket.objects.count() == 0
    made = client.post(reverse("web:feedback_ticket_create"), form)
    assert made.status_code == 302
    ticket = Ticket.objects.get()
    page = client.get(reverse("web:feedback_ticket", args=[ticket.pk])).content.decode()
    assert ticket.number in page
    assert 'data-testid="action-accept"' in page
    act = reverse("web:feedback_ticket_action", args=[ticket.pk])
    assert client.post(act, {"action": "accept"}).status_code == 302
    refused = client.post(act, {"action": "reply", "note": ""})
    assert refused.status_code == 422
    assert "答复内容" in refused.content.decode()
    assert client.post(act, {"action": "reply", "note": "已答复"}).status_code == 302
    assert Ticket.objects.get().state == "replied"
    listing = client.get(reverse("web:feedback_tickets"), {"state": "all"}).content.decode()
    assert ticket.number in listing
    assert client.get(reverse("web:feedback_receipts")).status_code == 200
    assert client.get(reverse("web:feedback_hotline")).status_code == 200
    # Another township's clerk sees none of it.
    other = Client()
    other.force_login(make_staff("o_clerk", "640202100000", [Role.TOWNSHIP_CLERK]))
    assert other.get(reverse("web:feedback_ticket", args=[ticket.pk])).status_code == 404
    assert other.post(act, {"action": "reply", "note": "越权"}).status_code == 404
