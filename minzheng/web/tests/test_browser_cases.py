"""In a real browser: a dibao application taken in by the village assistant on the resident's behalf
(代办) and carried through investigation, verification, calculation, notice and county confirmation;
and an emergency temporary-assistance case where aid comes first and the paperwork after.

The service clock (`cases.services._today`) is moved with monkeypatch: the live server runs in this
process, so the patch reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from minzheng.cases import services
from minzheng.cases.models import Case
from minzheng.catalogue.services import catalogue_load
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.registry.models import Household, Membership
from minzheng.registry.testing import make_household

pytestmark = pytest.mark.browser


@pytest.fixture
def household(transactional_db: None) -> Household:
    build_tree()
    catalogue_load(actor=None)
    make_staff("assistant", "640202001001", [Role.VILLAGE_ASSISTANT])
    make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    make_staff("reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER])
    make_staff("head", "640202001000", [Role.TOWNSHIP_HEAD])
    make_staff("county_reviewer", "640202000000", [Role.COUNTY_REVIEWER])
    make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])
    creator = make_staff("creator", "640202000000", [Role.TOWNSHIP_REVIEWER])
    household = make_household(creator, "640202001001", "王大山", members=2)
    Membership.objects.filter(household=household).update(start_date=date(2020, 1, 1))
    return household


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)

    return set_today


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def act(page: Any, action: str, note: str = "") -> None:
    form = page.locator(f"[data-testid=action-{action}]")
    if note:
        form.locator("textarea[name=note]").fill(note)
    with page.expect_navigation():  # the action posts and redirects; read the page it lands on
        form.locator("button[type=submit]").click()
    assert page.locator("[data-testid=action-error]").count() == 0, page.inner_text("main")


def open_case(page: Any, base: str, case: Case) -> None:
    page.goto(f"{base}/cases/{case.pk}/")


def record_visit(page: Any) -> None:
    page.click("[data-testid=visit-details] summary")
    form = page.locator("[data-testid=visit-form]")
    form.locator("[name=investigator_1]").fill("张调查")
    form.locator("[name=investigator_2]").fill("李协理")
    form.locator("[name=findings]").fill("家中无固定收入，住房简陋，户主患病")
    form.locator("[name=signed_by_applicant]").check()
    with page.expect_navigation():  # the action posts and redirects; read the page it lands on
        form.locator("button[type=submit]").click()
    assert "张调查、李协理" in page.inner_text("[data-testid=visit]")


def choose_item(page: Any, item: str) -> None:
    # The select submits itself once the static script has attached its handler (on load): choosing
    # before that would change the value and submit nothing.
    page.wait_for_load_state("load")
    page.select_option("#item-select", item)  # submits itself (static script)
    page.locator("[data-testid=intake-form]").wait_for()


def test_dibao_by_proxy_to_county_confirmation(
    household: Household, live_server: Any, page: Any, clock: Callable[[date], None]
) -> None:
    base = live_server.url
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    # The village assistant takes in the application on the resident's behalf, from the household page.
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone
    login(page, base, "assistant")
    page.goto(f"{base}/households/{household.pk}/")
    page.click("[data-testid=household-apply]")
    choose_item(page, "dibao")
    assert page.input_value("#id_channel") == "proxy"
    page.fill("#id_mandate", "户主王大山2026年书面委托，委托书已留存")
    for select in page.locator("[data-testid=materials-checklist] select").all():
        if select.input_value() == "missing":
            select.select_option("provided")
    page.click("[data-testid=intake-submit]")
    page.locator("[data-testid=case-number]").wait_for()
    case = Case.objects.get()
    assert case.channel == "proxy"
    assert page.inner_text("[data-testid=case-state]") == "已受理，待启动调查"
    assert "户主王大山2026年书面委托" in page.inner_text("[data-testid=case-header]")

    # The assistant starts the investigation, visits with a township colleague and asks for the check.
    act(page, "start_investigation")
    record_visit(page)
    act(page, "request_verification")
    assert page.inner_text("[data-testid=case-state]") == "家庭经济状况核对"

    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, base, "county_reviewer")
    open_case(page, base, case)
    act(page, "record_verification", "经核对，未发现不符合条件的收入和财产")

    login(page, base, "reviewer")
    page.click("text=我的待办")
    page.click(f"text={case.number}")
    page.click("[data-testid=calculate]")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=calculation-amount]") == "1300.00"
    assert "最低生活保障标准" in page.inner_text("[data-testid=calculation-parameters]")
    act(page, "propose_approval", "家庭人均收入低于当地低保标准，拟纳入")
    assert page.inner_text("[data-testid=case-state]") == "村（居）公示"
    board = page.context.new_page()
    board.goto(f"{base}/notices/640202001001/")
    assert "王大山" in board.inner_text("[data-testid=notice-table]")
    board.close()

    # The seven-day notice ends without objection.
    after_notice = timezone.localdate() + timedelta(days=8)
    clock(after_notice)
    open_case(page, base, case)
    act(page, "close_notice", "公示期满无异议")
    assert page.inner_text("[data-testid=case-state]") == "县级审核确认"

    login(page, base, "approver")
    page.click("text=我的待办")
    page.click(f"text={case.number}")
    act(page, "approve", "经审核确认，同意纳入最低生活保障")
    assert page.inner_text("[data-testid=case-state]") == "已批准"
    assert page.inner_text("[data-testid=decision-amount]") == "1300.00"
    next_month = (after_notice.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert page.inner_text("[data-testid=decision-start]") == f"{next_month.year}年{next_month.month}月"
    page.click("[data-testid=print-decision]")
    assert "1300.00" in page.inner_text("[data-testid=print-amount]")
    assert page.locator("[data-testid=print-parameters] tbody tr").count() >= 1

    page.goto(f"{base}/time-limits/")
    page.locator("#time-limit-chart canvas").wait_for()
    assert "长胜街道" in page.inner_text("[data-testid=time-limit-table]")
    assert violations == []


def test_emergency_aid_first_and_paperwork_after(household: Household, live_server: Any, page: Any) -> None:
    base = live_server.url
    login(page, base, "clerk")
    page.goto(f"{base}/intake/?household={household.pk}")
    choose_item(page, "temporary_emergency")
    page.select_option("#id_channel", "window")
    assert not page.locator("#id_mandate").is_visible()  # proxy fields only for a proxy application
    page.fill("#id_temp_cause", "夜间突发火灾，住房和生活用品损毁")
    page.fill("#id_temp_requested_amount", "1500")
    for select in page.locator("[data-testid=materials-checklist] select").all():
        if select.input_value() == "missing":
            select.select_option("provided")
    page.click("[data-testid=intake-submit]")
    page.locator("[data-testid=case-number]").wait_for()
    case = Case.objects.get()
    assert case.details["temporary"]["requested_amount"] == "1500.00"
    receipt = page.locator("[data-testid=print-receipt]")
    assert receipt.count() == 1

    login(page, base, "reviewer")
    open_case(page, base, case)
    page.click("[data-testid=calculate]")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=calculation-amount]") == "1500.00"
    assert "乡镇（街道）审批权限内" in page.inner_text("[data-testid=calculation-result]")
    act(page, "aid_first", "火灾急难，先行救助1500元")
    assert page.inner_text("[data-testid=case-state]") == "已先行救助，补齐手续"
    record_visit(page)

    login(page, base, "head")
    open_case(page, base, case)
    act(page, "complete_paperwork", "调查记录已补齐，确认救助")
    assert page.inner_text("[data-testid=case-state]") == "已批准"
    assert page.inner_text("[data-testid=decision-amount]") == "1500.00"
