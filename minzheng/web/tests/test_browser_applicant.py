"""In a real browser: an online applicant whose application the window found incomplete looks it up,
sees each step with its due date and the one-time notice, uploads the missing material, and the
window clerk finds it on the case page."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from minzheng.cases import services
from minzheng.cases.models import Case, Document
from minzheng.catalogue.services import catalogue_load
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.registry.testing import resident_id

pytestmark = pytest.mark.browser

ID_NUMBER = resident_id("640202", date(1975, 5, 5))


@pytest.fixture
def case(transactional_db: None) -> Case:
    build_tree()
    catalogue_load(actor=None)
    clerk = make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    case = services.case_submit_online(
        item_code="dibao",
        division_code="640202001001",
        applicant_name="赵网申",
        id_number=ID_NUMBER,
        phone="13900000011",
    )
    services.case_transition(actor=clerk, case_id=case.pk, action="notify_missing", note="请补充")
    case.refresh_from_db()
    return case


def test_applicant_uploads_a_missing_material_and_sees_the_steps(
    case: Case, live_server: Any, page: Any, tmp_path: Path
) -> None:
    base = live_server.url
    page.goto(f"{base}/status/")
    page.fill("#id_number", case.number)
    page.fill("#id_id_number", ID_NUMBER)
    with page.expect_navigation():
        page.click("[data-testid=status-form] button[type=submit]")
    steps = page.inner_text("[data-testid=status-steps]")
    assert "材料不全，已一次性告知" in steps
    assert "已受理，待启动调查" in steps  # a step ahead
    assert "后续环节" in steps
    missing = services.missing_materials(case)[0].requirement.name
    assert missing in page.inner_text("[data-testid=status-missing]")

    scan = tmp_path / "收入证明.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    form = page.locator("[data-testid=status-upload]")
    form.locator("select[name=requirement]").select_option(label=missing)
    form.locator("input[name=file]").set_input_files(str(scan))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "材料已上传，等待窗口核验" in page.inner_text("[data-testid=status-message]")
    assert "收入证明.pdf" in page.inner_text("[data-testid=status-uploads]")
    assert "已网上补交，待窗口核验" in page.inner_text("[data-testid=status-missing]")
    assert "补交的材料已收到" in page.inner_text("[data-testid=status-inbox]")
    assert Document.objects.get().from_applicant

    # The window clerk sees it on the case page.
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "clerk")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/cases/{case.pk}/")
    assert "收入证明.pdf" in page.inner_text("[data-testid=online-uploads]")
