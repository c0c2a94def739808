"""In a real browser: a village assistant and a county approver log in and see their own
jurisdiction and menus, and nothing of the neighbouring village."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.registry.testing import make_household

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db: None) -> None:
    build_tree()
    creator = make_staff("creator", "640000000000", [Role.TOWNSHIP_REVIEWER])
    make_household(creator, "640202001001", "本村户主")
    make_household(creator, "640202001002", "邻村户主")
    make_household(creator, "640205001001", "外区户主")
    make_staff("assistant", "640202001001", [Role.VILLAGE_ASSISTANT])
    make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _menu(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=main-menu] .nav-link").all_inner_texts()]


def test_village_assistant_sees_their_village_only(people: None, live_server: Any, page: Any) -> None:
    _login(page, live_server.url, "assistant")
    assert page.inner_text("[data-testid=office]") == "长胜社区民政工作站"
    assert "640202001001" in page.inner_text("[data-testid=jurisdiction]")
    assert _menu(page) == [
        *("首页", "家庭档案", "人员查询", "我的待办", "受理申请", "全部申请", "超期预警", "探访照料"),
        *("应保尽保", "监测预警", "群众诉求", "服务评价", "网格事件"),
        *("行政区划", "工作人员", "标准参数"),
    ]
    page.click("text=家庭档案")
    table = page.inner_text("[data-testid=household-table]")
    assert "本村户主" in table
    assert "邻村户主" not in table
    assert "外区户主" not in table
    assert page.inner_text("[data-testid=total-count]") == "共 1 条"
    # Registering a household is offered to the assistant; the form lists only their village.
    page.click("text=登记家庭")
    page.wait_for_url("**/households/new/")
    options = page.locator("#id_division_code option")
    expect(options).to_have_count(1)  # waits for the form, not for whatever page was there before
    assert "长胜社区" in options.inner_text()


def test_county_approver_sees_the_county(people: None, live_server: Any, page: Any) -> None:
    _login(page, live_server.url, "approver")
    assert page.inner_text("[data-testid=office]") == "大武口区民政局"
    assert "县级审批人" in page.inner_text("[data-testid=roles]")
    assert _menu(page) == [
        *("首页", "家庭档案", "人员查询", "我的待办", "全部申请", "超期预警", "探访照料"),
        *("应保尽保", "监测预警", "群众诉求", "服务评价", "网格事件"),
        *("在保对象", "发放批次", "基层能力建设"),
        *("统计报表",),
        *("规划指标",),
        *("行政区划", "工作人员", "标准参数", "政策测算"),
    ]
    page.click("text=家庭档案")
    table = page.inner_text("[data-testid=household-table]")
    assert "本村户主" in table
    assert "邻村户主" in table
    assert "外区户主" not in table
    assert page.locator("text=登记家庭").count() == 0  # approvers do not register households
    page.click("text=行政区划")
    divisions = page.inner_text("[data-testid=division-table]")
    assert "长胜街道" in divisions
    assert "星海镇" in divisions
    assert "育才路街道" not in divisions


def test_phone_sized_screen_has_a_working_menu(people: None, live_server: Any, page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server.url, "assistant")
    assert not page.locator("[data-testid=main-menu]").is_visible()
    page.click(".navbar-toggler")
    page.locator("[data-testid=main-menu]").wait_for(state="visible")
    page.click("text=家庭档案")
    assert "本村户主" in page.inner_text("[data-testid=household-table]")
