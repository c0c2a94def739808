"""The in-memory cache of a year's exceptions: shared outside transactions, private inside one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.db import transaction

from minzheng.workdays.models import CalendarDay
from minzheng.workdays.selectors import is_working_day, workdays_cache_clear
from minzheng.workdays.services import workdays_load

OCT_8 = date(2026, 10, 8)


@pytest.fixture
def clean_cache() -> Iterator[None]:
    workdays_cache_clear()
    yield
    workdays_cache_clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_cache")
def test_process_cache_is_reused_until_cleared_and_transactions_read_their_own() -> None:
    workdays_load(actor=None, years=[2026])
    assert is_working_day(OCT_8)
    # Another process changes the table behind this one's back: the cached year is still used...
    CalendarDay.objects.create(date=OCT_8, is_working_day=False, name="外部更正", source="holidays")
    assert is_working_day(OCT_8)
    # ...but a transaction reads the table afresh, and a clear (as after any write) drops the cache.
    with transaction.atomic():
        assert not is_working_day(OCT_8)
    assert is_working_day(OCT_8)
    workdays_cache_clear()
    assert not is_working_day(OCT_8)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_cache")
def test_rolled_back_change_is_not_remembered() -> None:
    workdays_load(actor=None, years=[2026])
    seen_inside: list[bool] = []

    def change_then_fail() -> None:
        with transaction.atomic():
            CalendarDay.objects.create(date=OCT_8, is_working_day=False, name="回滚", source="holidays")
            seen_inside.append(is_working_day(OCT_8))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert seen_inside == [False]
    assert is_working_day(OCT_8)
