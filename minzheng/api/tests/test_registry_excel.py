"""Household Excel endpoints: template, imports (201/202/422), job status in scope, error report, export."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from minzheng.core import protect
from minzheng.core.audit import verify_chain
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry import excel
from minzheng.registry.models import Household, Person
from minzheng.registry.testing import import_row, import_workbook, make_household, resident_id

V1 = "640202001001"


def xlsx(rows: list[list[Any]]) -> bytes:
    return import_workbook(rows)


def row(group: str, name: str, relationship: str, id_number: str | None = None) -> list[Any]:
    return import_row(group, V1, name, id_number or resident_id(), relationship, address=f"长胜社区{group}号")


def upload(client: Client, content: bytes, mode: str = "all_or_nothing") -> Any:
    return client.post(
        "/api/v1/households/imports", {"file": SimpleUploadedFile("名单.xlsx", content), "mode": mode}
    )


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))


def test_template_download(village_assistant: Staff) -> None:
    response = logged_in(village_assistant).get("/api/v1/households/import-template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert sheet_rows(response.content)[0] == excel.HEADERS


def test_small_import_answers_201_with_the_job(village_assistant: Staff) -> None:
    response = upload(logged_in(village_assistant), xlsx([row("1", "甲", "户主"), row("1", "乙", "配偶")]))
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "done"
    assert (job["households_imported"], job["persons_imported"], job["error_count"]) == (1, 2, 0)
    assert job["errors"] == []
    assert job["error_report_url"] is None
    assert Household.objects.get().number == f"{V1}000001"
    assert verify_chain().ok


def test_rejected_import_answers_422_row_by_row_and_the_job_keeps_the_report(
    village_assistant: Staff,
) -> None:
    client = logged_in(village_assistant)
    response = upload(client, xlsx([row("1", "甲", "户主"), row("1", "乙", "配偶", "110105194912310021")]))
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"code", "message", "field_errors"}
    assert body["code"] == "import_rejected"
    assert "未导入任何数据" in body["message"]
    assert list(body["field_errors"]) == ["第3行.身份证号"]
    job_id = int(body["message"].split("导入任务 ")[1].split("，")[0])
    job = client.get(f"/api/v1/households/imports/{job_id}").json()
    assert job["status"] == "failed"
    assert job["errors"] == [{"row": 3, "column": "身份证号", "message": job["errors"][0]["message"]}]
    report = client.get(job["error_report_url"])
    assert report.status_code == 200
    assert sheet_rows(report.content)[2][8].startswith("身份证号：")
    assert Person.objects.count() == 0


def test_valid_rows_only_answers_201_with_errors(village_assistant: Staff) -> None:
    content = xlsx([row("1", "甲", "户主"), row("2", "乙", "户主"), row("2", "丙", "户主")])
    response = upload(logged_in(village_assistant), content, mode="valid_rows_only")
    assert response.status_code == 201
    job = response.json()
    assert (job["households_imported"], job["error_count"]) == (1, 2)
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "与户主关系"), (4, "与户主关系")]
    assert job["error_report_url"].endswith(f"/imports/{job['id']}/errors.xlsx")


def test_large_import_is_queued_with_202(village_assistant: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "BACKGROUND_ROWS", 2)
    client = logged_in(village_assistant)
    response = upload(client, xlsx([row(str(i), f"人{i}", "户主") for i in range(4)]))
    assert response.status_code == 202
    # The immediate backend of the test settings has run it; a worker would report progress here.
    job = client.get(f"/api/v1/households/imports/{response.json()['id']}").json()
    assert (job["status"], job["processed_rows"], job["total_rows"], job["households_imported"]) == (
        "done",
        4,
        4,
        4,
    )


def test_bad_files_and_modes_are_422(village_assistant: Staff) -> None:
    client = logged_in(village_assistant)
    response = upload(client, "姓名,身份证号\n张三,1\n".encode())
    assert response.status_code == 422
    assert "不是Excel工作簿" in response.json()["message"]
    response = upload(client, xlsx([row("1", "甲", "户主")]), mode="whatever")
    assert response.status_code == 422
    assert response.json()["field_errors"] == {"mode": ["导入方式应为 all_or_nothing 或 valid_rows_only"]}
    assert client.post("/api/v1/households/imports", {"mode": "all_or_nothing"}).status_code == 422


def test_import_needs_the_change_permission(county_admin: Staff) -> None:
    response = upload(logged_in(county_admin), xlsx([row("1", "甲", "户主")]))
    assert response.status_code == 403


def test_import_job_of_another_county_is_404(village_assistant: Staff, tree: dict[str, Division]) -> None:
    response = upload(logged_in(village_assistant), xlsx([row("1", "甲", "户主")]))
    job_id = response.json()["id"]
    huinong = make_staff("huinong_clerk", "640205001000", [Role.TOWNSHIP_CLERK])
    client = logged_in(huinong)
    for url in (f"/api/v1/households/imports/{job_id}", f"/api/v1/households/imports/{job_id}/errors.xlsx"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert client.get("/api/v1/households/imports").json() == []
    county = make_staff("dwk_reviewer", "640202000000", [Role.TOWNSHIP_REVIEWER])
    assert logged_in(county).get(f"/api/v1/households/imports/{job_id}").status_code == 200


def test_export_masks_ids_and_follows_the_search(township_clerk: Staff) -> None:
    first = make_household(township_clerk, V1, "导出甲")
    make_household(township_clerk, "640202001002", "导出乙")
    client = logged_in(township_clerk)
    response = client.get("/api/v1/households/export.xlsx", {"search": "导出甲"})
    assert response.status_code == 200
    rows = sheet_rows(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert rows[0] == excel.HEADERS
    assert [r[5] for r in rows[1:]] == ["导出甲", "导出甲家1"]
    full = protect.decrypt(first.head.id_encrypted)  # type: ignore[union-attr]
    assert rows[1][6] == f"{full[:6]}********{full[-4:]}"


def test_export_needs_the_export_permission(village_assistant: Staff) -> None:
    assert logged_in(village_assistant).get("/api/v1/households/export.xlsx").status_code == 403
