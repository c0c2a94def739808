"""Assistance status (救助身份) as data: who is a dibao household, a person in extreme-poverty support,
a near-poor household, an orphan, a de-facto unsupported child or a severely disabled person, over
which dates — derived in the database from decisions, enrolments and the registry, never typed in.

One statement (`statuses_sql`) defines every status; everything that needs one reads it: the household
page and API (`statuses_of`), the single calculation of a case and the population read of what-if
(`apply_standing` over `population.read_population`), and the payroll's recalculation. So a rule keyed
on a status (the disability living subsidy for dibao households, no care subsidy beside the care
standard of extreme-poverty support, the child allowance topped up against other payments) sees the
same status whichever path calculates it.

Where each status comes from (a row is in force on day D when valid_from <= D <= valid_until or open):
- dibao (household) and extreme_poverty (household, and the supported person): an approved monthly
  decision of that programme, from the first day of the month it was decided in (the month before its
  start month) until the day before its enrolment's end month (stopped, or the end of a gradual exit),
  open while not ended. Suspension does not end the status. An enrolment without such a decision
  (brought in from an earlier system) gives the status the same way from its own start month.
- near_poor (household): a dibao decision whose calculation found the household near-poor
  (低保边缘: not eligible, income below the near-poor multiple of the standard), for NEAR_POOR_MONTHS
  from the calculation day.
- orphan / unsupported_child (person): the registry's `ChildStatus` records, with their evidence.
- severely_disabled (person): a disability certificate in force of grade 1-2, or grade 3 intellectual
  or mental (民发〔2021〕57号).

The tables are read by name: cases and payments sit above the rules in the import layers, but the
database holds them all, and this one statement is the place that joins them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from django.db import connections
from django.utils.translation import gettext_lazy as _

from minzheng.registry.models import Person
from minzheng.rules import bulk
from minzheng.rules.population import Population, read_rows

# A near-poor finding stands for a year, as the rigid-expense hardship one does (DOMAIN.md §6), unless
# a later decision says otherwise.
NEAR_POOR_MONTHS = 12

LABELS = {
    "dibao": _("最低生活保障家庭"),
    "extreme_poverty": _("特困供养人员"),
    "near_poor": _("低保边缘家庭"),
    "orphan": _("孤儿"),
    "unsupported_child": _("事实无人抚养儿童"),
    "severely_disabled": _("重度残疾人"),
}
SOURCES = {
    "decision": _("审批决定"),
    "enrolment": _("在保发放"),
    "child_status": _("孤儿、事实无人抚养儿童认定"),
    "disability": _("残疾人证"),
}
# The household's status as the rules read it: the strongest status of the household or a member.
HOUSEHOLD_ORDER = ("extreme_poverty", "dibao", "near_poor")

SCHEMA: dict[str, pl.DataType] = {
    "status": pl.String(),
    "household_id": pl.Int64(),
    "person_id": pl.Int64(),
    "valid_from": pl.Date(),
    "valid_until": pl.Date(),
    "source": pl.String(),
    "source_id": pl.Int64(),
    "care": pl.String(),
    "other_fen": pl.Int64(),
}


def _month_before(vendor: str, expression: str) -> str:
    if vendor == "postgresql":
        return f"CAST({expression} - INTERVAL '1 month' AS DATE)"
    return f"date({expression}, '-1 month')"


def _day_before(vendor: str, expression: str) -> str:
    return f"({expression} - 1)" if vendor == "postgresql" else f"date({expression}, '-1 day')"


def _months_later_less_a_day(vendor: str, expression: str, months: int) -> str:
    if vendor == "postgresql":
        return f"CAST({expression} + INTERVAL '{months} months' - INTERVAL '1 day' AS DATE)"
    return f"date({expression}, '+{months} months', '-1 day')"


def statuses_sql(vendor: str, *, households: str = "", persons: str = "", for_rules: bool = False) -> str:
    """Every status row (SCHEMA's columns), in force or not: the one definition. `households` and
    `persons` (SQL conditions such as "IN (SELECT ...)", both or neither) restrict each branch to
    rows of those households or persons, so that a read for a few households uses the indexes."""
    by_household = by_person = enrolled = ""
    if households:
        # A decision's or enrolment's statuses are found through its household (a supported person
        # is a member of it), by the household indexes.
        by_household = f"AND cs.household_id {households}"
        enrolled = f"AND e.household_id {households}"
        by_person = f"AND {{alias}}.person_id {persons}"
    status_of_calculation = (
        "c.result ->> 'status'" if vendor == "postgresql" else "json_extract(c.result, '$.status')"
    )
    # Extreme-poverty support at home or in an institution, as the case recorded it (cases.care).
    support_mode = (
        "cs.details ->> 'support_mode'"
        if vendor == "postgresql"
        else "json_extract(cs.details, '$.support_mode')"
    )
    disability = (
        ""
        if for_rules
        else f"""
    UNION ALL
    SELECT 'severely_disabled', NULL, r.person_id, r.valid_from, r.valid_until, 'disability', r.id, NULL, NULL
    FROM registry_disability r
    WHERE (r.grade <= 2 OR (r.grade = 3 AND r.category IN ('intellectual', 'mental')))
      {by_person.format(alias="r")}"""  # noqa: S608
    )
    return f"""
    SELECT c.programme AS status, cs.household_id,
           CASE WHEN c.programme = 'extreme_poverty' THEN cs.applicant_id END AS person_id,
           {_month_before(vendor, "d.start_month")} AS valid_from,
           {_day_before(vendor, "e.end_month")} AS valid_until,
           'decision' AS source, d.case_id AS source_id,
           CAST(CASE WHEN c.programme = 'extreme_poverty' THEN {support_mode} END AS VARCHAR(16)) AS care,
           CAST(NULL AS BIGINT) AS other_fen
    FROM cases_decision d
    JOIN cases_case cs ON cs.id = d.case_id
    JOIN rules_calculation c ON c.id = d.calculation_id
    LEFT JOIN payments_enrolment e ON e.case_id = d.case_id
    WHERE d.outcome = 'approved' AND d.start_month IS NOT NULL AND cs.household_id IS NOT NULL
      AND c.programme IN ('dibao', 'extreme_poverty') {by_household}
    UNION ALL
    SELECT e.programme, e.household_id, CASE WHEN e.programme = 'extreme_poverty' THEN e.payee_id END,
           {_month_before(vendor, "e.start_month")}, {_day_before(vendor, "e.end_month")},
           'enrolment', e.case_id,
           CASE WHEN e.programme = 'extreme_poverty'
                THEN (SELECT {support_mode} FROM cases_case cs WHERE cs.id = e.case_id) END,
           NULL
    FROM payments_enrolment e
    WHERE e.programme IN ('dibao', 'extreme_poverty') {enrolled} AND NOT EXISTS (
        SELECT 1 FROM cases_decision d WHERE d.case_id = e.case_id AND d.outcome = 'approved'
          AND d.start_month IS NOT NULL AND d.calculation_id IS NOT NULL)
    UNION ALL
    SELECT 'near_poor', cs.household_id, NULL, c.on_date,
           {_months_later_less_a_day(vendor, "c.on_date", NEAR_POOR_MONTHS)},
           'decision', d.case_id, NULL, NULL
    FROM cases_decision d
    JOIN cases_case cs ON cs.id = d.case_id
    JOIN rules_calculation c ON c.id = d.calculation_id
    WHERE c.programme = 'dibao' AND {status_of_calculation} = 'near_poor' AND cs.household_id IS NOT NULL
      {by_household}
    UNION ALL
    SELECT CASE WHEN k.kind = 'orphan' THEN 'orphan' ELSE 'unsupported_child' END, NULL, k.person_id,
           k.valid_from, k.valid_until, 'child_status', k.id, k.care,
           CAST(ROUND(k.other_payments * 100) AS BIGINT)
    FROM registry_childstatus k WHERE TRUE {by_person.format(alias="k")}{disability}"""  # noqa: S608


def in_force_sql(vendor: str, *, households: str = "", persons: str = "") -> str:
    """The status rows in force on %(day)s: all, or those of the households and persons the SQL
    conditions name (see statuses_sql)."""
    where = "s.valid_from <= %(day)s AND (s.valid_until IS NULL OR s.valid_until >= %(day)s)"
    inner = statuses_sql(vendor, households=households, persons=persons)
    return f"SELECT * FROM ({inner}) s WHERE {where}"  # noqa: S608 (constant SQL)


def _ids_sql(vendor: str, param: str, column: str) -> str:
    if vendor == "postgresql":
        return f"SELECT unnest(CAST(%({param})s AS BIGINT[])) AS {column}"
    return f"SELECT value AS {column} FROM json_each(%({param})s)"  # noqa: S608 (constant names)


def _in_force_sql(
    vendor: str, *, restricted: bool, persons_listed: bool = False, for_rules: bool = False
) -> str:
    """The rows in force on %(day)s; `restricted`: only those of the households in %(ids)s (by
    household, or by a person who is a member of one on the day: those in %(persons)s when
    `persons_listed`, else found through the memberships). `for_rules`: only the statuses the rules
    read (a severe disability is a fact the rules take from the certificate itself)."""
    where = "s.valid_from <= %(day)s AND (s.valid_until IS NULL OR s.valid_until >= %(day)s)"
    if for_rules:
        where += " AND s.status <> 'severely_disabled'"
    if not restricted:
        return f"SELECT * FROM ({statuses_sql(vendor)}) s WHERE {where}"  # noqa: S608
    materialized = "MATERIALIZED" if vendor == "postgresql" else ""
    scoped = statuses_sql(
        vendor,
        households="IN (SELECT household_id FROM status_ids)",
        persons="IN (SELECT person_id FROM status_members)",
        for_rules=for_rules,
    )
    members = (
        _ids_sql(vendor, "persons", "person_id")
        if persons_listed
        else """SELECT m.person_id FROM registry_membership m
        WHERE m.household_id IN (SELECT household_id FROM status_ids)
          AND m.start_date <= %(day)s AND (m.end_date IS NULL OR m.end_date >= %(day)s)"""
    )
    return f"""WITH status_ids AS {materialized} ({_ids_sql(vendor, "ids", "household_id")}),
    status_members AS {materialized} ({members})
    SELECT * FROM ({scoped}) s WHERE {where}"""  # noqa: S608


def statuses_on(
    day: date,
    *,
    household_ids: Sequence[int] | None = None,
    person_ids: Sequence[int] | None = None,
    for_rules: bool = False,
    using: str = "default",
) -> pl.DataFrame:
    """The status rows in force on `day` (SCHEMA), of the households listed (or all) and, if given,
    their members `person_ids` (saves looking the memberships up); `for_rules`: those the rules read."""
    connection = connections[using]
    vendor = connection.vendor
    params: dict[str, Any] = {"day": day}
    restricted = household_ids is not None
    if restricted:
        ids = [int(i) for i in household_ids or ()]
        if not ids:
            return pl.DataFrame(schema=SCHEMA)
        params["ids"] = ids if vendor == "postgresql" else json.dumps(ids)
        if person_ids is not None:
            persons = [int(i) for i in person_ids]
            params["persons"] = persons if vendor == "postgresql" else json.dumps(persons)
    sql = _in_force_sql(
        vendor,
        restricted=restricted,
        persons_listed=restricted and person_ids is not None,
        for_rules=for_rules,
    )
    copy = not restricted or len(params["ids"]) > 1000
    return read_rows(using, sql, params, SCHEMA, copy=copy)


def apply_standing(population: Population, statuses: pl.DataFrame) -> Population:
    """The frames with the columns a status gives (`statuses`: rows in force on the frames' day, of
    at least their households): household_status (the strongest of the household's and its
    members' statuses), each member's extreme_poverty_supported, child_status, child_care and
    other_child_payments_fen, and a supported person's support_mode. Set-based: joins, no loop."""
    members, households = population
    person_rows = statuses.filter(pl.col("person_id").is_not_null())
    supported = person_rows.filter(pl.col("status") == "extreme_poverty")["person_id"].unique()
    # The form of support of a supported person: at home or in an institution, as decided.
    modes = (
        person_rows.filter(
            (pl.col("status") == "extreme_poverty") & pl.col("care").is_in(["home", "institutional"])
        )
        .sort("valid_from", descending=True)
        .unique(subset="person_id", keep="first")
        .select(pl.col("person_id").alias("member_id"), pl.col("care").alias("_support_mode"))
    )
    child = (
        person_rows.filter(pl.col("status").is_in(["orphan", "unsupported_child"]))
        .sort("valid_from", descending=True)
        .unique(subset="person_id", keep="first")
        .select(
            pl.col("person_id").alias("member_id"),
            pl.when(pl.col("status") == "orphan")
            .then(pl.lit("orphan"))
            .otherwise(pl.lit("unsupported"))
            .alias("_child_status"),
            pl.col("care").alias("_child_care"),
            pl.col("other_fen").alias("_other_fen"),
        )
    )
    members = (
        members.join(child, on="member_id", how="left")
        .join(modes, on="member_id", how="left")
        .with_columns(
            pl.coalesce(pl.col("_support_mode"), pl.col("support_mode").cast(pl.String))
            .cast(bulk.SUPPORT_MODE)
            .alias("support_mode"),
            (pl.col("extreme_poverty_supported") | pl.col("member_id").is_in(supported.implode())).alias(
                "extreme_poverty_supported"
            ),
            pl.coalesce(pl.col("_child_status"), pl.col("child_status").cast(pl.String))
            .cast(bulk.CHILD_STATUS)
            .alias("child_status"),
            pl.coalesce(pl.col("_child_care"), pl.col("child_care").cast(pl.String))
            .cast(bulk.CHILD_CARE)
            .alias("child_care"),
            pl.coalesce(pl.col("_other_fen"), pl.col("other_child_payments_fen")).alias(
                "other_child_payments_fen"
            ),
        )
        .drop("_child_status", "_child_care", "_other_fen", "_support_mode")
    )
    # A household's statuses: its own rows, and its members' (a supported person makes the
    # household one in extreme-poverty support for every rule keyed on it).
    by_person = person_rows.join(
        members.select(pl.col("member_id").alias("person_id"), "household_id"),
        on="person_id",
        how="inner",
        suffix="_member",
    ).select(pl.col("household_id_member").alias("household_id"), "status")
    rank = {name: i for i, name in enumerate(HOUSEHOLD_ORDER)}
    strongest = (
        pl.concat(
            [
                statuses.filter(pl.col("household_id").is_not_null()).select("household_id", "status"),
                by_person,
            ]
        )
        .filter(pl.col("status").is_in(list(HOUSEHOLD_ORDER)))
        .with_columns(pl.col("status").replace_strict(rank, return_dtype=pl.Int8).alias("_rank"))
        .sort("_rank")
        .unique(subset="household_id", keep="first")
        .select("household_id", pl.col("status").alias("_standing"))
    )
    households = (
        households.join(strongest, on="household_id", how="left")
        .with_columns(
            pl.coalesce(pl.col("_standing"), pl.col("household_status").cast(pl.String))
            .cast(bulk.HOUSEHOLD_STATUS)
            .alias("household_status")
        )
        .drop("_standing")
    )
    return Population(members, households)


def with_standing(population: Population, day: date, *, using: str = "default") -> Population:
    """`apply_standing` with the statuses read for the frames' households on `day`."""
    ids = population.households["household_id"].to_list()
    persons = population.members["member_id"].to_list()
    return apply_standing(
        population, statuses_on(day, household_ids=ids, person_ids=persons, for_rules=True, using=using)
    )


# --- For people to read --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    status: str
    label: str
    person_id: int | None
    person_name: str
    valid_from: date
    valid_until: date | None
    source: str
    source_id: int


def statuses_of(household_id: int, *, on: date, using: str = "default") -> list[StatusRow]:
    """The statuses of one household and of its members on `on`, for its page and the API (the
    caller checked the household is in scope)."""
    frame = statuses_on(on, household_ids=[household_id], using=using)
    ids = [int(i) for i in frame["person_id"].drop_nulls().unique()]
    names = dict(Person.objects.using(using).filter(pk__in=ids).values_list("pk", "name"))
    return [
        StatusRow(
            row["status"],
            str(LABELS[row["status"]]),
            row["person_id"],
            names.get(row["person_id"], ""),
            row["valid_from"],
            row["valid_until"],
            row["source"],
            row["source_id"],
        )
        for row in frame.sort("status", "person_id", nulls_last=False).iter_rows(named=True)
    ]
