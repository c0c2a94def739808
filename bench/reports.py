"""Benchmark: the monthly statistics (月度统计) of one county — recompute, freeze, and the reads.

    .venv/bin/python bench/reports.py            # on the payroll bench's database (1,000,000 households)
    .venv/bin/python bench/reports.py --database-url postgres://…/minzheng_bench_small --repeat 20

Needs a database holding a county (default postgres://minzheng:minzheng@127.0.0.1:5432/
minzheng_bench_payroll as `bench/payroll.py` leaves it: 大武口区, 1,000,000 households, every one
enrolled in dibao, payroll runs); its name must contain "bench". Migrations are applied (the reports
tables are added); the bench's statistic periods of the county are deleted before and after, so
nothing else in the database is changed.

Timed, on one process and the PostgreSQL server:

1. `reports.services.period_recompute` of the current month for the county, `--recompute` times:
   every metric's grouped INSERT ... SELECT over enrolments, memberships, payroll lines, fund
   entries, cases, warnings and tickets, the standards in force, the digest and the audit event
   (what the worker's sweep does every few minutes);
2. `reports.services.period_freeze` of the previous month (the figures and every member row, set-based);
3. the reads, median and p95 of `--repeat` calls each: the county's dashboard (county administrator),
   the city's dashboard with its counties side by side and twelve months of trend (city supervisor),
   the monthly sheet (bulletin) of the county, and a drill-down page (count + first 50 rows) of
   the households covered for the open month (live queries) and for the frozen month (member rows).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll"
COUNTY = "640202"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, repeat: int, call: Callable[[], Any]) -> None:
    times = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"{label}: {result} — median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--repeat", type=int, default=50, help="calls per read")
    parser.add_argument("--recompute", type=int, default=3, help="recomputes of the current month")
    parser.add_argument(
        "--keep", action="store_true", help="keep the periods computed (default: delete them)"
    )
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
    from django.utils import timezone

    from minzheng.org.models import Staff
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff
    from minzheng.payments.months import add_months, first_of_month
    from minzheng.reports import selectors, services
    from minzheng.reports.models import StatisticPeriod

    call_command("migrate", verbosity=0)

    def staff(username: str, code: str, role: str) -> Staff:
        return Staff.objects.filter(username=username).first() or make_staff(username, code, [role])

    admin = staff("bench_reports_admin", f"{COUNTY}000000", Role.COUNTY_ADMIN)
    supervisor = staff("bench_reports_supervisor", f"{COUNTY[:4]}00000000", Role.SUPERVISOR)
    this_month = first_of_month(timezone.localdate())
    last_month = add_months(this_month, -1)
    StatisticPeriod.objects.filter(county=COUNTY, month__in=[this_month, last_month]).delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM registry_household WHERE division_id LIKE %s", [f"{COUNTY}%"])
        (households,) = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM payments_enrolment WHERE division_id LIKE %s", [f"{COUNTY}%"])
        (enrolments,) = cursor.fetchone()
    print(
        f"{connection.vendor}; households in {COUNTY}: {households:,}; enrolments: {enrolments:,}", flush=True
    )

    try:
        for i in range(args.recompute):
            started, cpu = time.perf_counter(), time.process_time()
            period = services.period_recompute(actor=admin, county=COUNTY, month=this_month)
            print(
                f"recompute {this_month:%Y-%m} #{i + 1}: {time.perf_counter() - started:.1f} s "
                f"(process CPU {time.process_time() - cpu:.1f} s), {period.values.count():,} figures, "
                f"peak RSS {peak_rss_mib():,.0f} MiB",
                flush=True,
            )
        started = time.perf_counter()
        frozen = services.period_freeze(actor=admin, county=COUNTY, month=last_month)
        print(
            f"freeze {last_month:%Y-%m}: {time.perf_counter() - started:.1f} s, "
            f"{frozen.members.count():,} member rows",
            flush=True,
        )

        def drill(month: Any) -> int:
            found = selectors.members(actor=admin, county=COUNTY, month=month, metric="households_covered")
            return found.count

        timed(
            "dashboard, county",
            args.repeat,
            lambda: len(selectors.dashboard(actor=admin, month=this_month).columns),
        )
        timed(
            "dashboard, city (counties side by side, 12-month trend)",
            args.repeat,
            lambda: len(selectors.dashboard(actor=supervisor, month=this_month).columns),
        )
        timed(
            "monthly sheet (bulletin), county",
            args.repeat,
            lambda: len(selectors.sheet(actor=admin, county=COUNTY, month=this_month).units),
        )
        timed("drill-down page, open month (live)", max(1, args.repeat // 5), lambda: drill(this_month))
        timed("drill-down page, frozen month (members)", args.repeat, lambda: drill(last_month))
        freeze_with_data(args, admin, this_month, drill)
    finally:
        if not args.keep:
            StatisticPeriod.objects.filter(county=COUNTY, month__in=[this_month, last_month]).delete()


class _Undo(Exception):
    pass


def freeze_with_data(args: Any, admin: Any, month: Any, drill: Callable[[Any], int]) -> None:
    """What freezing costs for a month with data: the current month's member rows written as the
    freeze writes them (`statistics.write_members`) and a drill-down over them, inside a transaction
    rolled back afterwards (the service refuses to freeze a month not yet ended)."""
    from django.db import transaction
    from django.utils import timezone

    from minzheng.reports import statistics as stats
    from minzheng.reports.metrics import window
    from minzheng.reports.models import PeriodState, StatisticMember, StatisticPeriod

    try:
        with transaction.atomic():
            period = StatisticPeriod.objects.get(county=COUNTY, month=month)
            started = time.perf_counter()
            stats.write_members(period, window(COUNTY, month))
            written = StatisticMember.objects.filter(period=period).count()
            print(
                f"member rows of {month:%Y-%m} as a freeze writes them: {time.perf_counter() - started:.1f} s, "
                f"{written:,} rows (rolled back)",
                flush=True,
            )
            StatisticPeriod.objects.filter(pk=period.pk).update(
                state=PeriodState.FROZEN, frozen_at=timezone.now()
            )
            timed("drill-down page over those member rows", args.repeat, lambda: drill(month))
            raise _Undo
    except _Undo:
        pass


if __name__ == "__main__":
    main()
