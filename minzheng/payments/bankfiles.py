"""Bank files: the payment file a bank takes (代发文件), in layouts kept as YAML in
`payments/layouts/`, and the results file it returns (回盘文件), read back for reconciliation.

A layout (one YAML file; its name without .yaml is the layout code):

    name: 宁夏银行批量代发（CSV，GBK编码）   # shown in the UI
    bank: 宁夏银行
    format: csv                  # csv | xlsx
    encoding: gbk                # csv only; names a GBK layout cannot encode are refused, not garbled
    delimiter: ","               # csv only
    sheet_name: 代发明细         # xlsx only
    file_name: "代发_{county}_{month}_{seq}.csv"   # {county}, {month} (YYYYMM), {run}, {seq}
    amount_unit: yuan            # yuan ("1300.00") | fen (130000)
    header: true                 # a row of column headers
    summary:                     # optional record before (top) or after (bottom) the lines
      position: top
      cells: [{text: 总笔数}, {field: line_count}, {text: 总金额}, {field: total_amount}]
    columns:                     # one per column: {header, field} | {header, text} | {header, template}
      - {header: 业务参考号, field: reference}

Fields: reference (the line id, which the bank returns in its results), account_number (decrypted
only here), payee_name, id_masked, bank_name, amount, month, programme_label, village_name, seq
(1, 2, ... in the file). A template is text with {field} placeholders; summary fields are
line_count, total_amount, month.
"""

from __future__ import annotations

import contextlib
import csv
import io
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ImproperlyConfigured
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from minzheng.core.errors import InvalidInput

LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"
LINE_FIELDS = (
    "reference",
    "account_number",
    "payee_name",
    "id_masked",
    "bank_name",
    "amount",
    "month",
    "programme_label",
    "village_name",
    "seq",
)
SUMMARY_FIELDS = ("line_count", "total_amount", "month")
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_ROWS_PER_SHEET = 1_000_000  # Excel holds 1,048,576 rows a sheet


@dataclass(frozen=True)
class Column:
    header: str
    field: str = ""
    text: str = ""
    template: str = ""

    def value(self, row: dict[str, Any]) -> Any:
        if self.field:
            return row[self.field]
        if self.template:
            return self.template.format_map({k: _text(v) for k, v in row.items()})
        return self.text


@dataclass(frozen=True)
class Summary:
    position: str
    cells: tuple[Column, ...]


@dataclass(frozen=True)
class BankLayout:
    code: str
    name: str
    bank: str
    format: str
    columns: tuple[Column, ...]
    file_name: str
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet_name: str = "代发明细"
    amount_unit: str = "yuan"
    header: bool = True
    summary: Summary | None = None
    fields: frozenset[str] = field(default_factory=frozenset)

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    def file_name_for(self, *, county: str, month: str, run: int, seq: int) -> str:
        return self.file_name.format(county=county, month=month, run=run, seq=seq)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _column(raw: Any, allowed: Sequence[str], where: str) -> Column:
    if not isinstance(raw, dict) or not ({"field", "text", "template"} & raw.keys()):
        raise ImproperlyConfigured(f"{where}: each column needs field, text or template")
    column = Column(
        header=str(raw.get("header", "")),
        field=str(raw.get("field", "")),
        text=str(raw.get("text", "")),
        template=str(raw.get("template", "")),
    )
    unknown = ({column.field} - {""}) | _template_fields(column.template)
    unknown -= set(allowed)
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown field(s) {sorted(unknown)}; known: {list(allowed)}")
    return column


def _layout(path: Path) -> BankLayout:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = f"bank layout {path.name}"
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"{where}: not a mapping")
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise ImproperlyConfigured(f"{where}: format must be one of {list(FORMATS)}")
    columns = tuple(_column(c, LINE_FIELDS, where) for c in raw.get("columns") or ())
    if not columns:
        raise ImproperlyConfigured(f"{where}: no columns")
    if raw.get("amount_unit", "yuan") not in ("yuan", "fen"):
        raise ImproperlyConfigured(f"{where}: amount_unit must be yuan or fen")
    summary = None
    if raw.get("summary"):
        position = raw["summary"].get("position")
        if position not in ("top", "bottom"):
            raise ImproperlyConfigured(f"{where}: summary position must be top or bottom")
        cells = tuple(_column(c, SUMMARY_FIELDS, where) for c in raw["summary"].get("cells") or ())
        summary = Summary(position, cells)
    encoding = str(raw.get("encoding", "utf-8"))
    "".encode(encoding)  # an unknown codec fails here, at start-up, not at the first export
    used = {c.field for c in columns} | {n for c in columns for n in _template_fields(c.template)}
    return BankLayout(
        code=path.stem,
        name=str(raw.get("name") or path.stem),
        bank=str(raw.get("bank", "")),
        format=fmt,
        columns=columns,
        file_name=str(raw.get("file_name") or f"{path.stem}_{{county}}_{{month}}_{{seq}}.{fmt}"),
        encoding=encoding,
        delimiter=str(raw.get("delimiter", ",")),
        sheet_name=str(raw.get("sheet_name", "代发明细"))[:31],
        amount_unit=str(raw.get("amount_unit", "yuan")),
        header=bool(raw.get("header", True)),
        summary=summary,
        fields=frozenset(used - {""}),
    )


@cache
def _layouts(directory: Path) -> dict[str, BankLayout]:
    return {path.stem: _layout(path) for path in sorted(directory.glob("*.yaml"))}


def layouts(directory: Path = LAYOUT_DIR) -> list[BankLayout]:
    return list(_layouts(directory).values())


def layout(code: str, directory: Path = LAYOUT_DIR) -> BankLayout:
    found = _layouts(directory).get(code)
    if found is None:
        known = "、".join(sorted(_layouts(directory)))
        raise InvalidInput(f"没有该银行文件格式（可选：{known}）", field_errors={"layout": ["无效"]})
    return found


# --- Writing ---------------------------------------------------------------------------------------


def _amount(value: Decimal, unit: str) -> Decimal | int:
    return int(value * 100) if unit == "fen" else value


def _summary_row(layout: BankLayout, values: dict[str, Any]) -> list[Any]:
    assert layout.summary is not None  # noqa: S101
    return [c.value(values) for c in layout.summary.cells]


def write_file(layout: BankLayout, rows: Sequence[dict[str, Any]], *, month: str) -> bytes:
    """The payment file: `rows` carry every field of LINE_FIELDS but seq (amount as Decimal yuan)."""
    total = sum((r["amount"] for r in rows), Decimal("0"))
    summary_values = {
        "line_count": len(rows),
        "total_amount": _amount(total, layout.amount_unit),
        "month": month,
    }

    def records() -> Iterator[list[Any]]:
        for seq, row in enumerate(rows, start=1):
            values = {**row, "seq": seq, "amount": _amount(row["amount"], layout.amount_unit)}
            yield [c.value(values) for c in layout.columns]

    if layout.format == "csv":
        return _write_csv(layout, records(), summary_values)
    return _write_xlsx(layout, records(), summary_values, len(rows))


def _write_csv(layout: BankLayout, records: Iterable[list[Any]], summary: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=layout.delimiter, lineterminator="\r\n")
    if layout.summary and layout.summary.position == "top":
        writer.writerow(_summary_row(layout, summary))
    if layout.header:
        writer.writerow([c.header for c in layout.columns])
    writer.writerows(records)
    if layout.summary and layout.summary.position == "bottom":
        writer.writerow(_summary_row(layout, summary))
    text = buffer.getvalue()
    try:
        return text.encode(layout.encoding)
    except UnicodeEncodeError as exc:
        line = text[: exc.start].count("\n") + 1
        bad = text[exc.start : exc.end]
        raise InvalidInput(
            f"银行文件第{line}行含有{layout.encoding.upper()}编码无法表示的字符“{bad}”"
            "（多为生僻字姓名）：请与银行确认写法，或改用支持该字的文件格式",
            field_errors={"layout": [f"第{line}行：{bad}"]},
        ) from exc


def _write_xlsx(
    layout: BankLayout, records: Iterable[list[Any]], summary: dict[str, Any], count: int
) -> bytes:
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    sheets = max(1, -(-count // XLSX_ROWS_PER_SHEET))
    iterator = iter(records)
    amount_columns = {i for i, c in enumerate(layout.columns) if c.field == "amount"}
    for n in range(sheets):
        sheet = workbook.create_sheet(
            layout.sheet_name if sheets == 1 else f"{layout.sheet_name}{n + 1}"[:31]
        )
        if layout.summary and layout.summary.position == "top" and n == 0:
            sheet.append(_summary_row(layout, summary))
        if layout.header:
            header = []
            for c in layout.columns:
                cell = WriteOnlyCell(sheet, value=c.header)
                cell.font = bold
                header.append(cell)
            sheet.append(header)
        for _ in range(min(XLSX_ROWS_PER_SHEET, count - n * XLSX_ROWS_PER_SHEET)):
            record = next(iterator)
            for i in amount_columns:
                if layout.amount_unit == "yuan":
                    cell = WriteOnlyCell(sheet, value=record[i])
                    cell.number_format = "0.00"
                    record[i] = cell
            sheet.append(record)
        if layout.summary and layout.summary.position == "bottom" and n == sheets - 1:
            sheet.append(_summary_row(layout, summary))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- Reading results -------------------------------------------------------------------------------

RESULT_HEADERS: dict[str, tuple[str, ...]] = {
    "reference": ("业务参考号", "参考号", "明细编号", "编号", "reference"),
    "status": ("状态", "处理结果", "交易结果", "结果", "status"),
    "reason": ("失败原因", "原因", "备注", "reason", "failure_reason"),
    "bank_reference": ("银行流水号", "交易流水号", "银行参考号", "bank_reference"),
    "amount": ("金额", "金额（元）", "实发金额", "amount"),
}
REQUIRED_RESULT_COLUMNS = ("reference", "status")
PAID_WORDS = {"成功", "已到账", "paid", "success"}
FAILED_WORDS = {"失败", "发放失败", "failed", "fail"}


@dataclass(frozen=True)
class ResultRow:
    row: int  # the row number in the file, as a person counting rows in Excel would
    reference: str
    status: str
    reason: str
    bank_reference: str
    amount: str


def _read_rows(file_name: str, content: bytes) -> list[list[str]]:
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput("无法读取该Excel文件，请确认是.xlsx格式") from exc
        sheet = workbook.worksheets[0]
        rows = [
            ["" if v is None else _cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        workbook.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("无法识别文件编码（应为UTF-8或GBK的CSV文件）")
    dialect: Any = csv.excel
    with contextlib.suppress(csv.Error):
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|")
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_results(file_name: str, content: bytes) -> tuple[list[ResultRow], list[dict[str, Any]]]:
    """The rows of a results file and the problems found in its shape (missing columns). The
    header row is the first row that names the reference and status columns (a summary record
    may come before it)."""
    rows = _read_rows(file_name, content)
    names = {alias.lower(): key for key, aliases in RESULT_HEADERS.items() for alias in aliases}
    header = -1
    found: dict[str, int] = {}
    for number, row in enumerate(rows[:20]):
        found = {}
        for position, text in enumerate(row):
            key = names.get(text.strip().lower())
            if key and key not in found:
                found[key] = position
        if all(k in found for k in REQUIRED_RESULT_COLUMNS):
            header = number
            break
    else:
        wanted = "、".join(f"{k}（{RESULT_HEADERS[k][0]}）" for k in REQUIRED_RESULT_COLUMNS)
        return [], [{"row": 1, "reference": "", "message": f"找不到列名行：须包含{wanted}两列"}]

    def cell(row: list[str], key: str) -> str:
        position = found.get(key)
        return row[position].strip() if position is not None and position < len(row) else ""

    out = []
    for number, row in enumerate(rows[header + 1 :], start=header + 2):
        if not any(c.strip() for c in row):
            continue
        if cell(row, "reference") in ("合计", "总计") or cell(row, "reference").startswith("合计"):
            continue
        out.append(
            ResultRow(
                row=number,
                reference=cell(row, "reference"),
                status=cell(row, "status"),
                reason=cell(row, "reason"),
                bank_reference=cell(row, "bank_reference"),
                amount=cell(row, "amount"),
            )
        )
    return out, []


def parse_status(text: str) -> str | None:
    word = text.strip().lower()
    if word in PAID_WORDS:
        return "paid"
    if word in FAILED_WORDS:
        return "failed"
    return None


def parse_amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
