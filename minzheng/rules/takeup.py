"""Take-up gap (应保尽保, 主动发现): the households of a county that the rules say qualify for a monthly
programme they neither receive nor have applied for, kept in the database as a worklist for village
assistants and township offices to visit, and the start of an application from it.

A scan of county C on day D (`takeup_scan`): steps 1-3 read one snapshot, step 4 writes in one
transaction:
1. the registry's facts of every household of C on D, from the facts summary (`rules.summary`), with
   the assistance statuses in force (`rules.standing`), as the payroll reads them;
2. the bulk engine (`rules.bulk`) for every monthly programme it computes (dibao, extreme poverty,
   elderly allowance, disability subsidies, child allowance): a household qualifies for a programme
   when it is eligible with a monthly amount above 0;
3. minus what is known already — a household *receives* a programme when it holds an enrolment of
   it that is not terminated (active, suspended or in gradual exit, started or to start) or, for dibao
   and extreme poverty, the status `rules.standing` derives from decisions and enrolments; it *has
   applied* when a case of one of the programme's service items is open (not closed). Dibao and
   extreme-poverty support are the two alternatives for basic living: a household holding either is
   not listed for the other (a re-review decides a change, not active discovery);
4. the rest written as `TakeUpGap` rows with the figures that say so (members, counted income, per
   capita, the dibao standard of its county and area, rigid expenses and financial assets), with
   `write_frame` (COPY on PostgreSQL); the scan row keeps the counts and every parameter value read.
A new scan of C deletes the open gaps of C's earlier scans (the rows nobody took up) in the same
transaction; gaps taken up stay (a case's details point to them) and so do the earlier scan rows,
as the history of what each scan found.

Cases and payments sit above the rules in the import layers: their tables are read by name here (as
`rules.standing` does), and the application is started through an intake function the caller passes
(`cases.services.case_intake`), so that the gap is marked in the same transaction as the case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import polars as pl
from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, OutOfScope
from minzheng.core.frames import read_frame, write_frame
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require
from minzheng.registry.circumstances import ChildStatus
from minzheng.registry.models import Household, Membership, Person
from minzheng.rules import bulk
from minzheng.rules.models import TakeUpGap, TakeUpScan
from minzheng.rules.money import from_fen, to_fen
from minzheng.rules.policy import PolicyError, PolicyTable
from minzheng.rules.population import Population
from minzheng.rules.selectors import policy_table
from minzheng.rules.standing import apply_standing, statuses_on
from minzheng.rules.summary import population_of, read_summary_rows, refresh

# The service items an application for each programme is made under (minzheng/catalogue/items),
# the first being the one started unless the worker chooses another.
PROGRAMME_ITEMS: dict[str, tuple[str, ...]] = {
    "dibao": ("dibao",),
    "extreme_poverty": ("extreme_poverty",),
    "elderly_allowance": ("elderly_allowance",),
    "disability_subsidy": ("disability_living", "disability_care"),
    "child_allowance": ("orphan", "unsupported_child"),
}
# Basic-living programmes: receiving one rules out being listed for the other (module docstring).
BASIC_LIVING = ("dibao", "extreme_poverty")
# Enrolment statuses that mean the household receives the programme (all but terminated).
KNOWN_ENROLMENT = ("active", "suspended", "exiting")
# Recorded in the case's details: where the application came from (主动发现).
SOURCE = "active_discovery"
# pg_advisory_xact_lock(LOCK_SPACE, county): one scan of a county at a time.
LOCK_SPACE = 6_402_021


class TakeUpAction(StrEnum):
    """The audit actions of the take-up worklist."""

    SCAN = "rules.takeup_scan"
    TAKE_UP = "rules.takeup_gap_take_up"


GAP_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "programme": pl.String(),
}


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# An open case of a household for any item of a monthly programme (checked again when a row is taken
# up: the scan may be older than an application made since).
OPEN_CASE_SQL = f"""SELECT cs.number FROM cases_case cs JOIN catalogue_serviceitem i ON i.id = cs.item_id
    WHERE cs.household_id = %s AND cs.closed_at IS NULL
      AND i.code IN {_sql_list([c for items in PROGRAMME_ITEMS.values() for c in items])}"""  # noqa: S608 (constant SQL)
_PROGRAMME_OF_ITEM = " ".join(
    f"WHEN i.code IN {_sql_list(items)} THEN '{p}'" for p, items in PROGRAMME_ITEMS.items()
)
# Received (an enrolment not terminated, not ended by the day; dibao and extreme-poverty enrolments
# are read as the statuses they give, rules.standing) or applied for (an open case of one of the
# programme's items), for the households registered in the county: division codes are digits, so
# the county's are the range [county, county + ":").
KNOWN_SQL = f"""SELECT e.household_id, e.programme FROM payments_enrolment e
    JOIN registry_household h ON h.id = e.household_id
    WHERE h.division_id >= %(low)s AND h.division_id < %(high)s
      AND e.programme NOT IN {_sql_list(BASIC_LIVING)}
      AND e.status IN {_sql_list(KNOWN_ENROLMENT)} AND (e.end_month IS NULL OR e.end_month > %(day)s)
    UNION
    SELECT cs.household_id, CASE {_PROGRAMME_OF_ITEM} END
    FROM cases_case cs JOIN catalogue_serviceitem i ON i.id = cs.item_id
    JOIN registry_household h ON h.id = cs.household_id
    WHERE cs.closed_at IS NULL AND h.division_id >= %(low)s AND h.division_id < %(high)s
      AND i.code IN {_sql_list([c for items in PROGRAMME_ITEMS.values() for c in items])}"""  # noqa: S608 (constant SQL)


def _county_of(actor: Staff, county: str) -> str:
    if not (county.isdigit() and len(county) == 6):
        raise InvalidInput("县（市、区）代码应为6位数字", field_errors={"county": ["格式不正确"]})
    prefix = jurisdiction_of(actor).prefix
    if not county.startswith(prefix) or len(prefix) > 6:
        raise OutOfScope("只能排查本机构管辖的县（市、区）")
    return county


def _lock(county: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, int(county)])


def takeup_scan(
    *, actor: Staff, county: str, day: date, programmes: Sequence[str] = bulk.MONTHLY_PROGRAMMES
) -> TakeUpScan:
    """Scan county `county` (6 digits) on `day` (module docstring): one transaction; the county's
    earlier open gaps are replaced."""
    require(actor, Perm.MONITORING_MANAGE)
    county = _county_of(actor, county)
    unknown = sorted(set(programmes) - set(bulk.MONTHLY_PROGRAMMES))
    if unknown or not programmes:
        raise InvalidInput(
            "只能排查按月发放、按户计算的项目", field_errors={"programmes": unknown or ["请选择项目"]}
        )
    wanted = [p for p in bulk.MONTHLY_PROGRAMMES if p in programmes]
    started = timezone.now()
    # The summary is refreshed before the transaction whose snapshot then reads it (as the payroll).
    refresh()
    outermost = not connection.in_atomic_block
    # Read: one snapshot of the registry, statuses, enrolments and cases (REPEATABLE READ, read only).
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '256MB'")
        gaps, households, parameters = find_gaps(
            county=county, day=day, programmes=wanted, table=policy_table()
        )
    # Write: the county's open rows replaced, the scan and its audit event, in one transaction of its
    # own (READ COMMITTED: the audit chain's head, which every change writes, is not held for the
    # read, nor refused as changed since a snapshot taken before it).
    with transaction.atomic():
        _lock(county)
        with connection.cursor() as cursor:
            cursor.execute(
                """DELETE FROM rules_takeupgap WHERE taken_up_at IS NULL
                AND scan_id IN (SELECT id FROM rules_takeupscan WHERE county = %s)""",
                [county],
            )
            replaced = max(cursor.rowcount, 0)
        counts = dict.fromkeys(wanted, 0)
        for row in gaps.group_by("programme").len().iter_rows(named=True):
            counts[row["programme"]] = int(row["len"])
        scan = TakeUpScan.objects.create(
            county=county,
            day=day,
            programmes=wanted,
            started_at=started,
            households=households,
            gaps=gaps.height,
            by_programme=counts,
            parameters=parameters,
            created_by=actor,
        )
        write_frame(
            "rules_takeupgap",
            gaps.with_columns(
                pl.lit(scan.pk, dtype=pl.Int64).alias("scan_id"), pl.lit("").alias("case_number")
            ),
        )
        scan.finished_at = timezone.now()
        scan.save(update_fields=["finished_at"])
        audit_record(
            actor=actor,
            action=TakeUpAction.SCAN,
            object_type="rules.takeupscan",
            object_id=scan.pk,
            scope_code=f"{county}000000",
            after={
                "county": county,
                "day": day,
                "programmes": wanted,
                "households": households,
                "gaps": gaps.height,
                "by_programme": counts,
                "replaced_open_gaps": replaced,
            },
        )
    if outermost and connection.vendor == "postgresql":
        # Committed: the visibility map set now (not when autovacuum comes round), so the worklists'
        # counts per village read the covering index alone (bench/README.md). Not possible inside
        # a caller's transaction.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) rules_takeupgap")
    return scan


def find_gaps(
    *, county: str, day: date, programmes: Sequence[str], table: PolicyTable
) -> tuple[pl.DataFrame, int, list[dict[str, Any]]]:
    """The gap rows of the county on the day (the columns of rules_takeupgap but scan_id), the number
    of households scanned and the parameter values read. Reads in the caller's transaction."""
    rows = read_summary_rows(day, division_prefix=county, refresh_first=False)
    if rows.is_empty():
        return pl.DataFrame(schema=_ROW_SCHEMA), 0, []
    statuses = statuses_on(day, for_rules=True)
    population = apply_standing(population_of(rows), statuses)
    members, households = population
    result = bulk.calculate(members, households, table, day=day, programmes=programmes)
    qualifying = pl.concat(
        [
            result.filter(pl.col(f"{p}_eligible") & (pl.col(f"{p}_amount_fen") > 0)).select(
                "household_id",
                pl.lit(p).alias("programme"),
                pl.col(f"{p}_amount_fen").cast(pl.Int64).alias("amount_fen"),
            )
            for p in programmes
        ]
    )
    pairs, basic_living = _known(county, day, population, statuses)
    gaps = qualifying.join(pairs, on=["household_id", "programme"], how="anti").filter(
        ~(pl.col("programme").is_in(BASIC_LIVING) & pl.col("household_id").is_in(basic_living.implode()))
    )
    figures = _figures(population, table, day)
    frame = (
        gaps.join(figures, on="household_id", how="inner")
        .select(list(_ROW_SCHEMA))
        .cast(dict(_ROW_SCHEMA.items()))  # type: ignore[arg-type]
        .sort("division_code", "household_id", "programme")
    )
    used = bulk.parameters_used(households, table, day=day, programmes=programmes)
    return frame, households.height, used.to_dicts()


_ROW_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "division_code": pl.String(),
    "programme": pl.String(),
    "amount_fen": pl.Int64(),
    "members": pl.Int32(),
    "income_fen": pl.Int64(),
    "per_capita_income_fen": pl.Int64(),
    "standard_fen": pl.Int64(),
    "rigid_expenses_fen": pl.Int64(),
    "financial_assets_fen": pl.Int64(),
}


def _known(
    county: str, day: date, population: Population, statuses: pl.DataFrame
) -> tuple[pl.DataFrame, pl.Series]:
    """What is received or applied for (module docstring, step 3): the (household_id, programme)
    pairs of the other programmes' enrolments and of open cases, and the households holding a
    basic-living programme (a dibao or extreme-poverty status, or an open case of either)."""
    params = {"low": county, "high": f"{county}:", "day": day}
    pairs = read_frame(KNOWN_SQL, params, GAP_SCHEMA)
    members = population.members.select(pl.col("member_id").alias("person_id"), "household_id")
    basic = statuses.filter(pl.col("status").is_in(BASIC_LIVING))
    holding = pl.concat(
        [
            basic.filter(pl.col("household_id").is_not_null()).select("household_id"),
            basic.filter(pl.col("person_id").is_not_null())
            .select("person_id")
            .join(members, on="person_id")
            .select("household_id"),
            pairs.filter(pl.col("programme").is_in(BASIC_LIVING)).select("household_id"),
        ]
    )["household_id"].unique()
    return pairs, holding


def _figures(population: Population, table: PolicyTable, day: date) -> pl.DataFrame:
    """Per household: village, members, counted income, per capita (fen, half up), the dibao standard
    of its county and area (null where none is in force), rigid expenses and financial assets."""
    members, households = population
    sums = members.group_by("household_id").agg(
        pl.len().cast(pl.Int64).alias("members"), pl.col("counted_income_fen").sum().alias("income_fen")
    )
    standards = _standards(households, table, day)
    frame = (
        households.select(
            "household_id",
            pl.col("region").cast(pl.String).alias("division_code"),
            pl.col("area").cast(pl.String).alias("area"),
            "rigid_expenses_fen",
            "financial_assets_fen",
        )
        .join(sums, on="household_id")
        .with_columns(pl.col("division_code").str.slice(0, 6).alias("county"))
        .join(standards, on=["county", "area"], how="left")
    )
    # Half up, as the rules round (rules.money): income >= 0, members > 0.
    return frame.with_columns(
        ((pl.col("income_fen") * 2 + pl.col("members")) // (pl.col("members") * 2)).alias(
            "per_capita_income_fen"
        )
    )


def _standards(households: pl.DataFrame, table: PolicyTable, day: date) -> pl.DataFrame:
    schema = {"county": pl.String(), "area": pl.String(), "standard_fen": pl.Int64()}
    pairs = households.select(
        pl.col("region").cast(pl.String).str.slice(0, 6).alias("county"), pl.col("area").cast(pl.String)
    ).unique()
    rows = []
    for county, area in pairs.iter_rows():
        standard = None
        with suppress(PolicyError):  # no standard in force there: shown as none
            standard = to_fen(table.lookup("dibao.standard", day, county, area).value)
        rows.append((county, area, standard))
    return pl.DataFrame(rows, schema=schema, orient="row")


# --- Worklists --------------------------------------------------------------------------------------


def _prefix_of(actor: Staff, division: str) -> str:
    """The division prefix a worklist covers: the actor's jurisdiction, or within it the division
    given (a village's or township's 12-digit code)."""
    own = jurisdiction_of(actor).prefix
    if not division:
        return own
    found = Division.objects.filter(code=division).first()
    if found is None or not found.prefix.startswith(own):
        raise NotFound("没有找到该区划")
    return str(found.prefix)


def takeup_gaps(
    *, actor: Staff, division: str = "", programme: str = "", taken_up: bool = False
) -> QuerySet[TakeUpGap]:
    """The gaps in the actor's jurisdiction (or a village or township within it): open ones, or
    with `taken_up` those an application was started for; by village and household."""
    require(actor, Perm.MONITORING_VIEW)
    if programme and programme not in bulk.MONTHLY_PROGRAMMES:
        raise InvalidInput("未知的救助项目", field_errors={"programme": ["无效"]})
    prefix = _prefix_of(actor, division)
    if not actor.is_active:
        return TakeUpGap.objects.none()
    gaps = TakeUpGap.objects.filter(
        division_code__gte=prefix, division_code__lt=f"{prefix}:", taken_up_at__isnull=not taken_up
    )
    if programme:
        gaps = gaps.filter(programme=programme)
    return gaps.select_related("household", "household__head").order_by(
        "division_code", "household_id", "programme"
    )


@dataclass(frozen=True)
class DivisionCount:
    code: str
    name: str
    households: int
    gaps: int
    monthly_fen: int

    @property
    def monthly_amount(self) -> Decimal:
        return from_fen(self.monthly_fen)


def takeup_summary(*, actor: Staff, programme: str = "") -> tuple[list[DivisionCount], list[DivisionCount]]:
    """The open gaps of the actor's jurisdiction per township and per village: (townships, villages)."""
    gaps = takeup_gaps(actor=actor, programme=programme)
    by_village = list(
        gaps.order_by()
        .values("division_code")
        .annotate(n=Count("*"), households=Count("household_id", distinct=True), fen=Sum("amount_fen"))
        .order_by("division_code")
    )
    townships: dict[str, list[int]] = {}
    for row in by_village:
        totals = townships.setdefault(f"{row['division_code'][:9]}000", [0, 0, 0])
        totals[0] += row["households"]
        totals[1] += row["n"]
        totals[2] += row["fen"] or 0
    codes = [r["division_code"] for r in by_village] + list(townships)
    names = dict(Division.objects.filter(code__in=codes).values_list("code", "name"))
    return (
        [DivisionCount(c, names.get(c, c), t[0], t[1], t[2]) for c, t in sorted(townships.items())],
        [
            DivisionCount(
                r["division_code"],
                names.get(r["division_code"], r["division_code"]),
                r["households"],
                r["n"],
                r["fen"] or 0,
            )
            for r in by_village
        ],
    )


def takeup_gap_get(*, actor: Staff, gap_id: int) -> TakeUpGap:
    require(actor, Perm.MONITORING_VIEW)
    gap = TakeUpGap.objects.select_related("household", "scan").filter(pk=gap_id).first()
    if gap is None or not jurisdiction_of(actor).contains(gap.division_code) or not actor.is_active:
        raise NotFound("没有找到该条记录")
    return gap


def latest_scans(*, actor: Staff, limit: int = 10) -> QuerySet[TakeUpScan]:
    """The latest scans of the counties in (or containing) the actor's jurisdiction."""
    require(actor, Perm.MONITORING_VIEW)
    prefix = jurisdiction_of(actor).prefix
    scans = TakeUpScan.objects.filter(county__startswith=prefix[:6])
    return scans.order_by("-started_at", "-pk")[:limit]


# --- Take-up: an application started from a gap ---------------------------------------------------


class StartedCase(Protocol):
    @property
    def pk(self) -> Any: ...

    number: str


class Intake(Protocol):
    """What starts an application (cases.services.case_intake)."""

    def __call__(
        self,
        *,
        actor: Staff,
        item_code: str,
        household: Household,
        applicant: Person,
        channel: str,
        details: dict[str, Any] | None,
    ) -> StartedCase: ...


def default_item(gap: TakeUpGap, *, on: date | None = None) -> str:
    """The service item an application for the gap's programme is started under by default: for
    the child allowance, an orphan's item when a member is recorded as an orphan."""
    items = PROGRAMME_ITEMS[gap.programme]
    if gap.programme == "child_allowance":
        day = on or timezone.localdate()
        members = Membership.objects.filter(household_id=gap.household_id, end_date__isnull=True).values(
            "person_id"
        )
        orphan = (
            ChildStatus.objects.filter(person_id__in=members, kind="orphan", valid_from__lte=day)
            .exclude(valid_until__lt=day)
            .exists()
        )
        return "orphan" if orphan else "unsupported_child"
    return items[0]


@transaction.atomic
def takeup_gap_start(
    *,
    actor: Staff,
    gap_id: int,
    intake: Intake,
    channel: str,
    item_code: str = "",
    applicant_id: int | None = None,
    note: str = "",
) -> TakeUpGap:
    """Start an application (主动发现) for the gap's household and programme through `intake`, with
    its source recorded in the case's details, and mark the gap taken up; one transaction."""
    require(actor, Perm.MONITORING_VIEW)
    require(actor, Perm.CASE_INTAKE)
    gap = TakeUpGap.objects.select_for_update().filter(pk=gap_id).first()
    if gap is None or not jurisdiction_of(actor).contains(gap.division_code):
        raise NotFound("没有找到该条记录")
    if gap.taken_up_at is not None:
        raise Conflict(f"已对该家庭发起申请（受理编号 {gap.case_number}）")
    items = PROGRAMME_ITEMS[gap.programme]
    item_code = item_code or default_item(gap)
    if item_code not in items:
        raise InvalidInput("事项与救助项目不符", field_errors={"item_code": [f"应为：{'、'.join(items)}"]})
    with connection.cursor() as cursor:  # applied for since the scan: the row is out of date
        cursor.execute(OPEN_CASE_SQL, [gap.household_id])
        open_case = cursor.fetchone()
    if open_case is not None:
        raise Conflict(f"该家庭在排查后已有在办申请（受理编号 {open_case[0]}），请勿重复发起")
    household = Household.objects.get(pk=gap.household_id)
    applicant = Person.objects.filter(pk=applicant_id).first() if applicant_id is not None else household.head
    if applicant is None:
        raise InvalidInput("请选择申请人", field_errors={"applicant_id": ["该家庭没有户主，请选择申请人"]})
    scan = gap.scan
    details: dict[str, Any] = {
        "source": SOURCE,
        "takeup_gap": gap.pk,
        "takeup_scan": scan.pk,
        "programme": gap.programme,
        "calculated_monthly_amount": str(from_fen(gap.amount_fen)),
        "calculated_on": scan.day.isoformat(),
    }
    if note.strip():
        details["discovery_note"] = note.strip()[:300]
    case = intake(
        actor=actor,
        item_code=item_code,
        household=household,
        applicant=applicant,
        channel=channel,
        details=details,
    )
    gap.taken_up_at = timezone.now()
    gap.taken_up_by = actor
    gap.case_id = int(case.pk)
    gap.case_number = case.number
    gap.save(update_fields=["taken_up_at", "taken_up_by", "case_id", "case_number"])
    audit_record(
        actor=actor,
        action=TakeUpAction.TAKE_UP,
        object_type="rules.takeupgap",
        object_id=gap.pk,
        scope_code=gap.division_code,
        reason=details.get("discovery_note", ""),
        before={"taken_up": False},
        after={
            "taken_up": True,
            "household": gap.household_id,
            "programme": gap.programme,
            "item_code": item_code,
            "case": case.number,
        },
    )
    return gap


def figures_of(gap: TakeUpGap) -> Mapping[str, Decimal | int | None]:
    """The gap's figures in yuan, for pages and the API."""
    return {
        "monthly_amount": from_fen(gap.amount_fen),
        "members": gap.members,
        "income": from_fen(gap.income_fen),
        "per_capita_income": from_fen(gap.per_capita_income_fen),
        "standard": from_fen(gap.standard_fen) if gap.standard_fen is not None else None,
        "rigid_expenses": from_fen(gap.rigid_expenses_fen),
        "financial_assets": from_fen(gap.financial_assets_fen),
    }
