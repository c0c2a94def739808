"""Excel import of households, reading and checking (家庭成员花名册): the layout shared by the
template, the import and the export; the file checks; the rows read as a stream; every row checked.

Rows are never held as one list. The sheet is read as a stream (openpyxl read-only, values only)
and checked chunk by chunk; what the later checks need is kept compact: one small record per
household (its first row, the household cells, its head rows, its rows with errors) and one integer
per ID number for duplicates within the file. Whoever writes the rows (excel_write) or reports them
(the error workbook) reads the file again: `SheetRows` yields the same rows each time.

Rows are counted by reading them, never from the sheet's declared <dimension>.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO, Any, TypeVar

from django.db.models import Exists, OuterRef
from openpyxl import load_workbook

from minzheng.core import protect
from minzheng.core.errors import InvalidInput
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, ResidentId, parse_resident_id
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.registry.models import Area, Membership, Person, Relationship

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
COLUMN_WIDTHS = {
    GROUP: 10,
    DIVISION: 16,
    ADDRESS: 36,
    AREA: 10,
    PHONE: 16,
    NAME: 12,
    ID_NUMBER: 22,
    RELATIONSHIP: 16,
}
COLUMN_INDEX = {name: i for i, name in enumerate(HEADERS)}

# --- Limits ------------------------------------------------------------------------------------

MAX_FILE_BYTES = 20 * 1024 * 1024
# A 20 MB xlsx of 200,000 rows unpacks to roughly 100 MB of XML; far more means a zip bomb.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 200_000
LOOKUP_CHUNK = 2_000
# Rows read, checked and written at a time; progress is reported after each chunk.
CHUNK_ROWS = 2_000

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


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the Excel row number (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


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


Row = tuple[int, tuple[object, ...]]  # (Excel row number, the cells in HEADERS order)
T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SheetRows:
    """The non-empty data rows of a file's data sheet, read as a stream each time it is iterated.

    After an iteration that ran to the end, `count` is the number of rows read, `last_row` the
    last row holding data and `declared_last_row` the last row the file's dimension declared (None:
    no dimension). More than MAX_ROWS rows, or none, reject the file."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.count = 0
        self.last_row = 0
        self.declared_last_row: int | None = None

    def __iter__(self) -> Iterator[Row]:
        count = 0
        last = 0
        with _data_sheet(self.content) as ws:
            declared = ws.declared_rows
            self.declared_last_row = int(declared) if declared else None
            values = ws.iter_rows(values_only=True)
            columns = header_columns(next(values, None))
            width = max(columns) + 1
            for number, raw in enumerate(values, start=2):
                if len(raw) < width:
                    raw = (*raw, *([None] * (width - len(raw))))
                picked = tuple(raw[c] for c in columns)
                if all(_blank(v) for v in picked):
                    continue
                count += 1
                if count > MAX_ROWS:
                    raise ImportFileRejected(f"数据超过{MAX_ROWS:,}行，请分成几个文件分别导入")
                last = number
                yield number, picked
        if not count:
            raise ImportFileRejected("文件中没有数据：请从第2行起每行填写一名家庭成员")
        self.count, self.last_row = count, last

    @property
    def mismatch(self) -> str:
        """The words for data past the declared dimension ("" when the declaration held)."""
        if self.declared_last_row is None or self.last_row <= self.declared_last_row:
            return ""
        return (
            f"文件声明的数据区只到第{self.declared_last_row}行，实际数据到第{self.last_row}行"
            f"（常见于其他软件生成的文件）；已按实际读到的{self.count:,}行处理。"
        )


def read_rows(content: bytes) -> list[Row]:
    """Every non-empty data row as one list: for tests and small files only (imports stream)."""
    return list(SheetRows(content))


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


text_of = _text  # a cell as the checks read it (the error report writes code and ID cells so)


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


def group_key(values: tuple[object, ...]) -> str:
    return _text(values[COLUMN_INDEX[GROUP]])


@dataclass(frozen=True, slots=True)
class Member:
    """A row of a household that passed the checks, parsed again for writing."""

    name: str
    rid: ResidentId
    relationship: str


def parse_member(values: tuple[object, ...]) -> Member:
    """The person of a row that passed check_sheet (raises on any other row)."""
    try:
        rid = _resident_id(values[COLUMN_INDEX[ID_NUMBER]])
    except _CellError as exc:
        raise ValueError("a row that failed the check") from exc
    relationship = RELATIONSHIP_BY_LABEL[_compact(values[COLUMN_INDEX[RELATIONSHIP]]).lower()]
    return Member(_text(values[COLUMN_INDEX[NAME]]), rid, relationship)


def id_key(rid: ResidentId) -> int:
    """A compact exact key of an ID number: its first 17 digits (the 18th is their check character)."""
    return int(rid.number[:17])


_VALUE_COLUMNS = {DIVISION: 0, ADDRESS: 1, AREA: 2, PHONE: 3}


@dataclass(slots=True, eq=False)
class HouseholdGroup:
    """What the checks keep of one household of the file: no row values beyond its household cells."""

    key: str
    first: int  # the row it starts on; households are numbered in this order
    persons: int = 0
    # DIVISION, ADDRESS, AREA, PHONE as first given, and the rows they were given on (0: not given)
    cells: list[str] = field(default_factory=lambda: ["", "", "", ""])
    cell_rows: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    invalid: set[str] | None = None  # household columns given with a wrong value
    heads: list[int] | None = None
    bad: set[int] | None = None  # its rows with errors: a household with any is never written
    number: str = ""  # the household number, given when written

    def value(self, column: str) -> str:
        return self.cells[_VALUE_COLUMNS[column]]

    def given_on(self, column: str) -> int:
        return self.cell_rows[_VALUE_COLUMNS[column]]


@dataclass
class CheckedFile:
    """The outcome of check_sheet: the households (in the order of their first row), the errors by
    row, and the sheet as read (row count, declared and real last rows)."""

    sheet: SheetRows
    groups: dict[str, HouseholdGroup]
    errors: dict[int, list[RowError]]

    @property
    def rows(self) -> int:
        return self.sheet.count

    @property
    def mismatch(self) -> str:
        return self.sheet.mismatch

    def sorted_errors(self) -> list[RowError]:
        order = {c: i for i, c in enumerate((*HEADERS, ERROR_COLUMN))}
        found = [e for row in sorted(self.errors) for e in self.errors[row]]
        return sorted(found, key=lambda e: (e.row, order.get(e.column, 99)))

    def valid_groups(self) -> list[HouseholdGroup]:
        return [g for g in self.groups.values() if not g.bad]

    def row_message(self, number: int, values: tuple[object, ...]) -> str:
        """The error column of a row in the error report: its own errors, or its household's; ""
        for a row without errors in a household without errors."""
        own = self.errors.get(number)
        if own:
            return "；".join(f"{e.column}：{e.message}" for e in own)
        group = self.groups.get(group_key(values))
        if group is not None and group.bad:
            bad = "、".join(str(r) for r in sorted(group.bad))
            return f"同一家庭第{bad}行有错误，整户未导入"
        return ""


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


class _Checker:
    """Checks rows chunk by chunk, keeping only what the checks across rows need."""

    def __init__(self, actor: Staff) -> None:
        self.actor = actor
        self.groups: dict[str, HouseholdGroup] = {}
        self.errors: dict[int, list[RowError]] = {}
        # ID key -> (first row, its household); the rows of IDs seen more than once
        self.seen: dict[int, tuple[int, HouseholdGroup | None]] = {}
        self.repeated: dict[int, list[tuple[int, HouseholdGroup | None]]] = {}

    def error(self, row: int, group: HouseholdGroup | None, column: str, message: str) -> None:
        self.errors.setdefault(row, []).append(RowError(row, column, message))
        if group is not None:
            if group.bad is None:
                group.bad = set()
            group.bad.add(row)

    def chunk(self, rows: Sequence[Row]) -> None:
        ids: list[tuple[int, HouseholdGroup | None, str]] = []
        for row, values in rows:
            checked = self.row(row, values)
            if checked is not None:
                group, rid = checked
                ids.append((row, group, protect.lookup_digest(rid.number)))
        registered = _registered([digest for _, _, digest in ids])
        for row, group, digest in ids:
            if digest in registered:
                if registered[digest]:
                    message = "该人员已在其他家庭登记，不能重复登记（如需变更请在系统中办理迁入）"
                else:
                    message = "该人员已在系统中登记（当前不属于任何家庭），请在系统中办理迁入"
                self.error(row, group, ID_NUMBER, message)

    def row(self, row: int, values: tuple[object, ...]) -> tuple[HouseholdGroup | None, ResidentId] | None:
        """Check one row's cells and record it in its household; its parsed ID, if any."""
        key = group_key(values)
        group = None
        if not key:
            self.error(row, None, GROUP, "请填写家庭序号（同一家庭的成员填写相同的序号）")
        elif len(key) > 50:
            self.error(row, None, GROUP, "家庭序号不能超过50个字符")
        else:
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = HouseholdGroup(key, row)
            group.persons += 1
        for column, at in _VALUE_COLUMNS.items():
            raw = values[COLUMN_INDEX[column]]
            if _blank(raw):
                continue
            try:
                value = _check_household_cell(column, raw)
            except _CellError as exc:
                self.error(row, group, column, str(exc))
                if group is not None:
                    group.invalid = (group.invalid or set()) | {column}
                continue
            if group is None:
                continue
            if not group.cell_rows[at]:
                group.cells[at], group.cell_rows[at] = value, row
            elif group.cells[at] != value:
                first = group.cell_rows[at]
                self.error(
                    row,
                    group,
                    column,
                    f"与同一家庭第{first}行填写的{column}不一致（同一家庭的家庭信息须相同）",
                )
        name = _text(values[COLUMN_INDEX[NAME]])
        if not name:
            self.error(row, group, NAME, "请填写姓名")
        elif len(name) > 60:
            self.error(row, group, NAME, "姓名不能超过60个字")
        rid = None
        if _blank(values[COLUMN_INDEX[ID_NUMBER]]):
            self.error(row, group, ID_NUMBER, "请填写身份证号")
        else:
            try:
                rid = _resident_id(values[COLUMN_INDEX[ID_NUMBER]])
            except _CellError as exc:
                self.error(row, group, ID_NUMBER, str(exc))
            else:
                key_of_id = id_key(rid)
                first_seen = self.seen.setdefault(key_of_id, (row, group))
                if first_seen[0] != row:
                    self.repeated.setdefault(key_of_id, [first_seen]).append((row, group))
        label = _compact(values[COLUMN_INDEX[RELATIONSHIP]]).lower()
        if not label:
            self.error(row, group, RELATIONSHIP, "请填写与户主关系")
        elif label not in RELATIONSHIP_BY_LABEL:
            self.error(row, group, RELATIONSHIP, "与户主关系应为：" + "、".join(RELATIONSHIP_LABEL.values()))
        elif group is not None and RELATIONSHIP_BY_LABEL[label] == Relationship.HEAD:
            group.heads = [*(group.heads or ()), row]
        return None if rid is None else (group, rid)

    def finish(self) -> None:
        """The checks that need every row: households complete with one head, repeated IDs, villages."""
        for group in self.groups.values():
            for column in (DIVISION, ADDRESS, AREA):
                if not group.given_on(column) and column not in (group.invalid or ()):
                    self.error(group.first, group, column, f"该家庭未填写{column}")
            heads = group.heads or []
            if not heads:
                self.error(group.first, group, RELATIONSHIP, "该家庭没有户主（每个家庭须有且只有一名户主）")
            elif len(heads) > 1:
                listed = "、".join(str(r) for r in heads)
                for r in heads:
                    self.error(
                        r,
                        group,
                        RELATIONSHIP,
                        f"同一家庭有{len(heads)}名户主（第{listed}行），须有且只有一名",
                    )
        for rows_of_id in self.repeated.values():
            listed = "、".join(str(r) for r, _ in rows_of_id)
            for r, of_row in rows_of_id:
                self.error(
                    r, of_row, ID_NUMBER, f"同一身份证号在文件中出现了{len(rows_of_id)}次（第{listed}行）"
                )
        self.seen.clear()
        self.repeated.clear()
        self.divisions()

    def divisions(self) -> None:
        jurisdiction = jurisdiction_of(self.actor)
        codes = {g.value(DIVISION) for g in self.groups.values() if g.value(DIVISION)}
        in_scope = {c for c in codes if jurisdiction.contains(c)}
        found = {
            d.code: d
            for d in Division.objects.filter(code__in=sorted(in_scope)).only("code", "level", "is_active")
        }
        for group in self.groups.values():
            code = group.value(DIVISION)
            if not code:
                continue
            row = group.given_on(DIVISION)
            # Outside the jurisdiction the answer is the same whether the code exists or not.
            if code not in in_scope:
                self.error(row, group, DIVISION, "该村(社区)不在您的管辖范围内")
            elif code not in found:
                self.error(row, group, DIVISION, "村(社区)代码不存在，请对照“村(社区)代码表”填写")
            elif found[code].level != DivisionLevel.VILLAGE:
                self.error(row, group, DIVISION, "须填写村(社区)一级的代码，不能填写县、乡镇(街道)代码")
            elif not found[code].is_active:
                self.error(row, group, DIVISION, "该村(社区)已撤销，不能登记新家庭")


def _registered(digests: Sequence[str]) -> dict[str, bool]:
    """Digest -> whether that registered person currently belongs to a household."""
    found: dict[str, bool] = {}
    open_membership = Membership.objects.filter(person=OuterRef("pk"), end_date__isnull=True)
    for start in range(0, len(digests), LOOKUP_CHUNK):
        found.update(
            Person.objects.filter(id_digest__in=digests[start : start + LOOKUP_CHUNK])
            .annotate(in_household=Exists(open_membership))
            .values_list("id_digest", "in_household")
        )
    return found


def check_sheet(*, actor: Staff, content: bytes, progress: Progress | None = None) -> CheckedFile:
    """Read and check every row of the file: cells, households as groups, ID numbers repeated in
    the file or already registered, villages in the actor's jurisdiction. The rows are read as a
    stream and checked CHUNK_ROWS at a time; none of them is kept."""
    sheet = SheetRows(content)
    checker = _Checker(actor)
    done = 0
    for rows in chunked(sheet, CHUNK_ROWS):
        checker.chunk(rows)
        done += len(rows)
        if progress is not None:
            progress(done)
    checker.finish()
    return CheckedFile(sheet=sheet, groups=checker.groups, errors=checker.errors)


def check_rows(*, actor: Staff, content: bytes) -> CheckedFile:
    """check_sheet without progress reports (the name the tests and the bench use)."""
    return check_sheet(actor=actor, content=content)
