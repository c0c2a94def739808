"""In a real browser on a phone (390×844, touch): a grid worker reports an event with the phone's
location and a photo; the township verifies, registers and dispatches it; the office handles it
and feeds back; the worker checks on site and it closes. No page scrolls sideways at that width,
and nothing breaks the Content-Security-Policy."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from minzheng.feedback.models import GridCell, GridEvent, GridPhoto
from minzheng.org.models import Office
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def act(page: Any, action: str, note: str = "") -> None:
    form = page.locator("form", has=page.locator(f"[data-testid=grid-action-{action}]"))
    if note:
        form.locator("textarea[name=note]").fill(note)
    with page.expect_navigation():
        form.locator(f"[data-testid=grid-action-{action}]").tap()


def fits(page: Any) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{page.url} scrolls sideways at 390px"


def test_a_grid_event_round_the_loop_on_a_phone(tree: Any, browser: Any, live_server: Any) -> None:
    base = live_server.url
    worker = make_staff("grid_worker", "640202001001", [Role.VILLAGE_ASSISTANT])
    make_staff("grid_head", "640202001000", [Role.TOWNSHIP_HEAD])
    make_staff("grid_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    township = Office.objects.get(division_id="640202001000")
    GridCell.objects.create(
        code="64020200100103",
        name="长胜社区第3网格",
        village_id="640202001001",
        worker=worker,
        min_lat=Decimal("39.010000"),
        max_lat=Decimal("39.020000"),
        min_lng=Decimal("106.370000"),
        max_lng=Decimal("106.380000"),
    )
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 39.0153, "longitude": 106.3757},
        permissions=["geolocation"],
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(m.text) if "Content Security Policy" in m.text or "policy" in m.text else None
        ),
    )
    try:
        # The worker reports from the street: the phone's position, a photo from the camera.
        login(page, base, "grid_worker")
        page.goto(f"{base}/grid/report/")
        fits(page)
        page.select_option("#id_category_code", "100801")
        page.fill("#id_description", "小区路灯损坏多日，夜间老人出行不便")
        page.locator("[data-locate]").tap()
        # (expect polls the field: wait_for_function would evaluate a string, which the CSP forbids)
        expect(page.locator("#id_lat")).to_have_value("39.015300")
        expect(page.locator("#id_lng")).to_have_value("106.375700")
        page.set_input_files("#photos", {"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
        page.locator("[data-testid=grid-report-form] button[type=submit]").tap()
        page.locator("[data-testid=grid-state]").wait_for()
        assert page.inner_text("[data-testid=grid-state]") == "已上报"
        assert "长胜社区第3网格" in page.content()
        fits(page)
        event = GridEvent.objects.get()
        assert GridPhoto.objects.filter(event=event, stage="before").count() == 1
        # The photo is served back from the database: wait for it to load, then check it is the one taken.
        page.wait_for_function(
            "() => { const i = document.querySelector('img.grid-photo'); return i && i.complete; }"
        )
        assert page.evaluate("document.querySelector('img.grid-photo').naturalWidth") == 640
        event_url = page.url

        # The township head verifies, registers and dispatches it to the street office.
        login(page, base, "grid_head")
        page.goto(event_url)
        act(page, "verify")
        assert page.inner_text("[data-testid=grid-state]") == "已核实"
        act(page, "register")
        assert page.inner_text("[data-testid=grid-state]") == "已立案"
        page.select_option("select[name=office_id]", str(township.pk))
        act(page, "dispatch")
        assert page.inner_text("[data-testid=grid-state]") == "已派遣"
        fits(page)

        # The office handles it and feeds back; a feedback without content is refused on the page.
        login(page, base, "grid_clerk")
        page.goto(event_url)
        act(page, "handle", "已联系物业更换路灯")
        assert page.inner_text("[data-testid=grid-state]") == "已处置"
        act(page, "feed_back")
        assert "请填写反馈内容" in page.inner_text("[data-testid=grid-error]")
        act(page, "feed_back", "路灯已更换，夜间照明恢复")
        assert page.inner_text("[data-testid=grid-state]") == "已反馈"

        # The worker checks on site: passed, the event is closed.
        login(page, base, "grid_worker")
        page.goto(event_url)
        page.select_option("select[name=passed]", "1")
        act(page, "check", "现场查看，路灯正常")
        assert page.inner_text("[data-testid=grid-state]") == "已结案"
        fits(page)
        event.refresh_from_db()
        assert (event.state, event.office_id, event.closed_on is not None) == ("closed", township.pk, True)
        page.goto(f"{base}/grid/rates/")
        fits(page)
        assert "长胜社区第3网格" in page.inner_text("[data-testid=grid-rates]")
        assert violations == []
    finally:
        context.close()
