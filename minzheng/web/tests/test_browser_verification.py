"""In a real browser: a county reviewer opens a dibao case whose members have all signed their
authorisations, asks every department at once (提请核对), and watches the departments' states on the
request page — the vehicle office refuses, the others are waiting (a request in progress, also in
the county's list) — until the department simulator, a real process, calls back with the answers;
the bank's result file is fetched; the page then shows the findings, a discrepancy against the declaration highlighted, and the
reviewer disposes of it.

The site's callback address is the one the browser reached it on (no MINZHENG_EXCHANGE_CALLBACK_BASE).
With SQLite the live server's threads share one connection: while the answers arrive, the page's
polling requests are held back in the browser, and the test waits on the simulator's state, never
on the database; then the polling is let through and picks the answers up.
"""

from __future__ import annotations

from typing import Any

import pytest

from minzheng.cases.models import Case
from minzheng.catalogue.services import catalogue_load
from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.verification.models import Disposition, Finding, VerificationRequest
from minzheng.verification.tests.test_pages import ANSWERING, collect_bank, delivered
from minzheng.verification.tests.test_verification import dibao_case, sign_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLLED = "**/verification/*/"


@pytest.fixture
def signed_case(transactional_db: None) -> Case:
    build_tree()
    catalogue_load(actor=None)
    staff = {
        "clerk": make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county": make_staff("county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
    }
    case, household = dibao_case(staff)
    sign_all(staff, case, household)
    return case


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_county_reviewer_watches_a_request_until_the_answers_arrive(
    signed_case: Case, department_simulator: DepartmentSimulator, live_server: Any, page: Any
) -> None:
    base = live_server.url
    department_simulator.fault("vehicles", "refuse")
    for i, code in enumerate(ANSWERING):  # the first answer after the pages below are read
        department_simulator.configure(code, delay_seconds=6.0 + 0.5 * i)

    def hold_polling(route: Any) -> None:
        if route.request.headers.get("hx-request"):
            route.abort()
        else:
            route.continue_()

    page.route(POLLED, hold_polling)
    login(page, base, "county_reviewer")
    page.goto(f"{base}/cases/{signed_case.pk}/")
    assert "核对授权已齐全" in page.inner_text("[data-testid=verification-panel]")
    page.click("[data-testid=verification-link]")
    assert page.locator("[data-signed=no]").count() == 0
    page.click("[data-testid=send-request]")
    page.wait_for_selector("[data-testid=queries][data-status=open]")
    assert "已提请家庭经济状况核对" in page.content()
    request_url = page.url

    # A request in progress: the vehicle office refused, the others acknowledged and are waiting.
    assert "拒绝" in page.inner_text("[data-testid=query-vehicles]")
    for code in ANSWERING:
        row = page.locator(f"[data-testid=query-{code}]")
        assert row.get_attribute("data-state") == "acknowledged"
        assert "待反馈" in row.inner_text()
    assert page.locator("#findings").inner_text().count("等待各部门反馈") == 1

    # The county's list of requests in progress shows it with its departments' states.
    page.click("[data-testid=main-menu] >> text=家庭经济状况核对")
    listing = page.inner_text("[data-testid=requests]")
    assert signed_case.number in listing
    assert "待反馈" in listing
    page.goto(request_url)
    page.wait_for_selector("[data-testid=queries][data-status=open]")

    # The departments answer one after another (the page's polling held back meanwhile).
    wait_for(delivered(department_simulator, len(ANSWERING)), timeout=60)
    collect_bank(VerificationRequest.objects.get(case=signed_case))  # the bank's result file
    page.unroute(POLLED)
    page.wait_for_selector("[data-testid=queries][data-status=answered]", timeout=20_000)
    page.wait_for_selector("[data-testid=finding-wage_income]")
    for code in ANSWERING:
        assert "已反馈" in page.inner_text(f"[data-testid=query-{code}]")
    wage_row = page.locator("[data-testid=finding-wage_income]").first
    assert wage_row.get_attribute("data-discrepancy") == "yes"
    assert "与申报不符" in wage_row.inner_text()
    assert "工资性收入（月均）" in wage_row.inner_text()

    # The reviewer explains the wage (a job that has ended).
    request = VerificationRequest.objects.get(case=signed_case)
    wage = Finding.objects.get(request=request, item="wage_income")
    form = page.locator(f"[data-testid=dispose-{wage.pk}]")
    form.locator("input[value=explained]").check()
    form.locator("input[name=note]").fill("已于上月解除劳动合同")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已处理核对结果")
    assert "已核实说明（不采信）" in page.inner_text(f"#finding-{wage.pk}")
    wage.refresh_from_db()
    assert (wage.disposition, wage.disposition_note) == (Disposition.EXPLAINED, "已于上月解除劳动合同")
