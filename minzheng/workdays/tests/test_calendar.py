"""The working-day calendar: holidays and 调休 from the package, date arithmetic, corrections."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.workdays import selectors
from minzheng.workdays.models import CalendarDay, CalendarSource
from minzheng.workdays.selectors import (
    add_calendar_days,
    add_working_days,
    is_working_day,
    next_working_day,
    working_days_between,
)
from minzheng.workdays.services import calendar_day_set, workdays_load

pytestmark = pytest.mark.usefixtures("calendar_2026")


def test_spring_festival_2026_is_off_from_new_years_eve_to_the_23rd() -> None:
    # 国办发明电〔2025〕7号: 2月15日至23日放假调休，共9天；2月14日（周六）、2月28日（周六）上班。
    for day in range(15, 24):
        assert not is_working_day(date(2026, 2, day)), day
    assert CalendarDay.objects.get(date=date(2026, 2, 17)).name == "春节"
    assert CalendarDay.objects.get(date=date(2026, 2, 16)).name == "农历除夕"
    assert is_working_day(date(2026, 2, 13))
    assert is_working_day(date(2026, 2, 24))


def test_national_day_2026_is_off_from_1_to_7_october() -> None:
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day)), day
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).name == "国庆节"
    assert is_working_day(date(2026, 10, 8))


def test_adjusted_saturdays_are_working_days() -> None:
    for day in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)):
        assert day.weekday() >= 5
        assert is_working_day(day), day
    row = CalendarDay.objects.get(date=date(2026, 10, 10))
    assert row.is_working_day
    assert row.name == "调休上班（国庆节）"
    assert not is_working_day(date(2026, 10, 11))  # the Sunday after stays a rest day


def test_substitute_days_off_name_their_festival() -> None:
    row = CalendarDay.objects.get(date=date(2026, 10, 6))
    assert row.name == "国庆节假期（由 2026-09-20 调休）"
    assert not row.is_working_day


def test_add_working_days_counts_from_the_day_after_and_skips_the_holiday() -> None:
    accepted = date(2026, 9, 30)  # Wednesday before National Day
    assert add_working_days(accepted, 1) == date(2026, 10, 8)
    assert add_working_days(accepted, 2) == date(2026, 10, 9)
    assert add_working_days(accepted, 3) == date(2026, 10, 10)  # 调休 Saturday counts
    assert add_working_days(accepted, 4) == date(2026, 10, 12)
    assert add_working_days(accepted, 0) == accepted
    assert add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)


def test_thirty_working_days_over_spring_festival() -> None:
    # Accepted on Monday 2 February 2026: 9 working days to the 14th (a working Saturday), 16-23
    # February off, 24-28 (the 28th a working Saturday) 5 more, then 16 in March: the 20th.
    due = add_working_days(date(2026, 2, 2), 30)
    assert due == date(2026, 3, 20)
    assert working_days_between(date(2026, 2, 2), due) == 30


def test_working_days_between_agrees_with_add_working_days() -> None:
    start = date(2025, 12, 20)
    for n in range(0, 80):
        due = add_working_days(start, n)
        assert working_days_between(start, due) == n
        assert working_days_between(due, start) == -n
    assert working_days_between(date(2026, 1, 1), date(2026, 1, 1)) == 0


def test_working_days_in_2026() -> None:
    # 261 weekdays, 19 of them off (holidays and substitute days), 6 working Saturdays/Sundays.
    weekdays = sum(1 for i in range(365) if (date(2026, 1, 1) + timedelta(days=i)).weekday() < 5)
    rows = CalendarDay.objects.filter(date__year=2026)
    off_weekdays = sum(1 for r in rows if not r.is_working_day and r.date.weekday() < 5)
    working_weekends = sum(1 for r in rows if r.is_working_day and r.date.weekday() >= 5)
    assert selectors.working_days_in_year(2026) == weekdays - off_weekdays + working_weekends == 248


def test_calendar_days_and_rolling_past_a_holiday() -> None:
    # A 7-day notice posted on 24 September 2026 ends on 1 October (National Day).
    assert add_calendar_days(date(2026, 9, 24), 7) == date(2026, 10, 1)
    assert add_calendar_days(date(2026, 9, 24), 7, roll_to_working_day=True) == date(2026, 10, 8)
    assert next_working_day(date(2026, 10, 9)) == date(2026, 10, 9)


def test_unloaded_year_follows_monday_to_friday(db: None) -> None:
    assert is_working_day(date(2031, 10, 1))  # a Wednesday; nothing loaded for 2031
    assert not is_working_day(date(2031, 10, 4))


def test_unannounced_year_is_provisional() -> None:
    rows = CalendarDay.objects.filter(date__year=2027)
    assert rows.exists()
    assert all(r.provisional for r in rows)
    assert not CalendarDay.objects.filter(date__year=2026, provisional=True).exists()
    assert not is_working_day(date(2027, 10, 1))


def test_load_is_idempotent_and_audited_once_per_run() -> None:
    before = CalendarDay.objects.count()
    result = workdays_load(actor=None, years=[2026])
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert CalendarDay.objects.count() == before
    event = AuditEvent.objects.filter(action="workdays.load").latest("seq")
    assert event.after == {
        "years": [2026],
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "kept_manual": 0,
        "provisional_years": [],
    }


def test_load_removes_a_package_day_the_package_no_longer_lists() -> None:
    CalendarDay.objects.create(
        date=date(2026, 3, 3), is_working_day=False, name="旧数据", source=CalendarSource.HOLIDAYS
    )
    result = workdays_load(actor=None, years=[2026])
    assert result.deleted == 1
    assert not CalendarDay.objects.filter(date=date(2026, 3, 3)).exists()


def test_manual_correction_applies_at_once_and_survives_reload(system_admin: Staff) -> None:
    day = date(2026, 10, 8)
    assert is_working_day(day)
    calendar_day_set(
        day=day,
        is_working_day=False,
        name="国庆节（延长）",
        actor=system_admin,
        reason="国办发明电〔2026〕X号",
    )
    assert not is_working_day(day)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 9)
    result = workdays_load(actor=None, years=[2026])
    assert result.kept_manual == 0  # the package does not list 8 October: nothing to keep or drop
    row = CalendarDay.objects.get(date=day)
    assert (row.source, row.is_working_day, row.changed_by) == (CalendarSource.MANUAL, False, system_admin)

    # A correction of a day the package does list is kept too.
    calendar_day_set(
        day=date(2026, 10, 10), is_working_day=False, name="取消调休", actor=system_admin, reason="通知"
    )
    result = workdays_load(actor=None, years=[2026])
    assert result.kept_manual == 1
    assert not is_working_day(date(2026, 10, 10))
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).name == "取消调休"


def test_correction_is_audited_with_before_and_after(system_admin: Staff) -> None:
    calendar_day_set(
        day=date(2026, 10, 10), is_working_day=False, name="取消调休", actor=system_admin, reason="通知第3条"
    )
    event = AuditEvent.objects.get(action="workdays.set_day")
    assert event.object_id == "2026-10-10"
    assert event.actor_username == "sysadmin"
    assert event.reason == "通知第3条"
    assert event.before == {
        "is_working_day": True,
        "name": "调休上班（国庆节）",
        "source": "holidays",
        "provisional": False,
    }
    assert event.after == {
        "is_working_day": False,
        "name": "取消调休",
        "source": "manual",
        "provisional": False,
    }


@pytest.mark.parametrize("fixture", ["county_admin", "township_clerk", "auditor"])
def test_correction_refused_without_system_manage(fixture: str, request: pytest.FixtureRequest) -> None:
    staff = request.getfixturevalue(fixture)
    with pytest.raises(PermissionDenied):
        calendar_day_set(day=date(2026, 10, 8), is_working_day=False, name="", actor=staff, reason="x")
    assert is_working_day(date(2026, 10, 8))
    assert not AuditEvent.objects.filter(action="workdays.set_day").exists()


def test_correction_needs_a_reason(system_admin: Staff) -> None:
    with pytest.raises(InvalidInput) as caught:
        calendar_day_set(day=date(2026, 10, 8), is_working_day=False, name="", actor=system_admin, reason=" ")
    assert "reason" in caught.value.field_errors


def test_load_rejects_years_out_of_range(db: None) -> None:
    with pytest.raises(InvalidInput):
        workdays_load(actor=None, years=[1999])


def test_command_reports_counts_and_provisional_years(db: None) -> None:
    out = StringIO()
    call_command("load_workdays", "--years", "2026", "2027", stdout=out)
    text = out.getvalue()
    assert "新增 0" in text  # the fixture loaded both years already
    assert "2027年的放假安排尚未收入数据包" in text
