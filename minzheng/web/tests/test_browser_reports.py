"""In a real browser: a city supervisor's dashboard shows the city's counties side by side with a
ranking and charts; a figure drills down to the list it counts, as long as the figure."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.payments.months import first_of_month
from minzheng.reports import services
from minzheng.reports.tests.conftest import make_ticket
from minzheng.web.tests.test_browser_payments import login

pytestmark = pytest.mark.browser


@pytest.fixture
def counted(transactional_db: None) -> Staff:
    build_tree()
    month = first_of_month(timezone.localdate())
    for number, village in (("B-1", "640202001001"), ("B-2", "640202100201"), ("B-3", "640205001001")):
        make_ticket(number, village)
    for county in ("640202", "640205"):
        admin = make_staff(f"admin{county}", f"{county}000000", [Role.COUNTY_ADMIN])
        services.period_recompute(actor=admin, county=county, month=month)
    return make_staff("city", "640200000000", [Role.SUPERVISOR])


def test_city_supervisor_compares_counties_and_drills_down(
    counted: Staff, live_server: Any, page: Any
) -> None:
    base = live_server.url
    login(page, base, "city")
    page.click("text=统计报表")
    page.wait_for_url("**/reports/")
    table = page.get_by_test_id("dashboard-table")
    assert "大武口区" in table.inner_text()
    assert "惠农区" in table.inner_text()
    assert "兴庆区" not in table.inner_text()  # another city's county
    page.locator("[data-testid=side-by-side-chart][data-ready='1']").wait_for()
    # Ranked by tickets received: 大武口区 (2) before 惠农区 (1).
    page.select_option("#rank_by", "tickets_received")
    page.get_by_test_id("dashboard-filter").locator("button[type=submit]").click()
    page.wait_for_load_state()
    rows = page.locator("[data-testid=dashboard-table] tbody tr")
    assert rows.nth(0).get_attribute("data-testid") == "column-640202000000"
    assert rows.nth(0).locator("td").first.inner_text() == "1"
    figure = page.get_by_test_id("figure-640202000000-tickets_received")
    assert figure.inner_text() == "2"
    figure.click()
    page.wait_for_url("**/reports/members/**")
    assert page.get_by_test_id("members-figure").inner_text() == "2"
    assert page.get_by_test_id("members-count").inner_text() == "2"
    assert page.locator("[data-testid=member-row]").count() == 2
    listed = page.get_by_test_id("members-table").inner_text()
    assert "B-1" in listed
    assert "B-2" in listed
    assert "B-3" not in listed
