"""The monthly payroll computed set-based (the services in `payments.services` drive it; nothing here
checks permissions or opens transactions).

Once per run, before its townships (`recompute_county`): every household with an ACTIVE enrolment
of a monthly programme is recomputed with the rules bulk engine over the registry on the 1st of the
month. The county's registry is read in one pass by division prefix (`rules.population`; a read
per township would scan the registry tables once per township) and kept to those households;
households registered outside the county are read by id. Each household's standing is taken from
its enrolments (household_status "dibao" or "extreme_poverty", extreme_poverty_supported for the
payee of an extreme-poverty enrolment), as `rules.population` asks of a caller that knows it.

Then one township per transaction (`compute_township`):
1. an advisory lock on the township: the enrolment services take it shared, so no enrolment of the
   township changes while it is computed, at the cost of one lock instead of a million row locks;
2. read its payable enrolments (ACTIVE or EXITING, started, not ended) without a line in this run,
   as a Polars frame (COPY on PostgreSQL, a cursor on SQLite);
3. settle its pending one-off changes (back pay, recovery) in this run;
4. per enrolment: eligible with a different amount -> the new amount from this month and an
   EnrolmentChange of kind "amount"; not eligible -> a re-review task (the current amount is paid
   until the review decides); no members that day, or not recomputed (EXITING, other programmes)
   -> the current amount; the line amount is the monthly amount plus one-offs, never below 0;
5. write: the lines through a temporary work table (COPY, or executemany on SQLite), then
   INSERT ... SELECT ... ON CONFLICT DO NOTHING; the rare rows with consequences (amount changed,
   review, gradual exit) through a second small table: the changes, UPDATE ... FROM for the new
   amounts and the exit countdown (one month less; none left -> TERMINATED from the next month),
   INSERT ... ON CONFLICT DO NOTHING for the review tasks;
6. add the township's figures to the run's totals per township and programme.

Lines are written in enrolment order so that the enrolment index is filled in one sweep.
Money is integer fen throughout (`rules.money`); the database gets yuan with two places.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from django.db import connection

from minzheng.rules import bulk
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyTable
from minzheng.rules.population import read_population

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
STANDING_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "status": pl.String(),
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

PAYABLE_COUNTS_SQL = f"""SELECT SUBSTR(e.division_id, 1, 9), COUNT(*)
    FROM payments_enrolment e WHERE {_PAYABLE} GROUP BY SUBSTR(e.division_id, 1, 9)"""  # noqa: S608

# Who is payable, with the programme and payee, for the households' standing.
STANDING_SQL = f"""SELECT e.household_id, e.payee_id, e.programme, e.status
    FROM payments_enrolment e WHERE {_PAYABLE}"""  # noqa: S608

# A line of month M for an enrolment of county C can only belong to the run of C and M, so "paid in
# this run" is "paid this month". Whether a line exists is decided apart and joined in the frame:
# the lines of a run grow while it is computed, so the planner's estimate of them is stale by
# design, and an anti-join planned on it can turn quadratic. Division codes are digits:
# [prefix, prefix + ':') is the prefix as a range the (run, division_code) index serves under any
# collation that orders digits bytewise.
PAID_SQL = """SELECT l.enrolment_id FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.division_code >= %(low)s AND l.division_code < %(high)s
      AND l.reissue_of_id IS NULL"""

PAID_COUNTS_SQL = """SELECT SUBSTR(l.division_code, 1, 9), COUNT(*) FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.reissue_of_id IS NULL GROUP BY SUBSTR(l.division_code, 1, 9)"""

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


def lock_township(township: str, *, shared: bool) -> None:
    """Hold the township's payroll lock to the end of the transaction: exclusive for its payroll,
    shared for a change to one of its enrolments. (SQLite has one writer at a time anyway.)"""
    if not _postgres():
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_SPACE, int(township[:9])])


def payable_counts(*, run_id: int, county: str, month: date) -> dict[str, tuple[int, int]]:
    """Per township (9-digit prefix) with payable enrolments: (payable, already paid in this run)."""
    with connection.cursor() as cursor:
        cursor.execute(PAYABLE_COUNTS_SQL, _params({"prefix": f"{county}%", "month": month}))
        payable = {str(code): int(n) for code, n in cursor.fetchall()}
        cursor.execute(PAID_COUNTS_SQL, {"run": run_id})
        paid = {str(code): int(n) for code, n in cursor.fetchall()}
    return {code: (n, paid.get(code, 0)) for code, n in payable.items()}


def read_enrolments(*, run_id: int, township: str, month: date) -> pl.DataFrame:
    """The township's payable enrolments without a line in this run, in enrolment order."""
    paid = read_frame(
        PAID_SQL, {"run": run_id, "low": township, "high": f"{township}:"}, {"enrolment_id": pl.Int64()}
    )
    frame = read_frame(ENROLMENTS_SQL, {"prefix": f"{township}%", "month": month}, ENROLMENT_SCHEMA)
    if not paid.is_empty():
        frame = frame.join(paid, on="enrolment_id", how="anti")
    return frame.sort("enrolment_id")


def settle_one_offs(*, run_id: int, township: str, month: date, enrolment_ids: pl.Series) -> pl.DataFrame:
    """Per enrolment, the sum of its pending one-off changes up to the month (back pay positive,
    recovery negative), now marked as settled in this run."""
    pending = read_frame(ONE_OFFS_SQL, {"prefix": f"{township}%", "month": month}, ONE_OFF_SCHEMA)
    pending = pending.filter(pl.col("enrolment_id").is_in(enrolment_ids.implode()))
    if pending.is_empty():
        return pl.DataFrame(schema={"enrolment_id": pl.Int64(), "adjustment_fen": pl.Int64()})
    ids = pending["change_id"].to_list()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE payments_enrolmentchange SET settled_in_id = %s WHERE id IN ({marks})",  # noqa: S608
                [run_id, *chunk],
            )
    return pending.group_by("enrolment_id").agg(pl.col("one_off_fen").sum().alias("adjustment_fen"))


# --- Recomputation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recomputation:
    """A run's households recomputed once, before its townships: `requested` the household ids
    read (sorted), `result` (RECOMPUTED_SCHEMA) those with members on the day."""

    run_id: int
    requested: pl.Series
    result: pl.DataFrame


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


def _recomputed_households(standing: pl.DataFrame) -> pl.DataFrame:
    return standing.filter(
        (pl.col("status") == "active") & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
    ).select("household_id", "programme")


def recompute_county(*, run_id: int, county: str, month: date, table: PolicyTable) -> Recomputation:
    """Recompute, in one pass, every household with an ACTIVE enrolment of a monthly programme in
    the county (see the module docstring)."""
    standing = read_frame(STANDING_SQL, {"prefix": f"{county}%", "month": month}, STANDING_SCHEMA)
    wanted = _recomputed_households(standing)
    requested = wanted["household_id"].unique().sort()
    if wanted.is_empty():
        return Recomputation(run_id, requested, pl.DataFrame(schema=RECOMPUTED_SCHEMA))
    members, households = read_population(month, division_prefix=county)
    households = households.filter(pl.col("household_id").is_in(requested.implode()))
    members = members.filter(pl.col("household_id").is_in(households["household_id"].implode()))
    missing = requested.filter(~requested.is_in(households["household_id"].implode()))
    if len(missing):
        elsewhere, elsewhere_households = read_population(month, household_ids=missing.to_list())
        members = pl.concat([members, elsewhere], how="vertical_relaxed")
        households = pl.concat([households, elsewhere_households], how="vertical_relaxed")
    standing = standing.filter(pl.col("household_id").is_in(requested.implode()))
    result = _calculate(
        members, households, standing, month=month, table=table, programmes=_present(wanted["programme"])
    )
    return Recomputation(run_id, requested, result)


def recompute(
    enrolments: pl.DataFrame, *, month: date, table: PolicyTable, prepared: Recomputation | None = None
) -> pl.DataFrame:
    """RECOMPUTED_SCHEMA for the township's ACTIVE enrolments of monthly programmes: what `prepared`
    holds is taken from it, households enrolled since (or without `prepared`) are read by id now."""
    standing = enrolments.select("household_id", "payee_id", "programme", "status")
    wanted = _recomputed_households(standing)
    found = pl.DataFrame(schema=RECOMPUTED_SCHEMA)
    if prepared is not None:
        found = prepared.result.join(wanted.unique(), on=["household_id", "programme"], how="semi")
        wanted = wanted.filter(~pl.col("household_id").is_in(prepared.requested.implode()))
    if wanted.is_empty():
        return found
    ids = wanted["household_id"].unique().sort()
    members, households = read_population(month, household_ids=ids.to_list())
    standing = standing.filter(pl.col("household_id").is_in(ids.implode()))
    fresh = _calculate(
        members, households, standing, month=month, table=table, programmes=_present(wanted["programme"])
    )
    return pl.concat([found, fresh])


# --- One township ------------------------------------------------------------------------------------


def work_frames(
    enrolments: pl.DataFrame, recomputed: pl.DataFrame, one_offs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, flagged): one line per enrolment (LINE_SCHEMA) in enrolment order, and the rows with
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
        .sort("enrolment_id")
    )
    return frame.select(list(LINE_SCHEMA)), frame.filter(pl.col("flag") != 0).select(list(FLAGGED_SCHEMA))


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


def compute_township(
    *,
    run_id: int,
    township: str,
    month: date,
    next_month: date,
    actor_id: int,
    reason: str,
    at: datetime,
    table: PolicyTable,
    prepared: Recomputation | None = None,
) -> TownshipOutcome:
    """Steps 1-6 of the module docstring for one township, inside the caller's transaction."""
    lock_township(township, shared=False)
    if _postgres():
        # Townships already run side by side; a parallel plan for these statements only adds
        # worker start-up on a busy server, and JIT compilation (their estimated cost is high)
        # took longer than it saved (bench/README.md).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("SET LOCAL jit = off")
    enrolments = read_enrolments(run_id=run_id, township=township, month=month)
    if enrolments.is_empty():
        return TownshipOutcome(township, 0, 0, 0, 0, 0, 0, 0)
    one_offs = settle_one_offs(
        run_id=run_id, township=township, month=month, enrolment_ids=enrolments["enrolment_id"]
    )
    recomputed = recompute(enrolments, month=month, table=table, prepared=prepared)
    lines, flagged = work_frames(enrolments, recomputed, one_offs)
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
        _temporary(cursor, "payroll_lines", LINES_DDL)
        write_frame("payroll_lines", lines)
        cursor.execute(INSERT_LINES_SQL, params)
        inserted = cursor.rowcount
        cursor.execute("DROP TABLE payroll_lines")
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
        enrolments=enrolments.height,
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
