"""The working-day calendar page: a year as month grids, and corrections by the system administrator."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import DomainError
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, forbidden, staff_view
from minzheng.workdays import selectors, services
from minzheng.workdays.models import CalendarDay, CalendarSource
from minzheng.workdays.package import FIRST_YEAR, LAST_YEAR

WEEKDAYS = (
    pgettext_lazy("weekday", "一"),
    pgettext_lazy("weekday", "二"),
    pgettext_lazy("weekday", "三"),
    pgettext_lazy("weekday", "四"),
    pgettext_lazy("weekday", "五"),
    pgettext_lazy("weekday", "六"),
    pgettext_lazy("weekday", "日"),
)


class CalendarDayForm(BootstrapForm):
    # ISO format: an <input type="date"> ignores a localized value such as 2026/10/10.
    day = forms.DateField(
        label=gettext_lazy("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    is_working_day = forms.TypedChoiceField(
        label=gettext_lazy("这一天"),
        choices=[("1", gettext_lazy("上班（工作日）")), ("0", gettext_lazy("休息（节假日、休息日）"))],
        coerce=lambda value: value == "1",
    )
    name = forms.CharField(
        label=gettext_lazy("名称"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("如：国庆节、调休上班"),
    )
    reason = forms.CharField(
        label=gettext_lazy("更正原因"),
        max_length=300,
        help_text=gettext_lazy("如：国务院办公厅关于2027年部分节假日安排的通知"),
    )


@dataclass(frozen=True)
class Cell:
    day: date
    working: bool
    name: str
    css: str
    manual: bool
    provisional: bool


def _cell(day: date, row: CalendarDay | None) -> Cell:
    working = selectors.is_working_day(day)
    weekend = day.weekday() >= 5
    if working and weekend:
        css = "table-warning"  # 调休上班
    elif not working and (not weekend or (row is not None and row.name)):
        css = "table-danger"  # holiday
    elif weekend:
        css = "table-light text-body-secondary"
    else:
        css = ""
    return Cell(
        day=day,
        working=working,
        name=row.name if row else "",
        css=css,
        manual=row is not None and row.source == CalendarSource.MANUAL,
        provisional=row is not None and row.provisional,
    )


def _months(year: int, rows: dict[date, CalendarDay]) -> list[dict[str, object]]:
    grid = calendar.Calendar(firstweekday=0)
    months = []
    for month in range(1, 13):
        weeks = [
            [_cell(d, rows.get(d)) if d.month == month else None for d in week]
            for week in grid.monthdatescalendar(year, month)
        ]
        months.append({"month": month, "weeks": weeks})
    return months


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    if not raw:
        return timezone.localdate().year
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise Http404("年份无效")
    return int(raw)


def _initial(request: HttpRequest, rows: dict[date, CalendarDay]) -> dict[str, object]:
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return {}
    row = rows.get(day) or selectors.calendar_day_get(day)
    return {
        "day": day,
        "is_working_day": "1" if selectors.is_working_day(day) else "0",
        "name": row.name if row else "",
    }


@staff_view()
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    staff = actor(request)
    can_edit = staff.can(services.CALENDAR_PERMISSION)
    year = _year(request)
    rows = {row.date: row for row in selectors.calendar_year(year)}
    if request.method == "POST":
        if not can_edit:
            return forbidden(request, _("只有系统管理员可以更正工作日历"))
        form = CalendarDayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                row = services.calendar_day_set(
                    day=data["day"],
                    is_working_day=data["is_working_day"],
                    name=data["name"],
                    actor=staff,
                    reason=data["reason"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                state = _("上班") if row.is_working_day else _("休息")
                flash_done(
                    request, _("已更正 %(day)s：%(state)s") % {"day": f"{row.date:%Y-%m-%d}", "state": state}
                )
                return redirect(f"{reverse('web:workdays')}?year={row.date.year}")
    else:
        form = CalendarDayForm(initial=_initial(request, rows))
    return render(
        request,
        "web/workdays/calendar.html",
        {
            "year": year,
            "months": _months(year, rows),
            "weekdays": WEEKDAYS,
            "rows": list(rows.values()),
            "loaded": year in selectors.loaded_years(),
            "provisional": any(r.provisional for r in rows.values()),
            "working_days": selectors.working_days_in_year(year),
            "can_edit": can_edit,
            "form": form if can_edit else None,
        },
    )
