"""Payroll months: the first day of a calendar month stands for the month."""

from __future__ import annotations

from datetime import date


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before, if negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from the month of `first` to the month of `last`, newest first ([] if last < first)."""
    months: list[date] = []
    month, start = first_of_month(last), first_of_month(first)
    while month >= start:
        months.append(month)
        month = add_months(month, -1)
    return months
