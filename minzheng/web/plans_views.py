"""Pages for the plan's indicators (规划指标): the table of every indicator with its baseline, latest
value, target, progress, traffic light, source, who entered it and the evidence (a city or region
sees its counties side by side); an indicator's history and entries with the approval of pending
ones; the entry form; the table printed on A4 and downloaded as Excel.

Thin: a form in, one service or selector call, a template out; refusals shown in the page's language
with status 422 (403/404/409 as the error says), nothing written."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from minzheng.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.core.uploads import Upload
from minzheng.org.models import Division, Staff
from minzheng.plans import selectors, services
from minzheng.plans.evidence import EVIDENCE_MAX_BYTES
from minzheng.plans.models import EntryKind, EntryStatus, Plan
from minzheng.web.base import BootstrapForm, actor, flash_done, forbidden, staff_view, xlsx_response

SHOWN = (InvalidInput, Conflict, PermissionDenied)


def _put_error(form: forms.Form, exc: DomainError) -> None:
    """A refusal onto the form, in the page's language."""
    placed = False
    for field, messages in exc.field_errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, _(message))
            placed = True
    if not placed:
        form.add_error(None, _(exc.message))


def _county_names(plans: list[Plan]) -> dict[int, str]:
    names = dict(
        Division.objects.filter(code__in=[p.region.ljust(12, "0") for p in plans]).values_list("code", "name")
    )
    return {p.pk: names.get(p.region.ljust(12, "0"), p.region) for p in plans}


def _chosen_plan(request: HttpRequest, who: Staff) -> tuple[list[Plan], Plan | None]:
    found = list(selectors.plans(actor=who))
    wanted = request.GET.get("plan", "")
    chosen = next((p for p in found if str(p.pk) == wanted), None) if wanted else None
    if chosen is None and found:
        chosen = found[0]
    return found, chosen


class YearForm(BootstrapForm):
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2000, max_value=2100)


@staff_view(Perm.REPORT_VIEW)
@require_safe
def plan_home(request: HttpRequest) -> HttpResponse:
    """规划指标: the chosen plan's table; with several counties in scope, all of them side by side."""
    who = actor(request)
    found, chosen = _chosen_plan(request, who)
    rows = selectors.plan_rows(actor=who, plan=chosen) if chosen else []
    names = _county_names(found)
    return render(
        request,
        "web/plans/home.html",
        {
            "plans": [(p, names[p.pk]) for p in found],
            "plan": chosen,
            "county": names.get(chosen.pk, "") if chosen else "",
            "rows": rows,
            "counts": selectors.light_counts(rows),
            "side_by_side": selectors.comparison(actor=who) if len(found) > 1 else None,
            "year_form": YearForm(initial={"year": timezone.localdate().year}),
            "may_enter": who.can(Perm.PLAN_ENTER),
            "may_approve": who.can(Perm.PLAN_APPROVE),
        },
    )


@staff_view(Perm.REPORT_VIEW)
@require_safe
def plan_print(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    found, chosen = _chosen_plan(request, who)
    rows = selectors.plan_rows(actor=who, plan=chosen) if chosen else []
    return render(
        request,
        "web/plans/print.html",
        {
            "plan": chosen,
            "county": _county_names(found).get(chosen.pk, "") if chosen else "",
            "rows": rows,
            "title": _("规划指标完成情况"),
            "today": timezone.localdate(),
        },
    )


def _number(value: Any) -> Any:
    return float(value) if value is not None else None


@staff_view(Perm.REPORT_VIEW)
@require_safe
def plan_xlsx(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    found, chosen = _chosen_plan(request, who)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    sheet.title = _("规划指标")
    county = _county_names(found).get(chosen.pk, "") if chosen else ""
    sheet.append([neutralise(f"{county} {_(chosen.name) if chosen else ''}".strip())])
    sheet["A1"].font = Font(bold=True, size=13)
    headers = [
        _("序号"), _("主要指标"), _("单位"), _("基期值"), _("最新值"), _("年度"), _("目标值"),
        _("完成进度（%）"), _("状态"), _("指标属性"), _("计算方式"), _("数据来源"), _("填报人"), _("审核人"),
        _("计算时间"), _("已发布"),
    ]  # fmt: skip
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in selectors.plan_rows(actor=who, plan=chosen) if chosen else []:
        ind, latest = row.indicator, row.latest
        sheet.append(
            [
                ind.number,
                neutralise(_(ind.name)),
                neutralise(_(ind.unit)),
                neutralise(_(ind.baseline_text)),
                _number(latest.value) if latest else None,
                latest.year if latest else None,
                neutralise(_(ind.target_text)),
                _number(row.progress),
                str(row.light.label),
                ind.get_attribute_display(),
                _("系统计算") if ind.computation else _("填报"),
                neutralise(_(ind.source)),
                neutralise(row.entry.entered_by.full_name) if row.entry else "",
                neutralise(row.entry.decided_by.full_name) if row.entry and row.entry.decided_by else "",
                timezone.localtime(latest.computed_at).strftime("%Y-%m-%d %H:%M") if latest else "",
                _("是") if latest and latest.frozen else "",
            ]
        )
    for column, width in zip(
        "ABCDEFGHIJKLMNOP", (6, 40, 8, 10, 10, 8, 24, 12, 10, 10, 10, 40, 10, 10, 17, 8), strict=True
    ):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    name = f"规划指标_{county}_{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(out.getvalue(), name)


class DecisionForm(BootstrapForm):
    note = forms.CharField(label=gettext_lazy("审核意见（退回时必填）"), max_length=300, required=False)


def _indicator_page(
    request: HttpRequest, indicator_id: int, *, decision: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    row, entries = selectors.indicator_detail(actor=who, indicator_id=indicator_id)
    return render(
        request,
        "web/plans/indicator.html",
        {
            "row": row,
            "ind": row.indicator,
            "entries": entries,
            "pending": [e for e in entries if e.status == EntryStatus.PENDING],
            "decision": decision or DecisionForm(),
            "may_enter": who.can(Perm.PLAN_ENTER) and bool(selectors.entry_kinds(row.indicator)),
            "may_approve": who.can(Perm.PLAN_APPROVE),
            "me": who.pk,
        },
        status=status,
    )


@staff_view(Perm.REPORT_VIEW)
@require_safe
def indicator_detail(request: HttpRequest, plan_indicator_id: int) -> HttpResponse:
    return _indicator_page(request, plan_indicator_id)


class EntryForm(BootstrapForm):
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2000, max_value=2100)
    kind = forms.ChoiceField(label=gettext_lazy("填报内容"), choices=EntryKind.choices)
    value = forms.CharField(label=gettext_lazy("数值"), max_length=30)
    source = forms.CharField(
        label=gettext_lazy("数据来源"),
        max_length=200,
        help_text=gettext_lazy("如：区残联2025年困难残疾人统计"),
    )
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)
    evidence = forms.FileField(
        label=gettext_lazy("佐证材料（PDF、JPG、PNG，不超过10MB）"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, EntryKind(k).label) for k in kinds]  # type: ignore[attr-defined]


@staff_view(Perm.PLAN_ENTER)
@require_http_methods(["GET", "POST"])
def entry_new(request: HttpRequest, plan_indicator_id: int) -> HttpResponse:
    """填报: a figure for a year with its evidence, waiting for a second person's approval."""
    who = actor(request)
    indicator = selectors.indicator_get(actor=who, indicator_id=plan_indicator_id)
    kinds = selectors.entry_kinds(indicator)
    if not kinds:
        return forbidden(request, _("该指标由系统计算，无需填报"))
    today: date = timezone.localdate()
    if request.method != "POST":
        form = EntryForm(initial={"year": today.year - 1, "kind": kinds[0]}, kinds=kinds)
        return render(request, "web/plans/entry.html", {"ind": indicator, "form": form})
    form = EntryForm(request.POST, request.FILES, kinds=kinds)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        file = data.get("evidence")
        upload = (
            Upload(file.name or "evidence", file.content_type or "", file.read(EVIDENCE_MAX_BYTES + 1))
            if file
            else None
        )
        try:
            services.entry_submit(
                actor=who,
                indicator_id=indicator.pk,
                year=data["year"],
                kind=data["kind"],
                value=data["value"],
                source=data["source"],
                note=data.get("note", ""),
                evidence=upload,
            )
        except SHOWN as exc:
            _put_error(form, exc)
            status = exc.status if exc.status in (403, 409) else 422
        else:
            flash_done(request, _("已提交，等待第二人审核"))
            return redirect("web:plans_indicator", plan_indicator_id=indicator.pk)
    return render(request, "web/plans/entry.html", {"ind": indicator, "form": form}, status=status)


@staff_view(Perm.PLAN_APPROVE)
@require_POST
def entry_decide(request: HttpRequest, plan_entry_id: int) -> HttpResponse:
    """审核: approve or return a pending entry (never one's own)."""
    who = actor(request)
    entry = selectors.entry_get(actor=who, entry_id=plan_entry_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _indicator_page(request, entry.indicator_id, decision=form, status=422)
    try:
        if request.POST.get("action") == "approve":
            services.entry_approve(actor=who, entry_id=entry.pk, note=form.cleaned_data["note"])
            flash_done(request, _("已审核通过，指标值已更新"))
        elif request.POST.get("action") == "reject":
            services.entry_reject(actor=who, entry_id=entry.pk, note=form.cleaned_data["note"])
            flash_done(request, _("已退回"))
        else:
            form.add_error(None, _("请选择审核通过或退回"))
            return _indicator_page(request, entry.indicator_id, decision=form, status=422)
    except SHOWN as exc:
        _put_error(form, exc)
        return _indicator_page(
            request, entry.indicator_id, decision=form, status=exc.status if exc.status in (403, 409) else 422
        )
    return redirect("web:plans_indicator", plan_indicator_id=entry.indicator_id)


@staff_view(Perm.REPORT_VIEW)
@require_safe
def entry_evidence(request: HttpRequest, plan_entry_id: int) -> HttpResponse:
    """A figure's evidence file: always downloaded, never rendered inline."""
    entry = services.evidence_download(actor=actor(request), entry_id=plan_entry_id)
    response = HttpResponse(bytes(entry.evidence_content), content_type=entry.evidence_type)
    response["Content-Disposition"] = content_disposition_header(True, entry.evidence_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_view(Perm.REPORT_VIEW)
@require_POST
def plan_year(request: HttpRequest, development_plan_id: int) -> HttpResponse:
    """重新计算 (PLAN_ENTER or PLAN_APPROVE) or 发布 (PLAN_APPROVE) a year's values."""
    who = actor(request)
    plan = selectors.plan_get(actor=who, plan_id=development_plan_id)
    form = YearForm(request.POST)
    action = request.POST.get("action", "")
    if action == "publish" and not who.can(Perm.PLAN_APPROVE):
        return forbidden(request)
    if action != "publish" and not (who.can(Perm.PLAN_ENTER) or who.can(Perm.PLAN_APPROVE)):
        return forbidden(request)
    status = 422
    if form.is_valid():
        try:
            if action == "publish":
                services.values_publish(actor=who, plan_id=plan.pk, year=form.cleaned_data["year"])
                flash_done(request, _("已发布，该年度指标值已冻结"))
            else:
                services.values_refresh(actor=who, plan_id=plan.pk, year=form.cleaned_data["year"])
                flash_done(request, _("已重新计算"))
            return redirect(f"{reverse('web:plans')}?plan={plan.pk}")
        except SHOWN as exc:
            _put_error(form, exc)
            status = exc.status if exc.status in (403, 409) else 422
    return render(request, "web/plans/year_refused.html", {"plan": plan, "form": form}, status=status)
