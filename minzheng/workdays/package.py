"""China's public holidays and adjusted working days (调休) from the `holidays` package.

The package encodes the State Council's yearly notice (国务院办公厅关于某年部分节假日安排的通知):
holidays, substitute days off ("休息日（由 2026-02-14 调休）") and the weekend days worked in exchange
(`weekend_workdays`). For a year whose notice it does not yet contain, it only knows the statutory
holidays and estimates substitute days (补假); those days are marked provisional.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
from holidays.constants import PUBLIC
from holidays.countries.china import ChinaStaticHolidays

FIRST_YEAR = 2000
LAST_YEAR = 2100
ADJUSTED_WORKDAY = "调休上班"
_SUBSTITUTE_PREFIX = "休息日"
_SUFFIX = re.compile(r"（[^（）]*）$")


@dataclass(frozen=True)
class PackageDay:
    day: date
    is_working_day: bool
    name: str
    provisional: bool


def announced(year: int) -> bool:
    """Whether the package holds the State Council's schedule for `year` (its substitute days)."""
    return year in getattr(ChinaStaticHolidays, "special_public_holidays", {})


def _festival_near(day: date, names: dict[date, str]) -> str:
    """The festival a substitute day belongs to: the nearest holiday that is not itself a substitute."""
    for distance in range(1, 8):
        for candidate in (day - timedelta(days=distance), day + timedelta(days=distance)):
            name = names.get(candidate, "")
            if name and not name.startswith(_SUBSTITUTE_PREFIX):
                return _SUFFIX.sub("", name)
    return ""


def package_days(years: Iterable[int]) -> dict[date, PackageDay]:
    """Every day of `years` the package names or turns into a working day."""
    wanted = sorted(set(years))
    if not wanted:
        return {}
    calendar = holidays.country_holidays("CN", years=wanted, categories=(PUBLIC,), language="zh_CN")
    names: dict[date, str] = {d: str(n) for d, n in calendar.items()}
    days: dict[date, PackageDay] = {}
    for day, name in names.items():
        if day.year not in wanted:
            continue
        if name.startswith(_SUBSTITUTE_PREFIX) and (festival := _festival_near(day, names)):
            # "休息日（由 2026-02-14 调休）" -> "春节假期（由 2026-02-14 调休）"
            name = f"{festival}假期{name.removeprefix(_SUBSTITUTE_PREFIX)}"
        days[day] = PackageDay(day, False, name[:60], not announced(day.year))
    for workday in sorted(calendar.weekend_workdays):
        if workday.year not in wanted:
            continue
        # The substitute day off names the working day it was swapped with.
        swapped = next((d for d, n in names.items() if workday.isoformat() in n), None)
        festival = _festival_near(swapped, names) if swapped else ""
        label = f"{ADJUSTED_WORKDAY}（{festival}）" if festival else ADJUSTED_WORKDAY
        days[workday] = PackageDay(workday, True, label, not announced(workday.year))
    return dict(sorted(days.items()))
