"""The payroll as operators run it, on PostgreSQL: worker processes of their own (`manage.py worker`,
production mode, each in a directory of its own as on another host), `kill -9` of one mid-run, and
a restore of an older dump with `pg_restore --clean` before the next run."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from minzheng.core import protect
from minzheng.org.models import Staff
from minzheng.payments import services
from minzheng.payments.models import Enrolment, EnrolmentStatus, PayrollLine, PayrollRun, RunStatus
from minzheng.payments.months import add_months
from minzheng.payments.tests.test_payroll import approved, enrol, run_month
from minzheng.registry.models import Person

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(home: Path) -> dict[str, str]:
    """A worker as on a host of its own: production mode, this database, nothing shared on disk."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "DJANGO_"))}
    env.update(
        MINZHENG_MODE="production",
        MINZHENG_SECRET_KEY=settings.SECRET_KEY,
        MINZHENG_PII_KEY=settings.MINZHENG_PII_KEY,
        DATABASE_URL=database_url(),
        MINZHENG_MEDIA_ROOT=str(home / "media"),
        MINZHENG_STATIC_ROOT=str(home / "static"),
        MINZHENG_RECOVERY_SECONDS="0.5",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        home = tmp_path / name
        home.mkdir()
        process = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, str(ROOT / "manage.py"), "worker", "--queue-name", "*", "--interval", "0.2"],
            cwd=home,
            env=worker_env(home),
            stdout=subprocess.DEVNULL,
            stderr=(home / "stderr.log").open("wb"),
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for(condition: Any, *, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def run_status(run_id: int) -> str:
    return str(PayrollRun.objects.values_list("status", flat=True).get(pk=run_id))


def test_kill_9_of_a_worker_mid_run_is_recovered_by_another_worker_and_pays_nobody_twice(
    people: dict[str, Staff], start_worker: Any, tmp_path: Path
) -> None:
    enrolments = [
        enrol(people, approved(people, v, f"户{i}"))
        for i, v in enumerate(("640202001001", "640202100201") * 3)
    ]
    month = enrolments[0].start_month
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)
    # As a request whose enqueued task was lost: the run is COMPUTING with nobody holding its lease.
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPUTING, started_at=None)
    # Hold the run's last write (its totals) so that worker A is caught inside its transaction.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_payrolltotal (run_id, township_code, programme, line_count, amount) "
            "VALUES (%s, '640202001000', 'dibao', 0, 0)",
            [run.pk],
        )
    first = start_worker("host-a")

    def waiting_on_totals() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s AND datname = current_database()",
                ["%payments_payrolltotal%"],
            )
            return bool(cursor.fetchone()[0])

    wait_for(waiting_on_totals, what="worker A to reach the totals")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    blocker.rollback()
    blocker.close()
    assert run_status(run.pk) == RunStatus.COMPUTING  # the lines died with A's transaction
    wait_for(lambda: not PayrollLine.objects.filter(run_id=run.pk).exists(), what="A's transaction to end")

    start_worker("host-b")  # another host: its sweep finds the run's lease free and computes it
    wait_for(lambda: run_status(run.pk) == RunStatus.COMPUTED, what="worker B to compute the run")
    run.refresh_from_db()
    lines = list(
        PayrollLine.objects.filter(run=run).values_list("payee_id", "programme", "enrolment_id", "amount")
    )
    assert len(lines) == len({(p, g) for p, g, _, _ in lines}) == len(enrolments)
    decided = {e.pk: e.monthly_amount for e in enrolments}
    assert {e: a for _, _, e, a in lines} == decided
    assert (run.line_count, run.total_amount) == (6, sum(decided.values()))
    assert run.attempts >= 2
    # Nothing on either host's disk.
    for host in ("host-a", "host-b"):
        kept = [p for p in (tmp_path / host).rglob("*") if p.is_file() and p.name != "stderr.log"]
        assert kept == []


AS_AUDIT_OWNER = """DO $$
DECLARE owner name := (SELECT tableowner FROM pg_tables
                       WHERE schemaname = current_schema() AND tablename = 'core_auditevent');
BEGIN
    IF owner IS NOT NULL AND owner <> current_user THEN
        EXECUTE format('{verb} %I {to} %I', owner, current_user);
        EXECUTE format('{verb} CREATE ON SCHEMA %I {to} %I', current_schema(), owner);
    END IF;
END $$"""


def _pg_tool(tool: str, *args: str) -> None:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db["PASSWORD"])}
    command = [
        shutil.which(tool) or tool,
        "-h",
        str(db["HOST"] or "127.0.0.1"),
        "-p",
        str(db["PORT"] or 5432),
        "-U",
        str(db["USER"]),
        *args,
    ]
    done = subprocess.run(command, check=False, env=env, capture_output=True)  # noqa: S603
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def test_after_a_restore_every_active_enrolment_is_paid_once_true_to_the_restored_data(
    people: dict[str, Staff], tmp_path: Path
) -> None:
    enrolments = [enrol(people, approved(people, name=f"恢复户{i}")) for i in range(3)]
    month = enrolments[0].start_month
    run_month(people, month)
    payee = Person.objects.get(pk=enrolments[0].payee_id)
    id_number = protect.decrypt(payee.id_encrypted)
    dump = tmp_path / "minzheng.dump"
    _pg_tool("pg_dump", "-Fc", "-f", str(dump), str(connection.settings_dict["NAME"]))
    # After the dump: an amount changed, an enrolment stopped, the periodic job run, the next month run.
    services.enrolment_change_amount(
        actor=people["admin"],
        enrolment_id=enrolments[0].pk,
        new_amount=Decimal("1500.00"),
        month=add_months(month, 1),
        reason="收入变化",
    )
    services.enrolment_terminate(
        actor=people["admin"],
        enrolment_id=enrolments[1].pk,
        month=add_months(month, 1),
        reason="迁出",
        notice="自下月起停发",
    )
    call_command("refresh_facts", stdout=io.StringIO())
    assert run_month(people, add_months(month, 1)).line_count == 2

    # As README's restore by the DBA (a superuser there): owners kept. The test role is no superuser;
    # it acts for the audit tables' owner, who may create in the schema, while it restores.
    with connection.cursor() as cursor:
        cursor.execute(AS_AUDIT_OWNER.format(verb="GRANT", to="TO"))
    connections.close_all()
    try:
        _pg_tool(
            "pg_restore", "--clean", "--if-exists", "-d", str(connection.settings_dict["NAME"]), str(dump)
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(AS_AUDIT_OWNER.format(verb="REVOKE", to="FROM"))
        connections.close_all()
    # The restored database knows nothing of the change, the stop or the second month.
    assert not PayrollRun.objects.filter(month=add_months(month, 1)).exists()
    assert set(Enrolment.objects.values_list("status", flat=True)) == {EnrolmentStatus.ACTIVE}
    run = run_month(people, add_months(month, 1))
    lines = list(
        PayrollLine.objects.filter(run=run).order_by("enrolment_id").values_list("enrolment_id", "amount")
    )
    assert lines == [(e.pk, Decimal("1300.00")) for e in enrolments]
    assert not PayrollLine.objects.filter(run=run, amount=Decimal("1500.00")).exists()
    assert run.total_amount == Decimal("3900.00")
    # The ID numbers decrypt with the key kept apart from the dump; the restored trail is whole.
    assert protect.decrypt(Person.objects.get(pk=payee.pk).id_encrypted) == id_number
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    with connection.cursor() as cursor:  # and the audit tables still belong to their owner
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'core_auditevent'")
        assert cursor.fetchone()[0] != connection.settings_dict["USER"]
