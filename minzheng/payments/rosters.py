"""Payment rosters (发放花名册): one sheet per village with the columns the villages sign on, and
totals, printed on A4 landscape. Only masked identifiers appear (ID and account numbers)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from minzheng.core.spreadsheets import neutralise

COLUMNS = (
    ("序号", 6),
    ("户主/领取人", 12),
    ("身份证号（脱敏）", 21),
    ("家庭人口", 9),
    ("救助项目", 18),
    ("月发放金额", 12),
    ("补发/扣减", 11),
    ("实发金额", 12),
    ("银行账号（脱敏）", 24),
    ("签字/备注", 22),
)
MONEY_FORMAT = "#,##0.00"
_thin = Side(style="thin")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class RosterLine:
    payee_name: str
    id_masked: str
    household_size: int
    programme_label: str
    monthly_amount: Decimal
    adjustment: Decimal
    amount: Decimal
    account_masked: str
    note: str


@dataclass(frozen=True)
class VillageRoster:
    village_code: str
    village_name: str
    township_name: str
    lines: Sequence[RosterLine]


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_NAME_FORBIDDEN.sub("", name)[:28] or "花名册"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base[:26]}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _cell(
    sheet: Worksheet, value: object, *, bold: bool = False, money: bool = False, border: bool = True
) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=neutralise(value))
    if bold:
        cell.font = Font(bold=True)
    if money:
        cell.number_format = MONEY_FORMAT
    if border:
        cell.border = _BORDER
    return cell


def workbook(*, title: str, month: date, county_name: str, villages: Sequence[VillageRoster]) -> bytes:
    """The roster workbook: for each village a title, the lines, a totals row and signature lines."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for village in villages:
        sheet = book.create_sheet(_sheet_name(village.village_name, taken))
        for letter, (_, width) in zip("ABCDEFGHIJ", COLUMNS, strict=True):
            sheet.column_dimensions[letter].width = width
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = "4:4"
        heading = WriteOnlyCell(sheet, value=title)
        heading.font = Font(bold=True, size=14)
        heading.alignment = Alignment(horizontal="left")
        sheet.append([heading])
        sheet.append(
            [
                f"县（区）：{county_name}　乡镇（街道）：{village.township_name}　村（社区）：{village.village_name}"
                f"　发放月份：{month:%Y年%m月}"
            ]
        )
        sheet.append([])
        sheet.append([_cell(sheet, header, bold=True) for header, _ in COLUMNS])
        monthly = adjustment = amount = Decimal("0")
        for seq, line in enumerate(village.lines, start=1):
            sheet.append(
                [
                    _cell(sheet, seq),
                    _cell(sheet, line.payee_name),
                    _cell(sheet, line.id_masked),
                    _cell(sheet, line.household_size),
                    _cell(sheet, line.programme_label),
                    _cell(sheet, line.monthly_amount, money=True),
                    _cell(sheet, line.adjustment, money=True),
                    _cell(sheet, line.amount, money=True),
                    _cell(sheet, line.account_masked),
                    _cell(sheet, line.note),
                ]
            )
            monthly += line.monthly_amount
            adjustment += line.adjustment
            amount += line.amount
        sheet.append(
            [
                _cell(sheet, "合计", bold=True),
                _cell(sheet, f"{len(village.lines)}人", bold=True),
                _cell(sheet, ""),
                _cell(sheet, sum(line.household_size for line in village.lines), bold=True),
                _cell(sheet, ""),
                _cell(sheet, monthly, bold=True, money=True),
                _cell(sheet, adjustment, bold=True, money=True),
                _cell(sheet, amount, bold=True, money=True),
                _cell(sheet, ""),
                _cell(sheet, ""),
            ]
        )
        sheet.append([])
        sheet.append(
            ["制表人：", "", "", "审核人：", "", "村（居）委会（盖章）：", "", "", "日期：　　年　　月　　日"]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
