"""Benchmark: the take-up scan (应保尽保排查) of one county and its worklists.

    .venv/bin/python bench/takeup.py            # on the payroll bench's database (1,000,000 households)

Needs the database `bench/payroll.py` leaves (default
postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll: 大武口区, 1,000,000 households,
2.5 members each, every household enrolled in dibao); run that first. Migrations are applied; the
bench's earlier scans are deleted. Nothing else in the database is changed.

Timed, on one process and the PostgreSQL server:

1. `rules.takeup.takeup_scan` end to end for the county, every monthly programme: the facts summary
   refreshed (untimed once before, so this is the usual case of nothing stale), one transaction at
   REPEATABLE READ reading the summary rows and the assistance statuses with COPY, the bulk engine,
   what is received or applied for (enrolments and open cases, one statement), the gaps written with
   COPY, the counts and the audit event;
2. the same again (a rescan: the previous scan's open rows deleted in the same transaction);
3. the worklists as the API serves a page: count and the first 50 rows with their households
   (`takeup_gaps`), for a village assistant, a township clerk and the county reviewer, and the
   per-township and per-village summary (`takeup_summary`) for the county: median and p95 of
   `--repeat` calls each.

Every household being enrolled in dibao, the gaps found are those of the other programmes (the
disability subsidies of dibao households, the elderly allowance, child allowance) — the read and the
calculation cover every programme for every household whatever is found.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll"
COUNTY = "640202"
DAY = date(2027, 1, 1)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--repeat", type=int, default=50, help="calls per worklist query")
    args = parser.parse_args()
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        sys.exit("the database name must contain 'bench'")

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from minzheng.org.models import Division, Staff
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff
    from minzheng.rules.models import TakeUpGap, TakeUpScan
    from minzheng.rules.summary import refresh
    from minzheng.rules.takeup import takeup_gaps, takeup_scan, takeup_summary

    call_command("migrate", verbosity=0)

    def staff(username: str, code: str, role: str) -> Staff:
        return Staff.objects.filter(username=username).first() or make_staff(username, code, [role])

    reviewer = staff("bench_takeup_reviewer", f"{COUNTY}000000", Role.COUNTY_REVIEWER)
    TakeUpGap.objects.filter(scan__created_by=reviewer).delete()
    TakeUpScan.objects.filter(created_by=reviewer).delete()
    started = time.perf_counter()
    stale = refresh()
    print(f"summary refreshed first (untimed): {stale:,} persons in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM registry_household WHERE division_id LIKE %s", [f"{COUNTY}%"])
        (households,) = cursor.fetchone()
    print(f"households in {COUNTY}: {households:,}")

    for label in ("scan", "rescan"):
        started = time.perf_counter()
        cpu = time.process_time()
        scan = takeup_scan(actor=reviewer, county=COUNTY, day=DAY)
        seconds = time.perf_counter() - started
        print(
            f"{label}: {seconds:.1f} s (process CPU {time.process_time() - cpu:.1f} s), "
            f"{scan.households:,} households, {scan.gaps:,} gaps {dict(scan.by_programme)}, "
            f"peak RSS {peak_rss_mib():,.0f} MiB",
            flush=True,
        )
    open_rows = TakeUpGap.objects.filter(taken_up_at__isnull=True, scan__county=COUNTY).count()
    print(f"open rows after the rescan: {open_rows:,} (= the rescan's {scan.gaps:,})")

    # The village and township with the most open rows: the worst case for their worklists.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT division_code, COUNT(*) FROM rules_takeupgap WHERE taken_up_at IS NULL
            GROUP BY division_code ORDER BY 2 DESC LIMIT 1"""
        )
        village, village_rows = cursor.fetchone()
    township = f"{village[:9]}000"
    assistant = staff("bench_takeup_assistant", village, Role.VILLAGE_ASSISTANT)
    clerk = staff("bench_takeup_clerk", township, Role.TOWNSHIP_CLERK)
    print(
        f"village {village} ({Division.objects.get(code=village).name}): {village_rows:,} open rows; "
        f"township {township}"
    )

    def page(actor: Staff) -> int:
        gaps = takeup_gaps(actor=actor)
        count = gaps.count()
        rows = list(gaps[:50])
        for gap in rows:  # what the API's output reads of each row
            _ = (gap.household.number, gap.household.head.name if gap.household.head else "")
        return count

    def summary(actor: Staff) -> int:
        _townships, villages = takeup_summary(actor=actor)
        return len(villages)

    for name, call, actor in (
        ("worklist page, village assistant", page, assistant),
        ("worklist page, township clerk", page, clerk),
        ("worklist page, county reviewer", page, reviewer),
        ("summary by township and village, county", summary, reviewer),
    ):
        times = []
        result = 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = call(actor)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"{name}: {result:,} — median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
