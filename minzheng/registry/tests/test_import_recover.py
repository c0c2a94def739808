"""An import whose worker died does not stay running with its upload (full ID numbers) kept."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from minzheng.org.models import Staff
from minzheng.registry import excel
from minzheng.registry.models import ImportJob, ImportStatus

pytestmark = pytest.mark.django_db


def _job(actor: Staff, **fields: object) -> ImportJob:
    return ImportJob.objects.create(
        uploaded_by=actor, division_id=actor.office.division_id, file_name="名单.xlsx", **fields
    )


def test_running_job_of_a_dead_worker_is_failed_and_its_upload_dropped(township_clerk: Staff) -> None:
    now = timezone.now()
    job = _job(
        township_clerk,
        status=ImportStatus.RUNNING,
        source="sealed-upload",
        started_at=now - timedelta(hours=1),
        lease_until=now - timedelta(minutes=1),
    )
    report = excel.import_jobs_recover(now)
    job.refresh_from_db()
    assert (job.status, job.source, job.message) == (ImportStatus.FAILED, "", excel.ABANDONED_MESSAGE)
    assert job.finished_at == now
    assert report.abandoned == 1
    assert excel.import_jobs_recover(now).abandoned == 0  # nothing left to do


def test_a_live_lease_counts_on_sqlite_only(township_clerk: Staff) -> None:
    """SQLite has no session locks: a lease not yet lapsed means the worker is alive. PostgreSQL
    asks the worker's advisory lock instead (next test): no lock, no worker, whatever the lease."""
    now = timezone.now()
    job = _job(
        township_clerk, status=ImportStatus.RUNNING, source="x", lease_until=now + timedelta(minutes=5)
    )
    abandoned = excel.import_jobs_recover(now).abandoned
    job.refresh_from_db()
    if connection.vendor == "postgresql":
        assert (abandoned, job.status) == (1, ImportStatus.FAILED)
    else:
        assert (abandoned, job.status, job.source) == (0, ImportStatus.RUNNING, "x")


@pytest.mark.postgresql
def test_postgresql_asks_the_workers_advisory_lock(township_clerk: Staff) -> None:
    now = timezone.now()
    # A lapsed lease does not matter while the worker's connection holds the lock.
    job = _job(township_clerk, status=ImportStatus.RUNNING, source="x", lease_until=now - timedelta(hours=1))
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as worker:
        worker.execute("SELECT pg_advisory_lock(%s, %s)", [excel._LOCK_SPACE, job.pk])
        assert excel.import_jobs_recover(now).abandoned == 0
        job.refresh_from_db()
        assert job.status == ImportStatus.RUNNING
    # The worker's connection is gone, and its lock with it.
    assert excel.import_jobs_recover(now).abandoned == 1
    job.refresh_from_db()
    assert (job.status, job.source) == (ImportStatus.FAILED, "")


def test_queued_job_never_started_expires(township_clerk: Staff, settings: object) -> None:
    settings.MINZHENG_IMPORT_KEEP_HOURS = 6  # type: ignore[attr-defined]
    now = timezone.now()
    old = _job(township_clerk, status=ImportStatus.PENDING, source="x", created_at=now - timedelta(hours=7))
    fresh = _job(township_clerk, status=ImportStatus.PENDING, source="y", created_at=now - timedelta(hours=5))
    assert excel.import_jobs_recover(now).expired == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, old.source) == (ImportStatus.FAILED, "")
    assert "6小时" in old.message
    assert (fresh.status, fresh.source) == (ImportStatus.PENDING, "y")


def test_finished_jobs_lose_their_upload_and_later_their_error_report(township_clerk: Staff) -> None:
    now = timezone.now()
    done = _job(township_clerk, status=ImportStatus.DONE, source="left", finished_at=now)
    old = _job(
        township_clerk, status=ImportStatus.FAILED, error_workbook="r", finished_at=now - timedelta(hours=25)
    )
    recent = _job(township_clerk, status=ImportStatus.FAILED, error_workbook="r", finished_at=now)
    assert excel.import_jobs_recover(now).purged == 2
    for job in (done, old, recent):
        job.refresh_from_db()
    assert (done.source, old.error_workbook, recent.error_workbook) == ("", "", "r")


def test_an_import_run_holds_its_lease(township_clerk: Staff) -> None:
    from minzheng.registry.testing import import_row, import_workbook, resident_id

    content = import_workbook([import_row("1", "640202001001", "赵一", resident_id(), "户主")])
    job = _job(township_clerk)
    excel.import_run(job=job, content=content)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert job.lease_until is not None
    assert job.started_at is not None
    assert job.lease_until > job.started_at
