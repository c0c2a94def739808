from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.registry import excel
from minzheng.registry.models import Household, ImportJob, ImportStatus
from minzheng.registry.testing import import_row, import_workbook, make_household, resident_id

V1 = "640202001001"


def xlsx(rows: list[list[Any]]) -> bytes:
    return import_workbook(rows)


def row(group: str, name: str, relationship: str, id_number: str | None = None) -> list[Any]:
    return import_row(group, V1, name, id_number or resident_id(), relationship, address=f"长胜社区{group}号")


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_household_list_shows_the_excel_buttons_by_permission(
    township_clerk: Staff, village_assistant: Staff, county_admin: Staff
) -> None:
    url = reverse("web:households")
    clerk = logged_in(township_clerk).get(url).content.decode()
    assert "导入" in clerk
    assert "下载模板" in clerk
    assert "导出Excel" in clerk
    assistant = logged_in(village_assistant).get(url).content.decode()
    assert 'data-testid="household-import"' in assistant
    assert "导出Excel" not in assistant
    admin = logged_in(county_admin).get(url).content.decode()
    assert 'data-testid="household-import"' not in admin
    assert "导出Excel" in admin


def test_upload_imports_and_shows_the_finished_job(village_assistant: Staff) -> None:
    client = logged_in(village_assistant)
    assert "上传并导入" in client.get(reverse("web:household_import")).content.decode()
    content = xlsx([row("1", "甲", "户主"), row("1", "乙", "配偶")])
    response = client.post(
        reverse("web:household_import"),
        {"file": SimpleUploadedFile("名单.xlsx", content), "mode": "all_or_nothing"},
    )
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("web:household_import_job", kwargs={"job_id": job.pk})
    page = client.get(response["Location"]).content.decode()
    assert "已完成" in page
    assert "1 户、2 人" in page
    assert 'hx-trigger="every 2s"' not in page  # finished: no more polling
    assert Household.objects.count() == 1
    assert "名单.xlsx" in client.get(reverse("web:household_import")).content.decode()


def test_rejected_upload_shows_errors_by_row_and_offers_the_error_report(village_assistant: Staff) -> None:
    client = logged_in(village_assistant)
    content = xlsx([row("1", "甲", "户主"), row("1", "乙", "表叔")])
    response = client.post(
        reverse("web:household_import"),
        {"file": SimpleUploadedFile("名单.xlsx", content), "mode": "all_or_nothing"},
    )
    page = client.get(response["Location"]).content.decode()
    assert "未导入任何数据" in page
    assert "<td>3</td><td>与户主关系</td>" in page
    job = ImportJob.objects.get()
    report = client.get(reverse("web:household_import_errors", kwargs={"job_id": job.pk}))
    assert report.status_code == 200
    rows = list(load_workbook(io.BytesIO(report.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][8] == "错误"
    assert "与户主关系" in rows[2][8]
    assert Household.objects.count() == 0


def test_a_running_job_is_polled_every_two_seconds(village_assistant: Staff) -> None:
    job = ImportJob.objects.create(
        uploaded_by=village_assistant,
        division_id=V1,
        file_name="大文件.xlsx",
        status=ImportStatus.RUNNING,
        total_rows=10_000,
        processed_rows=2_500,
    )
    url = reverse("web:household_import_job", kwargs={"job_id": job.pk})
    partial = logged_in(village_assistant).get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in partial
    assert 'value="25"' in partial
    assert "<html" not in partial


def test_non_xlsx_upload_is_reported(village_assistant: Staff) -> None:
    client = logged_in(village_assistant)
    response = client.post(
        reverse("web:household_import"),
        {"file": SimpleUploadedFile("名单.csv", "家庭序号,姓名\n".encode()), "mode": "all_or_nothing"},
    )
    assert "不是Excel工作簿" in client.get(response["Location"]).content.decode()


def test_template_and_export_downloads(township_clerk: Staff) -> None:
    make_household(township_clerk, V1, "网页导出")
    client = logged_in(township_clerk)
    template = client.get(reverse("web:household_import_template"))
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.content)).sheetnames[0] == excel.DATA_SHEET
    export = client.get(reverse("web:household_export"), {"q": "网页导出"})
    assert export.status_code == 200
    content = b"".join(export.streaming_content)  # type: ignore[attr-defined]
    rows = list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))
    assert [r[5] for r in rows[1:]] == ["网页导出", "网页导出家1"]
    assert all("********" in r[6] for r in rows[1:])


def test_import_page_needs_the_change_permission(county_admin: Staff) -> None:
    assert logged_in(county_admin).get(reverse("web:household_import")).status_code == 403


@pytest.mark.browser
def test_in_a_browser_upload_then_watch_a_running_job_finish(
    transactional_db: None, live_server: Any, page: Any
) -> None:
    build_tree()
    assistant = make_staff("assistant", V1, [Role.VILLAGE_ASSISTANT])
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "assistant")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{reverse('web:households')}")
    page.click("[data-testid=household-import]")
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "名单.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": xlsx([row("1", "浏览器户主", "户主"), row("1", "浏览器配偶", "表叔")]),
            }
        ],
    )
    page.check("input[value=all_or_nothing]")
    page.click("text=上传并导入")
    page.wait_for_selector("[data-testid=import-errors]")
    assert "与户主关系" in page.inner_text("[data-testid=import-errors]")
    assert page.get_attribute("[data-testid=import-job]", "data-status") == "failed"

    running = ImportJob.objects.create(
        uploaded_by=assistant,
        division_id=V1,
        file_name="大文件.xlsx",
        status=ImportStatus.RUNNING,
        total_rows=10,
    )
    page.goto(f"{live_server.url}{reverse('web:household_import_job', kwargs={'job_id': running.pk})}")
    assert page.get_attribute("[data-testid=import-job]", "data-status") == "running"
    ImportJob.objects.filter(pk=running.pk).update(
        status=ImportStatus.DONE, processed_rows=10, households_imported=4, persons_imported=10
    )
    page.wait_for_selector("[data-testid=import-job][data-status=done]", timeout=10_000)
    assert "4 户、10 人" in page.inner_text("[data-testid=imported]")
