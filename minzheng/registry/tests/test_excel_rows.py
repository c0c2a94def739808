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
from minzheng.registry import excel, excel_rows
from minzheng.registry.models import Household, ImportJob, ImportMode, ImportStatus
from minzheng.registry.services import MemberInput, household_create
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


def make_household_with(actor: Staff, id_number: str) -> None:
    household_create(
        actor=actor,
        division_code=V1,
        address="抢先登记",
        area="urban",
        members=[MemberInput(name="抢先", id_number=id_number, relationship="head")],
    )


# --- Streaming: rows read, checked and written in chunks, one transaction --------------------------


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 7 rows, so that a file of a few dozen rows spans many of them."""
    monkeypatch.setattr(excel_rows, "CHUNK_ROWS", 7)
    monkeypatch.setattr(excel, "BACKGROUND_ROWS", 10)  # and it runs as a background job
    return 7


def _spread(n: int) -> list[list[Any]]:
    """n one-person households, and household "A" whose head is in the first chunk and whose
    spouse is in the last, with its address given only on the spouse's row."""
    rows = _households(n)
    rows.insert(0, import_row("A", V1, "甲户主", resident_id(), "户主", address=""))
    rows.append(import_row("A", "", "甲配偶", resident_id(male=False), "配偶", address="甲户住址", area=""))
    return rows


def test_a_stale_dimension_over_many_chunks_imports_every_row(
    township_clerk: Staff, small_chunks: int
) -> None:
    rows = _spread(60)
    job = _run(township_clerk, _with_dimension(import_workbook(rows), "A1:H3"))
    assert job.status == ImportStatus.DONE, (job.message, job.errors)
    assert (job.households_imported, job.persons_imported) == (61, 62)
    assert job.total_rows == job.processed_rows == 62
    assert "实际数据到第63行" in job.message
    assert Household.objects.count() == 61
    spread = Household.objects.get(head__name="甲户主")
    assert spread.address == "甲户住址"  # given on its last row, in another chunk than its first
    assert set(spread.memberships.values_list("person__name", flat=True)) == {"甲户主", "甲配偶"}
    assert spread.number == f"{V1}000001"  # numbered in the order of the households' first rows
    assert not Household.objects.filter(head__isnull=True).exists()


def test_a_bad_row_in_the_last_chunk_leaves_nothing_written(township_clerk: Staff, small_chunks: int) -> None:
    rows = _spread(60)
    rows[-3][6] = "640202198005170000"  # a wrong check character, 60 rows after the first chunk
    job = _run(township_clerk, import_workbook(rows))
    assert job.status == ImportStatus.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(len(rows) - 1, excel.ID_NUMBER)]
    assert Household.objects.count() == 0
    ws = load_workbook(io.BytesIO(excel._unseal(job.error_workbook))).worksheets[0]
    report = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(report) == len(rows)  # every row back, the bad one marked
    assert [r[-1] for r in report if r[-2]] == [len(rows) - 1]


def test_a_failure_while_writing_a_late_chunk_rolls_back_the_earlier_ones(
    township_clerk: Staff, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _spread(60)
    late = str(rows[-5][6])
    # Someone registers a person of a late chunk after the check (the check saw nobody registered).
    monkeypatch.setattr(excel_rows, "_registered", lambda digests: {})
    make_household_with(township_clerk, late)
    job = _run(township_clerk, import_workbook(rows))
    assert job.status == ImportStatus.FAILED
    assert "校验之后有人员已被登记" in job.message
    assert Household.objects.count() == 1  # only the one registered meanwhile
    assert job.households_imported == 0


def test_repeated_id_numbers_are_found_across_chunks(township_clerk: Staff, small_chunks: int) -> None:
    rows = _spread(40)
    rows[-2][6] = rows[1][6]  # the same person on row 3 and 40 rows later
    job = _run(township_clerk, import_workbook(rows), mode=ImportMode.VALID_ROWS_ONLY)
    assert job.status == ImportStatus.DONE
    repeated = [e for e in job.errors if "出现了2次" in e["message"]]
    assert [e["row"] for e in repeated] == [3, len(rows)]
    assert job.households_imported == 40 - 2 + 1  # both households of the repeated number left out
    assert Household.objects.count() == 39


def test_valid_rows_only_leaves_out_a_household_whose_bad_row_is_chunks_later(
    township_clerk: Staff, small_chunks: int
) -> None:
    rows = _spread(30)
    rows[-1][5] = ""  # the spouse of household "A" (its head is on row 2) has no name
    job = _run(township_clerk, import_workbook(rows), mode=ImportMode.VALID_ROWS_ONLY)
    assert job.status == ImportStatus.DONE
    assert job.households_imported == 30
    assert not Household.objects.filter(head__name="甲户主").exists()
    ws = load_workbook(io.BytesIO(excel._unseal(job.error_workbook))).worksheets[0]
    report = {r[-1]: r[-2] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(report) == {2, len(rows) + 1}  # only the rows not imported
    assert report[2] == f"同一家庭第{len(rows) + 1}行有错误，整户未导入"
