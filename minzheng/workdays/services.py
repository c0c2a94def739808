"""Writes to the working-day calendar: loading from the `holidays` package, manual corrections."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.workdays.models import CalendarDay, CalendarSource
from minzheng.workdays.package import FIRST_YEAR, LAST_YEAR, announced, package_days
from minzheng.workdays.selectors import workdays_cache_clear

# The calendar is national reference data used by every county's time limits, so correcting it is
# system configuration (系统管理员), not a county's business parameter.
CALENDAR_PERMISSION = Perm.SYSTEM_MANAGE


@dataclass(frozen=True)
class WorkdaysLoadResult:
    years: tuple[int, ...]
    created: int
    updated: int
    deleted: int
    kept_manual: int
    provisional_years: tuple[int, ...]


def _invalidate() -> None:
    workdays_cache_clear()
    transaction.on_commit(workdays_cache_clear)


def _check_years(years: Iterable[int]) -> tuple[int, ...]:
    wanted = tuple(sorted(set(years)))
    if not wanted:
        raise InvalidInput("请指定要载入的年份", field_errors={"years": ["不能为空"]})
    bad = [y for y in wanted if not FIRST_YEAR <= y <= LAST_YEAR]
    if bad:
        raise InvalidInput(
            f"年份须在{FIRST_YEAR}至{LAST_YEAR}之间：{'、'.join(map(str, bad))}",
            field_errors={"years": ["超出范围"]},
        )
    return wanted


@transaction.atomic
def workdays_load(*, actor: Staff | None, years: Iterable[int]) -> WorkdaysLoadResult:
    """Bring the package's days of `years` into the calendar; idempotent.

    Package rows are created, updated or (when a newer package no longer lists the day) deleted;
    a manual correction is never changed. One audit event per run records the counts.
    """
    wanted = _check_years(years)
    fresh = package_days(wanted)
    existing = {
        row.date: row
        for row in CalendarDay.objects.select_for_update().filter(
            date__gte=date(wanted[0], 1, 1), date__lte=date(wanted[-1], 12, 31)
        )
        if row.date.year in wanted
    }
    now = timezone.now()
    create: list[CalendarDay] = []
    update: list[CalendarDay] = []
    kept_manual = 0
    for day, item in fresh.items():
        row = existing.get(day)
        if row is None:
            create.append(
                CalendarDay(
                    date=day,
                    is_working_day=item.is_working_day,
                    name=item.name,
                    source=CalendarSource.HOLIDAYS,
                    provisional=item.provisional,
                    changed_at=now,
                )
            )
        elif row.source == CalendarSource.MANUAL:
            kept_manual += 1
        elif (row.is_working_day, row.name, row.provisional) != (
            item.is_working_day,
            item.name,
            item.provisional,
        ):
            row.is_working_day, row.name, row.provisional = item.is_working_day, item.name, item.provisional
            row.changed_at = now
            update.append(row)
    stale = [
        day for day, row in existing.items() if row.source == CalendarSource.HOLIDAYS and day not in fresh
    ]
    CalendarDay.objects.bulk_create(create)
    CalendarDay.objects.bulk_update(update, ["is_working_day", "name", "provisional", "changed_at"])
    CalendarDay.objects.filter(date__in=stale).delete()
    result = WorkdaysLoadResult(
        years=wanted,
        created=len(create),
        updated=len(update),
        deleted=len(stale),
        kept_manual=kept_manual,
        provisional_years=tuple(y for y in wanted if not announced(y)),
    )
    audit_record(
        actor=actor,
        action="workdays.load",
        object_type="workdays.calendar",
        object_id=",".join(map(str, wanted)),
        after={
            "years": list(result.years),
            "created": result.created,
            "updated": result.updated,
            "deleted": result.deleted,
            "kept_manual": result.kept_manual,
            "provisional_years": list(result.provisional_years),
        },
    )
    _invalidate()
    return result


def _snapshot(row: CalendarDay | None) -> dict[str, object] | None:
    if row is None:
        return None
    return {
        "is_working_day": row.is_working_day,
        "name": row.name,
        "source": row.source,
        "provisional": row.provisional,
    }


@transaction.atomic
def calendar_day_set(*, day: date, is_working_day: bool, name: str, actor: Staff, reason: str) -> CalendarDay:
    """Correct one day (e.g. after a State Council notice the package does not have yet).

    The row becomes a manual correction, which later package loads leave alone.
    """
    if not actor.can(CALENDAR_PERMISSION):
        raise PermissionDenied("只有系统管理员可以更正工作日历")
    name = name.strip()
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors["day"] = [f"日期须在{FIRST_YEAR}至{LAST_YEAR}年之间"]
    if len(name) > 60:
        errors["name"] = ["名称不能超过60个字"]
    if not reason:
        errors["reason"] = ["请填写更正原因（如国务院办公厅通知文号）"]
    if errors:
        raise InvalidInput(field_errors=errors)
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    before = _snapshot(row)
    if row is None:
        row = CalendarDay(date=day)
    row.is_working_day = is_working_day
    row.name = name
    row.source = CalendarSource.MANUAL
    row.provisional = False
    row.changed_by = actor
    row.changed_at = timezone.now()
    row.save()
    audit_record(
        actor=actor,
        action="workdays.set_day",
        object_type="workdays.calendarday",
        object_id=day.isoformat(),
        reason=reason,
        before=before,
        after=_snapshot(row),
    )
    _invalidate()
    return row
