"""The monthly payroll computed set-based, one township per transaction (the services in
`payments.services` drive it; nothing here checks permissions or opens transactions).

For one township of a run:
1. read the payable enrolments (ACTIVE or EXITING, started, not ended, no line in this run yet),
   locked against concurrent changes (PostgreSQL: COPY ... FOR NO KEY UPDATE; SQLite already holds
   the write lock), as a Polars frame;
2. read the pending one-off changes (back pay, recovery) of those enrolments and mark them settled
   in this run;
3. recompute every ACTIVE enrolment of a monthly programme with the rules bulk engine over the
   registry population on the 1st of the month (`rules.population.read_population`, restricted to
   those households): eligible with a different amount -> the new amount from this month, with an
   EnrolmentChange of kind "amount"; not eligible -> a re-review task (the current amount is still
   paid until the review decides); household without members on that day -> the current amount;
4. write one line per enrolment (amount = monthly + one-off, never below 0), the amount changes,
   the review tasks and the gradual-exit countdown (EXITING: one month less, TERMINATED from the
   next month when none is left) from one work table: COPY (PostgreSQL) or executemany (SQLite)
   into a temporary table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING and UPDATE ... FROM;
5. add the township's figures to the run's totals per township and programme.

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
WORK_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "division_code": pl.String(),
    "old_fen": pl.Int64(),
    "monthly_fen": pl.Int64(),
    "adjustment_fen": pl.Int64(),
    "amount_fen": pl.Int64(),
    "flag": pl.Int16(),
}
WORK_DDL = """CREATE TEMPORARY TABLE payroll_work (
    enrolment_id BIGINT NOT NULL, payee_id BIGINT NOT NULL, programme VARCHAR(40) NOT NULL,
    division_code VARCHAR(12) NOT NULL, old_fen BIGINT NOT NULL, monthly_fen BIGINT NOT NULL,
    adjustment_fen BIGINT NOT NULL, amount_fen BIGINT NOT NULL, flag SMALLINT NOT NULL
)"""

# Payable in the run's month and not yet paid in this run (a line of month M for an enrolment of
# county C can only belong to the run of C and M, so "in this run" is "in this month").
_PAYABLE = """e.division_id LIKE %(prefix)s
    AND e.status IN ('active', 'exiting')
    AND e.start_month <= %(month)s AND (e.end_month IS NULL OR e.end_month > %(month)s)
    AND NOT EXISTS (
        SELECT 1 FROM payments_payrollline l
        WHERE l.run_id = %(run)s AND l.enrolment_id = e.id AND l.reissue_of_id IS NULL
    )"""

ENROLMENTS_SQL = f"""SELECT e.id, e.household_id, e.payee_id, e.programme, e.division_id,
    CAST(ROUND(e.monthly_amount * 100) AS BIGINT), e.status, e.exit_months_left
    FROM payments_enrolment e WHERE {_PAYABLE}"""  # noqa: S608 (constant SQL)

PAYABLE_COUNTS_SQL = f"""SELECT SUBSTR(e.division_id, 1, 9), COUNT(*)
    FROM payments_enrolment e WHERE {_PAYABLE} GROUP BY SUBSTR(e.division_id, 1, 9)"""  # noqa: S608

# The partial index enrolmentchange_pending_one_off holds exactly these rows.
ONE_OFFS_SQL = """SELECT c.id, c.enrolment_id, CAST(ROUND(c.one_off_amount * 100) AS BIGINT)
    FROM payments_enrolmentchange c JOIN payments_enrolment e ON e.id = c.enrolment_id
    WHERE c.settled_in_id IS NULL AND NOT (c.one_off_amount = 0)
      AND c.effective_month <= %(month)s AND e.division_id LIKE %(prefix)s"""

INSERT_LINES_SQL = """INSERT INTO payments_payrollline (run_id, enrolment_id, programme, month, payee_id,
    division_code, monthly_amount, adjustment, amount, status, bank_reference, failure_reason, reissue_of_id)
    SELECT %(run)s, w.enrolment_id, w.programme, %(month)s, w.payee_id, w.division_code,
        w.monthly_fen / 100.0, w.adjustment_fen / 100.0, w.amount_fen / 100.0, 'pending', '', '', NULL
    FROM payroll_work w WHERE TRUE
    ON CONFLICT DO NOTHING"""

INSERT_CHANGES_SQL = """INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month,
    old_amount, new_amount, one_off_amount, reason, notice, settled_in_id, actor_id, at)
    SELECT w.enrolment_id, 'amount', %(month)s, w.old_fen / 100.0, w.monthly_fen / 100.0, 0,
        %(reason)s, '', NULL, %(actor)s, %(at)s
    FROM payroll_work w WHERE w.flag & 1 = 1"""

UPDATE_AMOUNTS_SQL = """UPDATE payments_enrolment SET monthly_amount = w.monthly_fen / 100.0
    FROM payroll_work w WHERE payments_enrolment.id = w.enrolment_id AND w.flag & 1 = 1"""

INSERT_REVIEWS_SQL = """INSERT INTO payments_reviewtask (enrolment_id, kind, due_date, office_code,
    created_at, done_at, outcome, note, done_by_id)
    SELECT w.enrolment_id, 'periodic', %(month)s, SUBSTR(w.division_code, 1, 9) || '000',
        %(at)s, NULL, '', '', NULL
    FROM payroll_work w WHERE w.flag & 2 = 2
    ON CONFLICT DO NOTHING"""

# Gradual exit: one month paid, one less to go; none left -> stopped from the next month.
EXIT_COUNTDOWN_SQL = """UPDATE payments_enrolment SET
    exit_months_left = CASE WHEN exit_months_left > 0 THEN exit_months_left - 1 ELSE 0 END,
    status = CASE WHEN exit_months_left <= 1 THEN 'terminated' ELSE status END,
    end_month = CASE WHEN exit_months_left <= 1 THEN %(next_month)s ELSE end_month END
    FROM payroll_work w WHERE payments_enrolment.id = w.enrolment_id AND w.flag & 4 = 4"""

TOTALS_UPSERT_SQL = """INSERT INTO payments_payrolltotal (run_id, township_code, programme, line_count, amount)
    VALUES (%(run)s, %(township)s, %(programme)s, %(count)s, %(amount)s)
    ON CONFLICT (run_id, township_code, programme) DO UPDATE SET
        line_count = payments_payrolltotal.line_count + excluded.line_count,
        amount = payments_payrolltotal.amount + excluded.amount"""

TOWNSHIP_TOTALS_SQL = """SELECT l.programme, COUNT(*), CAST(SUM(ROUND(l.amount * 100)) AS BIGINT)
    FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.division_code LIKE %(prefix)s AND l.reissue_of_id IS NULL
    GROUP BY l.programme"""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dates and datetimes as the backend stores them (SQLite: text in UTC)."""
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
    """The rows of one SELECT as a frame with `schema` (columns in order): streamed out with COPY on
    PostgreSQL, read through a cursor on SQLite."""
    with connection.cursor() as cursor:
        if _postgres():
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", _params(params)) as copy:
                data = b"".join(bytes(block) for block in copy)
            if not data:
                return pl.DataFrame(schema=dict(schema))
            return pl.read_csv(io.BytesIO(data), has_header=False, schema=dict(schema))
        cursor.execute(sql, _params(params))
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def write_frame(table: str, frame: pl.DataFrame) -> None:
    """Append a frame to a table (its columns in the frame's order): COPY on PostgreSQL,
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


def payable_counts(*, run_id: int, county: str, month: date) -> dict[str, int]:
    """Enrolments still to be paid in the run, per township (9-digit prefix)."""
    with connection.cursor() as cursor:
        cursor.execute(PAYABLE_COUNTS_SQL, _params({"prefix": f"{county}%", "month": month, "run": run_id}))
        return {str(code): int(n) for code, n in cursor.fetchall()}


def read_enrolments(*, run_id: int, township: str, month: date) -> pl.DataFrame:
    """The township's payable enrolments, locked until the end of the transaction."""
    sql = ENROLMENTS_SQL + (" FOR NO KEY UPDATE OF e" if _postgres() else "")
    params = {"prefix": f"{township}%", "month": month, "run": run_id}
    return read_frame(sql, params, ENROLMENT_SCHEMA).sort("division_code", "enrolment_id")


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


def recompute(enrolments: pl.DataFrame, *, month: date, table: PolicyTable) -> pl.DataFrame:
    """(household_id, programme, eligible, new_fen) for the ACTIVE enrolments of monthly programmes,
    by the rules in force on the 1st of the month; households without members that day are absent."""
    schema: dict[str, pl.DataType] = {
        "household_id": pl.Int64(),
        "programme": pl.String(),
        "eligible": pl.Boolean(),
        "new_fen": pl.Int64(),
    }
    active = enrolments.filter(
        (pl.col("status") == "active") & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
    )
    if active.is_empty():
        return pl.DataFrame(schema=schema)
    programmes = [p for p in bulk.MONTHLY_PROGRAMMES if p in set(active["programme"].unique().to_list())]
    households = active["household_id"].unique().sort()
    members, frame = read_population(month, household_ids=households.to_list())
    if members.is_empty():
        return pl.DataFrame(schema=schema)
    result = bulk.calculate(members, frame, table, day=month, programmes=programmes)
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


def work_frame(enrolments: pl.DataFrame, recomputed: pl.DataFrame, one_offs: pl.DataFrame) -> pl.DataFrame:
    """One row per line to write, with what else follows from it (WORK_SCHEMA; flags CHANGED,
    REVIEW, EXITING), sorted by village and enrolment."""
    frame = (
        enrolments.rename({"amount_fen": "old_fen"})
        .join(recomputed, on=["household_id", "programme"], how="left")
        .join(one_offs, on="enrolment_id", how="left")
    )
    recomputed_here = (pl.col("status") == "active") & pl.col("eligible").is_not_null()
    changed = recomputed_here & pl.col("eligible") & (pl.col("new_fen") != pl.col("old_fen"))
    review = recomputed_here & ~pl.col("eligible")
    return (
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
        .select(list(WORK_SCHEMA))
        .sort("division_code", "enrolment_id")
    )


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
) -> TownshipOutcome:
    """Steps 1-5 of the module docstring for one township, inside the caller's transaction."""
    enrolments = read_enrolments(run_id=run_id, township=township, month=month)
    if enrolments.is_empty():
        return TownshipOutcome(township, 0, 0, 0, 0, 0, 0, 0)
    one_offs = settle_one_offs(
        run_id=run_id, township=township, month=month, enrolment_ids=enrolments["enrolment_id"]
    )
    work = work_frame(enrolments, recompute(enrolments, month=month, table=table), one_offs)
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
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS payroll_work")
        cursor.execute(WORK_DDL + (" ON COMMIT DROP" if _postgres() else ""))
        write_frame("payroll_work", work)
        if _postgres():
            cursor.execute("ANALYZE payroll_work")
        cursor.execute(INSERT_LINES_SQL, params)
        lines = cursor.rowcount
        flags = work["flag"]
        changes = int((flags & CHANGED != 0).sum())
        if changes:
            cursor.execute(INSERT_CHANGES_SQL, params)
            cursor.execute(UPDATE_AMOUNTS_SQL, params)
        reviews = 0
        if int((flags & REVIEW != 0).sum()):
            cursor.execute(INSERT_REVIEWS_SQL, params)
            reviews = cursor.rowcount
        exits = int((flags & EXITING != 0).sum())
        if exits:
            cursor.execute(EXIT_COUNTDOWN_SQL, params)
        _add_totals(cursor, run_id=run_id, township=township, work=work, lines=lines)
        cursor.execute("DROP TABLE IF EXISTS payroll_work")
    return TownshipOutcome(
        township=township,
        enrolments=enrolments.height,
        lines=lines,
        amount_changes=changes,
        reviews_opened=reviews,
        exits_counted=exits,
        one_offs_fen=int(work["adjustment_fen"].sum()),
        amount_fen=int(work["amount_fen"].sum()),
    )


def _add_totals(cursor: Any, *, run_id: int, township: str, work: pl.DataFrame, lines: int) -> None:
    """Add the township's new lines to the run's totals per township and programme. Normally every
    work row became a line and the figures come from the frame; if some did not (a payee already
    paid this month under another enrolment), the township is recounted from its lines."""
    code = township + "000"
    if lines == work.height:
        sums = work.group_by("programme").agg(pl.len().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        rows: Sequence[tuple[str, int, int]] = sums.sort("programme").rows()
    else:
        cursor.execute(
            "DELETE FROM payments_payrolltotal WHERE run_id = %s AND township_code = %s", [run_id, code]
        )
        cursor.execute(TOWNSHIP_TOTALS_SQL, {"run": run_id, "prefix": f"{township}%"})
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
