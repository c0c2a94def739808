"""The registry's facts per member as piecewise-constant dated rows (`rules.models.MemberFacts`): what
`rules.population.members_sql` and `households_sql` compute for a day, computed once for every
interval over which nothing a member's facts depend on changes. Reading the population of a day is
then one scan of narrow rows (`read_summary`) instead of eight joins over the circumstance tables;
the payroll of a county reads it every month.

Kept current by the database itself: triggers on every table the facts depend on (persons' birth
dates, memberships, the six person-level circumstance tables, households' village and area, rigid
expenses and assets) record the person or household touched in `rules_stalefacts`, whatever wrote
the row (a service, an import, a migration, SQL). `refresh` recomputes the rows of those persons
(for a household, everyone who was ever a member) and clears what it handled; every read of the
summary refreshes first, so a read never sees facts older than the last committed change.

`population.members_sql` stays the reference: a property test compares the two reads on random
registry histories and days (rules/tests/test_summary.py).

Interval rows: for each stale person, the boundaries are every date on which one of their records
(or one of their households' records) starts, and the day after one ends; each boundary starts an
interval running to the day before the next one, evaluated as of its first day. An interval with no
open membership gives no row; an interval with two (which the registry does not allow) gives two,
as members_sql would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import connections, transaction
from django.utils import timezone

from minzheng.rules.population import (
    FINANCIAL_ASSET_KINDS,
    HOUSEHOLD_SCHEMA,
    MEMBER_SCHEMA,
    Population,
    check_prefix,
    read_rows,
    with_defaults,
)

# pg_advisory_xact_lock(LOCK_SPACE, LOCK_KEY): one refresh at a time.
LOCK_SPACE, LOCK_KEY = 6_402_002, 1
# Days the log of recomputed persons (rules_factschange) is kept: a payroll run whose previous run
# is older than that recomputes every household (payments.payroll).
KEEP_DAYS = 400
# Below this share of the registered persons, a refresh looks the stale ones up by index rather
# than hash-joining whole tables (see `refresh`): 40,000 persons of 2.5 million took 3.6 s by index
# against 6.9 s joined; whole-table joins grow with the registry, look-ups with the persons. At
# 200,000 of 25 million both ways took about 114 s, the look-ups missing the cache (bench/README.md).
INDEXED_REFRESH_SHARE = 0.03

# Tables whose rows carry a person (their column) or a household.
PERSON_TABLES = {
    "registry_membership": "person_id",
    "registry_disability": "person_id",
    "registry_illness": "person_id",
    "registry_labourcapacity": "person_id",
    "registry_selfcareassessment": "person_id",
    "registry_schooling": "person_id",
    "registry_incomeitem": "person_id",
}
HOUSEHOLD_TABLES = {"registry_rigidexpense": "household_id", "registry_asset": "household_id"}
# Tables whose own rows are the subject: a change matters only in these columns.
SUBJECT_TABLES = {
    "registry_person": ("person_id", ("birth_date",)),
    "registry_household": ("household_id", ("division_id", "area")),
}

COLUMNS = (
    "person_id, household_id, valid_from, valid_until, region, area, birth_date, disability_category, "
    "disability_grade, serious_illness, labour_capacity, self_care, in_school_full_time, "
    "counted_income_fen, rigid_expenses_fen, financial_assets_fen"
)


# --- Triggers -------------------------------------------------------------------------------------


def _pg_trigger(table: str, target: str, key: str, watched: tuple[str, ...] = ()) -> list[str]:
    """Statement-level triggers with transition tables: one INSERT ... SELECT per statement."""
    function = f"rules_stale_{table}"
    insert = f"INSERT INTO rules_stalefacts ({target}) SELECT DISTINCT {{rows}}.{key} FROM {{rows}}"  # noqa: S608
    if watched:
        changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in watched)
        on_update = (
            f"INSERT INTO rules_stalefacts ({target}) SELECT n.{key} FROM new_rows n "  # noqa: S608
            f"JOIN old_rows o ON o.{key} = n.{key} WHERE {changed};"
        )
    else:
        on_update = insert.format(rows="new_rows") + "; " + insert.format(rows="old_rows") + ";"
    body = f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {insert.format(rows="new_rows")};
    ELSIF TG_OP = 'UPDATE' THEN {on_update}
    ELSE {insert.format(rows="old_rows")};
    END IF;
    RETURN NULL;
END $$"""
    return [
        body,
        f"CREATE TRIGGER {function}_i AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_u AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_d AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _sqlite_trigger(table: str, target: str, key: str, watched: tuple[str, ...] = ()) -> list[str]:
    name = f"rules_stale_{table}"
    insert = f"INSERT INTO rules_stalefacts ({target}) VALUES ({{row}}.{key});"  # noqa: S608
    update_of = f" OF {', '.join(watched)}" if watched else ""
    when = (" WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched)) if watched else ""
    return [
        f"CREATE TRIGGER {name}_i AFTER INSERT ON {table} BEGIN {insert.format(row='NEW')} END",
        f"CREATE TRIGGER {name}_u AFTER UPDATE{update_of} ON {table}{when} "
        f"BEGIN {insert.format(row='OLD')} {insert.format(row='NEW')} END",
        f"CREATE TRIGGER {name}_d AFTER DELETE ON {table} BEGIN {insert.format(row='OLD')} END",
    ]


def trigger_sql(vendor: str) -> list[str]:
    """The statements that create the triggers on `vendor` (postgresql or sqlite)."""
    make = _pg_trigger if vendor == "postgresql" else _sqlite_trigger
    statements: list[str] = []
    for table, key in PERSON_TABLES.items():
        statements += make(table, "person_id", key)
    for table, key in HOUSEHOLD_TABLES.items():
        statements += make(table, "household_id", key)
    statements += make("registry_person", "person_id", "id", ("birth_date",))
    statements += make("registry_household", "household_id", "id", ("division_id", "area"))
    return statements


def drop_trigger_sql(vendor: str) -> list[str]:
    tables = [*PERSON_TABLES, *HOUSEHOLD_TABLES, "registry_person", "registry_household"]
    if vendor == "postgresql":
        return [f"DROP FUNCTION IF EXISTS rules_stale_{t}() CASCADE" for t in tables]
    return [f"DROP TRIGGER IF EXISTS rules_stale_{t}_{op}" for t in tables for op in "iud"]


# --- Refresh --------------------------------------------------------------------------------------


def _day_after(vendor: str, expression: str) -> str:
    return f"({expression} + 1)" if vendor == "postgresql" else f"date({expression}, '+1 day')"


def _day_before(vendor: str, expression: str) -> str:
    return f"({expression} - 1)" if vendor == "postgresql" else f"date({expression}, '-1 day')"


def _in_force(alias: str, day: str = "iv.valid_from") -> str:
    return f"{alias}.valid_from <= {day} AND ({alias}.valid_until IS NULL OR {alias}.valid_until >= {day})"


def _fen(expression: str) -> str:
    return f"CAST(ROUND({expression} * 100) AS BIGINT)"


# The rows of each table that can change a fact (the same filters as members_sql / households_sql).
_PERSON_BOUNDS = {
    "registry_membership": ("start_date", "end_date", "TRUE"),
    "registry_disability": ("valid_from", "valid_until", "TRUE"),
    "registry_illness": ("valid_from", "valid_until", "r.is_listed_serious"),
    "registry_labourcapacity": ("valid_from", "valid_until", "TRUE"),
    "registry_selfcareassessment": ("valid_from", "valid_until", "TRUE"),
    "registry_schooling": (
        "valid_from",
        "valid_until",
        "r.full_time AND r.stage IN ('primary', 'junior', 'senior', 'vocational')",
    ),
    "registry_incomeitem": ("valid_from", "valid_until", "r.counted"),
}
_KINDS = ", ".join(f"'{k}'" for k in FINANCIAL_ASSET_KINDS)
_HOUSEHOLD_BOUNDS = {
    "registry_rigidexpense": "TRUE",
    "registry_asset": f"r.kind IN ({_KINDS})",
}


def intervals_sql(vendor: str) -> str:
    """INSERT ... SELECT of the interval rows of the persons in the temporary table facts_stale."""
    stale = "r.person_id IN (SELECT person_id FROM facts_stale)"
    # Each table read once for its rows' first and last days (a separate read for the last days,
    # few of which are set, was planned as a scan of the whole table).
    records: list[str] = [
        f"SELECT r.person_id, r.{start} AS first_day, r.{end} AS last_day FROM {table} r "  # noqa: S608
        f"WHERE {stale} AND {condition}"
        for table, (start, end, condition) in _PERSON_BOUNDS.items()
    ]
    records += [
        f"SELECT hm.person_id, r.valid_from, r.valid_until FROM hm JOIN {table} r "  # noqa: S608 (constant SQL)
        f"ON r.household_id = hm.household_id WHERE {condition}"
        for table, condition in _HOUSEHOLD_BOUNDS.items()
    ]
    union = "\n        UNION ALL ".join(records)
    return f"""INSERT INTO rules_memberfacts ({COLUMNS})
    WITH hm AS (
        SELECT DISTINCT r.person_id, r.household_id FROM registry_membership r WHERE {stale}
    ),
    records AS (
        {union}
    ),
    bounds AS (
        SELECT person_id, first_day AS d FROM records
        UNION SELECT person_id, {_day_after(vendor, "last_day")} FROM records WHERE last_day IS NOT NULL
    ),
    iv AS (
        SELECT person_id, d AS valid_from,
               {_day_before(vendor, "LEAD(d) OVER (PARTITION BY person_id ORDER BY d)")} AS valid_until
        FROM bounds
    )
    SELECT iv.person_id, m.household_id, iv.valid_from, iv.valid_until, h.division_id, h.area, p.birth_date,
        dis.category, dis.grade,
        CASE WHEN EXISTS (
            SELECT 1 FROM registry_illness i
            WHERE i.person_id = iv.person_id AND i.is_listed_serious AND {_in_force("i")}
        ) THEN TRUE ELSE FALSE END,
        (SELECT r.level FROM registry_labourcapacity r WHERE r.person_id = iv.person_id AND {_in_force("r")}
         ORDER BY r.valid_from DESC, r.id DESC LIMIT 1),
        (SELECT r.level FROM registry_selfcareassessment r WHERE r.person_id = iv.person_id AND {_in_force("r")}
         ORDER BY r.valid_from DESC, r.id DESC LIMIT 1),
        CASE WHEN EXISTS (
            SELECT 1 FROM registry_schooling s
            WHERE s.person_id = iv.person_id AND s.full_time
              AND s.stage IN ('primary', 'junior', 'senior', 'vocational') AND {_in_force("s")}
        ) THEN TRUE ELSE FALSE END,
        COALESCE((
            SELECT SUM({_fen("i.monthly_amount")}) FROM registry_incomeitem i
            WHERE i.person_id = iv.person_id AND i.counted AND {_in_force("i")}
        ), 0),
        COALESCE((
            SELECT SUM({_fen("r.monthly_amount")}) FROM registry_rigidexpense r
            WHERE r.household_id = m.household_id AND {_in_force("r")}
        ), 0),
        COALESCE((
            SELECT SUM({_fen("a.value")}) FROM registry_asset a
            WHERE a.household_id = m.household_id AND a.kind IN ({_KINDS}) AND {_in_force("a")}
        ), 0)
    FROM iv
    JOIN registry_membership m ON m.person_id = iv.person_id
        AND m.start_date <= iv.valid_from AND (m.end_date IS NULL OR m.end_date >= iv.valid_from)
    JOIN registry_household h ON h.id = m.household_id
    JOIN registry_person p ON p.id = iv.person_id
    LEFT JOIN registry_disability dis ON dis.id = (
        SELECT d.id FROM registry_disability d
        WHERE d.person_id = iv.person_id AND {_in_force("d")}
        ORDER BY d.grade, CASE WHEN d.category IN ('intellectual', 'mental') THEN 0 ELSE 1 END, d.id
        LIMIT 1
    )"""  # noqa: S608 (only constant SQL is interpolated)


def looked_up_by_index(stale: int, persons: float) -> bool:
    """Whether a refresh of `stale` persons among about `persons` registered looks them up by index
    (a month's changes) rather than joining whole tables (PostgreSQL; `INDEXED_REFRESH_SHARE`)."""
    return stale < INDEXED_REFRESH_SHARE * persons


def refresh(*, using: str = "default") -> int:
    """Recompute the rows of every stale person (see the module docstring), in one transaction;
    the number of persons recomputed."""
    connection = connections[using]
    vendor = connection.vendor
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM rules_stalefacts")
        (high,) = cursor.fetchone()
        if high is None:
            return 0
        if vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, LOCK_KEY])
            cursor.execute("SET LOCAL jit = off")
            # Whatever committed while this waited for the lock is handled too.
            cursor.execute("SELECT MAX(id) FROM rules_stalefacts")
            (high,) = cursor.fetchone()
            if high is None:
                return 0
        cursor.execute("DROP TABLE IF EXISTS facts_stale")
        cursor.execute(
            "CREATE TEMPORARY TABLE facts_stale (person_id BIGINT PRIMARY KEY)"
            + (" ON COMMIT DROP" if vendor == "postgresql" else "")
        )
        cursor.execute(
            """INSERT INTO facts_stale (person_id)
            SELECT person_id FROM rules_stalefacts WHERE id <= %(high)s AND person_id IS NOT NULL
            UNION
            SELECT m.person_id FROM rules_stalefacts s JOIN registry_membership m ON m.household_id = s.household_id
            WHERE s.id <= %(high)s AND s.household_id IS NOT NULL""",
            {"high": high},
        )
        count = cursor.rowcount
        if vendor == "postgresql":
            cursor.execute("ANALYZE facts_stale")
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'registry_person'::regclass")
            (persons,) = cursor.fetchone()  # the planner's estimate, -1 before the first ANALYZE
            if looked_up_by_index(count, persons):
                cursor.execute("SET LOCAL enable_hashjoin = off")
                cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute("DELETE FROM rules_memberfacts WHERE person_id IN (SELECT person_id FROM facts_stale)")
        cursor.execute(intervals_sql(vendor))
        # The persons recomputed, for the payroll's recalculation of what changed since its
        # previous run (payments.payroll); the log is kept so long.
        now = timezone.now()
        cursor.execute(
            "INSERT INTO rules_factschange (person_id, at) SELECT person_id, %s FROM facts_stale",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        cursor.execute(
            "DELETE FROM rules_factschange WHERE at < %s",
            [connection.ops.adapt_datetimefield_value(now - timedelta(days=KEEP_DAYS))],
        )
        cursor.execute("DELETE FROM rules_stalefacts WHERE id <= %s", [high])
        cursor.execute("DROP TABLE facts_stale")
    return count


# --- Read -----------------------------------------------------------------------------------------

READ_SCHEMA: dict[str, pl.DataType] = {
    **MEMBER_SCHEMA,
    **{name: dtype for name, dtype in HOUSEHOLD_SCHEMA.items() if name != "household_id"},
}
INTERVAL_SCHEMA: dict[str, pl.DataType] = {**READ_SCHEMA, "valid_from": pl.Date(), "valid_until": pl.Date()}


def rows_sql(conditions: Sequence[str], *, intervals: bool = False) -> str:
    """The SELECT of READ_SCHEMA's columns (and with `intervals` the rows' first and last days,
    INTERVAL_SCHEMA) of the rows meeting every condition."""
    return f"""SELECT f.household_id, f.person_id AS member_id, f.birth_date, f.disability_category,
        f.disability_grade, CASE WHEN f.serious_illness THEN 1 ELSE 0 END AS serious_illness,
        f.labour_capacity, f.self_care, CASE WHEN f.in_school_full_time THEN 1 ELSE 0 END AS in_school_full_time,
        f.counted_income_fen, f.region, f.area, f.rigid_expenses_fen, f.financial_assets_fen
        {", f.valid_from, f.valid_until" if intervals else ""}
    FROM rules_memberfacts f WHERE {" AND ".join(conditions)}"""  # noqa: S608 (constant SQL)


# Division codes are digits: a prefix as a range, which the region index serves.
IN_PREFIX = "f.region >= %(low)s AND f.region < %(high)s"


def read_sql(vendor: str, *, with_ids: bool, with_prefix: bool) -> str:
    where = ["f.valid_from <= %(day)s", "(f.valid_until IS NULL OR f.valid_until >= %(day)s)"]
    if with_prefix:
        where.append(IN_PREFIX)
    if with_ids:
        where.append(
            "f.household_id = ANY(%(ids)s)"
            if vendor == "postgresql"
            else "f.household_id IN (SELECT value FROM json_each(%(ids)s))"
        )
    return rows_sql(where)


def population_of(rows: pl.DataFrame) -> Population:
    """The frames of rows read from the summary for one day. One statement, one snapshot: every
    household read has its members. Sorted once; a household's columns are those of its first row
    (every row of a household carries the same)."""
    rows = rows.sort("household_id", "member_id")
    first = pl.col("household_id") != pl.col("household_id").shift(1, fill_value=-1)
    households = rows.filter(first).select(list(HOUSEHOLD_SCHEMA))
    return with_defaults(rows.select(list(MEMBER_SCHEMA)), households)


def by_household(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` in household order, sorted only if they are not already."""
    return rows if rows["household_id"].is_sorted() else rows.sort("household_id")


def read_summary_rows(
    day: date,
    *,
    division_prefix: str = "",
    household_ids: Sequence[int] | None = None,
    using: str = "default",
    refresh_first: bool = True,
) -> pl.DataFrame:
    """The summary's rows (READ_SCHEMA, in no order) in force on `day`, after a refresh of whatever
    changed since the last one (`refresh_first=False`: the caller refreshed before its transaction, whose
    snapshot a refresh inside would not match): `population_of` makes them frames."""
    check_prefix(division_prefix)
    if refresh_first:
        refresh(using=using)
    vendor = connections[using].vendor
    params: dict[str, Any] = {"day": day, "low": division_prefix, "high": f"{division_prefix}:"}
    ids: list[int] = []
    if household_ids is not None:
        ids = [int(i) for i in household_ids]
        params["ids"] = ids if vendor == "postgresql" else json.dumps(ids)
    sql = read_sql(vendor, with_ids=household_ids is not None, with_prefix=bool(division_prefix))
    return read_rows(using, sql, params, READ_SCHEMA, copy=household_ids is None or len(ids) > 1000)


def read_summary(
    day: date,
    *,
    division_prefix: str = "",
    household_ids: Sequence[int] | None = None,
    using: str = "default",
) -> Population:
    """`population.read_population` (without income items) from the summary: the same frames, after
    a refresh of whatever changed since the last one."""
    return population_of(
        read_summary_rows(day, division_prefix=division_prefix, household_ids=household_ids, using=using)
    )
