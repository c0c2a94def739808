"""The monthly statistics as an Excel workbook (月度统计报表): one sheet of figures by unit, one of the
standards in force."""

from __future__ import annotations

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from minzheng.reports.selectors import Sheet


def sheet_workbook(sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None  # noqa: S101 (a new workbook has its sheet)
    ws.title = _("月度统计")
    title = _("%(county)s%(month)s民政统计月报") % {
        "county": sheet.county_name,
        "month": sheet.month.strftime("%Y-%m"),
    }
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    state = _("已冻结") if sheet.frozen else _("统计中（未冻结）")
    computed = (
        sheet.period.computed_at.strftime("%Y-%m-%d %H:%M")
        if sheet.period and sheet.period.computed_at
        else "—"
    )
    ws.append([f"{_('状态')}：{state}", f"{_('计算时间')}：{computed}"])
    ws.append([])
    header = [_("类别"), _("指标"), _("分组"), *[name for _code, name in sheet.units], _("合计")]
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for _group, group_label, rows in sheet.groups:
        for row in rows:
            values = [float(v) if v is not None else None for v in row.values]
            ws.append([group_label, row.label, row.dimension_label if not row.rate else "%", *values])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 26
    standards = book.create_sheet(_("保障标准"))
    standards.append([_("标准"), _("金额（元）")])
    for row in sheet.standards:
        standards.append([row.dimension_label, float(row.values[0]) if row.values[0] is not None else None])
    standards.column_dimensions["A"].width = 50
    out = BytesIO()
    book.save(out)
    return out.getvalue()
