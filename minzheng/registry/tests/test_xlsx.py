from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from minzheng.registry.xlsx import StreamingWorkbook


def test_streamed_workbook_reads_back_with_styles_panes_and_widths() -> None:
    out = io.BytesIO()
    with StreamingWorkbook(out) as book:
        sheet = book.sheet("家庭成员", [10, 22], freeze_header=True)
        sheet.append(("家庭序号", "身份证号"), bold=True)
        sheet.append(("A&B <c>", " 640202********004X"))
        sheet.append((12, None))
        sheet.append(("控制\x07字符", "尾部空格 "))
        other = book.sheet("说明", [40])
        other.append(("第二张表",))
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["家庭成员", "说明"]
    ws = wb["家庭成员"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["家庭序号", "身份证号"],
        ["A&B <c>", " 640202********004X"],
        [12, None],
        ["控制字符", "尾部空格 "],
    ]
    assert ws["A1"].font.b
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width == 22
    assert wb["说明"]["A1"].value == "第二张表"
    names = set(zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist())
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"} <= names


def test_many_rows_are_flushed_in_pieces() -> None:
    out = io.BytesIO()
    with StreamingWorkbook(out) as book:
        sheet = book.sheet("大表", [10])
        for i in range(30_000):
            sheet.append((f"第{i}行的一段较长的文字，用来填满缓冲区",))
    ws = load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
    values = [row[0] for row in ws.iter_rows(values_only=True)]
    assert len(values) == 30_000
    assert values[-1] == "第29999行的一段较长的文字，用来填满缓冲区"
