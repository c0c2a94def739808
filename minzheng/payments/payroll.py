"""The monthly payroll of a county: what a run computes and writes, in one transaction, from the
database alone (the services in `payments.services` claim the run, hold the locks and open the
transaction; nothing here checks permissions).

A run of county C for month M, all in one transaction under C's payroll lock (`county_locked`: the
enrolment services take it shared, so no enrolment, one-off or proposal of C changes meanwhile) and,
on PostgreSQL, at REPEATABLE READ, so every statement reads the same snapshot:

1. one-offs: the pending back pay and recoveries (`PendingOneOff`) of C up to M, per enrolment;
2. arrears (补发): enrolments added since C's previous run was computed, never paid, get every
   earlier month of C that has a run from their start month on, at the amount decided for it;
3. the lines, in one INSERT ... SELECT inside the database: every payable enrolment of C (ACTIVE
   or EXITING, started, not ended in M) without a line this month gets one: the decided monthly
   amount, plus its arrears, plus its one-offs, never below 0. A payee with a line this month from
   another enrolment is not paid again (the unique index (month, payee, programme));
4. the one-offs and arrears of the lines written are settled (`OneOffSettlement`, `ArrearsMonth`:
   keyed so that nothing is settled twice);
5. gradual exit (渐退): an EXITING enrolment whose end month (decided when the exit started,
   in calendar months) is the next month is stopped, with its change recorded;
6. recalculation: the households whose facts, standing or age band changed since the previous run
   (all of them on the county's first run or when a parameter in force changed) are recomputed with
   the rules bulk engine. The run never changes an amount: where the rules give another amount, it
   proposes the decided amount changed by the difference (`AmountProposal`, for a second person to
   approve with a written notice), and a household no longer eligible gets a re-review task;
7. the parameter values in force for C on M are stored with the run (`RunParameter`), which every
   proposal of the run rests on; the run's totals per township and programme are summed from its
   lines.
If anything fails, the transaction rolls back: a failed run leaves nothing but its failure.

Money: yuan with two places in the tables, added as the decimals they are (exact on PostgreSQL; on
SQLite, which keeps decimals as floats, a line's few terms round back to the fen when read); sums
over many rows in integer fen (`ROUND(x * 100)`), exact on both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, transaction

from minzheng.core.frames import postgres, read_frame, sql_params, write_frame
from minzheng.payments.months import add_months
from minzheng.rules import bulk
from minzheng.rules.policy import PolicyError, PolicyTable
from minzheng.rules.selectors import parameters_in_force
from minzheng.rules.standing import with_standing
from minzheng.rules.summary import KEEP_DAYS, READ_SCHEMA, population_of, read_summary_rows

# Advisory locks: (LOCK_SPACE, county) the payroll of a county against changes to its enrolments;
# (RUN_LEASE_SPACE, run) held by the process computing a run, for as long as it lives.
LOCK_SPACE = 6_402_001
RUN_LEASE_SPACE = 6_402_003
# Changes logged up to this long before the previous run started are looked at again: a change
# committed while that run was reading (its transaction began before, its log row is dated before)
# was not seen by it. Looking again costs a recalculation; a proposal is not made twice.
CHANGES_MARGIN = timedelta(days=1)
# Run statuses whose lines count as paid months (for arrears).
COMPUTED_STATUSES = ("computed", "approved", "exported", "reconciled")
# Enrolment changes that alter a household's standing (and so its amounts).
STANDING_CHANGES = ("enrol", "suspend", "resume", "exit", "terminate")

RECOMPUTED_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "programme": pl.String(),
    "eligible": pl.Boolean(),
    "new_fen": pl.Int64(),
}
ENROLMENT_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "household_id": pl.Int64(),
    "payee_id": pl.Int64(),
    "programme": pl.String(),
    "status": pl.String(),
    "division_code": pl.String(),
    "current_fen": pl.Int64(),
    "basis_fen": pl.Int64(),
    "reason": pl.String(),
}
PROPOSAL_SCHEMA: dict[str, pl.DataType] = {
    "enrolment_id": pl.Int64(),
    "division_code": pl.String(),
    "reason": pl.String(),
    "current_fen": pl.Int64(),
    "basis_fen": pl.Int64(),
    "calculated_fen": pl.Int64(),
    "proposed_fen": pl.Int64(),
    "review": pl.Int16(),
}

# --- SQL ----------------------------------------------------------------------------------------------

# An enrolment (e) of the county payable in the month: division codes are digits, so the county's
# codes are the range [county, county + ":").
PAYABLE = """e.division_id >= %(low)s AND e.division_id < %(high)s AND e.status IN ('active', 'exiting')
    AND e.start_month <= %(month)s AND (e.end_month IS NULL OR e.end_month > %(month)s)"""
# ... and not paid this month yet (a run computed again adds only what is missing).
NOT_PAID = """NOT EXISTS (SELECT 1 FROM payments_payrollline l WHERE l.month = %(month)s
    AND l.payee_id = e.payee_id AND l.programme = e.programme AND l.reissue_of_id IS NULL)"""
# The line this run wrote for enrolment e.
PAID_HERE = """EXISTS (SELECT 1 FROM payments_payrollline l WHERE l.month = %(month)s
    AND l.payee_id = e.payee_id AND l.programme = e.programme AND l.reissue_of_id IS NULL
    AND l.run_id = %(run)s AND l.enrolment_id = e.id)"""

ONE_OFFS_DDL = """CREATE TEMPORARY TABLE payroll_one_offs (
    enrolment_id BIGINT PRIMARY KEY, amount NUMERIC(14, 2) NOT NULL)"""
ONE_OFFS_SQL = f"""INSERT INTO payroll_one_offs (enrolment_id, amount)
    SELECT p.enrolment_id, SUM(p.amount)
    FROM payments_pendingoneoff p JOIN payments_enrolment e ON e.id = p.enrolment_id
    WHERE p.county = %(county)s AND p.effective_month <= %(month)s AND {PAYABLE} AND {NOT_PAID}
    GROUP BY p.enrolment_id"""  # noqa: S608 (constant SQL)

ARREARS_DDL = """CREATE TEMPORARY TABLE payroll_arrears (
    enrolment_id BIGINT NOT NULL, month DATE NOT NULL, amount NUMERIC(14, 2) NOT NULL)"""
# Every earlier month of the county with a computed run, from the enrolment's start, at the amount
# decided for that month (its latest change with an amount effective by then), for enrolments
# added since the previous run that no run has paid yet.
ARREARS_SQL = f"""INSERT INTO payroll_arrears (enrolment_id, month, amount)
    SELECT e.id, r.month, COALESCE((
        SELECT c.new_amount FROM payments_enrolmentchange c
        WHERE c.enrolment_id = e.id AND c.new_amount IS NOT NULL AND c.effective_month <= r.month
        ORDER BY c.effective_month DESC, c.id DESC LIMIT 1
    ), e.monthly_amount)
    FROM payments_enrolment e
    JOIN payments_payrollrun r ON r.county = %(county)s AND r.kind = 'monthly' AND r.month >= e.start_month
        AND r.month < %(month)s AND r.status IN {COMPUTED_STATUSES}
    WHERE e.created_at >= %(since)s AND {PAYABLE} AND {NOT_PAID}
      AND NOT EXISTS (
          SELECT 1 FROM payments_payrollrun r2 JOIN payments_payrollline l2 ON l2.month = r2.month
              AND l2.payee_id = e.payee_id AND l2.programme = e.programme AND l2.enrolment_id = e.id
          WHERE r2.county = %(county)s AND r2.month >= e.start_month AND r2.month < %(month)s
      )
      AND NOT EXISTS (
          SELECT 1 FROM payments_arrearsmonth x WHERE x.enrolment_id = e.id AND x.month = r.month
      )"""  # noqa: S608 (constant SQL)

# Every payable enrolment gets a line: the decided amount, plus arrears, plus one-offs, never below
# 0 (amounts as the decimals they are stored as: no conversion per row, bench/README.md), in payee
# order (the unique index then fills in one sweep). Written first without a conflict clause, which
# costs a third of the insert; if a line of the month exists already (a run computed again, or a
# payee paid under another enrolment), the statement fails on the unique index and the lines are
# written again (`INSERT_MISSING_LINES`) skipping those that exist.
LINES_SELECT = """SELECT %(run)s, e.id, e.programme, %(month)s, e.payee_id, e.division_id, e.monthly_amount,
        COALESCE(a.amount, 0), COALESCE(o.amount, 0),
        CASE WHEN e.monthly_amount + COALESCE(a.amount, 0) + COALESCE(o.amount, 0) < 0 THEN 0
             ELSE e.monthly_amount + COALESCE(a.amount, 0) + COALESCE(o.amount, 0) END
    FROM payments_enrolment e
    LEFT JOIN (SELECT enrolment_id, SUM(amount) AS amount FROM payroll_arrears GROUP BY enrolment_id) a
        ON a.enrolment_id = e.id
    LEFT JOIN payroll_one_offs o ON o.enrolment_id = e.id
    WHERE {conditions}
    ORDER BY e.payee_id, e.id"""
LINE_COLUMNS = """INSERT INTO payments_payrollline (run_id, enrolment_id, programme, month, payee_id,
        division_code, monthly_amount, arrears, adjustment, amount)"""
INSERT_LINES_SQL = f"""{LINE_COLUMNS} {LINES_SELECT.format(conditions=PAYABLE)}"""
INSERT_MISSING_LINES_SQL = (
    f"""{LINE_COLUMNS} {LINES_SELECT.format(conditions=f"{PAYABLE} AND {NOT_PAID}")} ON CONFLICT DO NOTHING"""
)

# The one-offs and arrears of the enrolments paid here: when every line was written (the usual
# case) those of the work tables; otherwise only those whose enrolment got its line in this run.
SETTLE_SQL = """INSERT INTO payments_oneoffsettlement (change_id, run_id, enrolment_id, amount)
    SELECT p.change_id, %(run)s, p.enrolment_id, p.amount
    FROM payments_pendingoneoff p JOIN payments_enrolment e ON e.id = p.enrolment_id
    WHERE p.county = %(county)s AND p.effective_month <= %(month)s
      AND p.enrolment_id IN (SELECT enrolment_id FROM payroll_one_offs) AND {paid}"""
UNQUEUE_SQL = """DELETE FROM payments_pendingoneoff
    WHERE change_id IN (SELECT change_id FROM payments_oneoffsettlement WHERE run_id = %(run)s)"""
INSERT_ARREARS_SQL = """INSERT INTO payments_arrearsmonth (run_id, enrolment_id, month, amount)
    SELECT %(run)s, a.enrolment_id, a.month, a.amount
    FROM payroll_arrears a JOIN payments_enrolment e ON e.id = a.enrolment_id
    WHERE {paid}"""

# Gradual exit: the end month was set when the exit started; paid up to the month before it.
EXITED = """e.division_id >= %(low)s AND e.division_id < %(high)s AND e.status = 'exiting'
    AND e.end_month <= %(next)s"""
EXIT_CHANGES_SQL = f"""INSERT INTO payments_enrolmentchange (enrolment_id, kind, effective_month,
        old_amount, new_amount, one_off_amount, reason, notice, actor_id, at)
    SELECT e.id, 'terminate', e.end_month, NULL, NULL, 0, %(exit_reason)s, '', %(actor)s, %(at)s
    FROM payments_enrolment e WHERE {EXITED}"""  # noqa: S608 (constant SQL)
EXIT_SQL = f"""UPDATE payments_enrolment SET status = 'terminated'
    WHERE id IN (SELECT e.id FROM payments_enrolment e WHERE {EXITED})"""  # noqa: S608 (constant SQL)

RECOMPUTE_DDL = (
    "CREATE TEMPORARY TABLE payroll_recompute (household_id BIGINT PRIMARY KEY, reason VARCHAR(12))"
)
# A household (h) with an ACTIVE enrolment of a monthly programme in the county payable in the month.
ENROLLED = f"""EXISTS (SELECT 1 FROM payments_enrolment e WHERE e.household_id = {{h}}
    AND {PAYABLE} AND e.status = 'active' AND e.programme IN {bulk.MONTHLY_PROGRAMMES})"""  # noqa: S608
RECOMPUTE_ALL_SQL = f"""INSERT INTO payroll_recompute (household_id, reason)
    SELECT DISTINCT e.household_id, %(reason)s FROM payments_enrolment e
    WHERE {PAYABLE} AND e.status = 'active' AND e.programme IN {bulk.MONTHLY_PROGRAMMES}"""  # noqa: S608
# Each kind of change found from what logs it (each by an index), kept if the household is enrolled;
# the first reason found stands. Facts: a member's rows recomputed since (any row of theirs: a member
# who left changed the household left behind too).
RECOMPUTE_FACTS_SQL = f"""INSERT INTO payroll_recompute (household_id, reason)
    SELECT DISTINCT f.household_id, 'facts' FROM rules_memberfacts f
    WHERE f.person_id IN (SELECT c.person_id FROM rules_factschange c WHERE c.at >= %(since)s)
      AND {ENROLLED.format(h="f.household_id")}
    ON CONFLICT DO NOTHING"""  # noqa: S608 (constant SQL)
RECOMPUTE_STANDING_SQL = f"""INSERT INTO payroll_recompute (household_id, reason)
    SELECT DISTINCT x.household_id, 'standing' FROM payments_enrolmentchange c
    JOIN payments_enrolment x ON x.id = c.enrolment_id
    WHERE c.at >= %(since)s AND c.kind IN {STANDING_CHANGES} AND {ENROLLED.format(h="x.household_id")}
    ON CONFLICT DO NOTHING"""  # noqa: S608 (constant SQL)
# Households with a member who reached an age the rules distinguish since the previous run's month
# (born within (cutoff then, cutoff now] for one of the ages).
RECOMPUTE_AGE_SQL = """INSERT INTO payroll_recompute (household_id, reason)
    SELECT DISTINCT f.household_id, 'age' FROM rules_memberfacts f
    WHERE ({bands})
      AND f.valid_from <= %(month)s AND (f.valid_until IS NULL OR f.valid_until >= %(month)s)
      AND {enrolled}
    ON CONFLICT DO NOTHING"""

TO_RECOMPUTE_SQL = f"""SELECT e.id, e.household_id, e.payee_id, e.programme, e.status, e.division_id,
        CAST(ROUND(e.monthly_amount * 100) AS BIGINT),
        CAST(ROUND(COALESCE(e.calculated_amount, e.monthly_amount) * 100) AS BIGINT), r.reason
    FROM payroll_recompute r JOIN payments_enrolment e ON e.household_id = r.household_id
    WHERE {PAYABLE}"""  # noqa: S608 (constant SQL)

PROPOSALS_DDL = """CREATE TEMPORARY TABLE payroll_proposals (
    enrolment_id BIGINT PRIMARY KEY, division_code VARCHAR(12) NOT NULL, reason VARCHAR(12) NOT NULL,
    current_fen BIGINT NOT NULL, basis_fen BIGINT NOT NULL, calculated_fen BIGINT NOT NULL,
    proposed_fen BIGINT NOT NULL, review SMALLINT NOT NULL)"""
# An open proposal no longer what the rules give is superseded; an identical one is left open.
SUPERSEDE_SQL = """UPDATE payments_amountproposal SET status = 'superseded', decided_at = %(at)s
    WHERE status = 'proposed'
      AND enrolment_id IN (SELECT enrolment_id FROM payroll_proposals)
      AND NOT EXISTS (
          SELECT 1 FROM payroll_proposals w
          WHERE w.enrolment_id = payments_amountproposal.enrolment_id AND w.review = 0
            AND w.proposed_fen <> w.current_fen
            AND w.proposed_fen = CAST(ROUND(payments_amountproposal.proposed_amount * 100) AS BIGINT)
      )"""
INSERT_PROPOSALS_SQL = """INSERT INTO payments_amountproposal (enrolment_id, run_id, reason, current_amount,
        basis_amount, calculated_amount, proposed_amount, status, created_at, notice, note)
    SELECT w.enrolment_id, %(run)s, w.reason, w.current_fen / 100.0, w.basis_fen / 100.0,
        w.calculated_fen / 100.0, w.proposed_fen / 100.0, 'proposed', %(at)s, '', ''
    FROM payroll_proposals w
    WHERE w.review = 0 AND w.proposed_fen <> w.current_fen
      AND NOT EXISTS (
          SELECT 1 FROM payments_amountproposal p WHERE p.enrolment_id = w.enrolment_id AND p.status = 'proposed'
      )"""
INSERT_REVIEWS_SQL = """INSERT INTO payments_reviewtask (enrolment_id, kind, due_date, office_code,
        created_at, done_at, outcome, note, done_by_id)
    SELECT w.enrolment_id, 'periodic', %(month)s, SUBSTR(w.division_code, 1, 9) || '000',
        %(at)s, NULL, '', '', NULL
    FROM payroll_proposals w WHERE w.review = 1
    ON CONFLICT DO NOTHING"""

# Summed exactly: PostgreSQL adds decimals as decimals; SQLite, whose decimals are floats, in fen.
TOTALS_SQL = """INSERT INTO payments_payrolltotal (run_id, township_code, programme, line_count, amount)
    SELECT %(run)s, SUBSTR(l.division_code, 1, 9) || '000', l.programme, COUNT(*), {total}
    FROM payments_payrollline l WHERE l.run_id = %(run)s AND l.reissue_of_id IS NULL
    GROUP BY SUBSTR(l.division_code, 1, 9) || '000', l.programme"""
EXACT_SUM = {"postgresql": "SUM(l.amount)", "sqlite": "SUM(CAST(ROUND(l.amount * 100) AS BIGINT)) / 100.0"}
# The run's figures from its totals (summed once from its lines) and its arrears months (few).
RUN_FIGURES_SQL = """SELECT COALESCE(SUM(t.line_count), 0), COALESCE(SUM(CAST(ROUND(t.amount * 100) AS BIGINT)), 0),
        COALESCE((SELECT SUM(CAST(ROUND(a.amount * 100) AS BIGINT)) FROM payments_arrearsmonth a
                  WHERE a.run_id = %(run)s), 0)
    FROM payments_payrolltotal t WHERE t.run_id = %(run)s"""

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
        cursor.execute(SCHEDULE_REVIEWS_SQL, sql_params({"horizon": horizon, "at": at}))
        return int(cursor.rowcount)


# --- Locks -------------------------------------------------------------------------------------------


def lock_county(county: str, *, shared: bool) -> None:
    """An enrolment change (shared) waits for a payroll computing its county, to the end of the
    transaction. (SQLite has one writer at a time anyway.)"""
    if not postgres():
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_SPACE, int(county[:6])])


@contextmanager
def county_locked(county: str) -> Iterator[None]:
    """Hold the county's payroll lock on this connection (a session lock, taken before the run's
    transaction begins so that its snapshot sees every change that finished before) until the
    block ends."""
    with _session_lock(LOCK_SPACE, int(county[:6]), wait=True):
        yield


@contextmanager
def run_lease(run_id: int) -> Iterator[bool]:
    """The lease of a run's computation: a session lock that PostgreSQL releases when the process
    holding it ends, however it ends (`kill -9` included). Yields whether this process got it
    (False: another process is computing the run). SQLite: always True (one worker; a lease by
    time, `PayrollRun.started_at`, tells a dead one there, see `run_alive`)."""
    with _session_lock(RUN_LEASE_SPACE, run_id, wait=False) as got:
        yield got


def run_alive(run_id: int) -> bool | None:
    """Whether a process holds the run's lease (PostgreSQL); None where that cannot be known (SQLite)."""
    if not postgres():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LEASE_SPACE, run_id])
        (got,) = cursor.fetchone()
        if got:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LEASE_SPACE, run_id])
    return not got


@contextmanager
def _session_lock(space: int, key: int, *, wait: bool) -> Iterator[bool]:
    if not postgres():
        yield True
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [space, key])
            got = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [space, key])
            (got,) = cursor.fetchone()
    try:
        yield bool(got)
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [space, key])


def one_snapshot() -> None:
    """Make the transaction just begun read one snapshot throughout (PostgreSQL: REPEATABLE READ;
    it must be its first statement). SQLite transactions are serializable already."""
    if postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET LOCAL jit = off")  # compiling cost more than it saved, bench/README.md
            # The lines are sorted by payee (the unique index then fills in one sweep) and the
            # households to recompute hashed: in memory, not in files (bench/README.md).
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # The recalculation looks a few thousand changed persons up among millions of rows:
            # by index on the solid-state disks servers have, not by a whole scan.
            cursor.execute("SET LOCAL random_page_cost = 1.1")


# --- The run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    """The county's latest run before this one: its month and when its computation started."""

    month: date
    started_at: datetime


@dataclass(frozen=True)
class Outcome:
    lines: int
    total_fen: int
    arrears_fen: int
    arrears_months: int
    one_offs_settled: int
    exits: int
    recomputed_households: int
    proposals: int
    reviews: int
    changes_since: datetime | None

    def as_audit(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "total": f"{self.total_fen / 100:.2f}",
            "arrears": f"{self.arrears_fen / 100:.2f}",
            "arrears_months": self.arrears_months,
            "one_offs_settled": self.one_offs_settled,
            "gradual_exits_ended": self.exits,
            "recomputed_households": self.recomputed_households,
            "amount_proposals": self.proposals,
            "reviews_opened": self.reviews,
            "changes_since": self.changes_since.isoformat() if self.changes_since else None,
        }


def compute(
    *,
    run_id: int,
    county: str,
    month: date,
    actor_id: int,
    previous: Previous | None,
    table: PolicyTable,
    at: datetime,
) -> Outcome:
    """Steps 1-7 of the module docstring, in the caller's transaction (which holds the county's
    lock). Computing a run again adds what is missing and changes nothing twice."""
    since = previous.started_at - CHANGES_MARGIN if previous is not None else None
    params = sql_params(
        {
            "run": run_id,
            "county": county,
            "month": month,
            "next": add_months(month, 1),
            "low": county,
            "high": f"{county}:",
            "actor": actor_id,
            "at": at,
            "since": since or at,
            "exit_reason": "渐退期满，停止发放",
        }
    )
    with connection.cursor() as cursor:
        _temporary(cursor, "payroll_one_offs", ONE_OFFS_DDL)
        cursor.execute(ONE_OFFS_SQL, params)
        _temporary(cursor, "payroll_arrears", ARREARS_DDL)
        if since is not None:  # no earlier run: no month was missed
            cursor.execute(ARREARS_SQL, params)
        _analyzed(cursor, "payroll_one_offs", "payroll_arrears")
        paid = "TRUE" if _insert_lines(cursor, params) else PAID_HERE
        cursor.execute(SETTLE_SQL.format(paid=paid), params)
        settled = max(cursor.rowcount, 0)
        cursor.execute(UNQUEUE_SQL, params)
        cursor.execute(INSERT_ARREARS_SQL.format(paid=paid), params)
        arrears_months = max(cursor.rowcount, 0)
        cursor.execute(EXIT_CHANGES_SQL, params)
        cursor.execute(EXIT_SQL, params)
        exits = max(cursor.rowcount, 0)
        for name in ("payroll_one_offs", "payroll_arrears"):
            cursor.execute(f"DROP TABLE {name}")
    recomputed, proposals, reviews = _recalculate(
        params, county=county, month=month, previous=previous, since=since, table=table, at=at
    )
    _store_parameters(run_id=run_id, county=county, month=month, table=table)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_payrolltotal WHERE run_id = %s", [run_id])
        cursor.execute(TOTALS_SQL.format(total=EXACT_SUM[connection.vendor]), params)
        cursor.execute(RUN_FIGURES_SQL, params)
        lines, total_fen, arrears_fen = cursor.fetchone()
    return Outcome(
        lines=int(lines),
        total_fen=int(total_fen),
        arrears_fen=int(arrears_fen),
        arrears_months=arrears_months,
        one_offs_settled=settled,
        exits=exits,
        recomputed_households=recomputed,
        proposals=proposals,
        reviews=reviews,
        changes_since=since,
    )


def _insert_lines(cursor: Any, params: Mapping[str, Any]) -> bool:
    """Step 3: INSERT_LINES_SQL, or where a line of the month exists already, INSERT_MISSING_LINES_SQL.
    Whether every payable enrolment got its line here."""
    try:
        with transaction.atomic():  # a savepoint: the failed insert is undone, the run goes on
            cursor.execute(INSERT_LINES_SQL, params)
    except IntegrityError:
        cursor.execute(INSERT_MISSING_LINES_SQL, params)
        return False
    return True


def _analyzed(cursor: Any, *tables: str) -> None:
    """Statistics for freshly filled work tables (PostgreSQL), for the plans that read them."""
    if postgres():
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _temporary(cursor: Any, name: str, ddl: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(ddl + (" ON COMMIT DROP" if postgres() else ""))


# --- Recalculation (step 6) --------------------------------------------------------------------------


def _recalculate(
    params: Mapping[str, Any],
    *,
    county: str,
    month: date,
    previous: Previous | None,
    since: datetime | None,
    table: PolicyTable,
    at: datetime,
) -> tuple[int, int, int]:
    """Recompute the households that changed; (households recomputed, proposals made, reviews opened)."""
    with connection.cursor() as cursor:
        _temporary(cursor, "payroll_recompute", RECOMPUTE_DDL)
        whole = _whole_county_reason(
            cursor, county=county, month=month, previous=previous, since=since, now=at
        )
        if whole is not None:
            cursor.execute(RECOMPUTE_ALL_SQL, {**params, "reason": whole})
        else:
            assert previous is not None  # noqa: S101 (whole is set without one)
            cursor.execute(RECOMPUTE_FACTS_SQL, params)
            cursor.execute(RECOMPUTE_STANDING_SQL, params)
            bands = _age_bands(table, county=county, then=previous.month, now=month)
            if bands:
                conditions = " OR ".join(
                    f"(f.birth_date > %(born_after_{i})s AND f.birth_date <= %(born_by_{i})s)"
                    for i in range(len(bands))
                )
                band_params = {}
                for i, (after, by) in enumerate(bands):
                    band_params[f"born_after_{i}"] = connection.ops.adapt_datefield_value(after)
                    band_params[f"born_by_{i}"] = connection.ops.adapt_datefield_value(by)
                cursor.execute(
                    RECOMPUTE_AGE_SQL.format(enrolled=ENROLLED.format(h="f.household_id"), bands=conditions),
                    {**params, **band_params},
                )
        _analyzed(cursor, "payroll_recompute")
    enrolments = read_frame(TO_RECOMPUTE_SQL, params, ENROLMENT_SCHEMA)
    households = enrolments["household_id"].n_unique()
    if enrolments.is_empty():
        return 0, 0, 0
    facts = _facts(enrolments["household_id"].unique().sort(), county=county, month=month, whole=whole)
    recomputed = recompute(facts, enrolments, month=month, table=table)
    work = proposals_frame(enrolments, recomputed)
    if work.is_empty():
        return households, 0, 0
    with connection.cursor() as cursor:
        _temporary(cursor, "payroll_proposals", PROPOSALS_DDL)
    write_frame("payroll_proposals", work.select(list(PROPOSAL_SCHEMA)))
    with connection.cursor() as cursor:
        cursor.execute(SUPERSEDE_SQL, params)
        cursor.execute(INSERT_PROPOSALS_SQL, params)
        proposals = max(cursor.rowcount, 0)
        cursor.execute(INSERT_REVIEWS_SQL, params)
        reviews = max(cursor.rowcount, 0)
        cursor.execute("DROP TABLE payroll_proposals")
        cursor.execute("DROP TABLE payroll_recompute")
    return households, proposals, reviews


def _whole_county_reason(
    cursor: Any, *, county: str, month: date, previous: Previous | None, since: datetime | None, now: datetime
) -> str | None:
    """Why every household of the county is recomputed ("first", "parameters"), or None: no earlier
    run, or one older than the facts' change log keeps (`KEEP_DAYS`: what changed before is gone from
    it), or a parameter value for the county that took effect after the previous run's month or was
    decided since."""
    if previous is None or since is None:
        return "first"
    if since < now - timedelta(days=KEEP_DAYS - 1):
        return "first"
    regions = (county, county[:4], county[:2], "")
    cursor.execute(
        """SELECT COUNT(*) FROM rules_parametervalue v
        WHERE v.status = 'approved' AND v.region IN (%s, %s, %s, %s)
          AND ((v.effective_from > %s AND v.effective_from <= %s) OR v.decided_at >= %s)""",
        [
            *regions,
            connection.ops.adapt_datefield_value(previous.month),
            connection.ops.adapt_datefield_value(month),
            connection.ops.adapt_datetimefield_value(since),
        ],
    )
    (changed,) = cursor.fetchone()
    return "parameters" if changed else None


# Parameters that are ages (completed years) the rules tell people apart by.
AGE_PARAMETERS = (
    "dibao.elderly_age",
    "dibao.minor_age",
    "extreme_poverty.elderly_age",
    "extreme_poverty.minor_age",
    "extreme_poverty.continued_age",
    "child.max_age",
)


def _age_bands(table: PolicyTable, *, county: str, then: date, now: date) -> list[tuple[date, date]]:
    """For each age the rules distinguish on `now` in the county, the birth dates of those who
    reached it after `then` and by `now`: (born after, born by)."""
    ages: set[int] = set()
    for name in AGE_PARAMETERS:
        for area in ("urban", "rural"):
            with suppress(PolicyError):  # no value in force here: no band
                ages.add(int(table.lookup(name, now, county, area).value))
        with suppress(PolicyError):
            ages.update(
                int(row["from_age"]) for row in table.lookup("elderly.bands", now, county, area).value
            )
    epoch = date(1970, 1, 1)
    return [
        (
            epoch + timedelta(days=bulk.age_cutoff(then, years)),
            epoch + timedelta(days=bulk.age_cutoff(now, years)),
        )
        for years in sorted(ages)
        if years > 0
    ]


def _facts(households: pl.Series, *, county: str, month: date, whole: str | None) -> pl.DataFrame:
    """The summary rows on the day of `households` (the caller refreshed the summary before its
    transaction began): the county's read by prefix when every household is recomputed, and any
    registered elsewhere by id."""
    if whole is not None:
        rows = read_summary_rows(month, division_prefix=county, refresh_first=False)
        rows = rows.filter(pl.col("household_id").is_in(households.implode()))
        missing = households.filter(~households.is_in(rows["household_id"].unique().implode()))
        if len(missing):
            rows = pl.concat(
                [
                    rows,
                    read_summary_rows(month, household_ids=missing.to_list(), refresh_first=False).cast(
                        rows.schema
                    ),
                ]
            )
        return rows
    return read_summary_rows(month, household_ids=households.to_list(), refresh_first=False)


def _present(programmes: pl.Series) -> list[str]:
    found = set(programmes.unique().to_list())
    return [p for p in bulk.MONTHLY_PROGRAMMES if p in found]


def recompute(
    facts: pl.DataFrame, standing: pl.DataFrame, *, month: date, table: PolicyTable
) -> pl.DataFrame:
    """RECOMPUTED_SCHEMA for the households of `facts` (summary rows on the day, READ_SCHEMA), for
    the programmes of their ACTIVE enrolments (`standing`: household_id, payee_id, programme,
    status), with the assistance statuses in force on the month (`rules.standing`, as every
    calculation reads them: a household on dibao or extreme-poverty support is so for every rule
    keyed on it, an orphan's allowance is topped up against the other payments recorded)."""
    wanted = standing.filter(
        (pl.col("status") == "active") & pl.col("programme").is_in(bulk.MONTHLY_PROGRAMMES)
    )
    if wanted.is_empty() or facts.is_empty():
        return pl.DataFrame(schema=RECOMPUTED_SCHEMA)
    members, households = with_standing(population_of(facts.select(list(READ_SCHEMA))), month)
    programmes = _present(wanted["programme"])
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


def proposals_frame(enrolments: pl.DataFrame, recomputed: pl.DataFrame) -> pl.DataFrame:
    """Per recomputed ACTIVE enrolment: the amount the rules give (`calculated_fen`), the decided
    amount changed by the difference from the amount the decision rested on (`proposed_fen`,
    never below 0), and whether it goes to re-review instead (no longer eligible)."""
    frame = enrolments.filter(pl.col("status") == "active").join(
        recomputed, on=["household_id", "programme"], how="inner"
    )
    return frame.select(
        "enrolment_id",
        "division_code",
        "reason",
        "current_fen",
        "basis_fen",
        pl.col("new_fen").alias("calculated_fen"),
        (pl.col("current_fen") + pl.col("new_fen") - pl.col("basis_fen"))
        .clip(lower_bound=0)
        .alias("proposed_fen"),
        (~pl.col("eligible")).cast(pl.Int16).alias("review"),
    )


def _store_parameters(*, run_id: int, county: str, month: date, table: PolicyTable) -> None:
    """The parameter values in force for the county on the month, with the run (step 7)."""
    rows = [
        (
            run_id,
            found.spec.name,
            found.spec.description[:200],
            found.area,
            found.value.region,
            found.value.effective_from,
            found.value.value_text,
            found.value.reference[:300],
        )
        for found in parameters_in_force(day=month, place=county, table=table)
        if found.value is not None
    ]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_runparameter WHERE run_id = %s", [run_id])
        cursor.executemany(
            """INSERT INTO payments_runparameter (run_id, name, description, area, region,
                effective_from, value, reference) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (r[0], r[1], r[2], r[3], r[4], connection.ops.adapt_datefield_value(r[5]), r[6], r[7])
                for r in rows
            ],
        )


def summarize_run_index() -> None:
    """Summarize the page ranges of the BRIN index on the lines' run that are not yet (PostgreSQL),
    once a run's lines are committed: autosummarize asks autovacuum for it as each range fills, but
    autovacuum drops such requests when lines come faster, and a later read of one run's lines then
    rechecks other runs' rows (bench/README.md)."""
    if postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT brin_summarize_new_values('payrollline_run')")
