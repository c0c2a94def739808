"""No row dropped silently: rows are counted by reading them, not from the sheet's <dimension>;
no cell the system writes back can run as a formula."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook

from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.registry import excel
from minzheng.registry.models import Household, ImportJob, ImportMode, ImportStatus
from minzheng.registry.tasks import import_submit
from minzheng.registry.testing import import_row, import_workbook, resident_id
from minzheng.registry.xlsx import StreamingWorkbook

pytestmark = pytest.mark.django_db
V1 = "640202001001"


def _households(n: int) -> list[list[Any]]:
    return [import_row(str(i), V1, f"户主{i}", resident_id(), "户主") for i in range(1, n + 1)]


def _with_dimension(content: bytes, ref: str | None) -> bytes:
    """The workbook with its data sheet's <dimension> replaced (None: removed), as other tools leave it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                assert "<dimension " in text
                text = re.sub(
                    r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>' if ref else "", text
                )
                data = text.encode()
            dst.writestr(item, data)
    return out.getvalue()


def _run(actor: Staff, content: bytes, mode: str = ImportMode.ALL_OR_NOTHING) -> ImportJob:
    job, _ = import_submit(actor=actor, file_name="他处生成.xlsx", content=content, mode=mode)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("ref", ["A1", "A1:H2", None])
def test_stale_or_missing_dimension_imports_every_row_and_says_so(
    township_clerk: Staff, ref: str | None
) -> None:
    content = _with_dimension(import_workbook(_households(300)), ref)
    job = _run(township_clerk, content)
    assert job.status == ImportStatus.DONE, job.message
    assert job.households_imported == 300
    assert Household.objects.count() == 300
    assert job.total_rows == job.processed_rows == 300
    audit = AuditEvent.objects.get(action="household.import").after or {}
    assert audit["last_row"] == 301
    if ref is None:
        assert audit["declared_last_row"] is None
        assert "声明" not in job.message
    else:
        assert audit["declared_last_row"] in (1, 2)
        assert "实际数据到第301行" in job.message


def test_a_true_dimension_is_not_reported(township_clerk: Staff) -> None:
    job = _run(township_clerk, import_workbook(_households(3)))
    assert job.status == ImportStatus.DONE
    assert job.message == "已导入3户、3人。"


def test_a_large_sheet_goes_to_the_background_whatever_its_dimension(township_clerk: Staff) -> None:
    content = _with_dimension(import_workbook(_households(10)), "A1")
    assert excel.estimate_rows(content) == 0
    big = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"</worksheet>", b"<!--" + b" " * excel.BACKGROUND_SHEET_BYTES + b"--></worksheet>"
                )
            dst.writestr(item, data)
    assert excel.estimate_rows(big.getvalue()) is None  # not believed: read in the background


def test_error_workbook_never_writes_a_formula(township_clerk: Staff) -> None:
    rows = _households(2)
    rows[0][2] = "-见附件"  # 住址 (a text "=..." cell cannot be made with openpyxl: it writes a formula)
    rows[1][2] = "+1+2"  # 住址
    rows[1][6] = "@123"  # 身份证号: wrong, so the file is refused and every row comes back in the report
    job = _run(township_clerk, import_workbook(rows))
    assert job.status == ImportStatus.FAILED
    ws = load_workbook(io.BytesIO(excel._unseal(job.error_workbook))).worksheets[0]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells)
    values = {c.value for c in cells}
    assert {"'-见附件", "'+1+2", "'@123"} <= values
    assert not any(v.startswith(("=", "+", "-", "@")) for v in values)


def test_streaming_export_neutralises_formula_text() -> None:
    out = io.BytesIO()
    with StreamingWorkbook(out) as book:
        sheet = book.sheet("导出", [10, 10, 10])
        sheet.append(["=1+1", "-2", 3, "@SUM(A1)", "\tx", "正常"])
    ws = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    assert [c.value for c in ws[1]][:3] == ["'=1+1", "'-2", 3]
    assert all(c.data_type in ("s", "n") for c in ws[1])
