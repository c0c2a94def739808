"""A county's kept copy of its enrolments (payments/snapshot.py) reads as the table itself: first
whole, then through the enrolments logged since, whoever wrote them; a transaction still running
when the copy was read is read the next time; a copy older than the log, or read before the
table was truncated, is read whole. And a payroll run reads through it from month to month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from polars.testing import assert_frame_equal

from minzheng.core import arrowdb
from minzheng.core.keptframes import wait_saved
from minzheng.org.models import Staff
from minzheng.payments import services, snapshot
from minzheng.payments.models import Enrolment, EnrolmentStatus, PayrollLine
from minzheng.payments.payroll import read_frame
from minzheng.payments.tests import test_payroll
from minzheng.payments.tests.test_payroll import approved, enrol, run_month

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

COUNTY = "640202"
people = test_payroll.people  # a fixture


def spied_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which read of enrolments the copy makes from now on: "whole" or "changed"."""
    reads: list[str] = []
    original = arrowdb.read

    def read(sql: str, *args: Any, **kwargs: Any) -> Any:
        reads.append({snapshot.KEPT_SQL: "whole", snapshot.CHANGED_SQL: "changed"}[sql])
        return original(sql, *args, **kwargs)

    monkeypatch.setattr(arrowdb, "read", read)
    return reads


def enrolled(people: dict[str, Staff], *villages: str) -> list[Enrolment]:
    """An enrolment in each village, in order."""
    return [enrol(people, approved(people, village, f"{n}号户")) for n, village in enumerate(villages, 1)]


def assert_copy_reads_as_table() -> None:
    rows = snapshot.county_rows(COUNTY)
    assert rows["household_id"].is_sorted()  # a payroll's slice of households is a range of them
    wait_saved()
    table = read_frame(snapshot.KEPT_SQL, {"prefix": f"{COUNTY}%"}, snapshot.KEPT_SCHEMA)
    assert_frame_equal(rows.sort("enrolment_id"), table.sort("enrolment_id"))


def test_the_copy_reads_as_the_table_after_each_kind_of_change(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 100.0)  # a handful of rows: always the changes
    a, b, c = enrolled(people, "640202001001", "640202001002", "640202100201")
    month = a.start_month
    reads = spied_reads(monkeypatch)
    assert_copy_reads_as_table()
    admin = people["admin"]
    # Services: a new amount, a suspension (out of the payable ones), an exit started.
    services.enrolment_change_amount(
        actor=admin, enrolment_id=a.pk, new_amount=Decimal("1500.00"), month=month, reason="调整"
    )
    services.enrolment_suspend(actor=admin, enrolment_id=b.pk, month=month, reason="暂停")
    services.enrolment_start_exit(actor=admin, enrolment_id=c.pk, months=3, month=month, reason="渐退")
    assert_copy_reads_as_table()
    assert snapshot.county_rows(COUNTY)["enrolment_id"].to_list() == sorted([a.pk, c.pk])
    # Back again, a termination, a new enrolment, and plain SQL.
    services.enrolment_resume(actor=admin, enrolment_id=b.pk, month=month, reason="恢复")
    services.enrolment_terminate(actor=admin, enrolment_id=a.pk, month=month, reason="停发", notice="告知")
    d = enrol(people, approved(people, "640202001001", "丁户"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_enrolment SET monthly_amount = 321.45 WHERE id = %s", [c.pk])
    assert_copy_reads_as_table()
    rows = snapshot.county_rows(COUNTY)
    assert rows["enrolment_id"].to_list() == sorted([b.pk, c.pk, d.pk])
    assert rows.filter(enrolment_id=c.pk)["amount_fen"].item() == 32145
    # Nothing changed: the copy alone.
    assert_copy_reads_as_table()
    assert reads[0] == "whole"
    assert set(reads[1:]) == {"changed"}  # never whole again


def test_a_change_still_uncommitted_when_the_copy_is_read_is_read_the_next_time(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 100.0)
    a, b = enrolled(people, "640202001001", "640202001002")
    assert_copy_reads_as_table()
    reads = spied_reads(monkeypatch)
    with psycopg.connect(arrowdb.conninfo()) as other:
        other.execute("UPDATE payments_enrolment SET monthly_amount = 999 WHERE id = %s", [a.pk])
        # Another change, committed: the copy is written again, while the first is uncommitted.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE payments_enrolment SET monthly_amount = 888 WHERE id = %s", [b.pk])
        rows = snapshot.county_rows(COUNTY)
        assert rows.filter(enrolment_id=b.pk)["amount_fen"].item() == 88800
        assert rows.filter(enrolment_id=a.pk)["amount_fen"].item() != 99900
        wait_saved()
        other.commit()
    assert snapshot.county_rows(COUNTY).filter(enrolment_id=a.pk)["amount_fen"].item() == 99900
    assert reads == ["changed", "changed"]


@pytest.fixture
def log_start_restored() -> Iterator[None]:
    """The log's start put back after the test: the table is not Django's, so no flush empties it,
    and a start raised to a current transaction id would turn away the copies of later tests
    whenever a transaction older than it still runs in the cluster (another test worker's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT since FROM payments_enrolmentlogstart")
        (since,) = cursor.fetchone()
    yield
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_enrolmentlogstart SET since = %s", [since])


@pytest.mark.usefixtures("log_start_restored")
def test_a_copy_older_than_the_log_is_read_whole(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = enrolled(people, "640202001001")
    assert_copy_reads_as_table()
    reads = spied_reads(monkeypatch)
    old = timezone.now() - timedelta(days=snapshot.LOG_KEEP_DAYS + 1)
    with connection.cursor() as cursor:
        # A change logged long ago (its transaction's id as a newer one's: pruning it raises the
        # log's start above the copy's version).
        cursor.execute(
            "INSERT INTO payments_enrolmentlog (xid, enrolment_id, at) "
            "SELECT pg_current_xact_id()::text::bigint, %s, %s",
            [a.pk, old],
        )
        cursor.execute("SELECT since FROM payments_enrolmentlogstart")
        (before,) = cursor.fetchone()
    snapshot.prune()  # the periodic job's (`keep_current`)
    assert_copy_reads_as_table()
    assert reads == ["whole"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM payments_enrolmentlog WHERE at < %s", [old + timedelta(days=1)])
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT since FROM payments_enrolmentlogstart")
        (after,) = cursor.fetchone()
    assert after > before


def test_a_payroll_reads_the_enrolments_through_the_copy_from_month_to_month(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 100.0)
    a, b = enrolled(people, "640202001001", "640202001002")
    month = a.start_month
    reads = spied_reads(monkeypatch)

    def paid(month: date) -> set[int]:
        run = run_month(people, month)
        wait_saved()
        return set(PayrollLine.objects.filter(run=run).values_list("enrolment_id", flat=True))

    assert paid(month) == {a.pk, b.pk}
    next_month = services.add_months(month, 1)
    services.enrolment_suspend(actor=people["admin"], enrolment_id=b.pk, month=next_month, reason="暂停")
    assert paid(next_month) == {a.pk}
    services.enrolment_resume(
        actor=people["admin"], enrolment_id=b.pk, month=services.add_months(month, 2), reason="恢复"
    )
    assert paid(services.add_months(month, 2)) == {a.pk, b.pk}
    assert reads == ["whole", "changed", "changed"]
    b.refresh_from_db()
    assert b.status == EnrolmentStatus.ACTIVE


def test_a_copy_read_before_the_enrolments_were_truncated_is_not_used(
    people: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolled(people, "640202001001")
    assert_copy_reads_as_table()
    reads = spied_reads(monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE payments_enrolment CASCADE")  # logs no row
    assert snapshot.county_rows(COUNTY).is_empty()
    assert reads == ["whole"]


def test_the_periodic_job_brings_the_copies_up_to_date(people: dict[str, Staff], settings: Any) -> None:
    (a,) = enrolled(people, "640202001001")
    assert_copy_reads_as_table()
    services.enrolment_change_amount(
        actor=people["admin"],
        enrolment_id=a.pk,
        new_amount=Decimal("1500.00"),
        month=a.start_month,
        reason="调整",
    )
    out = StringIO()
    call_command("refresh_facts", stdout=out)
    assert "更新在保对象副本的区县 1 个（640202）" in out.getvalue()
    (kept,) = (Path(settings.MINZHENG_VAR_DIR) / "enrolments").glob("*.arrow")
    assert pl.read_ipc(kept).filter(enrolment_id=a.pk)["amount_fen"].item() == 150000
