"""Benchmark: the monthly payroll of one county, set-based, against the per-row ORM way.

    .venv/bin/python bench/payroll.py --households 1000000
    .venv/bin/python bench/payroll.py --households 10000000

The database (default postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll; its name
must contain "bench") is dropped and recreated, migrated, and filled set-based in SQL (one
INSERT ... SELECT over generate_series per table, secondary indexes and foreign keys dropped during
the load and rebuilt after, as the demo build does): the divisions of 大武口区 (640202, 11 townships,
53 villages), N households of 1-4 members (2.5 on average) spread over the villages, incomes,
pensions, disabilities and serious illnesses for some members, and for every household an approved
dibao case and an ACTIVE enrolment with its "enrol" change.

Then, timed end to end (`payments.services.payroll_compute`: claim, refresh the facts summary, then
one transaction: one-offs, arrears, the lines with INSERT ... SELECT, settlements, gradual exits, the
recalculation of the households that changed with its proposals and reviews, the run's parameters and
totals):

- month A (2027-01): the county's first run, so every household is recomputed; with the default
  worst case the enrolments were generated with an amount of 0, so every one gets a proposal;
- month B (2027-02): a usual month after small changes: new wages for 2% of households (proposals),
  back pay for 1%, gradual exit for 0.5%; only the households that changed are recomputed;
- a re-run of month B (must write nothing);
- the baseline, on `--baseline` households (10,000) for month C (2027-03): a loop over Enrolment
  objects, `engine.calculate` per household over `population.household_facts`, and
  `PayrollLine.objects.create` per row, as a naive implementation would do it.

Peak RSS is sampled from /proc/self/status every 20 ms during each timed step, and each run's CPU
time is reported for this process and for the PostgreSQL server's processes (read from /proc: the
server must run on this machine, otherwise idle). See bench/README.md.

Cold: nothing a run reads is kept outside the database, so a fresh worker host is this process as
it starts. With `--cold-command` (say "pg_ctlcluster 15 main restart && sync && echo 3 >
/proc/sys/vm/drop_caches", as root) the server's and the kernel's caches are emptied before each
timed month too, as after a restore or a failover; without it the server's cache is warm.
No database superuser is needed.

With --reuse, nothing is generated: the database an earlier run left is kept, and only the month
after its last run is timed, after the between-months changes again (trying a change at 10 M
households without generating them again, about an hour; migrations are applied first).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from benchdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll"
COUNTY = "640202"
MONTH_A, MONTH_B, MONTH_C = date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)

TABLES = [
    "registry_household",
    "registry_person",
    "registry_membership",
    "registry_incomeitem",
    "registry_disability",
    "registry_illness",
    "cases_case",
    "payments_enrolment",
    "payments_enrolmentchange",
]


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> tuple[float, float]:
    """(this process, the PostgreSQL server's processes) CPU seconds so far, user and system: the
    server runs on this machine, so /proc shows its processes too, all of them (ended backends in
    the postmaster's children's times): run on an otherwise idle server."""
    mine = os.times()
    tick = os.sysconf("SC_CLK_TCK")
    server = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            values = fields[1].split()
            server += int(values[11]) + int(values[12]) + int(values[13]) + int(values[14])
        except (OSError, IndexError, ValueError):
            continue
    return mine.user + mine.system, server / tick


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Yields [peak MiB], filled in when the block ends."""
    peak = [rss_mib()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss_mib())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], rss_mib())


class Timer:
    """Seconds spent in wrapped functions, by label (phases inside payroll_compute)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)

    def reset(self) -> None:
        self.seconds = {}


def sql_steps(n: int, admin_id: int, item_id: int) -> list[tuple[str, str]]:
    """(label, statement) generating the registry, cases and enrolments for households 1..n.
    Person ids are 4 * (household - 1) + k for member k (1 = head), so no lookups are needed."""
    members = "generate_series(1::bigint, %(n)s::bigint) g CROSS JOIN generate_series(1, 4) k JOIN bench_village v ON v.vk = g %% %(villages)s"
    size = "k <= 1 + (g::bigint * 2654435761 %% 97) %% 4"
    pid = "(4 * (g::bigint - 1) + k)"
    return [
        (
            "households",
            """INSERT INTO registry_household (id, number, division_id, address, area, head_id, phone, is_active,
                created_at, updated_at)
            SELECT g, 'BH' || lpad(g::text, 10, '0'), v.code, v.name || g || '号', v.area, 4 * (g::bigint - 1) + 1,
                '', true, now(), now()
            FROM generate_series(1::bigint, %(n)s::bigint) g JOIN bench_village v ON v.vk = g %% %(villages)s""",
        ),
        (
            "persons",
            f"""INSERT INTO registry_person (id, name, sex, birth_date, id_digest, id_encrypted, id_masked,
                division_id, phone, created_at)
            SELECT {pid}, '居民' || {pid}, CASE WHEN k %% 2 = 1 THEN 'M' ELSE 'F' END,
                CASE WHEN k <= 2 THEN date '1946-01-01' + ((g * 7919 + k) %% 18000)::int
                     ELSE date '2006-01-01' + ((g * 31 + k) %% 6500)::int END,
                md5({pid}::text) || md5(({pid} + 1)::text), 'bench',
                '640202********' || lpad(({pid} %% 10000)::text, 4, '0'), v.code, '', now()
            FROM {members} WHERE {size}""",
        ),
        (
            "memberships",
            f"""INSERT INTO registry_membership (person_id, household_id, relationship, start_date, end_date,
                end_reason)
            SELECT {pid}, g, CASE k WHEN 1 THEN 'head' WHEN 2 THEN 'spouse' ELSE 'child' END,
                date '2020-01-01', NULL, ''
            FROM {members} WHERE {size}""",
        ),
        # Counted wages for 12% of persons, pensions for 5%, the residents' basic pension (not
        # counted) for 15%, disability certificates for 4%, listed serious illnesses for 2%.
        (
            "incomes",
            """INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note,
                source, recorded_at)
            SELECT id, CASE WHEN h < 12 THEN 'wages' WHEN h < 17 THEN 'pension' ELSE 'resident_basic_pension' END,
                CASE WHEN h < 12 THEN 200 + (id * 7919) %% 700 WHEN h < 17 THEN 300 + (id * 31) %% 600 ELSE 150 END,
                h < 17, date '2024-01-01', '', 'bench', now()
            FROM (SELECT id, (id * 2654435761) %% 100 AS h FROM registry_person) p WHERE h < 32""",
        ),
        (
            "disabilities",
            """INSERT INTO registry_disability (person_id, certificate_number, category, grade, valid_from, note,
                source, recorded_at)
            SELECT id, 'D' || id, (ARRAY['visual','hearing','physical','intellectual','mental','speech'])[1 + id %% 6],
                1 + id %% 4, date '2024-01-01', '', 'bench', now()
            FROM registry_person WHERE (id * 40503) %% 100 < 4""",
        ),
        (
            "illnesses",
            """INSERT INTO registry_illness (person_id, name, is_listed_serious, valid_from, note, source,
                recorded_at)
            SELECT id, '尿毒症', true, date '2024-01-01', '', 'bench', now()
            FROM registry_person WHERE (id * 40503) %% 100 BETWEEN 4 AND 5""",
        ),
        (
            "cases",
            f"""INSERT INTO cases_case (id, number, item_id, workflow, division_id, household_id, applicant_id,
                applicant_name, applicant_id_digest, applicant_id_masked, applicant_phone, channel, proxy_name,
                proxy_relation, mandate, details, state, submitted_at, accepted_on, due_date, closed_at, outcome,
                conflict_of_interest, conflict_note, decided_at_township, sampled_for_county_visit, created_by_id)
            SELECT g, 'BC' || lpad(g::text, 12, '0'), {item_id}, 'dibao', v.code, g, 4 * (g::bigint - 1) + 1,
                '居民' || (4 * (g::bigint - 1) + 1), md5((4 * (g::bigint - 1) + 1)::text), '640202********0000', '',
                'window', '', '', '', '{{}}', 'closed', now(), date '2026-10-08', date '2026-11-07', now(),
                'approved', false, '', false, false, {admin_id}
            FROM generate_series(1::bigint, %(n)s::bigint) g JOIN bench_village v ON v.vk = g %% %(villages)s""",
        ),
        (
            "enrolments",
            f"""INSERT INTO payments_enrolment (id, programme, case_id, household_id, payee_id, division_id,
                monthly_amount, calculated_amount, start_month, end_month, status, bank_name, account_encrypted,
                account_masked, review_months, next_review, created_by_id, created_at)
            SELECT g, 'dibao', g, g, 4 * (g::bigint - 1) + 1, v.code, COALESCE(b.fen, 0) / 100.0,
                COALESCE(b.fen, 0) / 100.0, date '2026-12-01', NULL, 'active', '黄河农商银行', a.token, a.masked,
                12, date '2027-12-01', {admin_id}, now() - interval '60 days'
            FROM generate_series(1::bigint, %(n)s::bigint) g JOIN bench_village v ON v.vk = g %% %(villages)s
            JOIN bench_account a ON a.k = g %% 1000 LEFT JOIN bench_amount b ON b.household_id = g""",
        ),
        (
            "enrol changes",
            f"""INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month, old_amount, new_amount,
                one_off_amount, reason, notice, actor_id, at)
            SELECT g, 'enrol', date '2026-12-01', NULL, 0, 0, '依审批决定纳入发放', '', {admin_id},
                now() - interval '60 days'
            FROM generate_series(1::bigint, %(n)s::bigint) g""",
        ),
    ]


# Changes between month A and month B, all set-based. First a month passes: month A's run is dated a
# month back, and what the generation logged before it a month and two days back (the bench runs
# the months minutes after generating; a county runs them a month apart, and a run recomputes what
# changed since the previous one started, with a day's margin).
BETWEEN_MONTHS = [
    (
        "a month passes",
        """WITH r AS (UPDATE payments_payrollrun SET started_at = started_at - interval '30 days'
                      WHERE started_at IS NOT NULL RETURNING 1),
            f AS (UPDATE rules_factschange SET at = at - interval '32 days' RETURNING 1),
            p AS (UPDATE rules_parametervalue SET decided_at = decided_at - interval '32 days'
                  WHERE decided_at IS NOT NULL RETURNING 1)
        UPDATE payments_enrolmentchange SET at = at - interval '32 days'""",
    ),
    (
        "new wages for 2% of households",
        """INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
            recorded_at)
        SELECT head_id, 'wages', 120, true, %(b)s, '', 'bench', now() FROM registry_household WHERE id %% 50 = 3""",
    ),
    (
        "back pay for 1%",
        """WITH c AS (
            INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month, old_amount, new_amount,
                one_off_amount, reason, notice, actor_id, at)
            SELECT id, 'back_pay', %(b)s, NULL, NULL, 100, '补发', '', created_by_id, now()
            FROM payments_enrolment WHERE id %% 100 = 11
            RETURNING id, enrolment_id
        )
        INSERT INTO payments_pendingoneoff (change_id, county, enrolment_id, effective_month, amount)
        SELECT c.id, SUBSTR(e.division_id, 1, 6), c.enrolment_id, %(b)s, 100
        FROM c JOIN payments_enrolment e ON e.id = c.enrolment_id""",
    ),
    (
        "gradual exit for 0.5% (three more months)",
        """WITH x AS (
            UPDATE payments_enrolment SET status = 'exiting', end_month = (%(b)s::date + interval '3 months')::date
            WHERE id %% 200 = 7 AND status = 'active' RETURNING id, created_by_id
        )
        INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month, old_amount, new_amount,
            one_off_amount, reason, notice, actor_id, at)
        SELECT id, 'exit', %(b)s, NULL, NULL, 0, '渐退', '', created_by_id, now() FROM x""",
    ),
]


def amounts_now(cursor: Any) -> None:
    """The dibao amount of every generated household for month A, with the bulk engine, into
    bench_amount (so that month A is a usual month rather than one where every amount changes)."""
    import io

    import polars as pl

    from minzheng.rules import bulk
    from minzheng.rules.population import read_population
    from minzheng.rules.selectors import policy_table

    members, households = read_population(MONTH_A, division_prefix=COUNTY)
    households = households.with_columns(
        pl.lit("dibao").cast(bulk.HOUSEHOLD_STATUS).alias("household_status")
    )
    result = bulk.calculate(members, households, policy_table(), day=MONTH_A, programmes=["dibao"])
    buffer = io.BytesIO()
    result.select("household_id", pl.col("dibao_amount_fen").alias("fen")).write_csv(
        buffer, include_header=False
    )
    with cursor.cursor.copy("COPY bench_amount (household_id, fen) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def generate(n: int, *, worst_case: bool) -> dict[str, float]:
    from django.db import connection, transaction

    from minzheng.catalogue.models import ServiceItem
    from minzheng.core import protect
    from minzheng.demo.services import _PgBulkLoad
    from minzheng.org.models import Staff
    from minzheng.payments.services import mask_account
    from minzheng.rules import summary

    admin = Staff.objects.get(username="bench_admin")
    item = ServiceItem.objects.get(code="dibao")
    timings: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """CREATE TEMP TABLE bench_village ON COMMIT DROP AS
            SELECT (row_number() OVER (ORDER BY code) - 1)::int AS vk, code, name,
                CASE WHEN urban_rural_code LIKE '2%%' THEN 'rural' ELSE 'urban' END AS area
            FROM org_division WHERE code LIKE %s AND level = 5""",
            [f"{COUNTY}%"],
        )
        cursor.execute("SELECT count(*) FROM bench_village")
        villages = cursor.fetchone()[0]
        # 1,000 distinct accounts, encrypted as the service does (AES-GCM is not what is measured).
        cursor.execute("CREATE TEMP TABLE bench_account (k int, token text, masked text) ON COMMIT DROP")
        accounts = [f"6230{k:015d}" for k in range(1000)]
        cursor.executemany(
            "INSERT INTO bench_account VALUES (%s, %s, %s)",
            [(k, protect.encrypt(a), mask_account(a)) for k, a in enumerate(accounts)],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_amount (household_id bigint PRIMARY KEY, fen bigint) ON COMMIT DROP"
        )
        load = _PgBulkLoad(TABLES)
        started = time.perf_counter()
        load.drop()
        for label, sql in sql_steps(n, admin.pk, item.pk):
            if label == "cases" and not worst_case:
                started = time.perf_counter()
                amounts_now(cursor)
                timings["amounts"] = time.perf_counter() - started
                print(f"  {'amounts (bulk)':<16} {timings['amounts']:>25.1f} s", flush=True)
            started = time.perf_counter()
            cursor.execute(sql, {"n": n, "villages": villages})
            timings[label] = time.perf_counter() - started
            print(f"  {label:<16} {cursor.rowcount:>12,} rows  {timings[label]:6.1f} s", flush=True)
        started = time.perf_counter()
        load.restore()
        timings["indexes and foreign keys"] = time.perf_counter() - started
        print(f"  indexes and foreign keys rebuilt {timings['indexes and foreign keys']:.1f} s", flush=True)
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))",
                [table],
            )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
    timings["vacuum analyze"] = time.perf_counter() - started
    # The members' facts summary, as a running system keeps it (the triggers marked every person
    # loaded above): built once here, not part of a month's run.
    started = time.perf_counter()
    summary.refresh()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE rules_memberfacts, rules_stalefacts")
    timings["facts summary"] = time.perf_counter() - started
    print(f"  facts summary built {timings['facts summary']:.1f} s", flush=True)
    return timings


def between_months(month: date = MONTH_B) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for label, sql in BETWEEN_MONTHS:
            cursor.execute(sql, {"b": month})
            print(f"  {label}: {cursor.rowcount:,} rows", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE payments_enrolment, payments_enrolmentchange, registry_incomeitem")


def facts_worker() -> float:
    """What `manage.py refresh_facts` does every few minutes in a running system, here once after
    the between-months changes (not part of the run): the summary refreshed. Its seconds."""
    from minzheng.rules import summary

    started = time.perf_counter()
    persons = summary.refresh()
    seconds = time.perf_counter() - started
    print(
        f"  facts worker (refresh_facts, before the run): {persons:,} persons recomputed, {seconds:.1f} s",
        flush=True,
    )
    return seconds


def quiesce() -> float:
    """Before a timed month, after the facts worker: its month of changes to the summary vacuumed, so
    that autovacuum does not run inside the timed run (in a running system the worker takes a
    month's changes a few minutes at a time). No CHECKPOINT: that needs a privileged role. Its
    seconds."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) rules_memberfacts, rules_stalefacts, rules_factschange, payments_enrolment, "
            "payments_payrollline"
        )
    seconds = time.perf_counter() - started
    print(f"  quiesce (vacuum analyze): {seconds:.1f} s", flush=True)
    return seconds


def cold(command: str) -> None:
    """Empty the server's and the kernel's caches (`--cold-command`), then reconnect."""
    if not command:
        return
    import subprocess

    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True)  # noqa: S602 (the operator's own command)
    for _ in range(60):
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT 1")
            break
        except Exception:
            connections.close_all()
            time.sleep(0.5)
    print(f"  cold: caches emptied ({command}), {time.perf_counter() - started:.1f} s", flush=True)


def per_row_baseline(admin: Any, count: int, month: date) -> tuple[int, float]:
    """The naive way, for comparison: ORM objects, one household at a time."""
    from decimal import Decimal

    from django.db import connection, transaction
    from django.db.models import Q

    from minzheng.payments.models import (
        ChangeKind,
        Enrolment,
        EnrolmentChange,
        EnrolmentStatus,
        PayrollLine,
        ReviewTask,
    )
    from minzheng.payments.services import PAYABLE, payroll_run_request
    from minzheng.rules import engine
    from minzheng.rules.population import household_facts
    from minzheng.rules.selectors import policy_table

    run = payroll_run_request(actor=admin, county=COUNTY, month=month)
    started = time.perf_counter()
    table = policy_table()
    done = 0
    with transaction.atomic():
        enrolments = (
            Enrolment.objects.filter(
                division__code__startswith=COUNTY, status__in=PAYABLE, start_month__lte=month
            )
            .filter(Q(end_month__isnull=True) | Q(end_month__gt=month))
            .select_for_update()
            .order_by("pk")[:count]
        )
        for e in enrolments:
            amount = e.monthly_amount
            if e.status == EnrolmentStatus.ACTIVE:
                result = engine.calculate(e.programme, household_facts(e.household_id, month), table)
                if result.eligible and result.amount != amount:
                    EnrolmentChange.objects.create(
                        enrolment=e,
                        kind=ChangeKind.AMOUNT,
                        effective_month=month,
                        old_amount=amount,
                        new_amount=result.amount,
                        reason="重新计算",
                        actor=admin,
                    )
                    e.monthly_amount = amount = result.amount
                    e.save(update_fields=["monthly_amount"])
                elif not result.eligible:
                    ReviewTask.objects.get_or_create(
                        enrolment=e,
                        kind="periodic",
                        done_at__isnull=True,
                        defaults={"due_date": month, "office_code": e.division_id[:9] + "000"},
                    )
            PayrollLine.objects.create(
                run=run,
                enrolment=e,
                programme=e.programme,
                month=month,
                payee_id=e.payee_id,
                division_code=e.division_id,
                monthly_amount=amount,
                adjustment=Decimal("0"),
                amount=max(Decimal("0"), amount),
            )
            done += 1
    seconds = time.perf_counter() - started
    # The baseline's lines and run are not a real month: gone, so that --reuse runs the next one.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_payrollline WHERE run_id = %s", [run.pk])
        cursor.execute("DELETE FROM payments_payrollrun WHERE id = %s", [run.pk])
    return done, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument(
        "--baseline", type=int, default=10_000, help="households for the per-row baseline (0: skip)"
    )
    parser.add_argument(
        "--no-worst-case",
        action="store_true",
        help="amounts generated right (bulk engine) so that month A is a usual month, not one where every "
        "amount changes (saves a million updates per million households)",
    )
    parser.add_argument("--no-bank-files", action="store_true", help="skip the bank file and reconciliation")
    parser.add_argument(
        "--cold-command",
        default="",
        help="a shell command emptying the server's and kernel's caches before each timed month "
        '(e.g. "pg_ctlcluster 15 main restart && sync && echo 3 > /proc/sys/vm/drop_caches")',
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database an earlier run generated and time one more usual month only (the month "
        "after its last run, after the between-months changes again): for trying a change at 10 M "
        "households without generating them again",
    )
    args = parser.parse_args()

    if not args.reuse:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max

    from minzheng.catalogue.services import catalogue_load
    from minzheng.org.models import Staff
    from minzheng.org.roles import Role
    from minzheng.org.services import divisions_load
    from minzheng.org.testing import make_staff
    from minzheng.payments import payroll, services
    from minzheng.payments.models import AmountProposal, PayrollLine, PayrollRun, ReviewTask
    from minzheng.payments.testing import wide_payroll_window
    from minzheng.rules import bulk, standing

    n = args.households
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if args.reuse:
        admin = Staff.objects.get(username="bench_admin")
        generate_s = 0.0
    else:
        divisions_load(actor=None, prefix=COUNTY)
        catalogue_load(actor=None)
        admin = make_staff("bench_admin", f"{COUNTY}000000", [Role.COUNTY_ADMIN])
        make_staff("bench_approver", f"{COUNTY}000000", [Role.COUNTY_APPROVER])
        wide_payroll_window(region=COUNTY)  # the bench's months lie ahead of today
        print(f"migrate, divisions, catalogue: {time.perf_counter() - started:.1f} s", flush=True)
        print(f"generating {n:,} households ...", flush=True)
        started = time.perf_counter()
        generate(n, worst_case=not args.no_worst_case)
        generate_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_person")
        persons = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database()), version()")
        size_before, version = cursor.fetchone()
        cursor.execute(
            "SELECT string_agg(name || ' ' || current_setting(name), ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('shared_buffers', 'max_wal_size', 'work_mem', 'maintenance_work_mem')"
        )
        (server_settings,) = cursor.fetchone()
    if not args.reuse:
        print(f"generated in {generate_s:.0f} s: {n:,} households, {persons:,} persons", flush=True)

    approver = Staff.objects.get(username="bench_approver")
    timer = Timer()
    # Phases of the run: the facts summary refreshed before the transaction; in it the lines and
    # their settlements (the rest of `compute`), the recalculation, the parameters and totals.
    timer.wrap(services, "refresh_summary", "refresh facts summary")
    timer.wrap(payroll, "compute", "transaction")
    timer.wrap(payroll, "_recalculate", "  recalculation (changed households)")
    timer.wrap(payroll, "_facts", "    facts read")
    timer.wrap(bulk, "calculate", "    bulk.calculate")
    timer.wrap(standing, "statuses_on", "    statuses read")
    timer.wrap(payroll, "_store_parameters", "  parameters")

    def timed_run(label: str, month: date) -> dict[str, Any]:
        for earlier in PayrollRun.objects.filter(county=COUNTY, month__lt=month, status="computed"):
            services.payroll_approve(actor=approver, run_id=earlier.pk)
        run = services.payroll_run_request(actor=admin, county=COUNTY, month=month)
        cold(args.cold_command)
        timer.reset()
        changes_before = AmountProposal.objects.count()
        reviews_before = ReviewTask.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (wal_before,) = cursor.fetchone()
        statements: list[tuple[float, str]] = []

        def timed_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - began, " ".join(str(sql).split())[:90]))

        with peak_rss() as peak, connection.execute_wrapper(timed_statement):
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            run = services.payroll_compute(run_id=run.pk)
            seconds = time.perf_counter() - started
            cpu = [after - before for after, before in zip(cpu_seconds(), cpu_before, strict=True)]
        phases = dict(timer.seconds)
        phases["  lines, one-offs, arrears, exits, totals"] = (
            phases.get("transaction", 0.0)
            - phases.get("  recalculation (changed households)", 0.0)
            - phases.get("  parameters", 0.0)
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before])
            (wal,) = cursor.fetchone()
        changes = AmountProposal.objects.count() - changes_before
        reviews = ReviewTask.objects.count() - reviews_before
        print(
            f"{label}: {seconds:.1f} s, {run.line_count:,} lines, total {run.total_amount}, "
            f"{changes:,} amount proposals, {reviews:,} review tasks, {run.recomputed_households:,} households recomputed, peak RSS {peak[0]:.0f} MiB, "
            f"CPU: this process {cpu[0]:.1f} s, PostgreSQL {cpu[1]:.1f} s, WAL {int(wal) / 2**30:.1f} GiB",
            flush=True,
        )
        print("   " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()), flush=True)
        for spent, sql in sorted(statements, reverse=True)[:8]:
            if spent >= 0.1:
                print(f"   {spent:6.2f} s  {sql}", flush=True)
        return {
            "seconds": seconds,
            "lines": run.line_count,
            "peak": peak[0],
            "changes": changes,
            "reviews": reviews,
            "cpu": cpu,
        }

    if args.reuse:
        last = PayrollRun.objects.filter(county=COUNTY).aggregate(last=Max("month"))["last"]
        month = date(last.year + last.month // 12, last.month % 12 + 1, 1)
        print("between months:", flush=True)
        between_months(month)
        facts_worker()
        quiesce()
        timed_run(f"month {month:%Y-%m} (a usual month, on the reused database)", month)
        return

    a = timed_run(
        f"month A {MONTH_A:%Y-%m} ({'a usual month' if args.no_worst_case else 'every amount changes'})",
        MONTH_A,
    )
    print("between months:", flush=True)
    between_months()
    worker_s = facts_worker()
    quiesce()
    b = timed_run(f"month B {MONTH_B:%Y-%m} (a usual month)", MONTH_B)
    lines_before = PayrollLine.objects.count()
    started = time.perf_counter()
    again = services.payroll_compute(
        run_id=services.payroll_run_request(actor=admin, county=COUNTY, month=MONTH_B).pk
    )
    rerun_s = time.perf_counter() - started
    new_lines = PayrollLine.objects.count() - lines_before
    print(
        f"re-run of month B: {rerun_s:.1f} s, {new_lines} new lines, run still {again.line_count:,} lines",
        flush=True,
    )

    export_s = reconcile_s = 0.0
    lines_exported = rows_reconciled = 0
    if not args.no_bank_files:
        # The bank side of month B: approval by a second person, the GBK bank file, and the bank's
        # results for every line read back (all paid).
        services.payroll_approve(actor=approver, run_id=again.pk)
        with peak_rss() as export_peak:
            started = time.perf_counter()
            export = services.bank_export(actor=admin, run_id=again.pk, layout="ningxia_bank_csv")
            export_s = time.perf_counter() - started
        lines_exported = export.line_count
        print(
            f"bank file (GBK CSV): {export.line_count:,} lines, {len(export.content) / 2**20:.0f} MiB sealed, "
            f"{export_s:.1f} s, peak RSS {export_peak[0]:.0f} MiB",
            flush=True,
        )
        ids = PayrollLine.objects.filter(run=again).values_list("pk", flat=True).order_by("pk")
        results = "业务参考号,状态,失败原因\r\n" + "".join(
            f"{pk},成功,\r\n" for pk in ids.iterator(chunk_size=50_000)
        )
        with peak_rss() as reconcile_peak:
            started = time.perf_counter()
            report = services.reconciliation_import(
                actor=admin, run_id=again.pk, file_name="回盘.csv", content=results.encode("gbk")
            )
            reconcile_s = time.perf_counter() - started
        rows_reconciled = report.rows
        print(
            f"reconciliation: {report.rows:,} rows, accepted {report.accepted}, {reconcile_s:.1f} s, "
            f"peak RSS {reconcile_peak[0]:.0f} MiB",
            flush=True,
        )

    baseline: tuple[int, float] | None = None
    if args.baseline:
        for earlier in PayrollRun.objects.filter(county=COUNTY, status="computed"):
            services.payroll_approve(actor=approver, run_id=earlier.pk)
        baseline = per_row_baseline(admin, args.baseline, MONTH_C)
        print(f"per-row baseline: {baseline[0]:,} households in {baseline[1]:.1f} s", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size_after = cursor.fetchone()[0]
    database = "PostgreSQL " + version.split()[1]
    print()
    print(
        f"database            {database}, {size_before / 2**20:,.0f} MiB generated, {size_after / 2**20:,.0f} MiB after"
    )
    print(f"server settings     {server_settings}")
    print(f"machine             {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"households          {n:,} ({persons:,} persons)")
    print(f"generation          {generate_s:.0f} s")
    for label, r in (("month A", a), ("month B", b)):
        print(
            f"{label:<19} {r['seconds']:.1f} s  {r['lines'] / r['seconds']:,.0f} lines/s  "
            f"peak RSS {r['peak']:.0f} MiB"
        )
    print(f"facts worker        {worker_s:.1f} s (before month B, not in it)")
    print(f"re-run month B      {rerun_s:.1f} s, {new_lines} new lines")
    if not args.no_bank_files:
        print(f"bank file           {export_s:.1f} s ({lines_exported:,} lines)")
        print(f"reconciliation      {reconcile_s:.1f} s ({rows_reconciled:,} rows)")
    if baseline:
        per_row = baseline[1] / baseline[0]
        per_set = b["seconds"] / b["lines"]
        print(
            f"per-row baseline    {baseline[0]:,} in {baseline[1]:.1f} s = {per_row * 1e3:.2f} ms/household; "
            f"set-based month B {per_set * 1e6:.1f} µs/household; ratio {per_row / per_set:,.0f}x"
        )
    print(f"process peak RSS    {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
