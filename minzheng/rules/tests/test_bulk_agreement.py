"""The bulk engine (rules/bulk.py) gives every household the same eligibility and amount, to the fen,
as the single-household path (engine.calculate), for random households and random what-if
overrides; and the registry read (rules/population.py) feeds both paths the same facts."""

from __future__ import annotations

import random
from calendar import isleap
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from itertools import product
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minzheng.core.errors import InvalidInput
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.circumstances import EXCLUDED_INCOME, IncomeCategory
from minzheng.registry.models import Household
from minzheng.registry.services import MemberInput, circumstance_record, household_create, person_move
from minzheng.registry.testing import resident_id
from minzheng.rules import bulk, engine
from minzheng.rules.facts import HouseholdFacts, Member, parse_facts, parse_overrides
from minzheng.rules.money import RATE_SCALE, from_fen, to_fen
from minzheng.rules.policy import ParameterView, shipped_policy
from minzheng.rules.population import household_facts, read_population
from minzheng.rules.tests.test_scenarios import load, scenario_files

TABLE = shipped_policy()
# Around the Huinong mid-year change (2025-07-01), 29 February and 1 March in common and leap years.
DAYS = (
    date(2025, 6, 30),
    date(2025, 7, 1),
    date(2025, 7, 2),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 11, 21),
    date(2028, 2, 28),
    date(2028, 2, 29),
    date(2028, 3, 1),
)
REGIONS = ("640202", "640205", "640202001001", "640202100201", "640205001001")
THRESHOLD_AGES = (0, 15, 16, 17, 18, 59, 60, 64, 65, 79, 80, 89, 90, 99, 100)
CATEGORIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
TOPUP_MODES = ("none", "per_capita_topup_percent", "standard_percent", "fixed")

OVERRIDES: dict[str, st.SearchStrategy[Any]] = {
    "dibao.standard": st.sampled_from(["650", "701.37", "333.33"]),
    "dibao.near_poor_multiple": st.sampled_from(["1.5", "1.25", "2.333333"]),
    "dibao.asset_limit_months": st.sampled_from(["24", "6"]),
    "dibao.payment_method": st.sampled_from(["top_up", "tiered"]),
    "dibao.tiers": st.sampled_from(
        [
            [{"min_gap": "0.8", "pay": "0.9"}, {"min_gap": "0.3", "pay": "0.333333"}],
            [
                {"min_gap": "0.5", "pay": "0.6"},
                {"min_gap": "0.5", "pay": "0.7"},
                {"min_gap": "0", "pay": "0.2"},
            ],
        ]
    ),
    "dibao.rigid_expense_deduction": st.sampled_from(["none", "full", "capped"]),
    "dibao.rigid_expense_cap": st.sampled_from(["123.45", "0"]),
    "dibao.elderly_age": st.sampled_from(["60", "65"]),
    "dibao.minor_age": st.sampled_from(["18", "16"]),
    **{
        f"dibao.topup.{c}.mode": st.sampled_from(TOPUP_MODES) for c in ("elderly", "minor", "disabled", "ill")
    },
    **{
        f"dibao.topup.{c}.value": st.sampled_from(["0.10", "0.123457", "25.505", "0"])
        for c in ("elderly", "minor", "disabled", "ill")
    },
    "extreme_poverty.basic.mode": st.sampled_from(["fixed", "multiple_of_dibao"]),
    "extreme_poverty.basic.amount": st.sampled_from(["900", "1234.56"]),
    "extreme_poverty.basic.multiple": st.sampled_from(["1.3", "1.333333"]),
    "extreme_poverty.minor_age": st.sampled_from(["16", "18"]),
    "extreme_poverty.elderly_age": st.sampled_from(["60", "65"]),
    "extreme_poverty.care.home.partly_lost_rate": st.sampled_from(["0.45", "0.333333"]),
    "extreme_poverty.care.institutional.fully_lost_rate": st.sampled_from(["0.75", "0.666667"]),
    "minimum_wage.monthly": st.sampled_from(["1950", "2100.55"]),
    "disability.living.coverage": st.sampled_from(["dibao", "dibao_or_near_poor"]),
    "disability.living.amount": st.sampled_from(["110", "0"]),
    "disability.care.severe_amount": st.sampled_from(["120", "0"]),
    "disability.care.covers_grade34_intellectual_mental": st.sampled_from(["true", "false"]),
    "disability.care.nonsevere_amount": st.sampled_from(["80", "0"]),
    "elderly.bands": st.sampled_from(
        [
            [{"from_age": 80, "amount": "500"}, {"from_age": 90, "amount": "600"}],
            [
                {"from_age": 90, "amount": "0"},
                {"from_age": 80, "amount": "100.5"},
                {"from_age": 80, "amount": "120"},
            ],
        ]
    ),
    "child.max_age": st.sampled_from(["18", "16"]),
    "child.orphan_scattered": st.sampled_from(["1000", "937.5"]),
    "child.orphan_institutional": st.sampled_from(["1600", "0"]),
    "child.unsupported": st.sampled_from(["1200", "1000.01"]),
}


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)


@cache
def birth_dates(day: date) -> st.SearchStrategy[date]:
    """Exact 16th/18th/60th/80th/90th... birthdays and the days either side, 29 February births,
    and any day in the last 105 years."""
    exact = st.builds(
        lambda years, shift: min(day, years_before(day, years) + timedelta(days=shift)),
        st.sampled_from(THRESHOLD_AGES),
        st.sampled_from((-1, 0, 1)),
    )
    leap = st.sampled_from(
        [date(y, 2, 29) for y in range(day.year - 104, day.year + 1) if isleap(y) and date(y, 2, 29) <= day]
    )
    return st.one_of(exact, leap, st.dates(min_value=date(day.year - 105, 1, 1), max_value=day))


def fen_amounts(high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.just(0), st.integers(0, high), st.integers(0, 100).map(lambda k: k * 100 + 50))


DISABILITIES = [None, *({"category": c, "grade": g} for c in CATEGORIES for g in range(1, 5))]
SITUATIONS = list(
    product(
        [None, "full", "partial", "none"],
        [None, "self_care", "partly_lost", "fully_lost"],
        ["home", "institutional"],
    )
)
CHILDREN = list(product([None, None, "orphan", "unsupported"], ["scattered", "institutional"]))
OTHER_PAYMENTS = (0, 0, 100_000, 120_000)


def as_member(born: date, incomes: list[tuple[str, int]], code: int) -> dict[str, Any]:
    """A member's discrete circumstances decoded from one integer (one draw instead of a dozen keeps
    300 examples fast; shrinking the integer towards 0 still simplifies the member)."""
    code, disability = divmod(code, len(DISABILITIES))
    code, situation = divmod(code, len(SITUATIONS))
    code, child = divmod(code, len(CHILDREN))
    code, flags = divmod(code, 32)
    code, other = divmod(code, len(OTHER_PAYMENTS) + 1)
    ill, supporter, supported, in_school, no_disability = ((flags >> k) & 1 == 1 for k in range(5))
    labour, self_care, support_mode = SITUATIONS[situation]
    return {
        "birth_date": born,
        "disability": None if no_disability else DISABILITIES[disability],
        "serious_illness": ill,
        "labour_capacity": labour,
        "self_care": self_care,
        "in_school_full_time": in_school,
        "incomes": incomes,
        "has_able_supporter": supporter and supported,
        "support_mode": support_mode,
        "extreme_poverty_supported": supported,
        "child_status": CHILDREN[child][0],
        "child_care": CHILDREN[child][1],
        "other_child_payments": OTHER_PAYMENTS[other] if other < len(OTHER_PAYMENTS) else code % 150_001,
    }


@cache
def member(day: date) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        as_member,
        birth_dates(day),
        st.lists(st.tuples(st.sampled_from(IncomeCategory.values), st.integers(0, 300_000)), max_size=3),
        st.integers(0, 2**80),
    )


def view(day: date, region: str, area: str, overrides: dict[str, Any]) -> ParameterView:
    return ParameterView(TABLE, day=day, place=region, area=area, overrides=overrides)


@st.composite
def household(draw: st.DrawFn, day: date, overrides: dict[str, Any]) -> dict[str, Any]:
    region = draw(st.sampled_from(REGIONS))
    area = draw(st.sampled_from(["urban", "rural"]))
    members = draw(st.lists(member(day), min_size=1, max_size=8))
    size = len(members)
    params = view(day, region, area, overrides)
    standard = to_fen(params.money("dibao.standard"))
    limit = standard * size * params.integer("dibao.asset_limit_months")
    assets = draw(
        st.one_of(st.just(0), st.sampled_from([limit - 1, limit, limit + 1]), st.integers(0, 2 * limit))
    )
    rigid = draw(st.one_of(st.just(0), st.just(0), fen_amounts(100_000)))
    # Steer the counted income to the dibao line or the near-poor line, to the fen.
    steer = draw(st.sampled_from([None, None, "standard", "near_poor"]))
    if steer is not None:
        line = standard * size
        if steer == "near_poor":
            line = line * int(params.rate("dibao.near_poor_multiple") * RATE_SCALE) // RATE_SCALE
        target = line + draw(st.sampled_from([-1, 0, 1]))
        counted = sum(a for m in members for c, a in m["incomes"] if c not in EXCLUDED_INCOME)
        if target > counted:
            members[0] = {**members[0], "incomes": [*members[0]["incomes"], ("wages", target - counted)]}
        rigid = 0
    return {
        "region": region,
        "area": area,
        "members": members,
        "rigid_expenses": rigid,
        "financial_assets": assets,
        "household_status": draw(st.sampled_from(["none", "dibao", "near_poor", "extreme_poverty"])),
    }


@st.composite
def batches(draw: st.DrawFn) -> tuple[date, dict[str, Any], list[dict[str, Any]], list[str]]:
    day = draw(st.sampled_from(DAYS))
    keys = draw(st.one_of(st.just(set()), st.sets(st.sampled_from(sorted(OVERRIDES)), max_size=10)))
    if "extreme_poverty.basic.mode" in keys:
        # Huinong has no fixed amount of its own; the bulk engine wants every value a mode can lead to.
        keys.add("extreme_poverty.basic.amount")
    overrides = draw(st.fixed_dictionaries({k: OVERRIDES[k] for k in sorted(keys)}))
    households = draw(st.lists(household(day, overrides), min_size=1, max_size=25))
    programmes = draw(
        st.one_of(
            st.just(list(bulk.MONTHLY_PROGRAMMES)),
            st.lists(st.sampled_from(bulk.MONTHLY_PROGRAMMES), min_size=1, unique=True),
        )
    )
    return day, overrides, households, programmes


def as_facts(day: date, raw: dict[str, Any]) -> HouseholdFacts:
    return HouseholdFacts.model_validate(
        {
            "region": raw["region"],
            "area": raw["area"],
            "date": day,
            "rigid_expenses": str(from_fen(raw["rigid_expenses"])),
            "financial_assets": str(from_fen(raw["financial_assets"])),
            "household_status": raw["household_status"],
            "members": [
                {
                    **{k: v for k, v in m.items() if k not in ("incomes", "other_child_payments")},
                    "id": f"m{i}",
                    "incomes": [{"category": c, "monthly_amount": str(from_fen(a))} for c, a in m["incomes"]],
                    "other_child_payments": str(from_fen(m["other_child_payments"])),
                }
                for i, m in enumerate(raw["members"])
            ],
        }
    )


def as_frames(
    raws: list[dict[str, Any]], ids: list[int], rng: random.Random
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The frames for the same households, built independently of HouseholdFacts, with rows in a
    random order and string columns as plain strings (the engine casts them)."""
    members = []
    for hid, raw in zip(ids, raws, strict=True):
        for i, m in enumerate(raw["members"]):
            disability = m["disability"] or {}
            members.append(
                {
                    "household_id": hid,
                    "member_id": f"m{i}",
                    "birth_date": m["birth_date"],
                    "disability_category": disability.get("category"),
                    "disability_grade": disability.get("grade"),
                    "serious_illness": m["serious_illness"],
                    "labour_capacity": m["labour_capacity"],
                    "self_care": m["self_care"],
                    "in_school_full_time": m["in_school_full_time"],
                    "counted_income_fen": sum(a for c, a in m["incomes"] if c not in EXCLUDED_INCOME),
                    "has_able_supporter": m["has_able_supporter"],
                    "support_mode": m["support_mode"],
                    "extreme_poverty_supported": m["extreme_poverty_supported"],
                    "child_status": m["child_status"],
                    "child_care": m["child_care"],
                    "other_child_payments_fen": m["other_child_payments"],
                }
            )
    households = [
        {
            "household_id": hid,
            "region": raw["region"],
            "area": raw["area"],
            "rigid_expenses_fen": raw["rigid_expenses"],
            "financial_assets_fen": raw["financial_assets"],
            "household_status": raw["household_status"],
        }
        for hid, raw in zip(ids, raws, strict=True)
    ]
    rng.shuffle(members)
    rng.shuffle(households)
    return pl.DataFrame(members, infer_schema_length=None), pl.DataFrame(households)


def assert_agrees(
    result: pl.DataFrame,
    facts: dict[int, HouseholdFacts],
    programmes: list[str],
    overrides: dict[str, Any] | None = None,
) -> None:
    assert result["household_id"].to_list() == sorted(facts)
    for row in result.iter_rows(named=True):
        household = facts[row["household_id"]]
        for programme in programmes:
            single = engine.calculate(programme, household, TABLE, overrides=overrides)
            got = (
                row[f"{programme}_eligible"],
                from_fen(row[f"{programme}_amount_fen"]),
                row.get("dibao_status"),
            )
            want = (single.eligible, single.amount, single.status if programme == "dibao" else got[2])
            assert got == want, f"{programme}: bulk {got}, single {want} for {household!r}"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(batch=batches(), seed=st.integers(0, 2**32))
def test_bulk_agrees_with_single_path_to_the_fen(
    batch: tuple[date, dict[str, Any], list[dict[str, Any]], list[str]], seed: int
) -> None:
    day, overrides, raws, programmes = batch
    rng = random.Random(seed)
    ids = rng.sample(range(1, 10**6), len(raws))
    members, households = as_frames(raws, ids, rng)
    result = bulk.calculate(members, households, TABLE, day=day, programmes=programmes, overrides=overrides)
    facts = {hid: as_facts(day, raw) for hid, raw in zip(ids, raws, strict=True)}
    assert_agrees(result, facts, programmes, overrides)


# --- The bulk engine's own rules ------------------------------------------------------------------


def test_age_cutoff_is_member_age_on() -> None:
    """One date comparison per age test gives Member.age_on's answer, 29 February included."""
    days = [date(y, m, d) for y in (2026, 2028) for m, d in ((2, 27), (2, 28), (3, 1), (7, 1), (12, 31))]
    days.append(date(2028, 2, 29))
    births = [date(y, m, d) for y in range(1924, 2029) for m, d in ((2, 28), (3, 1), (6, 30), (7, 1), (7, 2))]
    births += [date(y, 2, 29) for y in range(1924, 2029, 4)]
    for day in days:
        for years in (0, 1, 16, 18, 60, 80, 90, 100, 3000):
            cutoff = bulk.age_cutoff(day, years)
            for born in births:
                if born <= day:
                    age = Member.model_validate({"id": "x", "birth_date": born}).age_on(day)
                    assert ((born - date(1970, 1, 1)).days <= cutoff) == (age >= years), (day, years, born)


def one_household(**member: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    members = pl.DataFrame([{"household_id": 1, "birth_date": date(1950, 1, 1), **member}])
    households = pl.DataFrame([{"household_id": 1, "region": "640202001001", "area": "urban"}])
    return members, households


def test_missing_columns_take_the_facts_defaults() -> None:
    members, households = one_household()
    result = bulk.calculate(members, households, TABLE, day=date(2026, 11, 21))
    facts = HouseholdFacts.model_validate(
        {
            "region": "640202001001",
            "area": "urban",
            "date": "2026-11-21",
            "members": [{"id": "1", "birth_date": "1950-01-01"}],
        }
    )
    assert_agrees(result, {1: facts}, list(bulk.MONTHLY_PROGRAMMES))
    assert result.row(0, named=True)["dibao_amount_fen"] == 65000 + 6500  # standard + 10% elderly top-up


def test_members_and_households_must_match() -> None:
    members, households = one_household()
    orphan = pl.concat([members, members.with_columns(household_id=pl.lit(2, dtype=pl.Int64))])
    with pytest.raises(InvalidInput, match="所属家庭不在"):
        bulk.calculate(orphan, households, TABLE, day=date(2026, 11, 21))
    empty = pl.concat([households, households.with_columns(household_id=pl.lit(2, dtype=pl.Int64))])
    with pytest.raises(InvalidInput, match="没有成员"):
        bulk.calculate(members, empty, TABLE, day=date(2026, 11, 21))
    with pytest.raises(InvalidInput, match="重复"):
        bulk.calculate(members, pl.concat([households, households]), TABLE, day=date(2026, 11, 21))


def test_refused_like_the_single_path() -> None:
    members, households = one_household()
    day = date(2026, 11, 21)
    with pytest.raises(InvalidInput) as bad_value:
        bulk.calculate(members, households, TABLE, day=day, overrides={"dibao.standard": "abc"})
    assert "overrides" in bad_value.value.field_errors
    with pytest.raises(InvalidInput):
        bulk.calculate(members, households, TABLE, day=day, overrides={"no.such.parameter": "1"})
    # 兴庆区 has no dibao standard in the shipped packs: the single path refuses too.
    elsewhere = households.with_columns(region=pl.lit("640104001001"))
    with pytest.raises(InvalidInput) as missing:
        bulk.calculate(members, elsewhere, TABLE, day=day)
    assert missing.value.code == "parameter_missing"
    with pytest.raises(InvalidInput, match="按月发放"):
        bulk.calculate(members, households, TABLE, day=day, programmes=["temporary_assistance"])
    with pytest.raises(InvalidInput, match="精确整数范围"):
        bulk.calculate(*one_household(counted_income_fen=10**17), TABLE, day=day)
    with pytest.raises(InvalidInput, match="等级"):
        bulk.calculate(*one_household(disability_category="visual"), TABLE, day=day)


def test_parameters_used_per_county_and_area() -> None:
    _, households = one_household()
    used = bulk.parameters_used(households, TABLE, day=date(2025, 7, 1), overrides={"dibao.standard": "700"})
    standard = used.filter(pl.col("name") == "dibao.standard").row(0, named=True)
    assert (standard["county"], standard["group_area"], standard["value"], standard["overridden"]) == (
        "640202",
        "urban",
        "700.00",
        True,
    )


def facts_frames(facts: HouseholdFacts, household_id: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    members = [
        {
            "household_id": household_id,
            "member_id": m.id,
            "birth_date": m.birth_date,
            "disability_category": m.disability.category if m.disability else None,
            "disability_grade": m.disability.grade if m.disability else None,
            "serious_illness": m.serious_illness,
            "labour_capacity": m.labour_capacity,
            "self_care": m.self_care,
            "in_school_full_time": m.in_school_full_time,
            "counted_income_fen": to_fen(m.counted_income),
            "has_able_supporter": m.has_able_supporter,
            "support_mode": m.support_mode,
            "extreme_poverty_supported": m.extreme_poverty_supported,
            "child_status": m.child_status,
            "child_care": m.child_care,
            "other_child_payments_fen": to_fen(m.other_child_payments),
        }
        for m in facts.members
    ]
    household = {
        "household_id": household_id,
        "region": facts.region,
        "area": facts.area,
        "rigid_expenses_fen": to_fen(facts.rigid_expenses),
        "financial_assets_fen": to_fen(facts.financial_assets),
        "household_status": facts.household_status,
    }
    return pl.DataFrame(members, infer_schema_length=None), pl.DataFrame([household])


def scenarios() -> list[Any]:
    """The hand-computed scenarios (rules/scenarios) of the monthly programmes that bulk covers:
    whole-household applications the single path is expected to get right."""
    cases = []
    for path in scenario_files():
        if path.stem not in bulk.MONTHLY_PROGRAMMES:
            continue
        for scenario in load(path):
            if "error" in scenario["expected"] or "xfail" in scenario:
                continue
            if scenario["facts"].get("individual_applicant") is not None:
                continue
            cases.append(pytest.param(path.stem, scenario, id=f"{path.stem}:{scenario['name']}"))
    return cases


@pytest.mark.parametrize(("programme", "scenario"), scenarios())
def test_bulk_gives_the_hand_computed_figure_of_every_scenario(
    programme: str, scenario: dict[str, Any]
) -> None:
    facts = parse_facts(scenario["facts"])
    overrides = parse_overrides(scenario.get("overrides"))
    result = bulk.calculate(
        *facts_frames(facts), TABLE, day=facts.date, programmes=[programme], overrides=overrides
    )
    row = result.row(0, named=True)
    expected = scenario["expected"]
    assert row[f"{programme}_eligible"] is expected["eligible"]
    assert from_fen(row[f"{programme}_amount_fen"]) == Decimal(expected["amount"])
    if programme == "dibao" and "status" in expected:
        assert row["dibao_status"] == expected["status"]


# --- The registry read: the same facts for both paths ---------------------------------------------

JOINED = date(2020, 1, 1)


def record(actor: Staff, kind: str, subject: Any, values: dict[str, Any], **period: Any) -> None:
    circumstance_record(
        actor=actor,
        kind=kind,
        subject=subject,
        valid_from=period.pop("valid_from", JOINED),
        values=values,
        **period,
    )


def make(actor: Staff, village: str, area: str, people: list[tuple[str, date]]) -> Household:
    return household_create(
        actor=actor,
        division_code=village,
        address=f"{village}住址",
        area=area,
        joined_on=JOINED,
        members=[
            MemberInput(
                name=name,
                id_number=resident_id(village[:6], born),
                relationship="head" if i == 0 else "other",
            )
            for i, (name, born) in enumerate(people)
        ],
    )


@pytest.fixture
def registry(tree: Any) -> dict[str, Household]:
    """Three households in two counties with circumstances that start, end and overlap around
    2025-07-01, and a member who moves between households on that day."""
    # Registry clerks at the two county offices (their jurisdiction is the whole county).
    county_admin = make_staff("dwk_registrar", "640202000000", [Role.TOWNSHIP_CLERK])
    huinong_admin = make_staff("hn_registrar", "640205000000", [Role.TOWNSHIP_CLERK])
    old = make(
        county_admin,
        "640202001001",
        "urban",
        [
            ("甲", date(1940, 3, 1)),
            ("乙", date(1965, 7, 1)),
            ("丙", date(2009, 7, 2)),
            ("丁", date(2012, 2, 29)),
        ],
    )
    head, spouse, child, grandchild = (m.person for m in old.memberships.order_by("person_id"))
    record(county_admin, "disability", head, {"certificate_number": "D1", "category": "physical", "grade": 2})
    record(county_admin, "self_care", head, {"eating": False})
    record(county_admin, "income", head, {"category": "pension", "monthly_amount": Decimal("1234.56")})
    record(
        county_admin, "income", head, {"category": "resident_basic_pension", "monthly_amount": Decimal("150")}
    )
    record(county_admin, "illness", spouse, {"name": "尿毒症", "is_listed_serious": True})
    record(county_admin, "illness", spouse, {"name": "感冒", "is_listed_serious": False})
    record(
        county_admin,
        "income",
        spouse,
        {"category": "wages", "monthly_amount": Decimal("5000")},
        valid_until=date(2025, 6, 30),
    )
    record(
        county_admin,
        "income",
        spouse,
        {"category": "wages", "monthly_amount": Decimal("800.10")},
        valid_from=date(2025, 7, 1),
    )
    record(county_admin, "schooling", child, {"stage": "junior", "full_time": True})
    record(county_admin, "labour_capacity", grandchild, {"level": "partial"})
    record(county_admin, "asset", old, {"kind": "deposit", "value": Decimal("3000.55")})
    record(county_admin, "asset", old, {"kind": "securities", "value": Decimal("1000")})
    record(county_admin, "asset", old, {"kind": "vehicle", "value": Decimal("50000")})
    record(county_admin, "rigid_expense", old, {"kind": "medical", "monthly_amount": Decimal("200")})
    record(
        county_admin,
        "rigid_expense",
        old,
        {"kind": "education", "monthly_amount": Decimal("99.99")},
        valid_from=date(2025, 7, 2),
    )

    rural = make(county_admin, "640202100201", "rural", [("戊", date(1930, 1, 1))])
    elder = rural.memberships.get().person
    record(county_admin, "disability", elder, {"certificate_number": "D2", "category": "visual", "grade": 4})
    record(
        county_admin,
        "disability",
        elder,
        {"certificate_number": "D3", "category": "intellectual", "grade": 3},
    )
    record(county_admin, "labour_capacity", elder, {"level": "none"})
    # 丁 moves to her grandmother's household on 2025-07-01 (her old membership ends on 30 June).
    person_move(
        actor=county_admin,
        person=grandchild,
        target=rural,
        relationship="grandchild",
        on=date(2025, 7, 1),
        reason="随祖母生活",
    )

    huinong = make(
        huinong_admin, "640205001001", "urban", [("己", date(1990, 5, 5)), ("庚", date(2020, 1, 1))]
    )
    earner = huinong.memberships.order_by("person_id").first().person  # type: ignore[union-attr]
    record(huinong_admin, "income", earner, {"category": "wages", "monthly_amount": Decimal("1000.01")})
    record(huinong_admin, "rigid_expense", huinong, {"kind": "medical", "monthly_amount": Decimal("500")})
    return {"old": old, "rural": rural, "huinong": huinong}


@pytest.mark.parametrize("day", [date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)])
def test_registry_read_gives_both_paths_the_same_facts(registry: dict[str, Household], day: date) -> None:
    population = read_population(day)
    result = bulk.calculate(population.members, population.households, TABLE, day=day)
    facts = {h.pk: household_facts(h, day) for h in registry.values()}
    assert_agrees(result, facts, list(bulk.MONTHLY_PROGRAMMES))


def test_registry_read_on_a_day(registry: dict[str, Household]) -> None:
    old, rural, huinong = registry["old"], registry["rural"], registry["huinong"]
    before = read_population(date(2025, 6, 30))
    after = read_population(date(2025, 7, 1))
    sizes = dict(after.members.group_by("household_id").len().iter_rows())
    assert dict(before.members.group_by("household_id").len().iter_rows()) == {
        old.pk: 4,
        rural.pk: 1,
        huinong.pk: 2,
    }
    assert sizes == {old.pk: 3, rural.pk: 2, huinong.pk: 2}
    by_household = {r["household_id"]: r for r in after.households.iter_rows(named=True)}
    assert by_household[old.pk]["financial_assets_fen"] == 400055  # deposit + securities, not the vehicle
    assert by_household[old.pk]["rigid_expenses_fen"] == 20000  # the education cost starts on 2 July
    assert by_household[old.pk]["region"] == "640202001001"
    old_members = after.members.filter(pl.col("household_id") == old.pk).sort("member_id").to_dicts()
    assert [m["counted_income_fen"] for m in old_members] == [123456, 80010, 0]
    assert [m["serious_illness"] for m in old_members] == [False, True, False]
    assert [m["self_care"] for m in old_members] == ["partly_lost", None, None]
    assert [m["in_school_full_time"] for m in old_members] == [False, False, True]
    assert (
        before.members.filter(pl.col("household_id") == old.pk)["counted_income_fen"].sum() == 123456 + 500000
    )
    elder = after.members.filter(pl.col("birth_date") == date(1930, 1, 1)).row(0, named=True)
    assert (elder["disability_category"], elder["disability_grade"], elder["labour_capacity"]) == (
        "intellectual",
        3,
        "none",
    )
    assert after.members.schema["disability_category"] == bulk.DISABILITY_CATEGORY
    assert after.households["household_status"].to_list() == ["none"] * 3

    county = read_population(date(2025, 7, 1), division_prefix="640205")
    assert county.households["household_id"].to_list() == [huinong.pk]
    chosen = read_population(date(2025, 7, 1), household_ids=[rural.pk, huinong.pk])
    assert chosen.households["household_id"].to_list() == sorted([rural.pk, huinong.pk])
    assert chosen.members["household_id"].to_list() == sorted([rural.pk, rural.pk, huinong.pk, huinong.pk])
    assert read_population(date(2019, 12, 31)).households.is_empty()

    facts = household_facts(old, date(2025, 7, 1))
    head = facts.members[0]
    assert {(i.category, i.monthly_amount, i.counted) for i in head.incomes} == {
        ("pension", Decimal("1234.56"), True),
        ("resident_basic_pension", Decimal("150.00"), False),
    }
    assert (facts.rigid_expenses, facts.financial_assets, facts.region) == (
        Decimal("200.00"),
        Decimal("4000.55"),
        "640202001001",
    )
    with pytest.raises(InvalidInput, match="没有登记在册的成员"):
        household_facts(old, date(2019, 12, 31))
