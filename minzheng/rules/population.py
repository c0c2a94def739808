"""The registry's population on a day, read set-based into the two frames the bulk engine takes
(`rules.bulk`), and the same read for one household as HouseholdFacts for the single path — so both
paths see the registry identically.

One SQL statement per frame, aggregations in SQL; on PostgreSQL streamed out with
`COPY (...) TO STDOUT (FORMAT csv)` into `pl.read_csv`, on SQLite read through a cursor.

What is read, as of day D (a dated record is in force when valid_from <= D <= valid_until or open):
- households with at least one membership open on D (start_date <= D, end_date null or >= D, the
  end date being the last day in the household), optionally within a division prefix
  (jurisdiction) and a list of household ids; region = the village's 12-digit division code, area;
- members: those memberships, with the person's birth date;
- disability: one certificate per person, the most severe in force (lowest grade; at equal grade
  intellectual/mental first, as the rules favour them; then the earliest recorded);
- serious_illness: any illness in force with is_listed_serious;
- labour_capacity, self_care: the record in force (the latest started, should two overlap);
- in_school_full_time: a full-time schooling record in force in compulsory education, senior high or
  secondary vocational school (民发〔2021〕43号: what keeps a supported minor's support past 18);
- counted_income_fen: the sum of income items in force that the registry marks as counted
  (`IncomeItem.counted`, set from the category: 民发〔2021〕57号);
- financial_assets_fen: assets in force of the financial kinds FINANCIAL_ASSET_KINDS (deposits,
  securities and wealth-management products); vehicles, real estate, businesses and other property
  are not financial assets and are not summed;
- rigid_expenses_fen: all rigid expenses in force (monthly amounts).

Facts the registry's circumstances do not hold take neutral defaults, as `facts.Member` /
`HouseholdFacts` do: has_able_supporter False, support_mode "home", extreme_poverty_supported False,
child_status None (so child_care "scattered", other_child_payments 0) and household_status "none";
`read_population` then sets the assistance statuses in force (household_status,
extreme_poverty_supported, child_status, child_care, other_child_payments) from `rules.standing`,
the one definition of who holds which status, in the same snapshot.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

import polars as pl
from django.db import connections, transaction

from minzheng.core.errors import Conflict, InvalidInput
from minzheng.registry.circumstances import EXCLUDED_INCOME
from minzheng.registry.models import Household
from minzheng.rules import bulk
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.money import from_fen

FINANCIAL_ASSET_KINDS = ("deposit", "securities")

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "member_id": pl.Int64(),
    "birth_date": pl.Date(),
    "disability_category": bulk.DISABILITY_CATEGORY,
    "disability_grade": pl.Int8(),
    "serious_illness": pl.Int8(),
    "labour_capacity": bulk.LABOUR_CAPACITY,
    "self_care": bulk.SELF_CARE,
    "in_school_full_time": pl.Int8(),
    "counted_income_fen": pl.Int64(),
}
HOUSEHOLD_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "region": pl.Categorical(),  # a few hundred villages: hashed once here, not again by the engine
    "area": bulk.AREA,
    "rigid_expenses_fen": pl.Int64(),
    "financial_assets_fen": pl.Int64(),
}
# Not in the registry: neutral defaults (see the module docstring).
MEMBER_DEFAULTS: dict[str, tuple[Any, pl.DataType]] = {
    "has_able_supporter": (False, pl.Boolean()),
    "support_mode": ("home", bulk.SUPPORT_MODE),
    "extreme_poverty_supported": (False, pl.Boolean()),
    "child_status": (None, bulk.CHILD_STATUS),
    "child_care": ("scattered", bulk.CHILD_CARE),
    "other_child_payments_fen": (0, pl.Int64()),
}
HOUSEHOLD_DEFAULTS: dict[str, tuple[Any, pl.DataType]] = {"household_status": ("none", bulk.HOUSEHOLD_STATUS)}


class Population(NamedTuple):
    members: pl.DataFrame
    households: pl.DataFrame


def _in_force(alias: str) -> str:
    return (
        f"{alias}.valid_from <= %(day)s AND ({alias}.valid_until IS NULL OR {alias}.valid_until >= %(day)s)"
    )


def _fen(expression: str) -> str:
    """Yuan (numeric on PostgreSQL, a number on SQLite) to integer fen, rounded per item."""
    return f"CAST(ROUND({expression} * 100) AS BIGINT)"


def _only(column: str, restricted: bool, scope: str = "mem", key: str = "person_id") -> str:
    """The semi-join to the persons (households) in scope — only when the read is restricted: over
    the whole registry the aggregates scan the circumstance tables once, which is faster."""
    return f"AND {column} IN (SELECT {key} FROM {scope})" if restricted else ""  # noqa: S608


def _latest(table: str, column: str, restricted: bool) -> str:
    return f"""SELECT person_id, {column} FROM (
        SELECT r.person_id, r.{column},
               ROW_NUMBER() OVER (PARTITION BY r.person_id ORDER BY r.valid_from DESC, r.id DESC) AS pick
        FROM {table} r
        WHERE {_in_force("r")} {_only("r.person_id", restricted)}
    ) latest WHERE pick = 1"""  # noqa: S608 (only constant SQL is interpolated)


def _scope_sql(vendor: str, with_ids: bool, with_prefix: bool) -> str:
    """Households in scope, and their memberships open on the day. For a list of households the
    two are materialized (small: index look-ups, quick to plan); otherwise NOT MATERIALIZED, so that
    the planner sees their size (hash joins for a county)."""
    materialized = "MATERIALIZED" if with_ids else "NOT MATERIALIZED"
    where = ["TRUE"]
    if with_prefix:
        where.append("h.division_id LIKE %(prefix)s")
    if with_ids:
        where.append(
            "h.id = ANY(%(ids)s)"
            if vendor == "postgresql"
            else "h.id IN (SELECT value FROM json_each(%(ids)s))"
        )
    return f"""hh AS {materialized} (
        SELECT h.id, h.division_id, h.area FROM registry_household h WHERE {" AND ".join(where)}
    ),
    mem AS {materialized} (
        SELECT m.household_id, m.person_id FROM registry_membership m
        WHERE m.start_date <= %(day)s AND (m.end_date IS NULL OR m.end_date >= %(day)s)
          {"AND m.household_id IN (SELECT id FROM hh)" if len(where) > 1 else ""}
    )"""  # noqa: S608 (only constant SQL is interpolated)


def members_sql(
    vendor: str, *, with_ids: bool = False, with_prefix: bool = False, income_items: bool = False
) -> str:
    """One statement for the members frame. With `income_items`, one more column lists every income
    item in force as category:fen, comma-separated (for a single household's explanation)."""
    restricted = with_ids or with_prefix
    items = ""
    if income_items:
        item = f"i.category || ':' || CAST({_fen('i.monthly_amount')} AS VARCHAR(24))"
        aggregate = (
            f"string_agg({item}, ',' ORDER BY i.id)"
            if vendor == "postgresql"
            else f"group_concat({item}, ',')"
        )
        items = f", {aggregate} AS income_items"
    return f"""WITH {_scope_sql(vendor, with_ids, with_prefix)},
    dis AS (
        SELECT person_id, category, grade FROM (
            SELECT d.person_id, d.category, d.grade,
                   ROW_NUMBER() OVER (
                       PARTITION BY d.person_id
                       ORDER BY d.grade, CASE WHEN d.category IN ('intellectual', 'mental') THEN 0 ELSE 1 END, d.id
                   ) AS pick
            FROM registry_disability d
            WHERE {_in_force("d")} {_only("d.person_id", restricted)}
        ) ranked WHERE pick = 1
    ),
    ill AS (
        SELECT DISTINCT i.person_id FROM registry_illness i
        WHERE i.is_listed_serious AND {_in_force("i")} {_only("i.person_id", restricted)}
    ),
    lab AS ({_latest("registry_labourcapacity", "level", restricted)}),
    care AS ({_latest("registry_selfcareassessment", "level", restricted)}),
    school AS (
        SELECT DISTINCT s.person_id FROM registry_schooling s
        WHERE s.full_time AND s.stage IN ('primary', 'junior', 'senior', 'vocational')
          AND {_in_force("s")} {_only("s.person_id", restricted)}
    ),
    inc AS (
        SELECT i.person_id,
               CAST(SUM(CASE WHEN i.counted THEN {_fen("i.monthly_amount")} ELSE 0 END) AS BIGINT) AS fen{items}
        FROM registry_incomeitem i
        WHERE {_in_force("i")} {_only("i.person_id", restricted)}
        GROUP BY i.person_id
    )
    SELECT mem.household_id, mem.person_id AS member_id, p.birth_date,
           dis.category AS disability_category, dis.grade AS disability_grade,
           CASE WHEN ill.person_id IS NULL THEN 0 ELSE 1 END AS serious_illness,
           lab.level AS labour_capacity, care.level AS self_care,
           CASE WHEN school.person_id IS NULL THEN 0 ELSE 1 END AS in_school_full_time,
           COALESCE(inc.fen, 0) AS counted_income_fen{", inc.income_items" if income_items else ""}
    FROM mem
    JOIN registry_person p ON p.id = mem.person_id
    LEFT JOIN dis ON dis.person_id = mem.person_id
    LEFT JOIN ill ON ill.person_id = mem.person_id
    LEFT JOIN lab ON lab.person_id = mem.person_id
    LEFT JOIN care ON care.person_id = mem.person_id
    LEFT JOIN school ON school.person_id = mem.person_id
    LEFT JOIN inc ON inc.person_id = mem.person_id"""  # noqa: S608 (only constant SQL is interpolated)


def households_sql(vendor: str, *, with_ids: bool = False, with_prefix: bool = False) -> str:
    restricted = with_ids or with_prefix
    kinds = ", ".join(f"'{k}'" for k in FINANCIAL_ASSET_KINDS)
    return f"""WITH {_scope_sql(vendor, with_ids, with_prefix)},
    rigid AS (
        SELECT r.household_id, CAST(SUM({_fen("r.monthly_amount")}) AS BIGINT) AS fen FROM registry_rigidexpense r
        WHERE {_in_force("r")} {_only("r.household_id", restricted, "hh", "id")}
        GROUP BY r.household_id
    ),
    assets AS (
        SELECT a.household_id, CAST(SUM({_fen("a.value")}) AS BIGINT) AS fen FROM registry_asset a
        WHERE a.kind IN ({kinds}) AND {_in_force("a")} {_only("a.household_id", restricted, "hh", "id")}
        GROUP BY a.household_id
    )
    SELECT hh.id AS household_id, hh.division_id AS region, hh.area,
           COALESCE(rigid.fen, 0) AS rigid_expenses_fen, COALESCE(assets.fen, 0) AS financial_assets_fen
    FROM hh
    LEFT JOIN rigid ON rigid.household_id = hh.id
    LEFT JOIN assets ON assets.household_id = hh.id
    WHERE EXISTS (
        SELECT 1 FROM registry_membership m
        WHERE m.household_id = hh.id AND m.start_date <= %(day)s AND (m.end_date IS NULL OR m.end_date >= %(day)s)
    )
    ORDER BY hh.id"""  # noqa: S608 (only constant SQL is interpolated)


def read_rows(
    using: str, sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType], *, copy: bool
) -> pl.DataFrame:
    """The rows of `sql` as a frame: streamed as CSV by COPY on PostgreSQL (`copy`, for many rows),
    else fetched through the cursor."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if copy and connection.vendor == "postgresql":
            chunks: list[bytes] = []
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)", params) as stream:
                chunks.extend(bytes(block) for block in stream)
            # Enum and categorical columns parsed as text and cast after: a quarter of the time of
            # parsing them as such (2.5 million rows: 0.4 s instead of 1.5 s, bench/README.md).
            coded = {name for name, dtype in schema.items() if isinstance(dtype, (pl.Enum, pl.Categorical))}
            as_text = {name: pl.String() if name in coded else dtype for name, dtype in schema.items()}
            frame = pl.read_csv(io.BytesIO(b"".join(chunks)), schema=as_text)
            return frame.with_columns(pl.col(name).cast(schema[name]) for name in coded)
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    if "birth_date" in frame.columns and frame.schema["birth_date"] == pl.String:
        frame = frame.with_columns(pl.col("birth_date").str.to_date())
    return frame.cast({name: dtype for name, dtype in schema.items() if name in frame.columns})


def check_prefix(division_prefix: str) -> None:
    """A division prefix is 2-12 digits of a division code ("" for all)."""
    if division_prefix and not (division_prefix.isdigit() and len(division_prefix) <= 12):
        raise InvalidInput("区划代码前缀须为数字", field_errors={"division_prefix": ["格式不正确"]})


def read_population(
    day: date,
    *,
    division_prefix: str = "",
    household_ids: Sequence[int] | None = None,
    using: str = "default",
    income_items: bool = False,
) -> Population:
    """The members and households frames (bulk.calculate's input) of the registry on `day`, within
    a division prefix (2-12 digits of a division code, "" for all) and, if given, those household
    ids. Both sorted by household_id; every household has members and every member a household."""
    check_prefix(division_prefix)
    connection = connections[using]
    vendor = connection.vendor
    with_ids = household_ids is not None
    with_prefix = bool(division_prefix)
    params: dict[str, Any] = {"day": day, "prefix": f"{division_prefix}%"}
    ids: list[int] = []
    if with_ids:
        ids = [int(i) for i in household_ids or ()]
        params["ids"] = ids if vendor == "postgresql" else json.dumps(ids)
    copy = not with_ids or len(ids) > 1000
    member_schema = {**MEMBER_SCHEMA, **({"income_items": pl.String()} if income_items else {})}
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    # Both statements read one snapshot (inside a caller's transaction, complete
                    # reconciles).
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                # JIT-compiling these statements (about 1.6 s for a county) cost more than it saved.
                cursor.execute("SET LOCAL jit = off")
        members = read_rows(
            using,
            members_sql(vendor, with_ids=with_ids, with_prefix=with_prefix, income_items=income_items),
            params,
            member_schema,
            copy=copy,
        )
        households = read_rows(
            using,
            households_sql(vendor, with_ids=with_ids, with_prefix=with_prefix),
            params,
            HOUSEHOLD_SCHEMA,
            copy=copy,
        )
        population = _complete(members, households)
        # The assistance statuses in force, from the same snapshot (rules.standing).
        from minzheng.rules.standing import apply_standing, statuses_on

        return apply_standing(
            population,
            statuses_on(
                day,
                household_ids=population.households["household_id"].to_list() if with_ids else None,
                person_ids=population.members["member_id"].to_list() if with_ids else None,
                for_rules=True,
                using=using,
            ),
        )


def _complete(members: pl.DataFrame, households: pl.DataFrame) -> Population:
    """The frames of two reads (members, households) sorted, reduced to what both saw (the two
    statements may see different snapshots under READ COMMITTED), with the defaults."""
    # Sorted here rather than by the database: a sort of millions of rows is several times faster.
    members = members.sort("household_id", "member_id")
    households = households.sort("household_id")
    members = members.filter(pl.col("household_id").is_in(households["household_id"].implode()))
    households = households.filter(pl.col("household_id").is_in(members["household_id"].implode()))
    return with_defaults(members, households)


def with_defaults(members: pl.DataFrame, households: pl.DataFrame) -> Population:
    """Consistent, sorted frames with the columns the registry does not hold (see the module docstring)."""
    members = members.with_columns(
        pl.col("serious_illness").cast(pl.Boolean),
        pl.col("in_school_full_time").cast(pl.Boolean),
        *(pl.lit(value, dtype=dtype).alias(name) for name, (value, dtype) in MEMBER_DEFAULTS.items()),
    )
    households = households.with_columns(
        *(pl.lit(value, dtype=dtype).alias(name) for name, (value, dtype) in HOUSEHOLD_DEFAULTS.items())
    )
    return Population(members, households)


def facts_from_frames(
    members: pl.DataFrame, households: pl.DataFrame, day: date
) -> dict[int, HouseholdFacts]:
    """HouseholdFacts for every household of the frames (read_population's), for the single path.
    With an income_items column the facts list every income item in force by category (counted or
    not, for the explanation); without it, one counted item ("other") per member carries the sum."""
    by_household: dict[int, list[dict[str, Any]]] = {}
    has_items = "income_items" in members.columns
    for row in members.iter_rows(named=True):
        if has_items:
            incomes = _income_items(row["income_items"], row["counted_income_fen"], row["member_id"])
        else:
            incomes = [("other", row["counted_income_fen"])] if row["counted_income_fen"] else []
        by_household.setdefault(row["household_id"], []).append(
            {
                "id": str(row["member_id"]),
                "birth_date": row["birth_date"],
                "disability": {"category": row["disability_category"], "grade": row["disability_grade"]}
                if row["disability_category"] is not None
                else None,
                "serious_illness": row["serious_illness"],
                "labour_capacity": row["labour_capacity"],
                "self_care": row["self_care"],
                "in_school_full_time": row["in_school_full_time"],
                "incomes": [{"category": c, "monthly_amount": str(from_fen(a))} for c, a in incomes],
                "has_able_supporter": row["has_able_supporter"],
                "support_mode": row["support_mode"],
                "extreme_poverty_supported": row["extreme_poverty_supported"],
                "child_status": row["child_status"],
                "child_care": row["child_care"],
                "other_child_payments": str(from_fen(row["other_child_payments_fen"])),
            }
        )
    return {
        row["household_id"]: HouseholdFacts.model_validate(
            {
                "region": row["region"],
                "area": row["area"],
                "date": day,
                "members": by_household[row["household_id"]],
                "rigid_expenses": str(from_fen(row["rigid_expenses_fen"])),
                "financial_assets": str(from_fen(row["financial_assets_fen"])),
                "household_status": row["household_status"],
            }
        )
        for row in households.iter_rows(named=True)
    }


def _income_items(text: str | None, counted_fen: int, member_id: object) -> list[tuple[str, int]]:
    items = []
    for part in (text or "").split(","):
        if part:
            category, _, amount = part.partition(":")
            items.append((category, int(amount)))
    if sum(a for c, a in items if c not in EXCLUDED_INCOME) != counted_fen:
        # IncomeItem.counted is set from the category by the registry service; a row that disagrees
        # would make the single path and the bulk path count different incomes.
        raise Conflict(f"成员{member_id}的收入登记中“是否计入”与收入类别不一致，请核对收入记录")
    return items


def household_facts(household: Household | int, day: date, *, using: str = "default") -> HouseholdFacts:
    """One household's facts on `day`, read by the same statements as the population (restricted
    to this household), for engine.calculate."""
    household_id = household.pk if isinstance(household, Household) else int(household)
    population = read_population(day, household_ids=[household_id], using=using, income_items=True)
    if population.households.is_empty():
        raise InvalidInput(
            f"该家庭在{day:%Y年%m月%d日}没有登记在册的成员",
            field_errors={"date": ["测算日期早于家庭成员登记日期"]},
        )
    return facts_from_frames(population.members, population.households, day)[household_id]
