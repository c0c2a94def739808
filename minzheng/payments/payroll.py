"""The monthly payroll computed set-based (the services in `payments.services` drive it; nothing here
checks permissions).

A run holds its county's lock (`county_locked`, a session-level advisory lock) from its first read
to its last township: the enrolment services take it shared (`lock_county`), so no enrolment of the
county changes while the run reads and writes, at the cost of one lock instead of a million row
locks. Under it, once per run (`prepare_county`):
1. read the county's payable enrolments (ACTIVE or EXITING, started, not ended) in one pass, less
   those already with a line in this run (a resumed run), as a Polars frame (COPY on PostgreSQL, a
   cursor on SQLite); their pending one-off changes (back pay, recovery) up to the month;
2. recompute every household with an ACTIVE enrolment of a monthly programme with the rules bulk
   engine on the 1st of the month, over the facts summary (`rules.summary`: the members' facts as
   dated rows, the same frames as `rules.population` reads from the circumstance tables) read by
   the county's division prefix through the county's snapshot (`rules.snapshot`: only the persons
   changed since the last read come from the database), households registered elsewhere by id.
   Each household's standing
   is taken from its enrolments (household_status "dibao" or "extreme_poverty",
   extreme_poverty_supported for the payee of an extreme-poverty enrolment);
3. per enrolment: eligible with a different amount -> the new amount from this month and an
   EnrolmentChange of kind "amount"; not eligible -> a re-review task (the current amount is paid
   until the review decides); no members that day, or not recomputed (EXITING, other programmes)
   -> the current amount; the line amount is the monthly amount plus one-offs, never below 0;
4. split the lines and the rows with consequences by township.

Then one township per transaction (`compute_township`), several at once on their own connections:
5. mark its one-offs settled in this run; write the lines (COPY straight into the table on
   PostgreSQL, see `_insert_lines` for the uniqueness); the rare
   rows with consequences (amount changed, review, gradual exit) through a second small table: the
   changes, UPDATE ... FROM for the new amounts and the exit countdown (one month less; none left ->
   TERMINATED from the next month), INSERT ... ON CONFLICT DO NOTHING for the review tasks;
6. add the township's figures to the run's totals per township and programme.

Lines are written in payee order: the index that pays nobody twice, (month, programme, payee), is
then filled in one sweep per township rather than at random (bench/README.md).
Money is integer fen throughout (`rules.money`); the database gets yuan with two places.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, transaction

from minzheng.payments.bankfiles import yuan_text
from minzheng.rules import bulk, snapshot
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyTable
from minzheng.rules.summary import read_summary

# Work-table flags.
CHANGED, REVIEW, EXITING = 1, 2, 4
# pg_advisory_xact_lock(LOCK_SPACE, township): the payroll of a township and changes to its enrolments.
LOCK_SPACE = 6_402_001

ENROLMENT_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "household_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "division_code": pl.String(),
    "amount_fen": pl.Int64(),
    "status": pl.String(),
    "exit_left": pl.Int64(),
}
ONE_OFF_SCHEMA: dict[str, pl.DataType] = {
    "change_id": pl.Int64(),
    "enrolment_id": pl.Int64(),
    "one_off_fen": pl.Int64(),
}
LINE_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "division_code": pl.String(),
    "monthly_fen": pl.Int64(),
    "adjustment_fen": pl.Int64(),
    "amount_fen": pl.Int64(),
}
FLAGGED_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "division_code": pl.String(),
    "old_fen": pl.Int64(),
    "monthly_fen": pl.Int64(),
    "flag": pl.Int16(),
}
RECOMPUTED_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "programme": pl.String(),
    "eligible": pl.Boolean(),
    "new_fen": pl.Int64(),
}

LINES_DDL = """CREATE TEMPORARY TABLE payroll_lines (
    enrolment_id BIGINT NOT NULL, payee_id BIGINT NOT NULL, programme VARCHAR(40) NOT NULL,
    division_code VARCHAR(12) NOT NULL, monthly_fen BIGINT NOT NULL, adjustment_fen BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL
)"""
FLAGGED_DDL = """CREATE TEMPORARY TABLE payroll_flagged (
    enrolment_id BIGINT NOT NULL, division_code VARCHAR(12) NOT NULL, old_fen BIGINT NOT NULL,
    monthly_fen BIGINT NOT NULL, flag SMALLINT NOT NULL
)"""

_PAYABLE = """e.division_id LIKE %(prefix)s
    AND e.status IN ('active', 'exiting')
    AND e.start_month <= %(month)s AND (e.end_month IS NULL OR e.end_month > %(month)s)"""

ENROLMENTS_SQL = f"""SELECT e.id, e.household_id, e.payee_id, e.programme, e.division_id,
    CAST(ROUND(e.monthly_amount * 100) AS BIGINT), e.status, e.exit_months_left
    FROM payments_enrolment e WHERE {_PAYABLE}"""  # noqa: S608 (constant SQL)

# A line of month M for an enrolment of county C can only belong to the run of C and M, so "paid in
# this run" is "paid this month" (a resumed run skips them). Whether a line exists is decided apart
# and joined in the frame: an anti-join planned on the estimate of a run's lines, which grow while
# it is computed, can turn quadratic.
PAID_SQL = """SELECT l.enrolment_id FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.reissue_of_id IS NULL"""

# The partial index change_pending_one_off holds exactly the rows of the first two conditions.
ONE_OFFS_SQL = """SELECT c.id, c.enrolment_id, CAST(ROUND(c.one_off_amount * 100) AS BIGINT)
    FROM payments_enrolmentchange c JOIN payments_enrolment e ON e.id = c.enrolment_id
    WHERE c.settled_in_id IS NULL AND NOT (c.one_off_amount = 0)
      AND c.effective_month <= %(month)s AND e.division_id LIKE %(prefix)s"""

INSERT_LINES_SQL = """INSERT INTO payments_payrollline (run_id, enrolment_id, programme, month, payee_id,
    division_code, monthly_amount, adjustment, amount, status, bank_reference, failure_reason, reissue_of_id)
    SELECT %(run)s, w.enrolment_id, w.programme, %(month)s, w.payee_id, w.division_code,
        w.monthly_fen / 100.0, w.adjustment_fen / 100.0, w.amount_fen / 100.0, 'pending', '', '', NULL
    FROM payroll_lines w WHERE TRUE
    ON CONFLICT DO NOTHING"""
LINE_COLUMNS = (
    "run_id, enrolment_id, programme, month, payee_id, division_code, monthly_amount, adjustment, amount, "
    "status, bank_reference, failure_reason"
)

INSERT_CHANGES_SQL = """INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month,
    old_amount, new_amount, one_off_amount, reason, notice, settled_in_id, actor_id, at)
    SELECT f.enrolment_id, 'amount', %(month)s, f.old_fen / 100.0, f.monthly_fen / 100.0, 0,
        %(reason)s, '', NULL, %(actor)s, %(at)s
    FROM payroll_flagged f WHERE f.flag & 1 = 1"""

UPDATE_AMOUNTS_SQL = """UPDATE payments_enrolment SET monthly_amount = f.monthly_fen / 100.0
    FROM payroll_flagged f WHERE payments_enrolment.id = f.enrolment_id AND f.flag & 1 = 1"""

INSERT_REVIEWS_SQL = """INSERT INTO payments_reviewtask (enrolment_id, kind, due_date, office_code,
    created_at, done_at, outcome, note, done_by_id)
    SELECT f.enrolment_id, 'periodic', %(month)s, SUBSTR(f.division_code, 1, 9) || '000',
        %(at)s, NULL, '', '', NULL
    FROM payroll_flagged f WHERE f.flag & 2 = 2
    ON CONFLICT DO NOTHING"""

# The daily scheduling of periodic re-reviews (services.reviews_schedule): every payable enrolment whose
# next review falls due by the horizon and has no open periodic task gets one, for its township office.
SCHEDULE_REVIEWS_SQL = """INSERT INTO payments_reviewtask (enrolment_id, kind, due_date, office_code,
    created_at, done_at, outcome, note, done_by_id)
    SELECT e.id, 'periodic', e.next_review, SUBSTR(e.division_id, 1, 9) || '000', %(at)s, NULL, '', '', NULL
    FROM payments_enrolment e
    WHERE e.status IN ('active', 'exiting') AND e.next_review <= %(horizon)s
      AND NOT EXISTS (
          SELECT 1 FROM payments_reviewtask t
          WHERE t.enrolment_id = e.id AND t.kind = 'periodic' AND t.done_at IS NULL
      )
    ON CONFLICT DO NOTHING"""


def schedule_reviews(*, horizon: date, at: datetime) -> int:
    """Run SCHEDULE_REVIEWS_SQL; the number of tasks created."""
    with connection.cursor() as cursor:
        cursor.execute(SCHEDULE_REVIEWS_SQL, _params({"horizon": horizon, "at": at}))
        return int(cursor.rowcount)


# Gradual exit: one month paid, one less to go; none left -> stopped from the next month.
EXIT_COUNTDOWN_SQL = """UPDATE payments_enrolment SET
    exit_months_left = CASE WHEN exit_months_left > 0 THEN exit_months_left - 1 ELSE 0 END,
    status = CASE WHEN exit_months_left <= 1 THEN 'terminated' ELSE status END,
    end_month = CASE WHEN exit_months_left <= 1 THEN %(next_month)s ELSE end_month END
    FROM payroll_flagged f WHERE payments_enrolment.id = f.enrolment_id AND f.flag & 4 = 4"""

TOTALS_UPSERT_SQL = """INSERT INTO payments_payrolltotal (run_id, township_code, programme, line_count, amount)
    VALUES (%(run)s, %(township)s, %(programme)s, %(count)s, %(amount)s)
    ON CONFLICT (run_id, township_code, programme) DO UPDATE SET
        line_count = payments_payrolltotal.line_count + excluded.line_count,
        amount = payments_payrolltotal.amount + excluded.amount"""

TOWNSHIP_TOTALS_SQL = """SELECT l.programme, COUNT(*), CAST(SUM(ROUND(l.amount * 100)) AS BIGINT)
    FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.division_code >= %(low)s AND l.division_code < %(high)s
      AND l.reissue_of_id IS NULL
    GROUP BY l.programme"""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dates and datetimes as the backend stores them (SQLite: text)."""
    ops = connection.ops
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = ops.adapt_datetimefield_value(value)
        elif isinstance(value, date):
            out[key] = ops.adapt_datefield_value(value)
        else:
            out[key] = value
    return out


def read_frame(sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The rows of one SELECT as a frame with `schema` (its columns in order): streamed out with COPY
    on PostgreSQL, read through a cursor on SQLite."""
    with connection.cursor() as cursor:
        if _postgres():
            buffer = bytearray()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", _params(params)) as copy:
                while block := copy.read():
                    buffer += block
            if not buffer:
                return pl.DataFrame(schema=dict(schema))
            return pl.read_csv(io.BytesIO(buffer), has_header=False, schema=dict(schema))
        cursor.execute(sql, _params(params))
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def write_frame(table: str, frame: pl.DataFrame) -> None:
    """Append a frame to a table (its columns named as the frame's): COPY on PostgreSQL,
    executemany on SQLite."""
    if frame.is_empty():
        return
    columns = ", ".join(frame.columns)
    with connection.cursor() as cursor:
        if _postgres():
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * frame.width)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (constant names)
                frame.rows(),
            )


def lock_county(county: str, *, shared: bool) -> None:
    """An enrolment change (shared) waits for a payroll computing its county, to the end of the
    transaction. (SQLite has one writer at a time anyway.)"""
    if not _postgres():
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_SPACE, int(county[:6])])


@contextmanager
def county_locked(county: str) -> Iterator[None]:
    """Hold the county's payroll lock on this connection (a session lock: the townships are
    written by other connections, each its own transaction) until the block ends: no enrolment of
    the county changes between the read of `prepare_county` and the last township written."""
    if not _postgres():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, int(county[:6])])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, int(county[:6])])


# --- Recomputation -----------------------------------------------------------------------------------


def _present(programmes: pl.Series) -> list[str]:
    found = set(programmes.unique().to_list())
    return [p for p in bulk.MONTHLY_PROGRAMMES if p in found]


def _calculate(
    members: pl.DataFrame,
    households: pl.DataFrame,
    standing: pl.DataFrame,
    *,
    month: date,
    table: PolicyTable,
    programmes: Sequence[str],
) -> pl.DataFrame:
    """bulk.calculate in long form (RECOMPUTED_SCHEMA), with the standing the enrolments give."""
    if members.is_empty() or not programmes:
        return pl.DataFrame(schema=RECOMPUTED_SCHEMA)
    by_household = standing.group_by("household_id").agg(
        pl.when((pl.col("programme") == "extreme_poverty").any())
        .then(pl.lit("extreme_poverty"))
        .when((pl.col("programme") == "dibao").any())
        .then(pl.lit("dibao"))
        .otherwise(pl.lit("none"))
        .alias("_standing")
    )
    households = (
        households.join(by_household, on="household_id", how="left")
        .with_columns(
            pl.coalesce("_standing", pl.lit("none")).cast(bulk.HOUSEHOLD_STATUS).alias("household_status")
        )
        .drop("_standing")
    )
    supported = standing.filter(pl.col("programme") == "extreme_poverty")["payee_id"]
    members = members.with_columns(
        (pl.col("extreme_poverty_supported") | pl.col("member_id").is_in(supported.implode())).alias(
            "extreme_poverty_supported"
        )
    )
    result = bulk.calculate(members, households, table, day=month, programmes=programmes)
    return pl.concat(
        [
            result.select(
                pl.col("household_id"),
                pl.lit(p).alias("programme"),
                pl.col(f"{p}_eligible").alias("eligible"),
                pl.col(f"{p}_amount_fen").cast(pl.Int64).alias("new_fen"),
            )
            for p in programmes
        ]
    )


def recompute(standing: pl.DataFrame, *, county: str, month: date, table: PolicyTable) -> pl.DataFrame:
    """RECOMPUTED_SCHEMA for every household with an ACTIVE enrolment of a monthly programme among
    `standing` (the county's payable enrolments): the county's facts are read in one pass by
    division prefix, households registered elsewhere by id."""
    wanted = standing.filter(
        (pl.col("status") == "active") & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
    ).select("household_id", "programme")
    if wanted.is_empty():
        return pl.DataFrame(schema=RECOMPUTED_SCHEMA)
    requested = wanted["household_id"].unique().sort()
    members, households = snapshot.read_county(month, county)
    households = households.filter(pl.col("household_id").is_in(requested.implode()))
    members = members.filter(pl.col("household_id").is_in(households["household_id"].implode()))
    missing = requested.filter(~requested.is_in(households["household_id"].implode()))
    if len(missing):
        elsewhere, elsewhere_households = read_summary(month, household_ids=missing.to_list())
        members = pl.concat([members, elsewhere], how="vertical_relaxed")
        households = pl.concat([households, elsewhere_households], how="vertical_relaxed")
    standing = standing.filter(pl.col("household_id").is_in(requested.implode()))
    return _calculate(
        members, households, standing, month=month, table=table, programmes=_present(wanted["programme"])
    )


def work_frames(
    enrolments: pl.DataFrame, recomputed: pl.DataFrame, one_offs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, flagged): one line per enrolment (LINE_SCHEMA) in payee order, and the rows with
    consequences (FLAGGED_SCHEMA: CHANGED, REVIEW, EXITING)."""
    frame = (
        enrolments.rename({"amount_fen": "old_fen"})
        .join(recomputed, on=["household_id", "programme"], how="left")
        .join(one_offs, on="enrolment_id", how="left")
    )
    recomputed_here = (pl.col("status") == "active") & pl.col("eligible").is_not_null()
    changed = recomputed_here & pl.col("eligible") & (pl.col("new_fen") != pl.col("old_fen"))
    review = recomputed_here & ~pl.col("eligible")
    frame = (
        frame.with_columns(
            pl.when(changed).then(pl.col("new_fen")).otherwise(pl.col("old_fen")).alias("monthly_fen"),
            pl.col("adjustment_fen").fill_null(0),
            (
                changed.cast(pl.Int16) * CHANGED
                + review.cast(pl.Int16) * REVIEW
                + (pl.col("status") == "exiting").cast(pl.Int16) * EXITING
            )
            .cast(pl.Int16)
            .alias("flag"),
        )
        .with_columns(
            (pl.col("monthly_fen") + pl.col("adjustment_fen")).clip(lower_bound=0).alias("amount_fen")
        )
        .sort("payee_id", "enrolment_id")
    )
    return frame.select(list(LINE_SCHEMA)), frame.filter(pl.col("flag") != 0).select(list(FLAGGED_SCHEMA))


# --- The county, read and computed once --------------------------------------------------------------


@dataclass(frozen=True)
class CountyWork:
    """A run's work, computed before any township is written: per township (9-digit prefix), its
    lines, flagged rows and the pending one-off changes the lines settle."""

    run_id: int
    lines: dict[str, pl.DataFrame]
    flagged: dict[str, pl.DataFrame]
    one_offs: dict[str, list[int]]

    @property
    def townships(self) -> list[str]:
        return sorted(self.lines)

    def size(self, township: str) -> int:
        return self.lines[township].height


def _by_township(frame: pl.DataFrame, townships: Sequence[str]) -> dict[str, pl.DataFrame]:
    keyed = frame.with_columns(pl.col("division_code").str.slice(0, 9).alias("_township"))
    parts = {
        str(k[0]): part.drop("_township") for k, part in keyed.partition_by("_township", as_dict=True).items()
    }
    empty = frame.clear()
    return {t: parts.get(t, empty) for t in townships}


def prepare_county(*, run_id: int, county: str, month: date, table: PolicyTable) -> CountyWork:
    """Steps 1-4 of the module docstring for the whole county, under its lock (`county_locked`)."""
    params = {"prefix": f"{county}%", "month": month}
    payable = read_frame(ENROLMENTS_SQL, params, ENROLMENT_SCHEMA)
    paid = read_frame(PAID_SQL, {"run": run_id}, {"enrolment_id": pl.Int64()})
    enrolments = payable.join(paid, on="enrolment_id", how="anti") if not paid.is_empty() else payable
    townships = sorted(set(enrolments["division_code"].str.slice(0, 9).to_list()))
    if not townships:  # everything paid already (a run computed again): nothing to read or compute
        return CountyWork(run_id=run_id, lines={}, flagged={}, one_offs={})
    # Only the one-offs of enrolments paid in this run, with their township.
    pending = read_frame(ONE_OFFS_SQL, params, ONE_OFF_SCHEMA).join(
        enrolments.select("enrolment_id", "division_code"), on="enrolment_id"
    )
    one_offs = pending.group_by("enrolment_id").agg(pl.col("one_off_fen").sum().alias("adjustment_fen"))
    # The standing of a household counts every payable enrolment, paid in this run or not.
    recomputed = recompute(
        payable.select("household_id", "payee_id", "programme", "status"),
        county=county,
        month=month,
        table=table,
    )
    lines, flagged = work_frames(enrolments, recomputed, one_offs)
    return CountyWork(
        run_id=run_id,
        lines=_by_township(lines, townships),
        flagged=_by_township(flagged, townships),
        one_offs={t: part["change_id"].to_list() for t, part in _by_township(pending, townships).items()},
    )


# --- One township ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TownshipOutcome:
    township: str
    enrolments: int
    lines: int
    amount_changes: int
    reviews_opened: int
    exits_counted: int
    one_offs_fen: int
    amount_fen: int

    def as_audit(self) -> dict[str, Any]:
        return {
            "township": self.township,
            "lines": self.lines,
            "amount": from_fen(self.amount_fen),
            "amount_changes": self.amount_changes,
            "reviews_opened": self.reviews_opened,
            "gradual_exit_months_counted": self.exits_counted,
            "one_offs_settled": from_fen(self.one_offs_fen),
        }


def _temporary(cursor: Any, name: str, ddl: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(ddl + (" ON COMMIT DROP" if _postgres() else ""))


def _copy_lines(cursor: Any, lines: pl.DataFrame, *, run_id: int, month: date) -> None:
    """COPY the work lines straight into payments_payrollline (PostgreSQL); amounts as yuan text."""
    frame = lines.select(
        pl.lit(run_id).alias("run_id"),
        "enrolment_id",
        "programme",
        pl.lit(month.isoformat()).alias("month"),
        "payee_id",
        "division_code",
        yuan_text(pl.col("monthly_fen")).alias("monthly_amount"),
        yuan_text(pl.col("adjustment_fen")).alias("adjustment"),
        yuan_text(pl.col("amount_fen")).alias("amount"),
        pl.lit("pending").alias("status"),
        pl.lit("").alias("bank_reference"),
        pl.lit("").alias("failure_reason"),
    )
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)  # "" for the empty texts: not NULL to COPY
    # Django's error classes (IntegrityError for the unique index) for the driver's own.
    with (
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY payments_payrollline ({LINE_COLUMNS}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())


def _insert_lines(
    cursor: Any, lines: pl.DataFrame, *, run_id: int, month: date, params: Mapping[str, Any]
) -> int:
    """The township's lines into payments_payrollline; the number written. Nobody is paid twice:
    the unique index on (month, programme, payee) guards it. The lines are unique per enrolment,
    so a conflict means a payee with a line this month from another enrolment (say, in another
    county): on PostgreSQL the lines are copied straight in, and only if that fails on the index is
    the copy rolled back to a savepoint and the lines inserted through a work table skipping such
    rows (checking every row for a conflict that almost never occurs costs a quarter of the
    write, bench/README.md); SQLite always takes the second way."""
    if _postgres():
        try:
            with transaction.atomic():
                _copy_lines(cursor, lines, run_id=run_id, month=month)
            return lines.height
        except IntegrityError:
            pass
    _temporary(cursor, "payroll_lines", LINES_DDL)
    write_frame("payroll_lines", lines)
    cursor.execute(INSERT_LINES_SQL, params)
    inserted = int(cursor.rowcount)
    cursor.execute("DROP TABLE payroll_lines")
    return inserted


def compute_township(
    work: CountyWork,
    township: str,
    *,
    month: date,
    next_month: date,
    actor_id: int,
    reason: str,
    at: datetime,
) -> TownshipOutcome:
    """Steps 5-6 of the module docstring for one township, inside the caller's transaction."""
    lines, flagged = work.lines[township], work.flagged[township]
    if lines.is_empty():
        return TownshipOutcome(township, 0, 0, 0, 0, 0, 0, 0)
    run_id = work.run_id
    params = _params(
        {
            "run": run_id,
            "month": month,
            "next_month": next_month,
            "actor": actor_id,
            "reason": reason,
            "at": at,
        }
    )
    flags = flagged["flag"]
    changes = int((flags & CHANGED != 0).sum())
    exits = int((flags & EXITING != 0).sum())
    reviews = 0
    with connection.cursor() as cursor:
        if _postgres():
            # Townships already run side by side; JIT compilation (their estimated cost is high)
            # took longer than it saved (bench/README.md).
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("SET LOCAL jit = off")
        ids = work.one_offs[township]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE payments_enrolmentchange SET settled_in_id = %s WHERE id IN ({marks})",  # noqa: S608
                [run_id, *chunk],
            )
        inserted = _insert_lines(cursor, lines, run_id=run_id, month=month, params=params)
        if not flagged.is_empty():
            _temporary(cursor, "payroll_flagged", FLAGGED_DDL)
            write_frame("payroll_flagged", flagged)
            if changes:
                cursor.execute(INSERT_CHANGES_SQL, params)
                cursor.execute(UPDATE_AMOUNTS_SQL, params)
            if int((flags & REVIEW != 0).sum()):
                cursor.execute(INSERT_REVIEWS_SQL, params)
                reviews = cursor.rowcount
            if exits:
                cursor.execute(EXIT_COUNTDOWN_SQL, params)
            cursor.execute("DROP TABLE payroll_flagged")
        _add_totals(cursor, run_id=run_id, township=township, lines=lines, inserted=inserted)
    return TownshipOutcome(
        township=township,
        enrolments=lines.height,
        lines=inserted,
        amount_changes=changes,
        reviews_opened=reviews,
        exits_counted=exits,
        one_offs_fen=int(lines["adjustment_fen"].sum()),
        amount_fen=int(lines["amount_fen"].sum()),
    )


def _add_totals(cursor: Any, *, run_id: int, township: str, lines: pl.DataFrame, inserted: int) -> None:
    """Add the township's new lines to the run's totals per township and programme. Normally every
    work row became a line and the figures come from the frame; if some did not (a payee already
    paid this month under another enrolment), the township is recounted from its lines."""
    code = township + "000"
    if inserted == lines.height:
        sums = lines.group_by("programme").agg(pl.len().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        rows: Sequence[tuple[str, int, int]] = sums.sort("programme").rows()
    else:
        cursor.execute(
            "DELETE FROM payments_payrolltotal WHERE run_id = %s AND township_code = %s", [run_id, code]
        )
        cursor.execute(TOWNSHIP_TOTALS_SQL, {"run": run_id, "low": township, "high": f"{township}:"})
        rows = [(str(p), int(n), int(fen)) for p, n, fen in cursor.fetchall()]
    for programme, count, fen in rows:
        cursor.execute(
            TOTALS_UPSERT_SQL,
            {
                "run": run_id,
                "township": code,
                "programme": programme,
                "count": count,
                "amount": from_fen(fen),
            },
        )
