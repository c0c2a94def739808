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
import itertools
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from django.core.exceptions import ImproperlyConfigured
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from minzheng.core.errors import InvalidInput
from minzheng.core.spreadsheets import neutralise
from minzheng.rules.money import from_fen

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
    "remark",
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

# The frame write_file takes: every line field but seq and amount, and amount_fen.
FILE_SCHEMA: dict[str, pl.DataType] = {
    "reference": pl.Int64(),
    "account_number": pl.String(),
    "payee_name": pl.String(),
    "id_masked": pl.String(),
    "bank_name": pl.String(),
    "amount_fen": pl.Int64(),
    "month": pl.String(),
    "programme_label": pl.String(),
    "village_name": pl.String(),
    "remark": pl.String(),
}


def yuan_text(fen: pl.Expr) -> pl.Expr:
    """Integer fen as yuan text with two places ("1300.00", "-0.50"), exact."""
    size = fen.abs()
    return pl.concat_str(
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // 100).cast(pl.String),
        pl.lit("."),
        (size % 100).cast(pl.String).str.zfill(2),
    )


def _expression(column: Column, amount: pl.Expr) -> pl.Expr:
    def field_expr(name: str) -> pl.Expr:
        if name == "amount":
            return amount
        if name == "seq":
            return pl.int_range(1, pl.len() + 1)
        return pl.col(name)

    if column.field:
        return field_expr(column.field)
    if column.template:
        parts: list[pl.Expr] = []
        for literal, name, _, _ in string.Formatter().parse(column.template):
            if literal:
                parts.append(pl.lit(literal))
            if name:
                parts.append(field_expr(name).cast(pl.String).fill_null(""))
        return pl.concat_str(parts) if parts else pl.lit("")
    return pl.lit(column.text)


def _summary_row(layout: BankLayout, values: dict[str, Any]) -> list[Any]:
    assert layout.summary is not None  # noqa: S101
    return [c.value(values) for c in layout.summary.cells]


def write_file(layout: BankLayout, lines: pl.DataFrame) -> bytes:
    """The payment file for `lines` (FILE_SCHEMA), in the layout's order of columns."""
    total_fen = int(lines["amount_fen"].sum() or 0)
    month = lines["month"][0] if lines.height else ""
    if layout.amount_unit == "fen":
        summary = {"line_count": lines.height, "total_amount": total_fen, "month": month}
    else:
        summary = {"line_count": lines.height, "total_amount": from_fen(total_fen), "month": month}
    if layout.format == "csv":
        amount = pl.col("amount_fen") if layout.amount_unit == "fen" else yuan_text(pl.col("amount_fen"))
        frame = lines.select(
            _expression(c, amount).cast(pl.String).alias(f"c{i}") for i, c in enumerate(layout.columns)
        )
        return _write_csv(layout, frame, summary)
    return _write_xlsx(layout, lines, summary)


def _csv_rows(layout: BankLayout, rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=layout.delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _write_csv(layout: BankLayout, frame: pl.DataFrame, summary: dict[str, Any]) -> bytes:
    head = []
    if layout.summary and layout.summary.position == "top":
        head.append(_summary_row(layout, summary))
    if layout.header:
        head.append([c.header for c in layout.columns])
    body = io.BytesIO()
    frame.write_csv(body, include_header=False, separator=layout.delimiter, line_terminator="\r\n")
    tail = [_summary_row(layout, summary)] if layout.summary and layout.summary.position == "bottom" else []
    text = _csv_rows(layout, head) + body.getvalue().decode("utf-8") + _csv_rows(layout, tail)
    try:
        return text.encode(layout.encoding)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        bad = text[exc.start : exc.end]
        raise InvalidInput(
            f"银行文件第{line}行含有{layout.encoding.upper()}编码无法表示的字符“{bad}”"
            "（多为生僻字姓名）：请与银行确认写法，或改用支持该字的文件格式",
            field_errors={"layout": [f"第{line}行：{bad}"]},
        ) from exc


def _write_xlsx(layout: BankLayout, lines: pl.DataFrame, summary: dict[str, Any]) -> bytes:
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    count = lines.height
    sheets = max(1, -(-count // XLSX_ROWS_PER_SHEET))
    amount = pl.col("amount_fen")
    frame = lines.select(_expression(c, amount).alias(f"c{i}") for i, c in enumerate(layout.columns))
    amounts = [i for i, c in enumerate(layout.columns) if c.field == "amount"]
    rows = frame.iter_rows()
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
            # Text that a spreadsheet would take for a formula is kept as text (the CSV layouts go
            # to the bank's system as they are).
            record: list[Any] = [neutralise(value) for value in next(rows)]
            for i in amounts:
                if layout.amount_unit == "yuan":
                    cell = WriteOnlyCell(sheet, value=from_fen(record[i]))
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
STATUS_WORDS = {
    "成功": "paid",
    "已到账": "paid",
    "paid": "paid",
    "success": "paid",
    "失败": "failed",
    "发放失败": "failed",
    "failed": "failed",
    "fail": "failed",
}
# What read_results gives: the file's row number and the cells, as text ("" when empty).
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "reference": pl.String(),
    "status": pl.String(),
    "reason": pl.String(),
    "bank_reference": pl.String(),
    "amount": pl.String(),
}


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(rows: Sequence[Sequence[str]]) -> tuple[int, dict[str, int]] | None:
    """The header row (the first that names the reference and status columns; a summary record
    may come before it) and the position of each known column."""
    names = {alias.lower(): key for key, aliases in RESULT_HEADERS.items() for alias in aliases}
    for number, row in enumerate(rows):
        found: dict[str, int] = {}
        for position, text in enumerate(row):
            key = names.get(str(text).strip().lower())
            if key and key not in found:
                found[key] = position
        if all(k in found for k in REQUIRED_RESULT_COLUMNS):
            return number, found
    return None


def _frame(columns: dict[str, int], cells: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """RESULT_SCHEMA from the file's cells (one string column per file column)."""
    out = [pl.int_range(first_row, first_row + pl.len(), dtype=pl.Int64).alias("row")]
    for key in RESULT_SCHEMA:
        if key == "row":
            continue
        position = columns.get(key)
        if position is None or position >= cells.width:
            out.append(pl.lit("").alias(key))
        else:
            out.append(pl.col(cells.columns[position]).fill_null("").str.strip_chars().alias(key))
    frame = cells.select(out)
    blank = pl.all_horizontal(pl.col(k) == "" for k in RESULT_SCHEMA if k != "row")
    totals = pl.col("reference").str.starts_with("合计") | (pl.col("reference") == "总计")
    return frame.filter(~blank & ~totals)


def read_results(file_name: str, content: bytes) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """The bank's results (RESULT_SCHEMA, blank and total rows left out) and the problems with the
    file's shape."""
    missing = "、".join(f"{RESULT_HEADERS[k][0]}" for k in REQUIRED_RESULT_COLUMNS)
    shape_error = [{"row": 1, "reference": "", "message": f"找不到列名行：须包含{missing}两列"}]
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            rows = [
                [_cell_text(v) for v in row] for row in workbook.worksheets[0].iter_rows(values_only=True)
            ]
            workbook.close()
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput("无法读取该Excel文件，请确认是.xlsx格式") from exc
        found = _header(rows[:20])
        if found is None:
            return pl.DataFrame(schema=RESULT_SCHEMA), shape_error
        width = max((len(r) for r in rows), default=0)
        body = [r + [""] * (width - len(r)) for r in rows[found[0] + 1 :]]
        cells = pl.DataFrame(body, schema=[f"c{i}" for i in range(width)], orient="row")
        return _frame(found[1], cells, found[0] + 2), []
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
    head = list(itertools.islice(csv.reader(io.StringIO(text), dialect), 20))
    found = _header(head)
    if found is None:
        return pl.DataFrame(schema=RESULT_SCHEMA), shape_error
    try:
        cells = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            skip_rows=found[0] + 1,
            infer_schema=False,
            separator=dialect.delimiter,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.NoDataError:
        cells = pl.DataFrame()
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput(f"CSV文件格式有误：{exc}") from exc
    if cells.is_empty():
        return pl.DataFrame(schema=RESULT_SCHEMA), []
    return _frame(found[1], cells, found[0] + 2), []
