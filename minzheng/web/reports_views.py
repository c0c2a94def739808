"""Statistics pages (统计报表): the dashboard of the account's jurisdiction, a county's monthly
figures (on screen, printable on A4, as Excel), the records behind any figure, and the county's
recompute and freeze buttons.

Thin: query parameters in, one selector or service call, a template out; domain errors in Chinese."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from minzheng.core.errors import Conflict, InvalidInput, OutOfScope
from minzheng.core.permissions import Perm
from minzheng.reports import excel, selectors, services
from minzheng.reports.metrics import RATES
from minzheng.web.base import actor, flash_done, forbidden, staff_view

SHOWN = (InvalidInput, Conflict, OutOfScope)


def _error_page(request: HttpRequest, exc: Exception, status: int) -> HttpResponse:
    message = getattr(exc, "message", str(exc))
    return render(request, "web/error.html", {"status": status, "message": _(message)}, status=status)


def _status(exc: Exception) -> int:
    return int(getattr(exc, "status", 400))


def _chart(labels: list[str], series: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    return {
        "townships": labels,
        "series": [
            {"name": name, "data": [float(v) if v is not None else None for v in data]}
            for name, data in series
        ],
    }


@staff_view(Perm.REPORT_VIEW)
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """统计看板: the jurisdiction's units side by side, ranked, with twelve months' trend."""
    who = actor(request)
    try:
        month = selectors.parse_month(request.GET.get("month"))
        board = selectors.dashboard(
            actor=who, month=month, rank_by=request.GET.get("rank_by") or "households_covered"
        )
    except SHOWN as exc:
        return _error_page(request, exc, _status(exc))
    key = [(code, selectors.metric_label(code)) for code in selectors.KEY_METRICS]
    rates = [(code, selectors.metric_label(code)) for code in selectors.KEY_RATES]
    names = [c.name for c in board.columns]
    side_by_side = _chart(
        names,
        [
            (selectors.metric_label(m), [c.figures.get(m) for c in board.columns])
            for m in ("households_covered", "cases_in_progress", "cases_overdue")
        ],
    )
    trend = _chart(
        [f"{m:%Y-%m}" for m in board.trend_months],
        [
            (selectors.metric_label(m), board.trend[m])
            for m in ("households_covered", "persons_covered", "cases_in_progress")
        ],
    )
    return render(
        request,
        "web/reports/dashboard.html",
        {
            "board": board,
            "month_text": f"{board.month:%Y-%m}",
            "key": key,
            "rates": rates,
            "rank_choices": key + rates,
            "side_by_side": side_by_side,
            "trend": trend,
            "can_manage": who.can(Perm.REPORT_MANAGE),
        },
    )


def _sheet(request: HttpRequest) -> selectors.Sheet:
    return selectors.sheet(
        actor=actor(request),
        county=request.GET.get("county") or "",
        month=selectors.parse_month(request.GET.get("month")),
        unit=request.GET.get("unit") or "",
    )


@staff_view(Perm.REPORT_VIEW)
@require_http_methods(["GET", "HEAD", "POST"])
def statistics(request: HttpRequest) -> HttpResponse:
    """月度统计: a county's figures for a month by township (or office), each linked to its list;
    posted, the recompute and freeze buttons."""
    if request.method == "POST":
        return _period_action(request)
    try:
        sheet = _sheet(request)
    except SHOWN as exc:
        return _error_page(request, exc, _status(exc))
    return render(request, "web/reports/statistics.html", _sheet_context(request, sheet))


def _sheet_context(request: HttpRequest, sheet: selectors.Sheet) -> dict[str, Any]:
    who = actor(request)
    return {
        "sheet": sheet,
        "month_text": f"{sheet.month:%Y-%m}",
        "query": urlencode({"county": sheet.county, "month": f"{sheet.month:%Y-%m}"}),
        "can_manage": who.can(Perm.REPORT_MANAGE),
        "can_export": who.can(Perm.EXPORT) or who.can(Perm.REPORT_VIEW),
        "counties": selectors.counties_in_scope(actor=who),
        "rates": RATES,
        "unit_all": request.GET.get("unit") or "",
    }


@staff_view(Perm.REPORT_VIEW)
@require_safe
def statistics_print(request: HttpRequest) -> HttpResponse:
    """The monthly bulletin on A4 (月报打印)."""
    try:
        sheet = _sheet(request)
    except SHOWN as exc:
        return _error_page(request, exc, _status(exc))
    return render(request, "web/reports/print.html", _sheet_context(request, sheet))


@staff_view(Perm.REPORT_VIEW)
@require_safe
def statistics_xlsx(request: HttpRequest) -> HttpResponse:
    """The monthly bulletin as Excel."""
    try:
        sheet = _sheet(request)
    except SHOWN as exc:
        return _error_page(request, exc, _status(exc))
    response = HttpResponse(
        excel.sheet_workbook(sheet),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="statistics-{sheet.county}-{sheet.month:%Y-%m}.xlsx"'
    )
    return response


@staff_view(Perm.REPORT_VIEW)
@require_safe
def members(request: HttpRequest) -> HttpResponse:
    """下钻: the records a figure counts."""
    who = actor(request)
    try:
        page = int(request.GET.get("page") or 1)
    except ValueError:
        page = 1
    try:
        found = selectors.members(
            actor=who,
            county=request.GET.get("county") or "",
            month=selectors.parse_month(request.GET.get("month")),
            metric=request.GET.get("metric") or "",
            unit=request.GET.get("unit") or "",
            dimension=request.GET.get("dimension") or "",
            page=min(max(page, 1), 1_000_000),
        )
    except SHOWN as exc:
        return _error_page(request, exc, _status(exc))
    base: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "page"}
    return render(
        request,
        "web/reports/members.html",
        {
            "found": found,
            "month_text": f"{found.month:%Y-%m}",
            "back": reverse("web:report_statistics")
            + "?"
            + urlencode({"county": found.county, "month": f"{found.month:%Y-%m}"}),
            "page_query": urlencode(base),
        },
    )


def _period_action(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    if not who.can(Perm.REPORT_MANAGE):
        return forbidden(request)
    county = request.POST.get("county") or ""
    month_text = request.POST.get("month") or ""
    try:
        month = selectors.parse_month(month_text)
        if request.POST.get("action") == "freeze":
            services.period_freeze(actor=who, county=county, month=month)
            flash_done(request, _("已冻结该月统计，此后不再变化"))
        else:
            services.period_recompute(actor=who, county=county, month=month)
            flash_done(request, _("已重新计算该月统计"))
    except SHOWN as exc:
        if isinstance(exc, OutOfScope):
            return _error_page(request, exc, 404)
        messages.error(request, _(exc.message))
    return redirect(
        reverse("web:report_statistics") + "?" + urlencode({"county": county, "month": month_text})
    )
