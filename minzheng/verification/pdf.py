"""The verification report as a PDF file (A4), drawn from the report's frozen content, so that the
file says exactly what was sealed: its number, the departments and how each answered, every finding
with its disposition, the statement that the report draws no conclusion, and the content's SHA-256.

The Chinese text is set in STSong-Light, one of the standard CJK fonts every PDF reader provides
(Adobe's Asian font packs): nothing is embedded and no font file ships or is downloaded."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from minzheng.verification.models import Report

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1, spaceAfter=4 * mm)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11)
HEAD = ParagraphStyle("head", fontName=FONT, fontSize=11, leading=16, spaceBefore=3 * mm, spaceAfter=2 * mm)
RIGHT = ParagraphStyle("right", parent=BODY, alignment=2)
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
    ]
)


def _p(text: object, style: ParagraphStyle = CELL) -> Paragraph:
    escaped = (
        str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    return Paragraph(escaped, style)


def _table(header: list[str], rows: Sequence[Sequence[object]], widths: list[float]) -> Table:
    table = Table(
        [[_p(h) for h in header], *[[_p(c) for c in row] for row in rows]], colWidths=widths, repeatRows=1
    )
    styles = list(GRID.getCommands())
    table.setStyle(TableStyle(styles))
    return table


def _amount(f: dict[str, Any]) -> str:
    parts = []
    if f.get("amount"):
        parts.append(f"{f['amount']} {f.get('unit') or '元'}")
    if f.get("quantity"):
        parts.append(f"{f['quantity']} {f.get('unit') or ''}".strip())
    return " · ".join(parts)


def report_pdf(report: Report, *, applicant: str = "", authority: str = "") -> bytes:
    """The report as a PDF document (bytes)."""
    content: dict[str, Any] = report.content
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"家庭经济状况核对报告 {report.number}",
        author=authority or "民政局家庭经济状况核对机构",
        invariant=True,  # the same sealed content, the same file
    )
    issued = timezone.localtime(report.issued_at)
    story: list[Any] = [
        _p("家庭经济状况核对报告", TITLE),
        _p(f"报告编号：{report.number}", RIGHT),
        Spacer(1, 2 * mm),
        _table(
            ["项目", "内容"],
            [
                ["受理编号", content.get("case", "")],
                *([["申请人", applicant]] if applicant else []),
                ["核对时点", content.get("as_of", "")],
                ["出具日期", f"{issued.year}年{issued.month}月{issued.day}日"],
            ],
            [35 * mm, 139 * mm],
        ),
        _p("核对部门及反馈情况", HEAD),
        _table(
            ["核对部门", "反馈情况", "说明"],
            [[d.get("name"), d.get("status_label"), d.get("note")] for d in content.get("departments", [])],
            [60 * mm, 40 * mm, 74 * mm],
        ),
        _p("核对结果及处理", HEAD),
    ]
    findings = content.get("findings", [])
    if findings:
        story.append(
            _table(
                ["成员", "核对项目", "核对部门", "金额/数量", "期间", "申报值", "处理"],
                [
                    [
                        f.get("person"),
                        f"{f.get('item_label')}{'（' + f['description'] + '）' if f.get('description') else ''}"
                        + (" 与申报不符" if f.get("discrepancy") else ""),
                        f.get("department"),
                        _amount(f),
                        " — ".join(p for p in (f.get("period") or []) if p),
                        f.get("declared") if f.get("declared") is not None else "—",
                        (f.get("disposition_label", "") + ("：" + f["note"] if f.get("note") else ""))
                        if f.get("discrepancy")
                        else "—",
                    ]
                    for f in findings
                ],
                [18 * mm, 40 * mm, 26 * mm, 22 * mm, 26 * mm, 16 * mm, 26 * mm],
            )
        )
    else:
        story.append(_p("各部门未反馈任何记录", BODY))
    story += [
        Spacer(1, 4 * mm),
        _p(
            "本报告如实记载各部门反馈的信息及其处理情况，不作出是否符合条件的结论；"
            "审核审批以本报告及入户调查等情况为依据。",
            BODY,
        ),
        _p(f"报告内容摘要（SHA-256）：{report.sha256}", CELL),
        Spacer(1, 10 * mm),
        _p(f"{authority}民政局家庭经济状况核对机构（盖章）", RIGHT),
        _p(f"{issued.year}年{issued.month}月{issued.day}日", RIGHT),
    ]
    doc.build(story)
    return buffer.getvalue()


def report_file(report: Report) -> tuple[str, bytes]:
    """The report's file name and PDF: the applicant and the county bureau named from its case."""
    case = report.request.case
    applicant = f"{case.applicant_name}（{case.applicant_id_masked}）· {case.division.name}" if case else ""
    county = case.division.parent.parent if case and case.division.parent else None
    return f"核对报告-{report.number}.pdf", report_pdf(
        report, applicant=applicant, authority=county.name if county else ""
    )
