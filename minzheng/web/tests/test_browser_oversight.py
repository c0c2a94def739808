"""In a real browser: a city supervisor drills from the city's counties side by side down to a
township and one of its villages, sees what is short in red, and cannot step outside the city."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.oversight import services

pytestmark = pytest.mark.browser

COUNTY = "640202000000"
TOWNSHIP = "640202001000"
VILLAGE = "640202001001"


@pytest.fixture
def city(transactional_db: None) -> None:
    build_tree()
    services.normsets_load(actor=None)
    services.county_norm_choose(
        actor=None,
        county_code=COUNTY,
        norm_set_code="xinzheng_2017",
        valid_from=date(2020, 1, 1),
        reason="测试",
    )
    year = timezone.localdate().year
    services.population_record(
        actor=None, division_code=TOWNSHIP, year=year, resident_population=31000, source="统计年鉴"
    )
    services.population_record(
        actor=None, division_code=VILLAGE, year=year, resident_population=2400, source="统计年鉴"
    )
    worker = services.worker_create(actor=None, division_code=VILLAGE, full_name="刘玉兰")
    services.assignment_create(
        actor=None,
        worker_id=worker.pk,
        division_code=VILLAGE,
        post="village_assistant",
        start_on=date(2020, 1, 1),
        monthly_allowance="500",
    )
    make_staff("city_supervisor", "640200000000", [Role.SUPERVISOR])


def test_a_city_supervisor_drills_from_the_city_to_a_village(city: None, live_server: Any, page: Any) -> None:
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "city_supervisor")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("text=基层能力建设")
    page.wait_for_url(f"{base}/oversight/")
    counties = page.locator("[data-testid=counties]")
    expect(counties.locator(f"[data-testid=county-{COUNTY}]")).to_contain_text("新郑2017")
    expect(counties.locator("[data-testid=county-640205000000]")).to_contain_text("惠农区")
    assert "兴庆区" not in counties.inner_text()  # 银川市 is another city

    counties.locator(f"[data-testid=county-{COUNTY}] a").click()
    page.wait_for_url(f"{base}/oversight/d/{COUNTY}/")
    expect(page.locator("[data-testid=norm-set]")).to_have_text("新郑2017")
    row = page.locator(f"[data-testid=township-{TOWNSHIP}]")
    staff = row.locator("[data-metric=township_staff]")
    expect(staff).to_have_attribute("data-short", "1")  # 0 of the 4 required at 31,000 people
    expect(staff).to_contain_text("0 / 4")
    assert "table-danger" in (staff.get_attribute("class") or "")

    row.locator("a").first.click()
    page.wait_for_url(f"{base}/oversight/d/{TOWNSHIP}/")
    expect(page.locator("[data-testid=oversight-breadcrumbs]")).to_contain_text("大武口区")
    village = page.locator(f"[data-testid=village-{VILLAGE}]")
    expect(village.locator("[data-metric=village_assistants]")).to_have_attribute("data-short", "0")
    expect(village.locator("[data-metric=village_allowance]")).to_contain_text("500 / 500")
    expect(
        page.locator("[data-testid=village-640202001002] [data-metric=village_assistants]")
    ).to_have_attribute("data-short", "1")

    village.locator("a").first.click()
    page.wait_for_url(f"{base}/oversight/d/{VILLAGE}/")
    crumbs = page.locator("[data-testid=oversight-breadcrumbs]")
    for name in ("石嘴山市", "大武口区", "长胜街道", "长胜社区"):
        expect(crumbs).to_contain_text(name)
    page.click("[data-testid=office-link]")
    page.wait_for_url(f"{base}/oversight/d/{VILLAGE}/office/")
    expect(page.locator("[data-testid=workers]")).to_contain_text("刘玉兰")
    assert page.locator("[data-testid=worker-form]").count() == 0  # a supervisor reads, the offices record

    # Up the breadcrumbs to the city again; another city's village is not found.
    page.goto(f"{base}/oversight/d/{VILLAGE}/")
    page.locator("[data-testid=oversight-breadcrumbs] a", has_text="石嘴山市").click()
    page.wait_for_url(f"{base}/oversight/d/640200000000/")
    expect(page.locator("[data-testid=counties]")).to_be_visible()
    response = page.goto(f"{base}/oversight/d/640104001001/")
    assert response is not None
    assert response.status == 404
