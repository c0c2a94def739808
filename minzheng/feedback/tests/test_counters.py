"""One locked counter per numbering and day gives out ticket and grid-event numbers: two numbers
taken for the same day differ, also when taken at the same moment by two transactions
(PostgreSQL: the second waits on the row lock), and each numbering counts on its own."""

from __future__ import annotations

import importlib
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection, transaction

from minzheng.feedback import counters, grid
from minzheng.feedback.models import DailyCounter, GridCell, GridEvent
from minzheng.org.models import Division
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

DAY = date(2026, 3, 2)


@pytest.mark.django_db
def test_two_numbers_for_the_same_day_differ_and_each_numbering_counts_on_its_own() -> None:
    assert [counters.next_number("ticket", DAY) for _ in range(3)] == [1, 2, 3]
    assert counters.next_number("grid", DAY) == 1
    assert counters.next_number("ticket", date(2026, 3, 3)) == 1
    assert counters.next_number("ticket", DAY) == 4
    assert DailyCounter.objects.get(name="ticket", day=DAY).last == 4


@pytest.mark.django_db
def test_grid_event_numbers_come_from_the_counter_not_from_counting_rows(tree: dict[str, Division]) -> None:
    worker = make_staff("c_worker", "640202001001", [Role.VILLAGE_ASSISTANT])
    GridCell.objects.create(
        code="6402020010019901",
        name="测试网格",
        village_id="640202001001",
        worker=worker,
        min_lat=Decimal("39.01"),
        max_lat=Decimal("39.02"),
        min_lng=Decimal("106.37"),
        max_lng=Decimal("106.38"),
    )

    def report() -> GridEvent:
        return grid.grid_event_report(
            actor=worker, category_code="100801", description="路灯损坏多日", lat="39.015", lng="106.375"
        )

    first = report()
    # Counting the day's rows would hand the number out again once a row is gone.
    GridEvent.objects.filter(pk=first.pk).delete()
    second = report()
    assert first.number.endswith("-000001")
    assert second.number.endswith("-000002")


@pytest.mark.django_db
def test_the_migration_seeds_the_grid_counter_after_the_numbers_given_out(tree: dict[str, Division]) -> None:
    worker = make_staff("m_worker", "640202001001", [Role.VILLAGE_ASSISTANT])
    cell = GridCell.objects.create(
        code="6402020010019902",
        name="测试网格",
        village_id="640202001001",
        min_lat=Decimal("39.01"),
        max_lat=Decimal("39.02"),
        min_lng=Decimal("106.37"),
        max_lng=Decimal("106.38"),
    )
    for n in (1, 7):
        GridEvent.objects.create(
            number=f"WG-20260302-{n:06d}",
            cell=cell,
            category_code="100801",
            description="x",
            lat=Decimal("39.015"),
            lng=Decimal("106.375"),
            reported_by=worker,
        )
    migration = importlib.import_module("minzheng.feedback.migrations.0003_daily_counter")
    migration.seed_grid_counters(apps, None)
    assert counters.next_number("grid", DAY) == 8


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_transactions_at_once_get_different_numbers() -> None:
    """The first holds its number uncommitted while the second asks: without the row lock the
    second would read the same last value and hand out the same number."""
    taken: list[int] = []
    first_has_it = threading.Event()
    let_first_commit = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                taken.append(counters.next_number("ticket", DAY))
                first_has_it.set()
                let_first_commit.wait(5)
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_has_it.set()
            connection.close()

    def second() -> None:
        try:
            with transaction.atomic():
                taken.append(counters.next_number("ticket", DAY))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=first)
    a.start()
    assert first_has_it.wait(5)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second transaction should wait for the first's lock"
    let_first_commit.set()
    a.join(5)
    b.join(5)
    assert not errors
    assert sorted(taken) == [1, 2]
    assert DailyCounter.objects.get(name="ticket", day=DAY).last == 2
