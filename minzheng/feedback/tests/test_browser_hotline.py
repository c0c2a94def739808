"""In a real browser: a 12345 work order from its arrival to its close. The county's desk pulls the
order from the hotline simulator (a real process), dispatches it to the township, whose clerk signs
for it and replies; the reply reaches the platform, the platform's callback comes back with the next
pull, and the desk closes the order with a decision."""

from __future__ import annotations

from typing import Any

import pytest

from minzheng.feedback.models import Ticket
from minzheng.feedback.testing import HotlineSimulator
from minzheng.org.models import Office
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_work_order_from_the_hotline_to_its_close(
    hotline_simulator: HotlineSimulator, live_server: Any, page: Any
) -> None:
    base = live_server.url
    make_staff("desk", "640202000000", [Role.COUNTY_ADMIN])
    make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    township = Office.objects.get(division_id="640202001000")
    order = hotline_simulator.offer(
        category_code="100103",
        kind="help",
        title="家中失火求助",
        content="来电人家中失火，生活困难，询问能否申请临时救助。",
        division_code="640202001001",
        citizen_name="孙先生",
    )

    login(page, base, "desk")
    page.goto(f"{base}/feedback/hotline/")
    page.click("[data-testid=hotline-pull]")
    assert "新工单 1 件" in page.inner_text("[data-testid=hotline-result]")
    page.click("[data-testid=ticket-rows] a")
    assert "家中失火求助" in page.inner_text("h1")
    page.select_option("#office-dispatch", str(township.pk))
    page.click("[data-testid=action-dispatch]")
    assert page.inner_text("[data-testid=ticket-state]").startswith("已派单")
    ticket_url = page.url

    login(page, base, "clerk")
    page.goto(ticket_url)
    page.click("[data-testid=action-sign]")
    assert page.inner_text("[data-testid=ticket-state]").startswith("办理中")
    page.fill("#note-reply", "已上门核实，指导申请临时救助，材料已收齐。")
    page.click("[data-testid=action-reply]")
    assert page.inner_text("[data-testid=ticket-state]").startswith("已答复")

    # The reply reached the platform (sent after the commit); the platform calls the citizen back.
    assert hotline_simulator.order(order["order_no"])["status"] == "reply"
    hotline_simulator.evaluate(order["order_no"], 5, "很满意")

    login(page, base, "desk")
    page.goto(f"{base}/feedback/hotline/")
    page.click("[data-testid=hotline-pull]")
    assert "回访结果 1 件" in page.inner_text("[data-testid=hotline-result]")
    page.goto(ticket_url)
    assert page.inner_text("[data-testid=ticket-state]").startswith("已回访")
    page.click("[data-testid=action-close]")  # without a decision: refused, shown on the page
    assert "办结须作出处理结论" in page.inner_text("[data-testid=ticket-error]")
    page.select_option("#decision", "upheld")
    page.click("[data-testid=action-close]")
    assert page.inner_text("[data-testid=ticket-state]").startswith("已办结")
    assert hotline_simulator.order(order["order_no"])["status"] == "close"
    assert Ticket.objects.get(external_ref=order["order_no"]).decision == "upheld"
