"""A county's facts summary rows (`rules.summary`) kept as a columnar file between reads, so that a
month's payroll reads from the database only the rows of the persons whose facts changed since,
not the whole county again (PostgreSQL, outside a caller's transaction; otherwise, and for a first
read, the summary is read whole).

Every refresh of the summary logs the persons it recomputed in rules_factschange, whose ids follow
the commit order (refreshes run one at a time). A snapshot holds every row of the county (each
interval, not one day's) as of a change id; reading the county again, in one REPEATABLE READ
transaction: the newest change id, the persons changed since the snapshot's, and their rows in the
county now. The snapshot without those persons, with those rows, is the county's rows now. A
snapshot whose changes are no longer all in the log (kept `summary.KEEP_DAYS` days), or with more
changes since than a fifth of its rows, is replaced by a whole read.

Kept current in the background (`keep_current`, `manage.py refresh_facts` every few minutes): the
summary refreshed and every county's snapshot brought up to date, so that a payroll run finds the
registry's changes of the last minutes only, not the month's (at 10,000,000 households the month's
changes took 113 s to refresh in the run, bench/README.md). A read never depends on it: it
refreshes and reads the changes since its snapshot itself.

Files: `core.keptframes`, kind "facts", versioned by change id. `rules/tests/test_snapshot.py`
compares the reads with the summary's own.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from django.db import connections, transaction

from minzheng.core.connections import others_see_the_same
from minzheng.core.keptframes import KeptFrames, database_key, wait_saved
from minzheng.rules.population import Population, check_prefix, read_rows
from minzheng.rules.summary import (
    IN_PREFIX,
    INTERVAL_SCHEMA,
    READ_SCHEMA,
    by_household,
    population_of,
    read_summary_rows,
    refresh,
    rows_sql,
)

# More changed persons than this share of a snapshot's rows: read the county whole instead.
WHOLE_READ_SHARE = 0.2

KEPT = KeptFrames("facts", INTERVAL_SCHEMA)

__all__ = ["county_rows", "keep_current", "read_county", "read_county_rows", "usable", "wait_saved"]

CHANGED_SQL = "SELECT DISTINCT person_id FROM rules_factschange WHERE id > %(after)s AND id <= %(upto)s"


def usable(using: str = "default") -> bool:
    """Snapshots need one consistent read of the log and the rows: PostgreSQL, not inside a
    caller's transaction (whose uncommitted rows no file may keep)."""
    return others_see_the_same(using)


def read_county(day: date, division_prefix: str, *, using: str = "default") -> Population:
    """`summary.read_summary(day, division_prefix=...)`, through the county's snapshot where usable."""
    return population_of(read_county_rows(day, division_prefix, using=using))


def read_county_rows(day: date, division_prefix: str, *, using: str = "default") -> pl.DataFrame:
    """`summary.read_summary_rows(day, division_prefix=...)`, through the county's snapshot where
    usable."""
    check_prefix(division_prefix)
    if not division_prefix or not usable(using):
        return read_summary_rows(day, division_prefix=division_prefix, using=using)
    refresh(using=using)
    rows = county_rows(division_prefix, using=using)
    in_force = (pl.col("valid_from") <= day) & (
        pl.col("valid_until").is_null() | (pl.col("valid_until") >= day)
    )
    return rows.filter(in_force).select(list(READ_SCHEMA))


def county_rows(division_prefix: str, *, using: str = "default") -> pl.DataFrame:
    """Every summary row (INTERVAL_SCHEMA) in the prefix, as of the newest change, in household order
    (a payroll takes each slice of households as a range of them, `payments.payroll`), and the
    snapshot of them written."""
    connection = connections[using]
    params = {"low": division_prefix, "high": f"{division_prefix}:"}
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SELECT COALESCE(MAX(id), 0), COALESCE(MIN(id), 1) FROM rules_factschange")
        high, oldest = cursor.fetchone()
        key = database_key(cursor, using)
        kept = KEPT.load(key, division_prefix)
        rows: pl.DataFrame | None = None
        if kept is not None and oldest - 1 <= kept[0] <= high:
            after, snapshot = kept[0], by_household(kept[1])  # files before 2026-11-22: any order
            cursor.execute("SELECT COUNT(*) FROM rules_factschange WHERE id > %s AND id <= %s", [after, high])
            (changes,) = cursor.fetchone()
            if not changes:
                rows = snapshot
            elif changes <= WHOLE_READ_SHARE * max(snapshot.height, 1):
                bounds = {"after": after, "upto": high}
                cursor.execute(CHANGED_SQL, bounds)
                changed = pl.Series("member_id", [r[0] for r in cursor.fetchall()], dtype=pl.Int64())
                fresh = read_rows(
                    using,
                    rows_sql([IN_PREFIX, f"f.person_id IN ({CHANGED_SQL})"], intervals=True),
                    {**params, **bounds},
                    INTERVAL_SCHEMA,
                    copy=True,
                )
                rows = snapshot.filter(~pl.col("member_id").is_in(changed.implode())).merge_sorted(
                    by_household(fresh), key="household_id"
                )
        if rows is None:
            rows = by_household(
                read_rows(using, rows_sql([IN_PREFIX], intervals=True), params, INTERVAL_SCHEMA, copy=True)
            )
    if kept is None or kept[0] != high:
        KEPT.save_beside(key, division_prefix, high, rows)  # a county's file takes about 0.6 s
    return rows


def keep_current(*, using: str = "default") -> tuple[int, list[str]]:
    """Refresh the summary and bring every county's snapshot on disk up to date (where snapshots
    are usable; otherwise the refresh only), waiting for the files to be written; (persons
    recomputed, the counties brought up to date)."""
    refreshed = refresh(using=using)
    if not usable(using):
        return refreshed, []
    with connections[using].cursor() as cursor:
        key = database_key(cursor, using)
    counties = KEPT.prefixes(key)
    for prefix in counties:
        county_rows(prefix, using=using)
    wait_saved()
    return refreshed, counties
