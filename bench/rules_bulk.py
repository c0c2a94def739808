"""Benchmark: the bulk rules engine (minzheng/rules/bulk.py) and the single-household explanation.

    # (a) compute only, synthetic frames generated in Polars (each size in its own process)
    .venv/bin/python bench/rules_bulk.py compute --households 1000000 10000000
    # (b) end to end from PostgreSQL: population.read_population + bulk.calculate
    .venv/bin/python bench/rules_bulk.py database \
        --database-url postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_rules --add-circumstances
    # (c) engine.calculate + Result.as_dict for one household
    .venv/bin/python bench/rules_bulk.py explain --runs 10000

(a) All five monthly programmes for every household on 2026-11-21 with the shipped policy packs, two
counties (大武口区 640202, 惠农区 640205) x urban/rural, so four parameter groups whose values differ.
Reports generation time, compute time and peak RSS of the process, and checks 300 random households
against engine.calculate (the same figures to the fen, or the run fails).

(b) Reads the registry of a demo database (`demo_data --households N`, see demo_scale.py). With
--add-circumstances it first gives the persons and households circumstances, set-based (one INSERT
... SELECT per kind, chosen by a hash of the id so runs are repeatable), unless the database has
income items already; the database name must contain "bench". Then reads the population as of the
day (COPY into Polars), computes, and times household_facts (the same statements for one household)
for 300 random households.

(c) p50/p95/max of engine.calculate + as_dict for one programme and one household, over --runs runs
cycling through the five monthly programmes and 1,000 synthetic households; then all five programmes
per household.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAY = date(2026, 11, 21)
VILLAGES = [f"640202{t:03d}{v:03d}" for t in (1, 2, 3, 4, 100) for v in range(1, 25)] + [
    f"640205{t:03d}{v:03d}" for t in (1, 2, 3, 100) for v in range(1, 25)
]


def setup_django(database_url: str = "") -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def mib(kib: int) -> float:
    return kib / 1024


def synthetic(households: int, day: date, seed: int = 7) -> tuple[Any, Any]:
    """Members and households frames shaped like a county registry: 1-6 members (2.5 on average),
    ages 18% under 18, 61% 18-59, 18.5% 60-79, 2.5% 80 and over; wages for most working-age adults,
    pensions (counted) or the residents' basic pension (not counted) for the elderly; 4% disabled,
    2% seriously ill, 0.5% orphans or unsupported children; deposits around the asset limits; some
    households already in dibao, near-poor or extreme-poverty support."""
    import polars as pl

    from minzheng.rules import bulk

    def pick(key: pl.Expr, salt: int, modulus: int) -> pl.Expr:
        return (key.hash(seed * 1000 + salt) % modulus).cast(pl.Int64)

    def choose(values: list[Any], dtype: Any, key: pl.Expr, salt: int) -> pl.Expr:
        return pl.lit(pl.Series(values, dtype=dtype)).gather(pick(key, salt, len(values)))

    hid = pl.col("household_id")
    frame = pl.select(pl.int_range(households, dtype=pl.Int64).alias("household_id")).with_columns(
        region=choose(VILLAGES, pl.Categorical, hid, 1),
        area=pl.when(pick(hid, 2, 5) == 0).then(pl.lit("rural")).otherwise(pl.lit("urban")).cast(bulk.AREA),
        rigid_expenses_fen=pl.when(pick(hid, 3, 12) == 0).then(pick(hid, 4, 80_000)).otherwise(0),
        financial_assets_fen=pl.when(pick(hid, 5, 10) < 3)
        .then(pick(hid, 6, 2_000_000))
        .otherwise(2_000_000 + pick(hid, 7, 50_000_000)),
        household_status=choose(
            ["none"] * 90 + ["dibao"] * 5 + ["near_poor"] * 4 + ["extreme_poverty"],
            bulk.HOUSEHOLD_STATUS,
            hid,
            8,
        ),
        _size=choose([1] * 22 + [2] * 30 + [3] * 24 + [4] * 14 + [5] * 7 + [6] * 3, pl.Int64, hid, 9),
    )
    members = (
        frame.select(pl.col("household_id").repeat_by("_size").explode().set_sorted())
        .with_row_index("_k")
        .with_columns(pl.col("_k").cast(pl.Int64))
    )
    k = pl.col("_k")
    band = pick(k, 10, 1000)
    age = (
        pl.when(band < 180)
        .then(pick(k, 11, 18))
        .when(band < 790)
        .then(18 + pick(k, 12, 42))
        .when(band < 975)
        .then(60 + pick(k, 13, 20))
        .otherwise(80 + pick(k, 14, 21))
    )
    epoch_day = (day - date(1970, 1, 1)).days
    disabled = pick(k, 15, 100) < 4
    categories = ["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
    members = members.with_columns(_age=age).with_columns(
        birth_date=(pl.lit(epoch_day) - pl.col("_age") * 365 - pick(k, 16, 365)).cast(pl.Date),
        disability_category=pl.when(disabled).then(choose(categories, bulk.DISABILITY_CATEGORY, k, 17)),
        disability_grade=pl.when(disabled).then(pick(k, 18, 4) + 1).cast(pl.Int8),
        serious_illness=pick(k, 19, 100) < 2,
        labour_capacity=choose(
            [None] * 90 + ["full"] * 6 + ["partial"] * 3 + ["none"], bulk.LABOUR_CAPACITY, k, 20
        ),
        self_care=pl.when(pl.col("_age") >= 60).then(
            choose(
                [None] * 90 + ["self_care"] * 4 + ["partly_lost"] * 4 + ["fully_lost"] * 2,
                bulk.SELF_CARE,
                k,
                21,
            )
        ),
        in_school_full_time=(pl.col("_age") >= 6) & (pl.col("_age") < 22) & (pick(k, 22, 10) < 8),
        counted_income_fen=pl.when((pl.col("_age") >= 18) & (pl.col("_age") < 60) & (pick(k, 23, 100) < 80))
        .then(180_000 + pick(k, 24, 620_000))
        .when((pl.col("_age") >= 60) & (pick(k, 25, 100) < 60))
        .then(150_000 + pick(k, 26, 300_000))
        .otherwise(0),
        has_able_supporter=pick(k, 27, 10) < 7,
        support_mode=choose(["home"] * 9 + ["institutional"], bulk.SUPPORT_MODE, k, 28),
        extreme_poverty_supported=pick(k, 29, 1000) < 5,
        child_status=pl.when(pl.col("_age") < 18).then(
            choose([None] * 97 + ["orphan"] * 2 + ["unsupported"], bulk.CHILD_STATUS, k, 30)
        ),
        child_care=choose(["scattered"] * 4 + ["institutional"], bulk.CHILD_CARE, k, 31),
        other_child_payments_fen=pl.when(pick(k, 32, 4) == 0).then(pick(k, 33, 60_000)).otherwise(0),
    )
    return members.rename({"_k": "member_id"}).drop("_age"), frame.drop("_size")


def agree(members: Any, households: Any, result: Any, samples: int, seed: int) -> int:
    """Check `samples` random households against engine.calculate; returns how many were checked."""
    import polars as pl

    from minzheng.rules import engine
    from minzheng.rules.money import to_fen
    from minzheng.rules.policy import shipped_policy
    from minzheng.rules.population import facts_from_frames

    ids = random.Random(seed).sample(households["household_id"].to_list(), min(samples, households.height))
    chosen = pl.Series(ids)
    facts = facts_from_frames(
        members.filter(pl.col("household_id").is_in(chosen.implode())),
        households.filter(pl.col("household_id").is_in(chosen.implode())),
        DAY,
    )
    rows = {
        r["household_id"]: r for r in result.filter(pl.col("household_id").is_in(chosen.implode())).to_dicts()
    }
    for household_id, household in facts.items():
        for programme in (
            "dibao",
            "extreme_poverty",
            "elderly_allowance",
            "disability_subsidy",
            "child_allowance",
        ):
            single = engine.calculate(programme, household, shipped_policy())
            row = rows[household_id]
            got = (row[f"{programme}_eligible"], row[f"{programme}_amount_fen"])
            if got != (single.eligible, to_fen(single.amount)):
                raise SystemExit(f"household {household_id} {programme}: bulk {got}, single {single.amount}")
    return len(facts)


def compute_one(households: int) -> None:
    setup_django()
    import polars as pl

    from minzheng.rules import bulk
    from minzheng.rules.policy import shipped_policy

    started = time.perf_counter()
    members, frame = synthetic(households, DAY)
    generate_s = time.perf_counter() - started
    rss_generated = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    table = shipped_policy()
    started = time.perf_counter()
    result = bulk.calculate(members, frame, table, day=DAY)
    compute_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    eligible = result.select(pl.col("^.*_eligible$").sum()).row(0, named=True)
    checked = agree(members, frame, result, 300, households)
    print(
        json.dumps(
            {
                "households": frame.height,
                "members": members.height,
                "generate_s": generate_s,
                "compute_s": compute_s,
                "rss_generated_mib": mib(rss_generated),
                "peak_rss_mib": mib(peak),
                "eligible": eligible,
                "checked": checked,
                "polars": pl.__version__,
                "threads": pl.thread_pool_size(),
            }
        )
    )


def compute(sizes: list[int]) -> None:
    for size in sizes:
        out = subprocess.run(  # noqa: S603 (this script, with an integer argument)
            [sys.executable, __file__, "compute-one", "--households", str(size)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        eligible = ", ".join(f"{k.removesuffix('_eligible')} {v:,}" for k, v in r["eligible"].items())
        print(
            f"| compute only | {r['households']:,} households / {r['members']:,} members | "
            f"{r['compute_s']:.2f} | {r['peak_rss_mib']:,.0f} MiB (frames alone {r['rss_generated_mib']:,.0f} MiB) | "
            f"generated in {r['generate_s']:.1f} s; eligible: {eligible}; {r['checked']} checked against "
            f"engine.calculate |",
            flush=True,
        )


# Circumstances for a demo database, one INSERT ... SELECT per kind, by a hash of the id. Ages are
# taken on DAY, so wages go to working-age adults and pensions to the elderly.
_AGE = "EXTRACT(YEAR FROM AGE(%(day)s, p.birth_date))"
_CIRCUMSTANCES = (
    f"""INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
        recorded_at) SELECT p.id, 'wages', 1800 + (p.id * 7919) %% 6200 + (p.id %% 100) / 100.0, TRUE,
        '2024-01-01', '', '基准测试', now() FROM registry_person p
        WHERE {_AGE} BETWEEN 18 AND 59 AND (p.id * 2654435761) %% 100 < 80""",
    f"""INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
        recorded_at) SELECT p.id, 'pension', 1500 + (p.id * 31) %% 3000, TRUE, '2024-01-01', '', '基准测试', now()
        FROM registry_person p WHERE {_AGE} >= 60 AND (p.id * 2654435761) %% 100 < 60""",
    f"""INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
        recorded_at) SELECT p.id, 'resident_basic_pension', 150, FALSE, '2024-01-01', '', '基准测试', now()
        FROM registry_person p WHERE {_AGE} >= 60 AND (p.id * 2654435761) %% 100 >= 60""",
    """INSERT INTO registry_disability (person_id, certificate_number, category, grade, valid_from, note, source,
        recorded_at) SELECT p.id, 'D' || p.id, (ARRAY['visual', 'hearing', 'speech', 'physical', 'intellectual',
        'mental', 'multiple'])[1 + p.id %% 7], 1 + (p.id / 7) %% 4, '2024-01-01', '', '基准测试', now()
        FROM registry_person p WHERE (p.id * 40503) %% 100 < 4""",
    """INSERT INTO registry_illness (person_id, name, is_listed_serious, valid_from, note, source, recorded_at)
        SELECT p.id, '尿毒症', (p.id %% 4) > 0, '2024-01-01', '', '基准测试', now() FROM registry_person p
        WHERE (p.id * 40503) %% 100 BETWEEN 4 AND 5""",
    """INSERT INTO registry_labourcapacity (person_id, level, valid_from, note, source, recorded_at)
        SELECT p.id, (ARRAY['full', 'partial', 'none'])[1 + p.id %% 3], '2024-01-01', '', '基准测试', now()
        FROM registry_person p WHERE (p.id * 97) %% 100 < 6""",
    f"""INSERT INTO registry_selfcareassessment (person_id, eating, dressing, bed_transfer, toileting,
        indoor_walking, bathing, level, valid_from, note, source, recorded_at)
        SELECT p.id, p.id %% 3 > 0, p.id %% 5 > 0, TRUE, p.id %% 2 > 0, TRUE, p.id %% 7 > 0,
        'placeholder', '2024-01-01', '', '基准测试', now() FROM registry_person p
        WHERE {_AGE} >= 60 AND (p.id * 89) %% 100 < 10""",
    """UPDATE registry_selfcareassessment SET level = CASE
        (NOT eating)::int + (NOT dressing)::int + (NOT bed_transfer)::int + (NOT toileting)::int
        + (NOT indoor_walking)::int + (NOT bathing)::int
        WHEN 0 THEN 'self_care' WHEN 1 THEN 'partly_lost' WHEN 2 THEN 'partly_lost' WHEN 3 THEN 'partly_lost'
        ELSE 'fully_lost' END WHERE level = 'placeholder'""",
    f"""INSERT INTO registry_schooling (person_id, stage, school, full_time, valid_from, note, source, recorded_at)
        SELECT p.id, 'senior', '', TRUE, '2024-09-01', '', '基准测试', now() FROM registry_person p
        WHERE {_AGE} BETWEEN 6 AND 18""",
    """INSERT INTO registry_asset (household_id, kind, value, description, valid_from, note, source, recorded_at)
        SELECT h.id, 'deposit', CASE WHEN (h.id * 131) %% 10 < 3 THEN (h.id * 7) %% 20000
        ELSE 20000 + (h.id * 7919) %% 500000 END, '', '2024-01-01', '', '基准测试', now()
        FROM registry_household h WHERE (h.id * 17) %% 10 < 9""",
    """INSERT INTO registry_asset (household_id, kind, value, description, valid_from, note, source, recorded_at)
        SELECT h.id, 'vehicle', 60000, '', '2024-01-01', '', '基准测试', now()
        FROM registry_household h WHERE (h.id * 17) %% 10 < 2""",
    """INSERT INTO registry_rigidexpense (household_id, kind, monthly_amount, valid_from, note, source, recorded_at)
        SELECT h.id, 'medical', 100 + (h.id * 13) %% 700, '2024-01-01', '', '基准测试', now()
        FROM registry_household h WHERE (h.id * 29) %% 100 < 8""",
)
_TABLES = (
    "registry_incomeitem",
    "registry_disability",
    "registry_illness",
    "registry_labourcapacity",
    "registry_selfcareassessment",
    "registry_schooling",
    "registry_asset",
    "registry_rigidexpense",
)


def add_circumstances() -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM registry_incomeitem)")
        if cursor.fetchone()[0]:
            print("circumstances: the database has income items already, none added")
            return 0.0
        for sql in _CIRCUMSTANCES:
            cursor.execute(sql, {"day": DAY})
            print(f"  {cursor.rowcount:>10,} rows  {sql.split()[2]}", flush=True)
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - started


def database(url: str, add: bool, samples: int) -> None:
    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"refusing to write to database {name!r}: a benchmark database name must contain 'bench'"
        )
    setup_django(url)
    import polars as pl
    from django.db import connection

    from minzheng.rules import bulk
    from minzheng.rules.policy import shipped_policy
    from minzheng.rules.population import household_facts, read_population

    if add:
        seconds = add_circumstances()
        print(f"circumstances added in {seconds:.1f} s")
    table = shipped_policy()
    started = time.perf_counter()
    population = read_population(DAY)
    read_s = time.perf_counter() - started
    rss_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = bulk.calculate(population.members, population.households, table, day=DAY)
    compute_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    eligible = result.select(pl.col("^.*_eligible$").sum()).row(0, named=True)
    checked = agree(population.members, population.households, result, 300, 1)

    ids = random.Random(2).sample(population.households["household_id"].to_list(), samples)
    latencies = []
    for household_id in ids:
        started = time.perf_counter()
        household_facts(household_id, DAY)
        latencies.append((time.perf_counter() - started) * 1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = "PostgreSQL " + cursor.fetchone()[0].split()[1]
    eligible_text = ", ".join(f"{k.removesuffix('_eligible')} {v:,}" for k, v in eligible.items())
    print(
        f"| registry to results | {version} | {population.households.height:,} households / "
        f"{population.members.height:,} members | {read_s + compute_s:.1f} (read {read_s:.1f}, compute "
        f"{compute_s:.1f}) | {mib(peak):,.0f} MiB (after the read {mib(rss_read):,.0f} MiB) | eligible: "
        f"{eligible_text}; {checked} checked against engine.calculate |"
    )
    print(f"| household_facts (one household, same statements) | {samples} | {percentiles(latencies)} |")


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[max(int(len(ms) * 0.95) - 1, 0)]
    return f"{statistics.median(ms):.2f} | {p95:.2f} | {ms[-1]:.2f}"


def explain(runs: int) -> None:
    setup_django()
    from minzheng.rules import bulk, engine
    from minzheng.rules.policy import shipped_policy
    from minzheng.rules.population import facts_from_frames

    members, households = synthetic(1000, DAY, seed=11)
    facts = list(facts_from_frames(members, households, DAY).values())
    table = shipped_policy()
    for household in facts[:50]:  # warm up
        engine.calculate("dibao", household, table).as_dict()
    latencies = []
    for i in range(runs):
        programme = bulk.MONTHLY_PROGRAMMES[i % len(bulk.MONTHLY_PROGRAMMES)]
        household = facts[i % len(facts)]
        started = time.perf_counter()
        engine.calculate(programme, household, table).as_dict()
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"| engine.calculate + as_dict (one programme, one household) | {runs:,} | {percentiles(latencies)} |"
    )
    latencies = []
    for i in range(runs):
        household = facts[i % len(facts)]
        started = time.perf_counter()
        for programme in bulk.MONTHLY_PROGRAMMES:
            engine.calculate(programme, household, table).as_dict()
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"| the same, all five monthly programmes for one household | {runs:,} | {percentiles(latencies)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("compute")
    c.add_argument("--households", type=int, nargs="+", default=[1_000_000, 10_000_000])
    one = sub.add_parser("compute-one")
    one.add_argument("--households", type=int, required=True)
    d = sub.add_parser("database")
    d.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    d.add_argument("--add-circumstances", action="store_true")
    d.add_argument("--samples", type=int, default=300)
    e = sub.add_parser("explain")
    e.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"# {os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f}, {DAY}",
        file=sys.stderr,
    )
    if args.mode == "compute":
        compute(args.households)
    elif args.mode == "compute-one":
        compute_one(args.households)
    elif args.mode == "database":
        if not args.database_url:
            raise SystemExit("--database-url (or DATABASE_URL) is required")
        database(args.database_url, args.add_circumstances, args.samples)
    else:
        explain(args.runs)


if __name__ == "__main__":
    main()
