"""Reads of the working-day calendar, and date arithmetic in working days.

Counting follows 《中华人民共和国民法典》第二百零一条: a period counted in days starts on the day after
the event (the day of acceptance 受理 is not counted). So `add_working_days(accepted_on, 30)` is the
last day of a 30-working-day time limit, and `working_days_between(a, b)` counts the working days d
with a < d <= b, which makes the two consistent:
``working_days_between(start, add_working_days(start, n)) == n``.

Speed: a year's rows are read once and kept in a dict. Outside a transaction the dict is shared by
the process and re-read after `CACHE_SECONDS` (so a correction made in another process shows within a
minute); a correction in this process clears it at once. Inside a transaction the dict belongs to the
outermost atomic block, so a transaction — and so every test, which runs in one — reads what it
itself sees and never keeps another transaction's rolled-back rows.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from minzheng.workdays.models import CalendarDay, CalendarSource

CACHE_SECONDS = 60.0
_MAX_SPAN_DAYS = 20 * 366

_YearCache = dict[int, tuple[float, dict[date, bool]]]
_process_cache: _YearCache = {}


def _transaction_cache() -> _YearCache | None:
    connection = transaction.get_connection()
    blocks: list[Any] = getattr(connection, "atomic_blocks", [])
    if not connection.in_atomic_block or not blocks:
        return None
    outermost = blocks[0]
    cache: _YearCache | None = getattr(outermost, "_workdays_cache", None)
    if cache is None:
        cache = {}
        outermost._workdays_cache = cache
    return cache


def workdays_cache_clear() -> None:
    """Forget cached years (called by every write; also after commit, for the process cache)."""
    _process_cache.clear()
    cache = _transaction_cache()
    if cache is not None:
        cache.clear()


def _year(year: int) -> dict[date, bool]:
    in_transaction = _transaction_cache()
    cache = _process_cache if in_transaction is None else in_transaction
    now = time.monotonic()
    entry = cache.get(year)
    if entry is not None and (in_transaction is not None or now - entry[0] < CACHE_SECONDS):
        return entry[1]
    rows = CalendarDay.objects.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
    days = dict(rows.values_list("date", "is_working_day"))
    cache[year] = (now, days)
    return days


def is_working_day(day: date) -> bool:
    """Mon–Fri unless the calendar says otherwise (holiday, 调休 working day, manual correction)."""
    override = _year(day.year).get(day)
    if override is not None:
        return override
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, otherwise the first working day after it."""
    for offset in range(_MAX_SPAN_DAYS):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate):
            return candidate
    raise ValueError("no working day within 20 years")


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself not counted); n < 0 counts backwards.

    `add_working_days(accepted_on, 10)` is the last day of a 10-working-day limit from acceptance;
    `add_working_days(start, 0)` is `start`, whatever kind of day it is.
    """
    step = 1 if n > 0 else -1
    remaining = abs(n)
    day = start
    for _ in range(_MAX_SPAN_DAYS):
        if remaining == 0:
            return day
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    raise ValueError(f"{n} working days is beyond 20 years")


def working_days_between(start: date, end: date) -> int:
    """Working days d with start < d <= end (negative when end is before start).

    Elapsed working days since acceptance on `start`, as of `end`; arithmetic over the weekday rule
    plus the year's exceptions, so it is fast for long spans too.
    """
    if end < start:
        return -working_days_between(end, start)
    span = (end - start).days
    weeks, rest = divmod(span, 7)
    count = weeks * 5 + sum(1 for i in range(1, rest + 1) if (start + timedelta(days=i)).weekday() < 5)
    for year in range(start.year, end.year + 1):
        for day, working in _year(year).items():
            if start < day <= end and working != (day.weekday() < 5):
                count += 1 if working else -1
    return count


def add_calendar_days(start: date, n: int, *, roll_to_working_day: bool = False) -> date:
    """`start` plus n calendar days (自然日), `start` itself not counted (e.g. 公示 for 7 days).

    With `roll_to_working_day`, a last day that is a rest day or holiday moves to the next working
    day (《民法典》第二百零三条: 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日).
    """
    day = start + timedelta(days=n)
    return next_working_day(day) if roll_to_working_day else day


def calendar_year(year: int) -> list[CalendarDay]:
    """The stored days of `year` (holidays, 调休 working days, corrections), in date order."""
    return list(
        CalendarDay.objects.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
        .select_related("changed_by")
        .order_by("date")
    )


def calendar_day_get(day: date) -> CalendarDay | None:
    return CalendarDay.objects.filter(date=day).first()


def loaded_years() -> list[int]:
    """Years with at least one package row, i.e. years someone has run `load_workdays` for."""
    dates = CalendarDay.objects.filter(source=CalendarSource.HOLIDAYS).dates("date", "year")
    return [d.year for d in dates]


def working_days_in_year(year: int) -> int:
    return working_days_between(date(year - 1, 12, 31), date(year, 12, 31))
