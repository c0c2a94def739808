"""Excel import and export of households with their members (家庭成员花名册).

One layout serves the template, the import and the export, so that an export can be edited and
imported elsewhere: one row per person, the rows of one household sharing a 家庭序号.

An import checks every row before anything is written and reports every problem by row and column.
The valid set is then written in one transaction with bulk inserts, never one service call per row:
a 100,000-row file must not become 100,000 transactions. Exports carry masked ID numbers only.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, IntegerField, Max, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, DomainError, InvalidInput, NotFound, OutOfScope
from minzheng.core.identifiers import (
    DivisionLevel,
    InvalidIdentifier,
    ResidentId,
    mask_resident_id,
    parse_resident_id,
)
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.registry import selectors
from minzheng.registry.models import (
    Area,
    Household,
    ImportJob,
    ImportMode,
    ImportStatus,
    Membership,
    Person,
    Relationship,
)
from minzheng.registry.xlsx import StreamingWorkbook

logger = logging.getLogger("minzheng.registry.excel")

# --- Layout ------------------------------------------------------------------------------------

GROUP = "家庭序号"
DIVISION = "村(社区)代码"
ADDRESS = "住址"
AREA = "城乡类别"
PHONE = "联系电话"
NAME = "姓名"
ID_NUMBER = "身份证号"
RELATIONSHIP = "与户主关系"
HEADERS: tuple[str, ...] = (GROUP, DIVISION, ADDRESS, AREA, PHONE, NAME, ID_NUMBER, RELATIONSHIP)
HOUSEHOLD_COLUMNS: tuple[str, ...] = (DIVISION, ADDRESS, AREA, PHONE)
ERROR_COLUMN = "错误"
SOURCE_ROW_COLUMN = "原行号"
# Columns the error report adds: ignored on import, so a corrected report can be imported as it is.
REPORT_COLUMNS = (ERROR_COLUMN, SOURCE_ROW_COLUMN)
DATA_SHEET = "家庭成员"
GUIDE_SHEET = "填写说明"
VILLAGE_SHEET = "村(社区)代码表"
TEXT_COLUMNS = (GROUP, DIVISION, PHONE, ID_NUMBER)
_WIDTHS = {
    GROUP: 10,
    DIVISION: 16,
    ADDRESS: 36,
    AREA: 10,
    PHONE: 16,
    NAME: 12,
    ID_NUMBER: 22,
    RELATIONSHIP: 16,
}
_COL = {name: i for i, name in enumerate(HEADERS)}

# --- Limits ------------------------------------------------------------------------------------

MAX_FILE_BYTES = 20 * 1024 * 1024
# A 20 MB xlsx of 200,000 rows unpacks to roughly 100 MB of XML; far more means a zip bomb.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 200_000
BACKGROUND_ROWS = 2_000
STORED_ERRORS = 1_000
INSERT_CHUNK = 5_000
LOOKUP_CHUNK = 2_000
PROGRESS_EVERY = 2_000
EXCEL_ROW_LIMIT = 1_048_576

AREA_BY_LABEL: dict[str, str] = {str(label): str(value) for value, label in Area.choices} | {
    str(v): str(v) for v in Area.values
}
RELATIONSHIP_BY_LABEL: dict[str, str] = {str(label): str(value) for value, label in Relationship.choices} | {
    str(v): str(v) for v in Relationship.values
}
# The labels with a slash are also typed half: 孙子女, 外孙子女, 儿媳, 女婿 …
RELATIONSHIP_BY_LABEL |= {
    "孙子女": Relationship.GRANDCHILD.value,
    "外孙子女": Relationship.GRANDCHILD.value,
    "祖父母": Relationship.GRANDPARENT.value,
    "外祖父母": Relationship.GRANDPARENT.value,
    "儿媳": Relationship.CHILD_IN_LAW.value,
    "女婿": Relationship.CHILD_IN_LAW.value,
    "儿媳女婿": Relationship.CHILD_IN_LAW.value,
}
AREA_LABEL = {str(value): str(label) for value, label in Area.choices}
RELATIONSHIP_LABEL = {str(value): str(label) for value, label in Relationship.choices}

EXCEL_DAMAGED_ID = (
    "身份证号被Excel存成了数字，第15位以后的数字已丢失（常显示为1.10105E+17或末尾变成000），"
    "请把该列设置为“文本”格式后重新录入完整号码"
)
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E[+-]?\d+$")
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ImportFileRejected(InvalidInput):
    """The file as a whole cannot be imported (not an xlsx, too large, wrong headers, no rows)."""

    code = "import_file_invalid"


@dataclass(frozen=True)
class RowError:
    row: int  # the Excel row number (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


# --- Template ----------------------------------------------------------------------------------

GUIDE = (
    "家庭成员批量导入填写说明",
    "",
    "1. 在“家庭成员”工作表中每行填写一名家庭成员，不要修改第一行表头，不要增删列。",
    "2. 家庭序号：同一家庭的成员填写相同的序号（如1、1、2），不同家庭填写不同的序号；序号只用于分组，"
    "导入后系统按村（社区）自动编制家庭编号。",
    "3. 村(社区)代码：12位统计用区划代码，须是您管辖范围内的村（社区），见“村(社区)代码表”。",
    "4. 住址、城乡类别（城市/农村）、联系电话是家庭信息：同一家庭可以只在第一行填写，其余行留空；"
    "如每行都填写，须填写一致。",
    "5. 身份证号：18位（15位旧号码自动转换为18位）。该列已设置为文本格式；请勿把号码粘贴成数字，"
    "否则Excel会丢失第15位以后的数字（显示为1.10105E+17）。",
    "6. 与户主关系：户主、配偶、子女、父母、孙子女/外孙子女、祖父母/外祖父母、兄弟姐妹、儿媳/女婿、其他；"
    "每个家庭须有且只有一名户主。",
    "7. 已在系统中登记的人员不能重复导入（请在系统中办理迁入）；同一身份证号在文件中只能出现一次。",
    f"8. 每个文件不超过{MAX_ROWS:,}行、{MAX_FILE_BYTES // 1024 // 1024}MB；超过{BACKGROUND_ROWS:,}行的文件在后台导入，"
    "页面显示进度。",
    "9. 导入方式：默认全部无误才导入（有任何错误则不导入任何数据）；也可选择“只导入无误的家庭”，"
    "有错误的家庭整户不导入，并可下载错误报告修改后再次导入。",
    "",
    "示例（请勿填写在本表中）：",
)
_EXAMPLE = (
    (
        "1",
        "110105001001",
        "某街道某社区1号楼2单元301",
        "城市",
        "13900000000",
        "张三",
        "11010519491231002X",
        "户主",
    ),
    ("1", "", "", "", "", "李四", "110105195001010020", "配偶"),
    ("2", "110105100201", "某镇某村三组12号", "农村", "", "王五", "110105196505050012", "户主"),
)


def _styled_header(ws: Any, names: Sequence[str]) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _set_widths(ws: Any, names: Sequence[str]) -> None:
    for i, name in enumerate(names, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(name, 40)


def template_workbook(*, actor: Staff) -> bytes:
    """The import template: the header, text-formatted code and ID columns, choice lists, a guide,
    and the codes of the villages in the actor's jurisdiction."""
    require(actor, Perm.HOUSEHOLD_VIEW)
    villages = list(
        scoped(Division.objects.filter(level=DivisionLevel.VILLAGE, is_active=True), actor, field="code")
        .select_related("parent")
        .order_by("code")
        .values_list("code", "name", "parent__name")
    )
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = DATA_SHEET
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    _set_widths(ws, HEADERS)
    last = MAX_ROWS + 1
    for name in TEXT_COLUMNS:
        ws.column_dimensions[get_column_letter(_COL[name] + 1)].number_format = "@"
    areas = DataValidation(
        type="list",
        formula1='"' + ",".join(AREA_LABEL.values()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="城乡类别",
        error="请选择城市或农村",
    )
    relationships = DataValidation(
        type="list",
        formula1='"' + ",".join(RELATIONSHIP_LABEL.values()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="与户主关系",
        error="请从列表中选择与户主关系",
    )
    ws.add_data_validation(areas)
    ws.add_data_validation(relationships)
    areas.add(f"{get_column_letter(_COL[AREA] + 1)}2:{get_column_letter(_COL[AREA] + 1)}{last}")
    relationships.add(
        f"{get_column_letter(_COL[RELATIONSHIP] + 1)}2:{get_column_letter(_COL[RELATIONSHIP] + 1)}{last}"
    )
    if villages:
        codes = DataValidation(
            type="list",
            formula1=f"'{VILLAGE_SHEET}'!$A$2:$A${len(villages) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=DIVISION,
            error="请填写您管辖范围内的村（社区）12位代码，见“村(社区)代码表”",
        )
        ws.add_data_validation(codes)
        codes.add(f"{get_column_letter(_COL[DIVISION] + 1)}2:{get_column_letter(_COL[DIVISION] + 1)}{last}")

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 12
    for line in GUIDE:
        guide.append([line])
    guide["A1"].font = Font(bold=True, size=14)
    guide.append(list(HEADERS))
    for example in _EXAMPLE:
        guide.append(list(example))

    codes_sheet = wb.create_sheet(VILLAGE_SHEET)
    codes_sheet.append(["村(社区)代码", "名称", "所属乡镇(街道)"])
    for cell in codes_sheet[1]:
        cell.font = Font(bold=True)
    codes_sheet.column_dimensions["A"].width = 16
    codes_sheet.column_dimensions["A"].number_format = "@"
    codes_sheet.column_dimensions["B"].width = 20
    codes_sheet.column_dimensions["C"].width = 20
    for code, name, township in villages:
        codes_sheet.append([code, name, township or ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Reading a file ----------------------------------------------------------------------------


def read_upload(upload: IO[bytes]) -> bytes:
    """An uploaded file's bytes, reading no more than one byte past the size limit."""
    return upload.read(MAX_FILE_BYTES + 1)


def check_file(content: bytes) -> None:
    """Refuse what is not a plausible .xlsx before handing it to the XML parser."""
    if not content:
        raise ImportFileRejected("文件是空的，请选择填写好的Excel文件")
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileRejected(f"文件大小超过{MAX_FILE_BYTES // 1024 // 1024}MB，请分成几个文件分别导入")
    if content.startswith(_XLS_MAGIC):
        raise ImportFileRejected("这是旧版Excel（.xls）文件，请在Excel中“另存为”.xlsx格式后再导入")
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise ImportFileRejected(
            "文件不是Excel工作簿（.xlsx），可能是CSV、文本或已损坏的文件，请用Excel另存为.xlsx后再导入"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileRejected("文件已损坏，无法打开，请用Excel重新保存后再导入") from exc
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise ImportFileRejected("压缩文件中没有Excel工作簿，请上传.xlsx格式的文件")
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise ImportFileRejected("文件解压后内容过大，请分成几个文件分别导入")


@contextmanager
def _data_sheet(content: bytes) -> Iterator[Any]:
    """The data sheet, read as a stream, its rows counted by reading them, not from its dimension.

    openpyxl's read-only mode stops at the last row the sheet's <dimension> declares; other tools
    often leave that stale (one row declared, a thousand written), and every row past it was
    silently left out. `declared_rows` keeps what the file declared, for the mismatch report."""
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # the parser of untrusted input raises many kinds of error
        raise ImportFileRejected("无法读取该Excel文件，文件可能已损坏或不是.xlsx格式") from exc
    try:
        if DATA_SHEET in wb.sheetnames:
            ws = wb[DATA_SHEET]
        elif wb.worksheets:
            ws = wb.worksheets[0]
        else:
            raise ImportFileRejected("工作簿中没有工作表")
        ws.declared_rows = ws.max_row  # None when the file has no <dimension>
        ws.reset_dimensions()
        yield ws
    finally:
        wb.close()


def _header_name(value: object) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value)).split()) if value is not None else ""


def header_columns(header: Sequence[object] | None) -> list[int]:
    """Positions of HEADERS in the header row; a clear error naming every wrong or missing header."""
    index: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for i, value in enumerate(header or ()):
        name = _header_name(value)
        if not name or name in REPORT_COLUMNS:
            continue
        if name not in HEADERS:
            unknown.append(str(value).strip())
        elif name in index:
            duplicated.append(name)
        else:
            index[name] = i
    missing = [h for h in HEADERS if h not in index]
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append("缺少列：" + "、".join(missing))
        if unknown:
            parts.append("无法识别的列：" + "、".join(unknown))
        if duplicated:
            parts.append("重复的列：" + "、".join(duplicated))
        raise ImportFileRejected(
            "表头不正确，未导入任何数据。"
            + "；".join(parts)
            + "。第一行应为："
            + "、".join(HEADERS)
            + "（请使用下载的导入模板）",
            field_errors={"表头": parts},
        )
    return [index[h] for h in HEADERS]


# An uncompressed worksheet larger than this goes to the background whatever its dimension says
# (about 5,000 rows of the layout): a stale dimension must not bring a large file into a web worker.
BACKGROUND_SHEET_BYTES = 2 * 1024 * 1024


def _sheet_bytes(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sum(e.file_size for e in archive.infolist() if e.filename.startswith("xl/worksheets/"))


def estimate_rows(content: bytes) -> int | None:
    """Check the header and return the row count the file declares; None when it declares none, or
    when its sheets are too large for the declaration to be believed (it is read in the background)."""
    with _data_sheet(content) as ws:
        header = next(ws.iter_rows(max_row=1, values_only=True), None)
        header_columns(header)
        declared = ws.declared_rows
    if _sheet_bytes(content) > BACKGROUND_SHEET_BYTES:
        return None
    return max(0, int(declared) - 1) if declared else None


Progress = Callable[[int], None]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class SheetRows:
    """The non-empty data rows as (Excel row number, values in HEADERS order), with the last row
    the file's dimension declared (None: no dimension) and the last row actually holding data."""

    rows: list[tuple[int, tuple[object, ...]]]
    declared_last_row: int | None
    last_row: int

    @property
    def mismatch(self) -> str:
        """The words for data past the declared dimension ("" when the declaration held)."""
        if self.declared_last_row is None or self.last_row <= self.declared_last_row:
            return ""
        return (
            f"文件声明的数据区只到第{self.declared_last_row}行，实际数据到第{self.last_row}行"
            f"（常见于其他软件生成的文件）；已按实际读到的{len(self.rows):,}行处理。"
        )


def read_sheet(content: bytes, progress: Progress | None = None) -> SheetRows:
    rows: list[tuple[int, tuple[object, ...]]] = []
    with _data_sheet(content) as ws:
        declared = ws.declared_rows
        values = ws.iter_rows(values_only=True)
        columns = header_columns(next(values, None))
        width = max(columns) + 1
        for number, raw in enumerate(values, start=2):
            if len(raw) < width:
                raw = (*raw, *([None] * (width - len(raw))))
            picked = tuple(raw[c] for c in columns)
            if all(_blank(v) for v in picked):
                continue
            rows.append((number, picked))
            if len(rows) > MAX_ROWS:
                raise ImportFileRejected(f"数据超过{MAX_ROWS:,}行，请分成几个文件分别导入")
            if progress is not None and len(rows) % PROGRESS_EVERY == 0:
                progress(len(rows))
    if not rows:
        raise ImportFileRejected("文件中没有数据：请从第2行起每行填写一名家庭成员")
    return SheetRows(rows, int(declared) if declared else None, rows[-1][0])


def read_rows(content: bytes, progress: Progress | None = None) -> list[tuple[int, tuple[object, ...]]]:
    """The non-empty data rows as (Excel row number, values in HEADERS order)."""
    return read_sheet(content, progress).rows


# --- Checking rows -----------------------------------------------------------------------------


class _CellError(Exception):
    pass


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _compact(value: object) -> str:
    return "".join(unicodedata.normalize("NFKC", _text(value)).split()).upper()


def _resident_id(value: object) -> ResidentId:
    """Parse an ID cell, telling an Excel-mangled number apart from a mistyped one."""
    if isinstance(value, float):
        if value >= 1e15 or not value.is_integer():
            raise _CellError(EXCEL_DAMAGED_ID)
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        try:
            return parse_resident_id(digits)
        except InvalidIdentifier as exc:
            raise _CellError(EXCEL_DAMAGED_ID if len(digits) > 15 else exc.message) from None
    text = _compact(value)
    if "*" in text:
        raise _CellError("这是脱敏后的身份证号（含*），请填写完整号码")
    if _SCIENTIFIC.match(text):
        raise _CellError(EXCEL_DAMAGED_ID)
    try:
        return parse_resident_id(text)
    except InvalidIdentifier as exc:
        raise _CellError(exc.message) from None


@dataclass
class MemberRow:
    row: int
    name: str
    rid: ResidentId
    relationship: str
    digest: str = ""


@dataclass
class HouseholdGroup:
    key: str
    rows: list[int] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)
    # column -> (value, row it was first given on)
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    heads: list[int] = field(default_factory=list)

    def value(self, column: str) -> str:
        return self.values.get(column, ("", 0))[0]


@dataclass
class CheckedFile:
    rows: list[tuple[int, tuple[object, ...]]]
    groups: list[HouseholdGroup]
    errors: dict[int, list[RowError]]

    def sorted_errors(self) -> list[RowError]:
        order = {c: i for i, c in enumerate((*HEADERS, ERROR_COLUMN))}
        found = [e for row in sorted(self.errors) for e in self.errors[row]]
        return sorted(found, key=lambda e: (e.row, order.get(e.column, 99)))

    def valid_groups(self) -> list[HouseholdGroup]:
        return [g for g in self.groups if not any(r in self.errors for r in g.rows)]


def _check_household_cell(column: str, value: object) -> str:
    if column == DIVISION:
        code = _compact(value)
        if not (len(code) == 12 and code.isdigit() and code.isascii()):
            raise _CellError("村(社区)代码应为12位数字（统计用区划代码）")
        return code
    if column == AREA:
        label = _compact(value).lower()
        if label not in AREA_BY_LABEL:
            raise _CellError("城乡类别应为“城市”或“农村”")
        return AREA_BY_LABEL[label]
    text = _text(value)
    if column == ADDRESS and len(text) > 200:
        raise _CellError("住址不能超过200字")
    if column == PHONE and len(text) > 20:
        raise _CellError("联系电话不能超过20个字符")
    return text


def check_rows(
    *, actor: Staff, rows: list[tuple[int, tuple[object, ...]]], progress: Progress | None = None
) -> CheckedFile:
    """Check every row: cells, households as groups, duplicates, and against the database."""
    errors: dict[int, list[RowError]] = defaultdict(list)

    def error(row: int, column: str, message: str) -> None:
        errors[row].append(RowError(row, column, message))

    groups: dict[str, HouseholdGroup] = {}
    rows_by_id: dict[str, list[int]] = defaultdict(list)
    for done, (row, values) in enumerate(rows, start=1):
        key = _text(values[_COL[GROUP]])
        group = None
        if not key:
            error(row, GROUP, "请填写家庭序号（同一家庭的成员填写相同的序号）")
        elif len(key) > 50:
            error(row, GROUP, "家庭序号不能超过50个字符")
        else:
            group = groups.setdefault(key, HouseholdGroup(key))
            group.rows.append(row)
        for column in HOUSEHOLD_COLUMNS:
            raw = values[_COL[column]]
            if _blank(raw):
                continue
            try:
                value = _check_household_cell(column, raw)
            except _CellError as exc:
                error(row, column, str(exc))
                if group is not None:
                    group.invalid.add(column)
                continue
            if group is None:
                continue
            if column not in group.values:
                group.values[column] = (value, row)
            elif group.values[column][0] != value:
                first = group.values[column][1]
                error(row, column, f"与同一家庭第{first}行填写的{column}不一致（同一家庭的家庭信息须相同）")
        name = _text(values[_COL[NAME]])
        if not name:
            error(row, NAME, "请填写姓名")
        elif len(name) > 60:
            error(row, NAME, "姓名不能超过60个字")
        rid = None
        if _blank(values[_COL[ID_NUMBER]]):
            error(row, ID_NUMBER, "请填写身份证号")
        else:
            try:
                rid = _resident_id(values[_COL[ID_NUMBER]])
            except _CellError as exc:
                error(row, ID_NUMBER, str(exc))
            else:
                rows_by_id[rid.number].append(row)
        relationship = ""
        label = _compact(values[_COL[RELATIONSHIP]]).lower()
        if not label:
            error(row, RELATIONSHIP, "请填写与户主关系")
        elif label not in RELATIONSHIP_BY_LABEL:
            error(row, RELATIONSHIP, "与户主关系应为：" + "、".join(RELATIONSHIP_LABEL.values()))
        else:
            relationship = RELATIONSHIP_BY_LABEL[label]
            if group is not None and relationship == Relationship.HEAD:
                group.heads.append(row)
        if group is not None and rid is not None and relationship and name:
            group.members.append(MemberRow(row, name, rid, relationship))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)

    for group in groups.values():
        first = group.rows[0]
        for column in (DIVISION, ADDRESS, AREA):
            if column not in group.values and column not in group.invalid:
                error(first, column, f"该家庭未填写{column}")
        heads = group.heads
        if not heads:
            error(first, RELATIONSHIP, "该家庭没有户主（每个家庭须有且只有一名户主）")
        elif len(heads) > 1:
            listed = "、".join(str(r) for r in heads)
            for r in heads:
                error(r, RELATIONSHIP, f"同一家庭有{len(heads)}名户主（第{listed}行），须有且只有一名")

    for rows_of_id in rows_by_id.values():
        if len(rows_of_id) > 1:
            listed = "、".join(str(r) for r in rows_of_id)
            for r in rows_of_id:
                error(r, ID_NUMBER, f"同一身份证号在文件中出现了{len(rows_of_id)}次（第{listed}行）")

    ordered = sorted(groups.values(), key=lambda g: g.rows[0])
    _check_divisions(actor, ordered, error)
    _check_registered(ordered, error)
    return CheckedFile(rows=rows, groups=ordered, errors=dict(errors))


def _check_divisions(
    actor: Staff, groups: list[HouseholdGroup], error: Callable[[int, str, str], None]
) -> None:
    jurisdiction = jurisdiction_of(actor)
    codes = {g.value(DIVISION) for g in groups if g.value(DIVISION)}
    in_scope = {c for c in codes if jurisdiction.contains(c)}
    found = {
        d.code: d
        for d in Division.objects.filter(code__in=sorted(in_scope)).only("code", "level", "is_active")
    }
    for group in groups:
        code = group.value(DIVISION)
        if not code:
            continue
        row = group.values[DIVISION][1]
        # Outside the jurisdiction the answer is the same whether the code exists or not.
        if code not in in_scope:
            error(row, DIVISION, "该村(社区)不在您的管辖范围内")
        elif code not in found:
            error(row, DIVISION, "村(社区)代码不存在，请对照“村(社区)代码表”填写")
        elif found[code].level != DivisionLevel.VILLAGE:
            error(row, DIVISION, "须填写村(社区)一级的代码，不能填写县、乡镇(街道)代码")
        elif not found[code].is_active:
            error(row, DIVISION, "该村(社区)已撤销，不能登记新家庭")


def _registered(digests: Sequence[str]) -> dict[str, bool]:
    """Digest -> whether that registered person currently belongs to a household."""
    found: dict[str, bool] = {}
    open_membership = Membership.objects.filter(person=OuterRef("pk"), end_date__isnull=True)
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = digests[start : start + LOOKUP_CHUNK]
        found.update(
            Person.objects.filter(id_digest__in=chunk)
            .annotate(in_household=Exists(open_membership))
            .values_list("id_digest", "in_household")
        )
    return found


def _check_registered(groups: list[HouseholdGroup], error: Callable[[int, str, str], None]) -> None:
    members = [m for g in groups for m in g.members]
    for m in members:
        m.digest = protect.lookup_digest(m.rid.number)
    registered = _registered([m.digest for m in members])
    for m in members:
        if m.digest in registered:
            if registered[m.digest]:
                error(m.row, ID_NUMBER, "该人员已在其他家庭登记，不能重复登记（如需变更请在系统中办理迁入）")
            else:
                error(m.row, ID_NUMBER, "该人员已在系统中登记（当前不属于任何家庭），请在系统中办理迁入")


# --- Writing -----------------------------------------------------------------------------------


def _insert(model: Any, fields: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT `rows` set-based: COPY on PostgreSQL, executemany elsewhere. The values are prepared
    here once, not by the ORM per object."""
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    # Table and column names come from the model's metadata, quoted; values are parameters, or
    # rows handed to COPY, which escapes them itself.
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with (
            connection.wrap_database_errors,  # psycopg's errors as django.db's (IntegrityError …)
            connection.connection.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            cursor.executemany(sql, rows[start : start + INSERT_CHUNK])


def _set_heads(heads: Sequence[tuple[int, int]]) -> None:
    """Set each new household's head from (household id, person id) pairs."""
    quote = connection.ops.quote_name
    table = quote(Household._meta.db_table)
    pk = quote(Household._meta.pk.column)  # type: ignore[union-attr]
    head = quote(Household._meta.get_field("head").column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement joining two arrays: no per-row round trip and no plan that depends on
            # statistics the freshly inserted rows do not have yet.
            cursor.execute(
                f"UPDATE {table} SET {head} = v.person FROM unnest(%s::bigint[], %s::bigint[]) "  # noqa: S608
                f"AS v(household, person) WHERE {table}.{pk} = v.household",
                [[h for h, _ in heads], [p for _, p in heads]],
            )
            return
        sql = f"UPDATE {table} SET {head} = %s WHERE {pk} = %s"  # noqa: S608
        for start in range(0, len(heads), INSERT_CHUNK):
            cursor.executemany(sql, [(p, h) for h, p in heads[start : start + INSERT_CHUNK]])


def _keys(model: Any, field_name: str, values: Sequence[str]) -> dict[str, int]:
    """Primary keys of the rows just inserted, found by a unique field (number, ID digest)."""
    found: dict[str, int] = {}
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        found.update(model.objects.filter(**{f"{field_name}__in": chunk}).values_list(field_name, "pk"))
    return found


def _write_households(*, groups: list[HouseholdGroup], joined_on: date) -> tuple[int, int]:
    """Insert the households, people and memberships of `groups` set-based. Runs inside the
    caller's transaction, with the villages involved locked so that numbers are not handed out
    twice (household_create takes the same lock).

    Rows go in through executemany and their keys are read back by their unique fields, rather
    than through bulk_create: on the reference machine the ORM's per-object preparation made
    bulk_create 5-6 times slower for 100,000 people, and no RETURNING is needed this way."""
    codes = sorted({g.value(DIVISION) for g in groups})
    list(Division.objects.select_for_update().filter(code__in=codes).values_list("code", flat=True))
    members = [m for g in groups for m in g.members]
    last = dict(
        Household.objects.filter(division_id__in=codes, number__startswith=F("division_id"))
        .order_by()
        .values("division_id")
        .annotate(last=Max("number"))
        .values_list("division_id", "last")
    )
    next_seq = {code: int(last[code][12:]) + 1 if code in last else 1 for code in codes}
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    joined = ops.adapt_datefield_value(joined_on)
    numbers: list[str] = []
    household_rows: list[tuple[Any, ...]] = []
    for group in groups:
        code = group.value(DIVISION)
        number = f"{code}{next_seq[code]:06d}"
        next_seq[code] += 1
        numbers.append(number)
        household_rows.append(
            (number, code, group.value(ADDRESS), group.value(AREA), group.value(PHONE), True, now, now)
        )
    person_rows = [
        (
            m.name,
            m.rid.sex,
            ops.adapt_datefield_value(m.rid.birth_date),
            m.digest,
            protect.encrypt(m.rid.number),
            mask_resident_id(m.rid.number),
            group.value(DIVISION),
            "",
            now,
        )
        for group in groups
        for m in group.members
    ]
    try:
        _insert(
            Household,
            ("number", "division", "address", "area", "phone", "is_active", "created_at", "updated_at"),
            household_rows,
        )
        _insert(
            Person,
            (
                "name",
                "sex",
                "birth_date",
                "id_digest",
                "id_encrypted",
                "id_masked",
                "division",
                "phone",
                "created_at",
            ),
            person_rows,
        )
    except IntegrityError as exc:
        # The unique ID digest: someone registered one of these people after the file was checked.
        raise Conflict("校验之后有人员已被登记，未导入任何数据，请重新导入以获得最新的错误报告") from exc
    household_ids = _keys(Household, "number", numbers)
    person_ids = _keys(Person, "id_digest", [m.digest for m in members])
    if len(household_ids) != len(numbers) or len(person_ids) != len(members):
        raise RuntimeError("inserted rows were not found again by their unique keys")
    membership_rows: list[tuple[Any, ...]] = []
    heads: list[tuple[int, int]] = []
    for group, number in zip(groups, numbers, strict=True):
        household_id = household_ids[number]
        for m in group.members:
            membership_rows.append((person_ids[m.digest], household_id, m.relationship, joined, ""))
            if m.relationship == Relationship.HEAD:
                heads.append((household_id, person_ids[m.digest]))
    _insert(Membership, ("person", "household", "relationship", "start_date", "end_reason"), membership_rows)
    _set_heads(heads)
    return len(numbers), len(members)


# --- Error workbook ----------------------------------------------------------------------------

_RED = PatternFill("solid", fgColor="FFC7CE")


def error_workbook(rows: list[tuple[int, tuple[object, ...], str]]) -> bytes:
    """The given rows as they were read, with their errors in an added 错误 column."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    _set_widths(ws, (*HEADERS, ERROR_COLUMN))
    ws.column_dimensions[get_column_letter(len(HEADERS) + 2)].width = 10
    ws.append(_styled_header(ws, (*HEADERS, *REPORT_COLUMNS)))
    wrap = Alignment(wrap_text=True, vertical="top")
    for number, values, message in rows:
        cells: list[object] = []
        for column, value in zip(HEADERS, values, strict=True):
            if column in TEXT_COLUMNS and value is not None:
                text = value if isinstance(value, str) else _text(value)
                cell = WriteOnlyCell(ws, value=neutralise(text))
                cell.number_format = "@"
                cells.append(cell)
            else:
                # As read from the upload: text beginning with = must not come back as a formula.
                cells.append(neutralise(value))
        note = WriteOnlyCell(ws, value=neutralise(message))
        note.alignment = wrap
        if message:
            note.fill = _RED
        cells.append(note)
        cells.append(number)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rejected_rows(checked: CheckedFile, *, all_rows: bool) -> list[tuple[int, tuple[object, ...], str]]:
    """Rows for the error workbook: every row (all-or-nothing), or only the rows not imported."""
    group_of: dict[int, HouseholdGroup] = {}
    for g in checked.groups:
        for r in g.rows:
            group_of[r] = g
    out = []
    for number, values in checked.rows:
        own = checked.errors.get(number)
        group = group_of.get(number)
        if own:
            message = "；".join(f"{e.column}：{e.message}" for e in own)
        elif group is not None and any(r in checked.errors for r in group.rows):
            bad = "、".join(str(r) for r in group.rows if r in checked.errors)
            message = f"同一家庭第{bad}行有错误，整户未导入"
        elif all_rows:
            message = ""
        else:
            continue
        out.append((number, values, message))
    return out


def _seal(data: bytes) -> str:
    return protect.encrypt(base64.b64encode(data).decode("ascii"))


def _unseal(token: str) -> bytes:
    return base64.b64decode(protect.decrypt(token))


# --- Import jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedImport:
    job: ImportJob
    background: bool


def import_prepare(*, actor: Staff, file_name: str, content: bytes, mode: str) -> PreparedImport:
    """Record an upload as an import job and check the file as a whole (size, format, headers).

    A file with more than BACKGROUND_ROWS rows is kept (sealed) for a background worker;
    a smaller one is run at once by the caller with `import_run`.
    """
    require(actor, Perm.HOUSEHOLD_CHANGE)
    if mode not in ImportMode.values:
        raise InvalidInput(field_errors={"mode": ["导入方式应为 all_or_nothing 或 valid_rows_only"]})
    job = ImportJob.objects.create(
        uploaded_by=actor,
        division_id=actor.office.division_id,
        file_name=(file_name or "未命名.xlsx")[:255],
        mode=mode,
    )
    try:
        check_file(content)
        declared = estimate_rows(content)
    except ImportFileRejected as exc:
        _finish_failed(job, exc)
        return PreparedImport(job, background=False)
    # A file that does not declare its size is treated as large.
    background = declared is None or declared > BACKGROUND_ROWS
    job.total_rows = declared or 0
    if background:
        job.source = _seal(content)
        job.message = "已排队，等待后台处理"
    job.save(update_fields=["total_rows", "source", "message"])
    return PreparedImport(job, background=background)


def _finish_failed(job: ImportJob, exc: DomainError, *, errors: Sequence[RowError] = ()) -> None:
    stored = [e.as_dict() for e in errors[:STORED_ERRORS]]
    if not stored and exc.field_errors:
        stored = [
            {"row": 1, "column": column, "message": message}
            for column, messages in exc.field_errors.items()
            for message in messages
        ]
    job.status = ImportStatus.FAILED
    job.message = exc.message[:500]
    job.errors = stored
    job.error_count = max(len(errors), len(stored), 1)
    job.source = ""
    job.finished_at = timezone.now()
    job.save()


# --- Liveness of running jobs ------------------------------------------------------------------

# A running job's worker renews its lease at every progress report (every PROGRESS_EVERY rows);
# a lease this long covers the slowest stretch between two reports (the final write) many times.
LEASE = timedelta(minutes=15)
# First key of the session advisory locks held per running job (PostgreSQL); the second is the job.
_LOCK_SPACE = 0x6D7A  # "mz"


def _lease() -> datetime:
    return timezone.now() + LEASE


@contextmanager
def _held_while_running(job_id: int) -> Iterator[None]:
    """On PostgreSQL, hold a session advisory lock for the job while it runs: the lock goes with the
    worker's connection, so a worker that dies (killed, out of memory, host lost) frees it."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_SPACE, job_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job_id])


def _worker_gone(job: ImportJob, now: datetime) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, job.pk])
            free = bool(cursor.fetchone()[0])
            if free:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job.pk])
        return free
    lease = job.lease_until or ((job.started_at or job.created_at) + LEASE)
    return lease < now


@dataclass(frozen=True)
class RecoverReport:
    abandoned: int  # running jobs whose worker was gone, now failed
    expired: int  # queued jobs never started within the keeping time, now failed
    purged: int  # stored uploads and error reports dropped


ABANDONED_MESSAGE = "导入中断：处理该文件的后台进程已停止，未导入任何数据（写入是一个事务）。请重新上传文件。"
EXPIRED_MESSAGE = "导入未能在{hours}小时内开始，已取消，未导入任何数据。请重新上传文件。"


def import_jobs_recover(now: datetime | None = None) -> RecoverReport:
    """Sweep the import jobs; meant to be called periodically (every few minutes) by a worker.

    - A job RUNNING whose worker is gone is failed, with its upload dropped. Gone means: on
      PostgreSQL, nobody holds the job's session advisory lock (the worker holds it while running;
      it is freed when its connection ends, however the worker died); on SQLite, its lease
      (`lease_until`, renewed at every progress report) has lapsed. Nothing of such a job was
      written (the write is one transaction), so failing it is exact; the uploader uploads again.
      (Re-queuing is not done: a file that killed one worker would kill the next.)
    - A job PENDING for longer than MINZHENG_IMPORT_KEEP_HOURS (no worker ever took it) is failed.
    - The upload (`source`, full ID numbers) of every job finished, failed or abandoned is dropped;
      so is the error workbook (full ID numbers too) of jobs finished more than
      MINZHENG_IMPORT_KEEP_HOURS ago. The counts, messages and stored error list stay.

    Safe to run concurrently with imports and with itself: each job is changed by a conditional
    update on its status, so a job that finishes meanwhile is left as its worker left it.
    Returns the counts of what it did.
    """
    now = now or timezone.now()
    keep = timedelta(hours=int(getattr(settings, "MINZHENG_IMPORT_KEEP_HOURS", 24)))
    abandoned = 0
    for job in ImportJob.objects.filter(status=ImportStatus.RUNNING).only(
        "pk", "lease_until", "started_at", "created_at"
    ):
        if _worker_gone(job, now):
            abandoned += ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED,
                message=ABANDONED_MESSAGE,
                error_count=1,
                source="",
                lease_until=None,
                finished_at=now,
            )
    expired = ImportJob.objects.filter(status=ImportStatus.PENDING, created_at__lt=now - keep).update(
        status=ImportStatus.FAILED,
        message=EXPIRED_MESSAGE.format(hours=int(keep.total_seconds() // 3600)),
        error_count=1,
        source="",
        finished_at=now,
    )
    finished = [ImportStatus.DONE, ImportStatus.FAILED]
    purged = ImportJob.objects.filter(status__in=finished).exclude(source="").update(source="")
    purged += (
        ImportJob.objects.filter(status__in=finished, finished_at__lt=now - keep)
        .exclude(error_workbook="")
        .update(error_workbook="")
    )
    return RecoverReport(abandoned, expired, purged)


def import_run(*, job: ImportJob, content: bytes | None = None) -> ImportJob:
    """Check and import the file of `job`. Safe to call again: a finished job is left alone, and
    an interrupted one starts over (its write is one transaction, so nothing of it remains).
    While it runs, the job carries a lease and (PostgreSQL) an advisory lock: import_jobs_recover."""
    with _held_while_running(job.pk):
        claimed = ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportStatus.PENDING, ImportStatus.RUNNING]
        ).update(
            status=ImportStatus.RUNNING,
            started_at=timezone.now(),
            lease_until=_lease(),
            processed_rows=0,
            message="正在读取文件",
        )
        job.refresh_from_db()
        if not claimed:
            return job
        try:
            _run(job, content)
        except DomainError as exc:
            _finish_failed(job, exc)
        except Exception:
            logger.exception("household import %s failed", job.pk)
            _finish_failed(
                job, DomainError("导入时发生内部错误，未导入任何数据；错误已记录，请联系系统管理员")
            )
    return job


def _progress(job: ImportJob, message: str) -> Progress:
    def report(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, message=message, lease_until=_lease())

    return report


def _run(job: ImportJob, content: bytes | None) -> None:
    actor = Staff.objects.select_related("office__division").get(pk=job.uploaded_by_id)
    require(actor, Perm.HOUSEHOLD_CHANGE)
    data = content if content is not None else _unseal(job.source)
    try:
        sheet = read_sheet(data, _progress(job, "正在读取文件"))
    except ImportFileRejected as exc:
        _finish_failed(job, exc)
        return
    del data
    rows, mismatch = sheet.rows, sheet.mismatch
    job.total_rows = len(rows)
    job.processed_rows = 0
    job.message = "正在校验"
    job.save(update_fields=["total_rows", "processed_rows", "message"])
    checked = check_rows(actor=actor, rows=rows, progress=_progress(job, "正在校验"))
    ImportJob.objects.filter(pk=job.pk).update(processed_rows=len(rows), message="正在写入数据库")
    errors = checked.sorted_errors()
    all_or_nothing = job.mode == ImportMode.ALL_OR_NOTHING
    groups = [] if (all_or_nothing and errors) else checked.valid_groups()
    report = error_workbook(_rejected_rows(checked, all_rows=all_or_nothing)) if errors else b""
    job.processed_rows = len(rows)
    job.error_count = len(errors)
    job.errors = [e.as_dict() for e in errors[:STORED_ERRORS]]
    job.error_workbook = _seal(report) if report else ""
    job.source = ""
    if not groups:
        job.status = ImportStatus.FAILED
        job.message = mismatch + (
            f"发现{len(errors)}处错误，未导入任何数据。请按错误报告修改后重新导入。"
            if all_or_nothing
            else f"发现{len(errors)}处错误，没有可以导入的家庭。请按错误报告修改后重新导入。"
        )
        job.finished_at = timezone.now()
        job.save()
        return
    with transaction.atomic():
        households, persons = _write_households(groups=groups, joined_on=timezone.localdate())
        job.status = ImportStatus.DONE
        job.households_imported = households
        job.persons_imported = persons
        rejected = len(checked.groups) - len(groups)
        job.message = (
            mismatch
            + f"已导入{households}户、{persons}人。"
            + (
                f"{rejected}个家庭有错误未导入（共{len(errors)}处错误），请下载错误报告修改后再导入这些家庭。"
                if errors
                else ""
            )
        )
        job.finished_at = timezone.now()
        job.save()
        audit_record(
            actor=actor,
            action="household.import",
            object_type="registry.importjob",
            object_id=job.pk,
            scope_code=actor.office_code,
            reason=f"Excel导入：{job.file_name}",
            after={
                "job": job.pk,
                "file_name": job.file_name,
                "mode": job.mode,
                "rows": len(rows),
                "declared_last_row": sheet.declared_last_row,
                "last_row": sheet.last_row,
                "households": households,
                "persons": persons,
                "villages": len({g.value(DIVISION) for g in groups}),
                "rejected_households": rejected,
                "errors": len(errors),
            },
        )


# --- Reading jobs ------------------------------------------------------------------------------

_LIGHT_FIELDS = ("source", "error_workbook")


def import_job_list(*, actor: Staff) -> QuerySet[ImportJob]:
    """Import jobs uploaded within the actor's jurisdiction, newest first."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    return (
        scoped(ImportJob.objects.all(), actor)
        .defer(*_LIGHT_FIELDS)
        .select_related("uploaded_by")
        .annotate(has_report=~Q(error_workbook=""))
        .order_by("-created_at", "-pk")
    )


def import_job_get(*, actor: Staff, pk: int) -> ImportJob:
    job = import_job_list(actor=actor).filter(pk=pk).first()
    if job is None:
        raise OutOfScope()
    return job


@transaction.atomic
def import_job_error_report(*, actor: Staff, job: ImportJob) -> bytes:
    """The error workbook of a job (it holds full ID numbers as uploaded, so every download is audited)."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    sealed = (
        scoped(ImportJob.objects.filter(pk=job.pk), actor).values_list("error_workbook", flat=True).first()
    )
    if sealed is None:
        raise OutOfScope()
    if not sealed:
        raise NotFound("该导入任务没有错误报告")
    audit_record(
        actor=actor,
        action="household.import_error_report",
        object_type="registry.importjob",
        object_id=job.pk,
        scope_code=job.division_id,
    )
    return _unseal(sealed)


# --- Export ------------------------------------------------------------------------------------


def export_households(*, actor: Staff, out: IO[bytes], search: str = "", division_code: str = "") -> int:
    """Write the actor's households matching `search` (the household list's filter) to `out` as
    .xlsx in the import layout, ID numbers masked. Returns the number of person rows.

    Rows come from one ordered query read in chunks and go straight into the zip stream
    (minzheng.registry.xlsx), so memory stays flat however many households are exported.
    """
    require(actor, Perm.EXPORT)
    households = selectors.household_list(actor=actor, search=search, division_code=division_code)
    rows = (
        Membership.objects.filter(end_date__isnull=True, household__in=households.order_by().values("pk"))
        .annotate(
            head_first=Case(
                When(relationship=Relationship.HEAD, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("household__number", "head_first", "pk")
        .values_list(
            "household__number",
            "household__division_id",
            "household__address",
            "household__area",
            "household__phone",
            "person__name",
            "person__id_masked",
            "relationship",
        )
    )
    count = 0
    numbers = 0
    previous = ""
    with StreamingWorkbook(out) as book:
        sheet = book.sheet(DATA_SHEET, [_WIDTHS[h] for h in HEADERS], freeze_header=True)
        sheet.append(HEADERS, bold=True)
        for number, code, address, area, phone, name, masked, relationship in rows.iterator(chunk_size=2_000):
            count += 1
            if count >= EXCEL_ROW_LIMIT:
                raise InvalidInput("导出的行数超过Excel的上限（1,048,575行），请缩小检索范围后分批导出")
            if number != previous:
                numbers += 1
                previous = number
            sheet.append(
                (
                    number,
                    code,
                    address,
                    AREA_LABEL.get(area, area),
                    phone,
                    name,
                    masked,
                    RELATIONSHIP_LABEL.get(relationship, relationship),
                )
            )
        guide = book.sheet("导出说明", [12, 80])
        for line in (
            ("家庭档案导出",),
            ("导出人", f"{actor.full_name}（{actor.username}）"),
            ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")),
            ("检索条件", search or "（全部）"),
            ("家庭数", numbers),
            ("人数", count),
            (
                "说明",
                "身份证号已脱敏。家庭序号为家庭编号；表格式与导入模板相同，补全身份证号后可导入其他地区。",
            ),
        ):
            guide.append(line)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="household.export",
            object_type="registry.household",
            scope_code=actor.office_code,
            after={"search": search, "division": division_code, "households": numbers, "rows": count},
        )
    return count


def workbook_text(content: bytes) -> Iterator[str]:
    """Every cell value of a workbook as text (for tests and checks of what a file discloses)."""
    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        for sheet in wb.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if value is not None:
                        yield str(value)
    finally:
        wb.close()
