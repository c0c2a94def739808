"""A county's enrolments kept as a columnar file between payroll runs, so that a month's run reads
from the database only the enrolments changed since the last, not the whole county again
(PostgreSQL, outside a caller's transaction; otherwise the payroll reads them whole).

Every enrolment written (inserted, updated, deleted; by a service, a payroll run, or plain SQL) is
logged by database triggers with the writing transaction's id (payments_enrolmentlog, migration
0009). A copy holds the county's enrolments that can be paid in some month (ACTIVE or EXITING,
with their start and end months), in household order, as of a transaction id `xmin`: every
transaction before it had ended when the copy was read. Reading the county again:
1. the oldest transaction still running now (`pg_snapshot_xmin`), the new copy's version;
2. in one statement, the enrolments logged by transactions from the copy's version on, each with
   its row now if it is still the county's and ACTIVE or EXITING. That covers every change the
   copy may lack (a transaction still running when the copy was read has an id at or above its
   version), and some it has already (read again: the same rows);
3. the copy without those enrolments, with their rows now, is the county's enrolments now.
A copy older than the log's start (`payments_enrolmentlogstart`: its changes pruned), or with more
changes since than a fifth of its rows, is replaced by a whole read.

Files: `core.keptframes`, kind "enrolments", versioned by transaction id; under a key of the
database and the number of times its enrolments were truncated (no trigger logs those rows: a copy
read before is of no use; one read after is, whatever transactions were still running then).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import connections
from django.utils import timezone

from minzheng.core import arrowdb
from minzheng.core.connections import others_see_the_same
from minzheng.core.keptframes import KeptFrames, database_key, wait_saved
from minzheng.rules.summary import by_household

# More changed enrolments than this share of a copy's rows: read the county whole instead.
WHOLE_READ_SHARE = 0.2
# The log is kept so long (`prune`, by the periodic job; a copy older than that is read whole).
LOG_KEEP_DAYS = 400

KEPT_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "household_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "division_code": pl.String(),
    "amount_fen": pl.Int64(),
    "status": pl.String(),
    "exit_left": pl.Int64(),
    "start_month": pl.Date(),
    "end_month": pl.Date(),
}
KEPT = KeptFrames("enrolments", KEPT_SCHEMA)

_COLUMNS = """e.household_id, e.payee_id, e.programme, e.division_id,
    CAST(ROUND(e.monthly_amount * 100) AS BIGINT) AS amount_fen, e.status, e.exit_months_left, e.start_month,
    e.end_month"""
_KEPT = "e.division_id LIKE %(prefix)s AND e.status IN ('active', 'exiting')"

# The county's enrolments that may be paid in some month (`payable_in` picks a month's).
KEPT_SQL = f"SELECT e.id, {_COLUMNS} FROM payments_enrolment e WHERE {_KEPT}"  # noqa: S608 (constant SQL)

# Step 2 of the module docstring: every enrolment logged since, with its row if still kept, looked
# up by key in key order (the table's pages in order, mostly). OFFSET 0 keeps the lookup from being
# planned as a join: on the estimate of a log just written, that was a hash join over every
# enrolment, 9 s at 10,000,000.
CHANGED_SQL = f"""SELECT c.enrolment_id, k.*
    FROM (
        SELECT DISTINCT enrolment_id FROM payments_enrolmentlog WHERE xid >= %(after)s ORDER BY enrolment_id
    ) c
    LEFT JOIN LATERAL (
        SELECT {_COLUMNS} FROM payments_enrolment e WHERE e.id = c.enrolment_id AND {_KEPT} OFFSET 0
    ) k ON TRUE"""  # noqa: S608 (constant SQL)

PRUNE_SQL = """WITH gone AS (DELETE FROM payments_enrolmentlog WHERE at < %s RETURNING xid)
    UPDATE payments_enrolmentlogstart SET since = GREATEST(since, (SELECT MAX(xid) + 1 FROM gone))
    WHERE EXISTS (SELECT 1 FROM gone)"""


def usable(using: str = "default") -> bool:
    """PostgreSQL (the log's triggers), not inside a caller's transaction (whose uncommitted rows no
    file may keep)."""
    return others_see_the_same(using)


def payable_in(month: date) -> pl.Expr:
    """Kept enrolments paid in `month`: started, not ended."""
    return (pl.col("start_month") <= month) & (pl.col("end_month").is_null() | (pl.col("end_month") > month))


def county_rows(county: str, *, using: str = "default") -> pl.DataFrame:
    """The county's kept enrolments now (KEPT_SCHEMA, household order), through its copy; the new
    copy written beside the caller's work. Only where `usable`."""
    prefix = {"prefix": f"{county}%"}
    connection = connections[using]
    with connection.cursor() as cursor:
        xmin, since, key = _start(cursor, using)
    kept = KEPT.load(key, county)
    rows: pl.DataFrame | None = None
    if kept is not None and kept[0] >= since:
        version, copy = kept
        changed = arrowdb.read(CHANGED_SQL, {**prefix, "after": version}, KEPT_SCHEMA, using=using)
        if changed.is_empty():
            rows = copy
        elif changed.height <= WHOLE_READ_SHARE * max(copy.height, 1):
            fresh = changed.filter(pl.col("household_id").is_not_null())
            rows = copy.filter(~pl.col("enrolment_id").is_in(changed["enrolment_id"].implode())).merge_sorted(
                by_household(fresh), key="household_id"
            )
    if rows is None:
        rows = by_household(arrowdb.read(KEPT_SQL, prefix, KEPT_SCHEMA, using=using))
    if kept is None or rows is not kept[1]:  # nothing changed: the older copy is still one
        KEPT.save_beside(key, county, xmin, rows)
    return rows


def keep_current(*, using: str = "default") -> list[str]:
    """Bring every county's copy on disk up to date (where copies are usable), waiting for the files
    to be written; the counties. Run with the facts' (`manage.py refresh_facts`): a payroll run then
    finds the changes of the last minutes only, not those of a month (the previous run's own amount
    changes among them: 40,000-75,000 enrolments at 10,000,000 households, 5-8 s of lookups)."""
    if not usable(using):
        return []
    prune(using=using)
    with connections[using].cursor() as cursor:
        key = _start(cursor, using)[2]
    counties = KEPT.prefixes(key)
    for county in counties:
        county_rows(county, using=using)
    wait_saved()
    return counties


def prune(*, using: str = "default") -> None:
    """Delete the log's rows older than LOG_KEEP_DAYS, raising its start past them (a copy older than
    that is then read whole). Done by the periodic job, not by a payroll's read."""
    with connections[using].cursor() as cursor:
        cursor.execute(PRUNE_SQL, [timezone.now() - timedelta(days=LOG_KEEP_DAYS)])


def _start(cursor: Any, using: str) -> tuple[int, int, str]:
    """The oldest transaction still running (the version of a copy read now), the log's start, and
    the files' key: the database's, and the times its enrolments were truncated."""
    cursor.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, since, epoch FROM payments_enrolmentlogstart"
    )
    xmin, since, epoch = cursor.fetchone()
    return xmin, since, f"{database_key(cursor, using)}.{epoch}"
