"""Benchmark: the monthly re-check of recipients (在保对象定期核对) of one county, set-based.

    .venv/bin/python bench/recheck.py            # on the payroll bench's database (1,000,000 households)
    .venv/bin/python bench/recheck.py --share 0.4

Needs the database `bench/payroll.py` leaves (default
postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_payroll: 大武口区, 1,000,000 households,
2.5 members each, every household enrolled); run that first. Migrations are applied; earlier
re-check batches of the bench are deleted.

Untimed preparation: the enrolments of `--share` of the households (40 %: about 1,000,000 persons)
fall due for re-review in the bench month; the eight departments are registered.

Timed, end to end as the services do it, on one process and the PostgreSQL server:

1. `recheck.batch_create`: the month's subjects, one INSERT ... SELECT (every current member of each
   household due) and one query per department with its own time limit.
2. Per department, its result file (generated untimed beforehand, about 10,000,000 rows in all: one row
   per person per department, two for half the persons at the tax bureau, the bank and social
   insurance; the members of 30 % of the households hold 1,200 元 at the bank, below the 5,000 元 their
   household declared): read as the exchange reads a fetched file (`exchange.services._read_result`: Polars,
   text columns), then `recheck.take_file` in one transaction per file: rows checked against the
   batch's subjects, records summed per person and item, the declarations read with COPY and
   compared in frames, the hits written with COPY, the re-review tasks opened with one
   INSERT ... SELECT. `--hit-share` of the persons (default 3 %) have an undeclared wage at the tax
   bureau: their ID numbers are real (the bench's are placeholders), their keys set to match, so the
   identity check of the persons with hits runs on them.

Not timed here: the HTTP transfer of the files, their signatures (Ed25519 over SHA-512 of the bytes,
about 0.3 s per 100 MB) and the sealed copy the exchange's message log keeps of each file (AES-GCM;
measured separately and printed as "seal").
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
COUNTY = "640202"
MONTH = date(2027, 1, 1)
DEPARTMENTS = [
    ("bank", "file"),
    ("market", "api"),
    ("provident_fund", "api"),
    ("public_security", "api"),
    ("real_estate", "api"),
    ("social_insurance", "api"),
    ("tax", "api"),
    ("vehicles", "api"),
]
# What each department answers for a person without anything to report (its records of types we do
# not compare, or a zero), and how many rows per person (1 or 2, alternating).
ANSWERS = {
    "bank": [("bank_deposit", "balance", "0.00")],
    "market": [("market_entity", "none", "")],
    "provident_fund": [("provident_fund", "contribution", "0.00")],
    "public_security": [("household_registration", "resident", "")],
    "real_estate": [("real_estate_search", "none", "")],
    "social_insurance": [("social_insurance_benefit", "pension_resident", "0.00")],
    "tax": [("tax_income", "wage", "0.00")],
    "vehicles": [("vehicle_search", "none", "")],
}
DOUBLE = {"bank", "social_insurance", "tax"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--share", type=float, default=0.4, help="share of households due this month")
    parser.add_argument(
        "--hit-share", type=float, default=0.03, help="share of persons with an undeclared wage"
    )
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
    from minzheng.exchange import envelope
    from minzheng.exchange.models import Counterparty
    from minzheng.exchange.services import _read_result
    from minzheng.org.models import Staff
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff
    from minzheng.verification import recheck
    from minzheng.verification.models import RecheckBatch

    call_command("migrate", verbosity=0)
    reviewer = Staff.objects.filter(username="bench_reviewer").first() or make_staff(
        "bench_reviewer", f"{COUNTY}000000", [Role.COUNTY_REVIEWER]
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_reviewtask WHERE kind = 'recheck'")
        cursor.execute("DELETE FROM verification_recheckhit")
        cursor.execute("DELETE FROM verification_departmentquery WHERE batch_id IS NOT NULL")
        cursor.execute("DELETE FROM verification_rechecksubject")
        cursor.execute("DELETE FROM verification_recheckbatch")
        cursor.execute(
            "UPDATE payments_enrolment SET next_review = CASE WHEN household_id %% 1000 < %s THEN %s ELSE %s END",
            [round(args.share * 1000), MONTH, date(2027, 12, 1)],
        )
        # Deposits declared by 30 % of the households due (5,000 元): their members' bank balances
        # (1,200 元 each, below the declaration) are compared, and are no hit.
        cursor.execute("DELETE FROM registry_asset WHERE source = 'bench-recheck'")
        cursor.execute(
            """INSERT INTO registry_asset (household_id, kind, value, description, valid_from, valid_until,
                note, source, recorded_by_id, recorded_at)
            SELECT e.household_id, 'deposit', 5000.00, '', DATE '2020-01-01', NULL, '', 'bench-recheck', NULL, now()
            FROM payments_enrolment e WHERE e.next_review = %s AND e.household_id %% 10 < 3""",
            [MONTH],
        )
    for code, mode in DEPARTMENTS:
        Counterparty.objects.update_or_create(
            code=code,
            defaults={
                "name": code,
                "base_url": f"http://127.0.0.1:9/dept/{code}",
                "mode": mode,
                "public_key_pem": "bench",
            },
        )
    connection.cursor().execute("ANALYZE payments_enrolment")
    print(f"prepared in {time.perf_counter() - started:.1f} s", flush=True)

    # 1. The batch.
    t0 = time.perf_counter()
    batch = recheck.batch_create(actor=reviewer, county=COUNTY, month=MONTH)
    create_s = time.perf_counter() - t0
    print(
        f"batch_create: {batch.persons:,} persons of {batch.households:,} households in {create_s:.1f} s",
        flush=True,
    )

    # Untimed: the departments' result files; the hit persons' numbers made real.
    t0 = time.perf_counter()
    subjects = read_frame(
        "SELECT id, person_id, household_id FROM verification_rechecksubject WHERE batch_id = %(b)s ORDER BY id",
        {"b": batch.pk},
        {"subject_id": pl.Int64(), "person_id": pl.Int64(), "household_id": pl.Int64()},
    )
    every = max(1, round(1 / args.hit_share))
    hit_rows = subjects.filter(pl.col("person_id") % every == 0)
    numbers = {pid: valid_id_number(pid) for pid in hit_rows["person_id"].to_list()}
    keys = pl.DataFrame(
        {"person_id": list(numbers), "person_key": [protect.lookup_digest(n) for n in numbers.values()]}
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_keys (person_id bigint, person_key varchar(64)) ON COMMIT DROP"
        )
        write_frame("bench_keys", keys)
        cursor.execute(
            "UPDATE registry_person p SET id_digest = k.person_key FROM bench_keys k WHERE p.id = k.person_id"
        )
        cursor.execute(
            "UPDATE verification_rechecksubject s SET person_key = k.person_key FROM bench_keys k "
            "WHERE s.person_id = k.person_id AND s.batch_id = %s",
            [batch.pk],
        )
    base = subjects.with_columns(
        pl.col("subject_id").cast(pl.String).alias("reference_id"),
        pl.col("person_id")
        .replace_strict(numbers, default="640202199001010000", return_dtype=pl.String)
        .alias("id_number"),
    )
    files: dict[str, bytes] = {}
    for code, _ in DEPARTMENTS:
        category, item_type, amount = ANSWERS[code][0]
        parts = [base]
        if code in DOUBLE:
            parts.append(base.filter(pl.col("subject_id") % 2 == 0))
        frame = pl.concat(parts).with_columns(
            pl.lit("found").alias("status"),
            pl.lit(category).alias("category"),
            pl.lit(item_type).alias("item_type"),
            pl.lit("").alias("description"),
            (
                pl.when((pl.lit(code) == "tax") & (pl.col("person_id") % every == 0))
                .then(pl.lit("3000.00"))
                .when((pl.lit(code) == "bank") & (pl.col("household_id") % 10 < 3))
                .then(pl.lit("1200.00"))
                .otherwise(pl.lit(amount))
            ).alias("amount"),
            pl.lit("").alias("quantity"),
            pl.lit("").alias("unit"),
            pl.lit("2026-12-01").alias("period_start"),
            pl.lit("2026-12-31").alias("period_end"),
            (pl.lit(code.upper() + "-") + pl.col("subject_id").cast(pl.String)).alias("source_ref"),
        )
        files[code] = frame.select(envelope.RESULT_COLUMNS).write_csv().encode()
    total_rows = sum(f.count(b"\n") - 1 for f in files.values())
    total_mb = sum(len(f) for f in files.values()) / 1e6
    print(
        f"result files: {total_rows:,} rows, {total_mb:.0f} MB, made in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    # 2. Each department's file taken.
    from minzheng.verification.models import DepartmentQuery

    took = []
    t_all = time.perf_counter()
    for code, _ in DEPARTMENTS:
        t0 = time.perf_counter()
        result = _read_result(files[code])
        if result is None:
            raise SystemExit(f"the {code} file does not read as a result file")
        read_s = time.perf_counter() - t0
        with transaction.atomic():
            query = (
                DepartmentQuery.objects.select_for_update()
                .select_related("batch")
                .get(batch=batch, counterparty=code)
            )
            taken = recheck.take_file(query, result)
        took.append((code, result.height, read_s, time.perf_counter() - t0, taken))
        print(
            f"  {code:17} {result.height:>10,} rows  read {read_s:5.1f} s  total {time.perf_counter() - t0:5.1f} s  hits {taken.hits:,}  tasks {taken.tasks:,}",
            flush=True,
        )
    recheck.refresh_status(batch.pk)
    take_s = time.perf_counter() - t_all
    t0 = time.perf_counter()
    protect.encrypt(files["tax"].decode())
    seal_s = time.perf_counter() - t0
    batch = RecheckBatch.objects.get(pk=batch.pk)
    print(
        f"\nre-check of {batch.persons:,} persons against {total_rows:,} records: "
        f"{create_s + take_s:.1f} s end to end (batch {create_s:.1f} s, files {take_s:.1f} s); "
        f"status {batch.status}; hits {sum(t.hits for *_, t in took):,}; tasks {sum(t.tasks for *_, t in took):,}; "
        f"seal of the tax file ({len(files['tax']) / 1e6:.0f} MB) {seal_s:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
