"""In a real browser: the county imports the medical-insurance department's file on the feeds page;
a resident above the threshold becomes a warning of the township; the township reviewer signs for
it, records the two-worker visit and verifies it; the window clerk disposes of it as an application,
which appears pre-filled with channel 主动发现 and linked to the warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from minzheng.cases.models import Case, Channel
from minzheng.catalogue.services import catalogue_load
from minzheng.core import protect
from minzheng.monitoring.models import Warning
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household
from minzheng.web.tests.test_browser_payments import login

pytestmark = pytest.mark.browser


@pytest.fixture
def found(transactional_db: None) -> tuple[Household, dict[str, Staff]]:
    build_tree()
    catalogue_load(actor=None)
    staff = {
        "county": make_staff("county", "640202000000", [Role.COUNTY_REVIEWER]),
        "reviewer": make_staff("reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "clerk": make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
    }
    return make_household(staff["clerk"], "640202001001", "浏览器发现户", members=2), staff


def test_from_a_feed_import_to_a_pre_filled_application(
    found: tuple[Household, dict[str, Staff]], live_server: Any, page: Any, tmp_path: Path
) -> None:
    household, _ = found
    head = household.head
    assert head is not None
    base = live_server.url
    feed = tmp_path / "医保11月.csv"
    feed.write_text(
        f"身份证号,姓名,日期,金额,说明\n{protect.decrypt(head.id_encrypted)},{head.name},2026-11-08,23800.00,住院自付\n",
        encoding="utf-8",
    )
    login(page, base, "county")
    page.goto(f"{base}/monitoring/feeds/")
    form = page.get_by_test_id("feed-form")
    form.locator("input[name=department]").fill("区医疗保障局")
    form.locator("select[name=event_type]").select_option("medical_self_pay")
    form.locator("input[name=period]").fill("2026-11")
    form.locator("input[name=file]").set_input_files(str(feed))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "匹配到人员 1" in page.get_by_test_id("feed-figures").inner_text()
    warning = Warning.objects.get(person=head)

    login(page, base, "reviewer")
    page.goto(f"{base}/monitoring/")
    page.get_by_test_id(f"warning-{warning.pk}").locator("a").click()
    page.get_by_test_id("accept").click()
    page.wait_for_load_state()
    visit = page.get_by_test_id("visit-form")
    visit.locator("input[name=visited_on]").fill(timezone.localdate().isoformat())
    visit.locator("input[name=workers]").fill("王审核、马协理")
    visit.locator("textarea[name=findings]").fill("户主住院，家庭收入骤减")
    visit.locator("button[type=submit]").click()
    page.wait_for_load_state()
    verify = page.get_by_test_id("verify-form")
    verify.locator("input[name=true][value='1']").check()
    verify.locator("input[name=note]").fill("属实")
    verify.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("warning-state").get_attribute("data-state") == "verified_true"

    login(page, base, "clerk")
    page.goto(f"{base}/monitoring/warnings/{warning.pk}/")
    dispose = page.get_by_test_id("dispose-form")
    dispose.locator("select[name=outcome]").select_option("application")
    dispose.locator("select[name=item_code]").select_option("dibao")
    dispose.locator("input[name=reason]").fill("引导申请低保")
    dispose.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.get_by_test_id("warning-case").click()
    page.wait_for_load_state()
    case = Case.objects.get(details__warning=warning.pk)
    assert case.channel == Channel.DISCOVERY
    assert case.number in page.content()
