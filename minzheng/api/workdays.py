"""Working-day calendar: a year's holidays and adjusted working days (调休), and corrections."""

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from minzheng.api.org import ErrorOut, actor
from minzheng.core.inputs import Line, Text
from minzheng.workdays import selectors, services
from minzheng.workdays.models import CalendarDay
from minzheng.workdays.package import FIRST_YEAR, LAST_YEAR

router = Router(tags=["工作日历 workdays"])


class CalendarDayOut(Schema):
    date: dt.date
    weekday: int = Field(description="1=星期一 … 7=星期日")
    is_working_day: bool
    name: str
    source: str = Field(description="holidays=节假日数据包，manual=人工更正")
    provisional: bool = Field(description="该年放假安排尚未公布，按法定节日推定")
    changed_by: str | None = Field(None, alias="changed_by.username")
    changed_at: dt.datetime

    @staticmethod
    def resolve_weekday(obj: CalendarDay) -> int:
        return obj.date.isoweekday()


class CalendarYearOut(Schema):
    year: int
    loaded: bool = Field(description="是否已载入该年的节假日数据")
    provisional: bool = Field(description="该年是否仍为推定数据")
    working_days: int = Field(description="全年工作日天数")
    days: list[CalendarDayOut] = Field(
        description="与“周一至周五上班”规则不同或有名称的日期；其余日期按该规则"
    )


class YearQuery(Schema):
    year: int | None = Field(None, ge=FIRST_YEAR, le=LAST_YEAR, description="年份，默认今年")


class CalendarDayIn(Schema):
    is_working_day: bool
    name: Line = Field("", max_length=60, description="如：国庆节、调休上班")
    reason: Text = Field(min_length=1, max_length=300, description="更正原因，如国务院办公厅通知文号")


@router.get("/workdays", response=CalendarYearOut, summary="某年的节假日和调休上班日")
def workdays_year(request: HttpRequest, query: Query[YearQuery]) -> dict[str, object]:
    year = query.year or timezone.localdate().year
    days = selectors.calendar_year(year)
    return {
        "year": year,
        "loaded": year in selectors.loaded_years(),
        "provisional": any(d.provisional for d in days),
        "working_days": selectors.working_days_in_year(year),
        "days": days,
    }


@router.post(
    "/workdays/{date}",
    response={200: CalendarDayOut, 403: ErrorOut, 422: ErrorOut},
    summary="更正某一天（系统管理员）",
)
def workdays_set(request: HttpRequest, date: dt.date, payload: CalendarDayIn) -> CalendarDay:
    return services.calendar_day_set(
        day=date,
        is_working_day=payload.is_working_day,
        name=payload.name,
        actor=actor(request),
        reason=payload.reason,
    )
