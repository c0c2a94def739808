"""The monthly payroll computed set-based (the services in `payments.services` drive it; nothing here
checks permissions).

A run holds its county's lock (`county_locked`, a session-level advisory lock) from its first read
to its last slice: the enrolment services take it shared (`lock_county`), so no enrolment of the
county changes while the run reads and writes, at the cost of one lock instead of a million row
locks. Under it, once per run (`plan_county`):
1. read the county's payable enrolments (ACTIVE or EXITING, started, not ended), less those
   already with a line in this run (a resumed run), as a Polars frame: on PostgreSQL outside a
   transaction through the county's copy (`payments.snapshot`: only the enrolments changed since
   the last run come from the database), otherwise whole; their pending one-off changes (back pay,
   recovery) up to the month;
2. read the facts on the 1st of the month of every household with an ACTIVE enrolment of a monthly
   programme, from the facts summary (`rules.summary`: the members' facts as dated rows): the
   county's by its division prefix through the county's snapshot (`rules.snapshot`: only the
   persons changed since the last read come from the database; on PostgreSQL on a connection of
   its own, beside step 1), households registered elsewhere by id.
Then the households, in slices by id (`CountyPlan.slices`, computed in a thread of their own one
or two slices ahead of the writes, `ahead`):
3. recompute each household with the rules bulk engine. Each household's standing is taken from
   its enrolments (household_status "dibao" or "extreme_poverty", extreme_poverty_supported for
   the payee of an extreme-poverty enrolment);
4. per enrolment: eligible with a different amount -> the new amount from this month and an
   EnrolmentChange of kind "amount"; not eligible -> a re-review task (the current amount is paid
   until the review decides); no members that day, or not recomputed (EXITING, other programmes)
   -> the current amount; the line amount is the monthly amount plus one-offs, never below 0.
Each slice is then written in one transaction (`write_slice`), in the caller's thread and
connection:
5. settle its one-offs (out of the county's queue, recorded with the run); write the lines (COPY
   straight into the table on PostgreSQL, see `_insert_lines` for the uniqueness); the rare rows
   with consequences (amount changed, review, gradual exit) through a second small table: the
   changes, UPDATE ... FROM for the new amounts and the exit countdown (one month less; none left
   -> TERMINATED from the next month), INSERT ... ON CONFLICT DO NOTHING for the review tasks;
6. add the slice's figures to the run's totals per township and programme.
Once every slice is written, the new page ranges of the lines' BRIN index on the run are summarized
(`summarize_run_index`), so that reading a run's lines later scans that run's pages only.

Lines are written in payee order: the index that pays nobody twice, (month, payee, programme), is
then filled in one sweep rather than at random (bench/README.md).
Money is integer fen throughout (`rules.money`); the database gets yuan with two places.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from queue import Full, Queue
from typing import Any, TypeVar

import polars as pl
from django.db import IntegrityError, connection, transaction

from minzheng.payments import snapshot as enrolment_copy
from minzheng.rules import bulk, snapshot
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyTable
from minzheng.rules.summary import READ_SCHEMA, by_household, population_of, read_summary_rows

T = TypeVar("T")

# Work-table flags.
CHANGED, REVIEW, EXITING = 1, 2, 4
# Advisory locks (LOCK_SPACE, county): the payroll of a county and changes to its enrolments.
LOCK_SPACE = 6_402_001

# A month's payable enrolments: the kept ones (`payments.snapshot`) without their months.
ENROLMENT_SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in enrolment_copy.KEPT_SCHEMA.items()
    if name not in ("start_month", "end_month")
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

# A line of month M for an enrolment of county C can only belong to the run of C and M, so "paid in
# this run" is "paid this month" (a resumed run skips them). Whether a line exists is decided apart
# and joined in the frame: an anti-join planned on the estimate of a run's lines, which grow while
# it is computed, can turn quadratic.
PAID_SQL = """SELECT l.enrolment_id FROM payments_payrollline l
    WHERE l.run_id = %(run)s AND l.reissue_of_id IS NULL"""

# The county's pending one-offs (its queue, `PendingOneOff`), and those already settled in this run: a
# slice's one-offs are settled before its lines are written, in a transaction of their own, so a
# resumed run may find some whose lines were not. Neither reads the changes' history.
ONE_OFFS_SQL = """SELECT p.change_id, p.enrolment_id, CAST(ROUND(p.amount * 100) AS BIGINT)
    FROM payments_pendingoneoff p WHERE p.county = %(county)s AND p.effective_month <= %(month)s
    UNION ALL
    SELECT s.change_id, s.enrolment_id, CAST(ROUND(s.amount * 100) AS BIGINT)
    FROM payments_oneoffsettlement s WHERE s.run_id = %(run)s"""

INSERT_LINES_SQL = """INSERT INTO payments_payrollline (run_id, enrolment_id, programme, month, payee_id,
    division_code, monthly_amount, adjustment, amount, status, bank_reference, failure_reason, reissue_of_id)
    SELECT %(run)s, w.enrolment_id, w.programme, %(month)s, w.payee_id, w.division_code,
        w.monthly_fen / 100.0, w.adjustment_fen / 100.0, w.amount_fen / 100.0, 'pending', '', '', NULL
    FROM payroll_lines w WHERE TRUE
    ON CONFLICT DO NOTHING
    RETURNING enrolment_id"""
# The status (pending), bank reference and failure reason take the table's defaults.
LINE_COLUMNS = (
    "run_id, enrolment_id, programme, month, payee_id, division_code, monthly_amount, adjustment, amount"
)

INSERT_CHANGES_SQL = """INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month,
    old_amount, new_amount, one_off_amount, reason, notice, actor_id, at)
    SELECT f.enrolment_id, 'amount', %(month)s, f.old_fen / 100.0, f.monthly_fen / 100.0, 0,
        %(reason)s, '', %(actor)s, %(at)s
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
    end_month = CASE WHEN exit_months_left <= 1 THEN %s ELSE end_month END
    WHERE id IN ({ids})"""
# A one-off settled: out of the queue, into the settlements with its run (those still queued only:
# settled once, even when a resumed run computes them again).
SETTLE_SQL = """INSERT INTO payments_oneoffsettlement (change_id, run_id, enrolment_id, amount)
    SELECT change_id, %s, enrolment_id, amount FROM payments_pendingoneoff WHERE change_id IN ({ids})"""
UNQUEUE_SQL = "DELETE FROM payments_pendingoneoff WHERE change_id IN ({ids})"

TOTALS_UPSERT_SQL = """INSERT INTO payments_payrolltotal (run_id, township_code, programme, line_count, amount)
    VALUES (%(run)s, %(township)s, %(programme)s, %(count)s, %(amount)s)
    ON CONFLICT (run_id, township_code, programme) DO UPDATE SET
        line_count = payments_payrolltotal.line_count + excluded.line_count,
        amount = payments_payrolltotal.amount + excluded.amount"""


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
    """Hold the county's payroll lock on this connection (a session lock: the slices are written
    each in its own transaction) until the block ends: no enrolment of the county changes between
    the read of `plan_county` and the last slice written."""
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
    household_standing = standing.group_by("household_id").agg(
        pl.when((pl.col("programme") == "extreme_poverty").any())
        .then(pl.lit("extreme_poverty"))
        .when((pl.col("programme") == "dibao").any())
        .then(pl.lit("dibao"))
        .otherwise(pl.lit("none"))
        .alias("_standing")
    )
    households = (
        households.join(household_standing, on="household_id", how="left")
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


def recompute(
    facts: pl.DataFrame, standing: pl.DataFrame, *, month: date, table: PolicyTable
) -> pl.DataFrame:
    """RECOMPUTED_SCHEMA for the households of `facts` (summary rows on the day, READ_SCHEMA) with
    the standing their payable enrolments give (`standing`: household_id, payee_id, programme,
    status)."""
    wanted = standing.filter(
        (pl.col("status") == "active") & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
    )
    if wanted.is_empty() or facts.is_empty():
        return pl.DataFrame(schema=RECOMPUTED_SCHEMA)
    members, households = population_of(facts)
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


# --- The county: read once, computed a slice at a time ---------------------------------------------


@dataclass(frozen=True)
class Slice:
    """Consecutive households' lines (in payee order), their rows with consequences and the pending
    one-off changes those lines settle: written in one transaction (`write_slice`)."""

    number: int
    lines: pl.DataFrame
    flagged: pl.DataFrame
    one_offs: list[int]
    copy_data: bytes | None = None  # the lines as COPY takes them (PostgreSQL), made beforehand


@dataclass(frozen=True)
class CountyPlan:
    """What a run reads, once, under its county's lock, before anything is written (steps 1-2 of
    the module docstring); `slices()` computes the rest a slice of households at a time."""

    run_id: int
    month: date
    table: PolicyTable
    enrolments: pl.DataFrame  # ENROLMENT_SCHEMA: payable, not yet paid in this run
    standing: pl.DataFrame  # household_id, payee_id, programme, status of every payable enrolment
    one_offs: pl.DataFrame  # ONE_OFF_SCHEMA and household_id: pending, of `enrolments`
    facts: pl.DataFrame  # READ_SCHEMA: the summary rows on the day of the households to recompute
    bounds: list[int]  # the first household of each slice, ascending
    copy: bool = False  # make each slice's COPY data with it

    @property
    def size(self) -> int:
        return self.enrolments.height

    def slices(self) -> Iterator[Slice]:
        """Steps 3-4 for each slice of households in turn, computed when asked for. Each frame is put
        in household order once (the facts come so from the county's snapshot), and a slice's rows
        are a range of each: picking them out by a filter per slice read every frame once per
        slice (10,000,000 households: 100 slices, about 25 s of CPU)."""
        if not self.bounds:
            return
        frames = [
            by_household(frame) for frame in (self.enrolments, self.standing, self.one_offs, self.facts)
        ]
        starts = pl.Series(self.bounds, dtype=pl.Int64())
        cuts = [
            [*frame["household_id"].search_sorted(starts, side="left").to_list(), frame.height]
            for frame in frames
        ]
        for number in range(len(self.bounds)):
            yield self._computed(
                number,
                tuple(
                    frame.slice(cut[number], cut[number + 1] - cut[number])
                    for frame, cut in zip(frames, cuts, strict=True)
                ),
            )

    def _computed(self, number: int, frames: tuple[pl.DataFrame, ...]) -> Slice:
        """One slice from its households' enrolments, standing, one-offs and facts."""
        enrolments, standing, one_offs, facts = frames
        adjustments = one_offs.group_by("enrolment_id").agg(
            pl.col("one_off_fen").sum().alias("adjustment_fen")
        )
        recomputed = recompute(facts, standing, month=self.month, table=self.table)
        lines, flagged = work_frames(enrolments, recomputed, adjustments)
        data = _line_csv(lines, run_id=self.run_id, month=self.month) if self.copy else None
        return Slice(number, lines, flagged, one_offs["change_id"].to_list(), data)


def plan_county(
    *, run_id: int, county: str, month: date, table: PolicyTable, slice_households: int
) -> CountyPlan:
    """Steps 1-2 of the module docstring for the whole county, under its lock (`county_locked`).
    Where the county's facts come through its snapshot (PostgreSQL, outside a transaction), they
    are read on a connection of their own beside the enrolments (the refresh of the summary they
    start with is mostly the server's work)."""
    params = {"prefix": f"{county}%", "county": county, "month": month, "run": run_id}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="payroll-facts") as pool:
        beside = (
            pool.submit(_own_connection(snapshot.read_county_rows), month, county)
            if snapshot.usable()
            else None
        )
        # In household order, once: each slice is then a range of them (`CountyPlan.slices`).
        kept = (
            enrolment_copy.county_rows(county)
            if enrolment_copy.usable()
            else by_household(read_frame(enrolment_copy.KEPT_SQL, params, enrolment_copy.KEPT_SCHEMA))
        )
        payable = kept.filter(enrolment_copy.payable_in(month)).select(list(ENROLMENT_SCHEMA))
        paid = read_frame(PAID_SQL, {"run": run_id}, {"enrolment_id": pl.Int64()})
        enrolments = (
            payable.filter(~pl.col("enrolment_id").is_in(paid["enrolment_id"].implode()))
            if not paid.is_empty()
            else payable
        )
        # The standing of a household counts every payable enrolment, paid in this run or not.
        standing = payable.select("household_id", "payee_id", "programme", "status")
        households = enrolments["household_id"].unique().sort()
        if households.is_empty():  # everything paid already (a run computed again): nothing to compute
            return CountyPlan(
                run_id, month, table, enrolments, standing, pl.DataFrame(), pl.DataFrame(), bounds=[]
            )
        # Only the one-offs of enrolments paid in this run.
        one_offs = read_frame(ONE_OFFS_SQL, params, ONE_OFF_SCHEMA).join(
            enrolments.select("enrolment_id", "household_id"), on="enrolment_id"
        )
        wanted = (
            standing.filter(
                (pl.col("status") == "active")
                & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
                & pl.col("household_id").is_in(households.implode())
            )["household_id"]
            .unique()
            .sort()
        )
        if wanted.is_empty():
            facts = pl.DataFrame(schema=READ_SCHEMA)
        else:
            rows = beside.result() if beside is not None else snapshot.read_county_rows(month, county)
            facts = _facts(rows, wanted, month=month)
    return CountyPlan(
        run_id=run_id,
        month=month,
        table=table,
        enrolments=enrolments,
        standing=standing,
        one_offs=one_offs,
        facts=facts,
        bounds=_bounds(households, slice_households),
        copy=_postgres(),
    )


def _bounds(households: pl.Series, size: int) -> list[int]:
    """The first household of each slice of `size` (the first slice a quarter of that: the writes
    start once it is computed)."""
    size = max(1, size)
    first = max(1, size // 4)
    starts = [0, *range(first, len(households), size)]
    return households.gather(starts).to_list()


def _own_connection(function: Callable[..., T]) -> Callable[..., T]:
    """`function` for another thread: the connection it opens there is closed after."""

    def run(*args: Any) -> T:
        try:
            return function(*args)
        finally:
            connection.close()

    return run


def _facts(rows: pl.DataFrame, households: pl.Series, *, month: date) -> pl.DataFrame:
    """The summary rows on the day of `households`: those of the county's (`rows`), and those of
    households registered elsewhere read by id."""
    rows = rows.filter(pl.col("household_id").is_in(households.implode()))
    missing = households.filter(~households.is_in(rows["household_id"].unique().implode()))
    if len(missing):
        elsewhere = read_summary_rows(month, household_ids=missing.to_list())
        if rows.is_empty():
            return by_household(elsewhere)
        # In household order, as the county's rows are (a slice is a range of them).
        rows = by_household(rows).merge_sorted(by_household(elsewhere.cast(rows.schema)), key="household_id")
    return rows


def ahead(items: Iterator[T], *, depth: int = 2) -> Generator[T, None, None]:
    """The items of `items`, produced in a thread of their own up to `depth` ahead of the caller
    (the computation of a slice goes on while the one before is written). An exception in the
    thread is raised to the caller at its place in the sequence; if the caller stops early, the
    thread stops at its next item. The thread must not use the database (its connection would be
    its own, outside the caller's transaction)."""
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
        except BaseException as exc:
            put((False, exc))
            return
        put((False, None))

    thread = threading.Thread(target=produce, name="payroll-slices", daemon=True)
    thread.start()
    try:
        while True:
            more, item = queue.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        thread.join()


# --- One slice ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceOutcome:
    number: int
    lines: pl.DataFrame  # the lines written (LINE_SCHEMA)
    amount_changes: int
    reviews_opened: int
    exits_counted: int

    def as_audit(self) -> dict[str, Any]:
        lines = self.lines
        townships = (
            lines.group_by(pl.col("division_code").str.slice(0, 9).alias("township"))
            .agg(pl.len().alias("lines"), pl.col("amount_fen").sum().alias("fen"))
            .sort("township")
        )
        return {
            "slice": self.number + 1,
            "lines": lines.height,
            "amount": from_fen(int(lines["amount_fen"].sum())),
            "amount_changes": self.amount_changes,
            "reviews_opened": self.reviews_opened,
            "gradual_exit_months_counted": self.exits_counted,
            "one_offs_settled": from_fen(int(lines["adjustment_fen"].sum())),
            "townships": {
                f"{t}000": {"lines": n, "amount": from_fen(fen)} for t, n, fen in townships.iter_rows()
            },
        }


def _temporary(cursor: Any, name: str, ddl: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(ddl + (" ON COMMIT DROP" if _postgres() else ""))


def _line_csv(lines: pl.DataFrame, *, run_id: int, month: date) -> bytes:
    """The work lines as COPY takes them into payments_payrollline (LINE_COLUMNS); amounts in yuan."""
    frame = lines.select(
        pl.lit(run_id).alias("run_id"),
        "enrolment_id",
        "programme",
        pl.lit(month.isoformat()).alias("month"),
        "payee_id",
        "division_code",
        _yuan("monthly_fen").alias("monthly_amount"),
        _yuan("adjustment_fen").alias("adjustment"),
        _yuan("amount_fen").alias("amount"),
    )
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    return buffer.getvalue()


def _yuan(fen: str) -> pl.Expr:
    """Integer fen as yuan, a decimal with two places, which the CSV writer writes as "1300.00" or
    "-0.50": exact (a whole number of fen over 100 has two places), and a third of the CPU of
    building the text (`bankfiles.yuan_text`) for 10,000,000 lines."""
    return (pl.col(fen).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(20, 2))


def _copy_lines(cursor: Any, data: bytes) -> None:
    """COPY lines (`_line_csv`) straight into payments_payrollline (PostgreSQL)."""
    # Django's error classes (IntegrityError for the unique index) for the driver's own.
    with (
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY payments_payrollline ({LINE_COLUMNS}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(data)


def _insert_lines(
    cursor: Any, part: Slice, *, run_id: int, month: date, params: Mapping[str, Any]
) -> pl.DataFrame:
    """The slice's lines into payments_payrollline; those written. Nobody is paid twice: the unique
    index on (month, payee, programme) guards it. The lines are unique per enrolment, so a conflict
    means a payee with a line this month from another enrolment (say, in another county): on
    PostgreSQL the lines are copied straight in, and only if that fails on the index is the copy
    rolled back to a savepoint and the lines inserted through a work table skipping such rows
    (checking every row for a conflict that almost never occurs costs a quarter of the write,
    bench/README.md); SQLite always takes the second way."""
    lines = part.lines
    if _postgres():
        data = part.copy_data
        try:
            with transaction.atomic():
                _copy_lines(
                    cursor, data if data is not None else _line_csv(lines, run_id=run_id, month=month)
                )
            return lines
        except IntegrityError:
            pass
    _temporary(cursor, "payroll_lines", LINES_DDL)
    write_frame("payroll_lines", lines)
    cursor.execute(INSERT_LINES_SQL, params)
    written = pl.Series("enrolment_id", [row[0] for row in cursor.fetchall()], dtype=pl.Int64())
    cursor.execute("DROP TABLE payroll_lines")
    return lines.filter(pl.col("enrolment_id").is_in(written.implode()))


def write_consequences(
    part: Slice, *, run_id: int, month: date, actor_id: int, reason: str, at: datetime
) -> tuple[int, int]:
    """Step 5 but the lines and the exit countdown, inside the caller's transaction: the slice's
    one-offs marked settled in this run, the amount changes, the review tasks; (amount changes,
    review tasks opened). Run before the slice's lines are written, beside them in a transaction of
    its own that commits first (`payments.services`): if the lines are then not written, a resumed
    run finds the amounts already changed (and computes the same amount: no second change), the
    one-offs settled in this run (counted again, `ONE_OFFS_SQL`) and the tasks open (ON CONFLICT
    DO NOTHING)."""
    flagged = part.flagged.filter(pl.col("flag") & (CHANGED | REVIEW) != 0)
    flags = flagged["flag"]
    changes = int((flags & CHANGED != 0).sum())
    to_review = int((flags & REVIEW != 0).sum())
    reviews = 0
    params = _params({"run": run_id, "month": month, "actor": actor_id, "reason": reason, "at": at})
    with connection.cursor() as cursor:
        _without_jit(cursor)
        _by_ids(cursor, SETTLE_SQL, [run_id], part.one_offs)
        _by_ids(cursor, UNQUEUE_SQL, [], part.one_offs)
        if not flagged.is_empty():
            _temporary(cursor, "payroll_flagged", FLAGGED_DDL)
            write_frame("payroll_flagged", flagged)
            if changes:
                cursor.execute(INSERT_CHANGES_SQL, params)
                cursor.execute(UPDATE_AMOUNTS_SQL, params)
            if to_review:
                cursor.execute(INSERT_REVIEWS_SQL, params)
                reviews = cursor.rowcount
            cursor.execute("DROP TABLE payroll_flagged")
    return changes, reviews


def write_lines(part: Slice, *, run_id: int, month: date, next_month: date) -> tuple[pl.DataFrame, int]:
    """Step 5's lines and exit countdown and step 6, inside the caller's transaction; (the lines
    written, exit months counted)."""
    exiting = part.flagged.filter(pl.col("flag") & EXITING != 0)["enrolment_id"].to_list()
    with connection.cursor() as cursor:
        _without_jit(cursor)
        written = _insert_lines(
            cursor, part, run_id=run_id, month=month, params=_params({"run": run_id, "month": month})
        )
        _by_ids(cursor, EXIT_COUNTDOWN_SQL, [connection.ops.adapt_datefield_value(next_month)], exiting)
        _add_totals(cursor, run_id=run_id, lines=written)
    return written, len(exiting)


def summarize_run_index() -> None:
    """Summarize the page ranges of the BRIN index on the lines' run that are not yet (PostgreSQL),
    once a run's lines are written. Autosummarize asks autovacuum for it as each range fills, but
    autovacuum keeps few such requests and drops the rest when lines come faster (10,000,000
    lines: most ranges were left unsummarized, and a later read of one run's lines rechecked
    8.8 million rows of other runs, 7.4 s). Summarizing them takes about a second per 4,000
    ranges (500,000 pages)."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT brin_summarize_new_values('payrollline_run')")


def _without_jit(cursor: Any) -> None:
    """JIT compilation off for the transaction (PostgreSQL): the estimated cost of a slice's
    statements is high, and compiling took longer than it saved (bench/README.md)."""
    if _postgres():
        cursor.execute("SET LOCAL jit = off")


def _by_ids(cursor: Any, sql: str, params: Sequence[Any], ids: Sequence[int]) -> None:
    """`sql` (its last condition "id IN ({ids})") for the ids, 500 at a time."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        cursor.execute(sql.format(ids=", ".join(["%s"] * len(chunk))), [*params, *chunk])


def _add_totals(cursor: Any, *, run_id: int, lines: pl.DataFrame) -> None:
    """Add the lines written to the run's totals per township and programme."""
    sums = (
        lines.group_by(pl.col("division_code").str.slice(0, 9).alias("township"), "programme")
        .agg(pl.len().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        .sort("township", "programme")
    )
    for township, programme, count, fen in sums.iter_rows():
        cursor.execute(
            TOTALS_UPSERT_SQL,
            {
                "run": run_id,
                "township": f"{township}000",
                "programme": programme,
                "count": count,
                "amount": from_fen(fen),
            },
        )
