"""Registry query latency on a demo database (run demo_data --households N against it first).

    DATABASE_URL=postgres://... MINZHENG_MODE=demo .venv/bin/python bench/registry_queries.py --samples 300

Measures, through the same selectors the pages and the API use (scope filter included):
- lookup by resident ID number (keyed digest, exact)      as a county reviewer
- search by name (exact name, the way window staff search) as a county reviewer
- a township's household list, first page with its count  as a township clerk
Prints p50/p95/max in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("MINZHENG_MODE", "demo")

import django

django.setup()

from django.db import connection  # noqa: E402

from minzheng.core import protect  # noqa: E402
from minzheng.org.models import Staff  # noqa: E402
from minzheng.registry import selectors  # noqa: E402
from minzheng.registry.models import Household, Person  # noqa: E402


def timed(samples: list[str], run: Callable[[str], object]) -> list[float]:
    out = []
    for value in samples:
        start = time.perf_counter()
        run(value)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[-1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    reviewer = Staff.objects.get(username="dwk_county_reviewer")
    clerk = Staff.objects.get(username="dwk_township_clerk")
    households = Household.objects.count()
    persons = Person.objects.count()
    max_id = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picked = list(
        Person.objects.filter(pk__in=[rng.randint(1, max_id) for _ in range(args.samples * 2)]).values_list(
            "id_encrypted", "name"
        )[: args.samples]
    )
    ids = [protect.decrypt(enc) for enc, _ in picked]
    names = [name for _, name in picked]
    print(f"database: {connection.vendor}, households: {households:,}, persons: {persons:,}")
    print("| query | samples | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    report(
        "household by ID number",
        timed(ids, lambda v: list(selectors.household_list(actor=reviewer, search=v)[:50])),
    )
    report(
        "persons by name",
        timed(names, lambda v: list(selectors.person_list(actor=reviewer, search=v)[:50])),
    )

    def township_page(_: str) -> None:
        qs = selectors.household_list(actor=clerk)
        qs.count()
        list(qs[:50])

    report("township household list, page 1 + count", timed(["x"] * min(args.samples, 100), township_page))


if __name__ == "__main__":
    main()
