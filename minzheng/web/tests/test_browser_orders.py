"""In a real browser: emergency aid given first (先行救助) is paid in cash from the township's reserve
fund. The township reviewer opens the order the aid made, is refused while the reserve fund is empty
(nothing is paid), and, once the county has funded it, records the cash payment against the signed
receipt; the order shows as paid and the fund ledger shows the payment and the balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from minzheng.cases import services as case_services
from minzheng.cases.testing import complete_materials, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.payments import orders
from minzheng.payments.models import CashPayment, OrderStatus, PaymentOrder
from minzheng.registry.testing import make_household
from minzheng.web.tests.test_browser_payments import login

pytestmark = pytest.mark.browser

TOWNSHIP = "640202001000"


@pytest.fixture
def aided(transactional_db: None) -> tuple[PaymentOrder, dict[str, Staff]]:
    build_tree()
    catalogue_load(actor=None)
    staff = {
        "clerk": make_staff("clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("reviewer", TOWNSHIP, [Role.TOWNSHIP_REVIEWER]),
        "admin": make_staff("admin", "640202000000", [Role.COUNTY_ADMIN]),
    }
    household = registered_long_ago(make_household(staff["clerk"], "640202001001", "火灾户", members=1))
    case = case_services.case_intake(
        actor=staff["clerk"],
        item_code="temporary_emergency",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        details={"temporary": {"type": "emergency", "cause": "火灾", "requested_amount": "1000.00"}},
        materials=complete_materials("temporary_emergency"),
    )
    case_services.case_calculate(actor=staff["reviewer"], case_id=case.pk)
    case_services.case_transition(actor=staff["reviewer"], case_id=case.pk, action="aid_first")
    return PaymentOrder.objects.get(case=case), staff


def test_emergency_aid_paid_in_cash_from_the_reserve_fund(
    aided: tuple[PaymentOrder, dict[str, Staff]], live_server: Any, page: Any
) -> None:
    order, staff = aided
    base = live_server.url
    today = timezone.localdate()
    login(page, base, "reviewer")
    page.goto(f"{base}/payments/orders/{order.pk}/")
    assert page.get_by_test_id("order-amount").inner_text() == "1000.00"

    def pay() -> None:
        cash = page.get_by_test_id("order-action-cash")
        cash.locator("input[name=receipt_number]").fill("BYJ-2026-0001")
        cash.locator("input[name=paid_on]").fill(today.isoformat())
        cash.locator("input[name=recipient_name]").fill("火灾户")
        cash.locator("input[name=recipient_signed]").check()
        page.get_by_test_id("order-cash-submit").click()

    pay()  # the reserve fund is empty
    page.wait_for_load_state()
    assert "余额不足" in page.content()
    assert not CashPayment.objects.exists()

    orders.fund_allocate(
        actor=staff["admin"],
        township_code=TOWNSHIP,
        kind="reserve",
        amount=Decimal("5000.00"),
        month=date(today.year, today.month, 1),
        note="备用金拨付",
    )
    page.goto(f"{base}/payments/orders/{order.pk}/")
    pay()
    page.wait_for_selector("[data-testid=order-cash]")
    assert page.get_by_test_id("order-status").get_attribute("data-status") == OrderStatus.CASH_PAID
    assert "BYJ-2026-0001" in page.get_by_test_id("order-cash").inner_text()

    page.goto(f"{base}/payments/funds/")
    ledger = page.content()
    assert "4000.00" in ledger  # the balance after
    assert "1000.00" in ledger  # the payment
