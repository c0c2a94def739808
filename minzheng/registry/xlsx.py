"""A minimal streaming .xlsx writer for large exports.

openpyxl's write-only mode keeps memory flat but, without lxml, spends about 12 µs per cell on the
reference machine: 100,000 households (about 300,000 person rows) took over 30 seconds, longer than
a web worker may take. This writer produces the same kind of file (SpreadsheetML, ECMA-376 part 1:
inline strings, one bold header style, column widths, a frozen header row) by writing the XML
straight into the zip stream, several times faster and in constant memory. Reading, templates and
styled reports stay with openpyxl. Text that would start a formula is neutralised (core.spreadsheets).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter

from minzheng.core.spreadsheets import neutralise

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_KIND = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 forbids most control characters; Excel refuses a file that contains them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Fills 0 and 1 are reserved by Excel (none, gray125); style 1 is the bold header.
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="等线"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_FLUSH = 1 << 20


def _cell(ref: str, value: object, style: str) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{style}><v>{value}</v></c>'
    text = escape(_ILLEGAL.sub("", str(neutralise(str(value)))))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


class Sheet:
    def __init__(self, stream: IO[bytes], columns: int) -> None:
        self._stream = stream
        self._letters = [get_column_letter(i) for i in range(1, columns + 1)]
        self._parts: list[str] = []
        self._size = 0
        self.rows = 0

    def append(self, values: Sequence[object], *, bold: bool = False) -> None:
        self.rows += 1
        r = self.rows
        style = ' s="1"' if bold else ""
        cells = "".join(
            _cell(f"{letter}{r}", value, style)
            for letter, value in zip(self._letters, values, strict=False)
            if value is not None and value != ""
        )
        line = f'<row r="{r}">{cells}</row>'
        self._parts.append(line)
        self._size += len(line)
        if self._size > _FLUSH:
            self.flush()

    def flush(self) -> None:
        self._stream.write("".join(self._parts).encode())
        self._parts.clear()
        self._size = 0


class StreamingWorkbook:
    """Write sheets one after the other into `out`; `close()` (or the with block) finishes the file."""

    def __init__(self, out: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        self._names: list[str] = []
        self._open: tuple[IO[bytes], Sheet] | None = None

    def __enter__(self) -> StreamingWorkbook:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._end_sheet()
            self._zip.close()

    def sheet(self, name: str, widths: Sequence[float], *, freeze_header: bool = False) -> Sheet:
        self._end_sheet()
        self._names.append(name)
        stream = self._zip.open(f"xl/worksheets/sheet{len(self._names)}.xml", "w", force_zip64=True)
        pane = (
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            if freeze_header
            else ""
        )
        selected = ' tabSelected="1"' if len(self._names) == 1 else ""
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, start=1)
        )
        stream.write(
            (
                f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
                f'<sheetViews><sheetView{selected} workbookViewId="0">{pane}</sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
            ).encode()
        )
        sheet = Sheet(stream, max(len(widths), 1))
        self._open = (stream, sheet)
        return sheet

    def _end_sheet(self) -> None:
        if self._open is None:
            return
        stream, sheet = self._open
        sheet.flush()
        stream.write(b"</sheetData></worksheet>")
        stream.close()
        self._open = None

    def close(self) -> None:
        self._end_sheet()
        sheets = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(self._names, start=1)
        )
        relations = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self._names) + 1)
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_KIND}.worksheet+xml"/>'
            for i in range(1, len(self._names) + 1)
        )
        styles_id = len(self._names) + 1
        parts: Iterable[tuple[str, str]] = (
            (
                "[Content_Types].xml",
                f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{_KIND}.sheet.main+xml"/>'
                f'<Override PartName="/xl/styles.xml" ContentType="{_KIND}.styles+xml"/>'
                f"{overrides}</Types>",
            ),
            (
                "_rels/.rels",
                f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" '
                f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            ),
            (
                "xl/workbook.xml",
                f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
                f"<sheets>{sheets}</sheets></workbook>",
            ),
            (
                "xl/_rels/workbook.xml.rels",
                f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">{relations}'
                f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
            ),
            ("xl/styles.xml", _STYLES),
        )
        for name, text in parts:
            self._zip.writestr(name, text)
        self._zip.close()
