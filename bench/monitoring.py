"""Benchmark: a department's monthly feed of 1,000,000 records imported and the warning rules evaluated
over it (低收入人口动态监测), set-based, on the payroll bench's database.

    .venv/bin/python bench/monitoring.py              # --records 1000000

Needs the database `bench/payroll.py` leaves (default
postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll: 大武口区, 1,000,000 households,
2,484,539 persons, every household a dibao recipient). Untimed preparation: `--records` persons get
real ID numbers (the bench's are placeholders) so that the feed's numbers match by keyed digest; the
feed is written as the medical-insurance department's CSV (身份证号、姓名、日期、金额、说明), one row per
person, a tenth of them above the rule's 10,000 元 threshold. Earlier bench feeds and warnings are
deleted.

Timed: `monitoring.services.feed_import` end to end — parse and check every row (ID number with its
check character, date, amount), the keyed digests, COPY of the records, the match to the registry
in one UPDATE, and the medical self-pay rule in one INSERT ... SELECT (cohorts from the assistance
statuses of every matched household, deduplication, routing), in one transaction.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from benchdb import valid_id_number

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import polars as pl
    from django.core.management import call_command
    from django.db import connection, transaction

    from minzheng.core import protect
    from minzheng.core.frames import read_frame, write_frame
    from minzheng.monitoring import services
    from minzheng.org.models import Staff
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff

    call_command("migrate", verbosity=0)
    reviewer = Staff.objects.filter(username="bench_reviewer").first() or make_staff(
        "bench_reviewer", "640202000000", [Role.COUNTY_REVIEWER]
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM monitoring_warning")
        cursor.execute("DELETE FROM monitoring_feedrecord")
        cursor.execute("DELETE FROM monitoring_feed")
    persons = read_frame(
        "SELECT id FROM registry_person ORDER BY id LIMIT %(n)s",
        {"n": args.records},
        {"person_id": pl.Int64()},
    )["person_id"].to_list()
    numbers = [valid_id_number(p) for p in persons]
    keys = pl.DataFrame({"person_id": persons, "person_key": [protect.lookup_digest(n) for n in numbers]})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_keys (person_id bigint, person_key varchar(64)) ON COMMIT DROP"
        )
        write_frame("bench_keys", keys)
        cursor.execute(
            "UPDATE registry_person p SET id_digest = k.person_key FROM bench_keys k "
            "WHERE p.id = k.person_id AND p.id_digest <> k.person_key"
        )
    lines = ["身份证号,姓名,日期,金额,说明"]
    lines += [
        f"{n},居民{p},2026-11-{1 + p % 28:02d},{'12500.00' if p % 10 == 0 else '860.50'},住院自付"
        for p, n in zip(persons, numbers, strict=True)
    ]
    content = ("\n".join(lines) + "\n").encode("utf-8")
    print(
        f"prepared {len(persons):,} persons and a {len(content) / 1e6:.0f} MB feed in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    t0 = time.perf_counter()
    feed = services.feed_import(
        actor=reviewer,
        county="640202",
        department="大武口区医疗保障局",
        event_type="medical_self_pay",
        period=date(2026, 11, 1),
        file_name="bench.csv",
        content=content,
    )
    took = time.perf_counter() - t0
    print(
        f"feed_import: {feed.rows:,} records, {feed.matched:,} matched, {feed.warnings:,} warnings in {took:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
