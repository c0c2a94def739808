"""Benchmark: build the demo registry at scale on a fresh database and report time and memory.

    .venv/bin/python bench/demo_scale.py --households 1000000 \
        --database-url postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench
    .venv/bin/python bench/demo_scale.py --households 100000 --database-url sqlite:////tmp/bench.sqlite3

The database is dropped and recreated first (PostgreSQL: its name must contain "bench"; SQLite:
the file is deleted), then migrated; `manage.py demo_data --households N` runs in this process so
that the peak RSS reported is that of the build. See bench/README.md for results.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import re
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from benchdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent


class Tee(io.TextIOBase):
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        sys.stdout.write(text)
        sys.stdout.flush()
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


def mib(kib: int) -> float:
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep-database", action="store_true", help="do not drop and recreate the database")
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("--database-url (or DATABASE_URL) is required")

    if not args.keep_database:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from minzheng.core import protect
    from minzheng.core.audit import verify_chain
    from minzheng.core.identifiers import parse_resident_id
    from minzheng.registry.models import Household, Membership, Person

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    rows_before = Household.objects.count() + Person.objects.count() + Membership.objects.count()
    out = Tee()
    started = time.perf_counter()
    call_command("demo_data", households=args.households, seed=args.seed, verbosity=2, stdout=out)
    total_s = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    match = re.search(r"households ([0-9.]+) 秒", out.text())
    households_s = max(float(match.group(1)) if match else total_s, 1e-6)

    households = Household.objects.count()
    persons = Person.objects.count()
    memberships = Membership.objects.count()
    rows = households + persons + memberships - rows_before  # rows written by this run

    started = time.perf_counter()
    call_command("demo_data", households=args.households, seed=args.seed, verbosity=0, stdout=io.StringIO())
    rerun_s = time.perf_counter() - started
    if Household.objects.count() != households:
        raise SystemExit("a second run must add nothing")

    # Spot check: 1,000 random persons decrypt to valid ID numbers matching their rows.
    sample_ids = random.Random(1).sample(range(1, persons + 1), min(1000, persons))
    for person in Person.objects.filter(pk__in=sample_ids):
        rid = parse_resident_id(protect.decrypt(person.id_encrypted))
        if (rid.sex, rid.birth_date, rid.masked) != (person.sex, person.birth_date, person.id_masked):
            raise SystemExit(f"person {person.pk}: ID number does not match the row")
    chain_ok = verify_chain().ok

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database()), version()")
            size, version = cursor.fetchone()
        database = "PostgreSQL " + version.split()[1]
    else:
        size = sum(
            p.stat().st_size
            for p in Path(urlparse(args.database_url).path).parent.glob(
                Path(urlparse(args.database_url).path).name + "*"
            )
        )
        import sqlite3

        database = "SQLite " + sqlite3.sqlite_version

    print()
    print(f"database            {database}")
    print(f"machine             {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"migrate             {migrate_s:.1f} s")
    print(f"households          {households:,}")
    print(f"persons             {persons:,}  ({persons / max(households, 1):.2f} per household)")
    print(f"memberships         {memberships:,}")
    print(f"demo_data total     {total_s:.1f} s  (divisions, accounts, households)")
    print(f"households phase    {households_s:.1f} s")
    print(f"rows/s (hh phase)   {rows / households_s:,.0f}  ({rows:,} rows written)")
    print(f"rows/s (total)      {rows / total_s:,.0f}")
    print(f"second run          {rerun_s:.1f} s (adds nothing)")
    print(f"peak RSS            {mib(peak_rss):.0f} MiB (after migrate: {mib(rss_before):.0f} MiB)")
    print(f"database size       {size / 2**20:,.0f} MiB")
    print(f"audit chain         {'ok' if chain_ok else 'BROKEN'}")
    print(
        f"| demo_data | {database} | {households:,} households / {persons:,} persons"
        f" ({rows:,} rows written) | {total_s:.0f} "
        f"({households_s:.0f} households phase) | {rows / households_s:,.0f} | {mib(peak_rss):.0f} MiB |"
    )


if __name__ == "__main__":
    main()
