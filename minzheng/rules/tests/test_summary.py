"""The facts summary (rules/summary.py) gives the same frames as the reference registry read
(population.read_population) on every day, for random registry histories changed in every way the
triggers watch: inserts, updates (dates, amounts, moves, a household's village and area, a birth
date) and deletes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from minzheng.registry.circumstances import (
    Asset,
    Disability,
    Illness,
    IncomeItem,
    LabourCapacity,
    RigidExpense,
    Schooling,
    SelfCareAssessment,
)
from minzheng.registry.models import Household, Membership, Person
from minzheng.rules.models import MemberFacts, StaleFacts
from minzheng.rules.population import Population, read_population
from minzheng.rules.summary import looked_up_by_index, read_summary, refresh
from minzheng.rules.tests.test_bulk_agreement import registry  # noqa: F401 (a fixture)

START = date(2024, 1, 1)
SPAN = 3 * 365
VILLAGES = ("640202001001", "640202100201", "640205001001")
_numbers = itertools.count(1)


def sorted_frames(population: Population) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        population.members.sort("household_id", "member_id"),
        population.households.sort("household_id"),
    )


def assert_same(day: date, **scope: Any) -> None:
    expected = sorted_frames(read_population(day, **scope))
    found = sorted_frames(read_summary(day, **scope))
    for left, right in zip(found, expected, strict=True):
        assert_frame_equal(left, right, check_dtypes=False, categorical_as_str=True)


def test_the_summary_reads_as_the_registry_on_every_day(registry: dict[str, Household]) -> None:  # noqa: F811
    for day in (date(2019, 12, 31), date(2020, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)):
        assert_same(day)
        assert_same(day, division_prefix="640205")
        assert_same(day, household_ids=[registry["rural"].pk, registry["huinong"].pk])
    assert not StaleFacts.objects.exists()
    # 丁 moved on 2025-07-01: her rows in the new household start that day and run on.
    moved = (
        MemberFacts.objects.filter(household_id=registry["rural"].pk)
        .exclude(
            person_id__in=registry["rural"]
            .memberships.filter(start_date__lt=date(2025, 7, 1))
            .values("person_id")
        )
        .order_by("valid_from")
    )
    assert (moved.first().valid_from, moved.last().valid_until) == (date(2025, 7, 1), None)  # type: ignore[union-attr]


def test_a_change_is_read_at_once(registry: dict[str, Household]) -> None:  # noqa: F811
    day = date(2025, 7, 1)
    read_summary(day)
    household = registry["old"]
    Household.objects.filter(pk=household.pk).update(area="rural", division_id="640202100201")
    IncomeItem.objects.filter(person__memberships__household=household).update(monthly_amount=Decimal("1.01"))
    assert StaleFacts.objects.exists()
    assert_same(day)
    assert not StaleFacts.objects.exists()
    assert refresh() == 0


def test_a_bad_prefix_is_refused(db: None) -> None:
    from minzheng.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        read_summary(date(2025, 1, 1), division_prefix="64x")


# --- Random histories -----------------------------------------------------------------------------


def day_offsets() -> st.SearchStrategy[int]:
    return st.integers(0, SPAN)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date | None]:
    start = START + timedelta(days=draw(day_offsets()))
    length = draw(st.one_of(st.none(), st.integers(0, 400)))
    return start, None if length is None else start + timedelta(days=length)


RECORDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "disability": st.fixed_dictionaries(
        {
            "category": st.sampled_from(["visual", "physical", "intellectual", "mental"]),
            "grade": st.integers(1, 4),
        }
    ),
    "illness": st.fixed_dictionaries({"is_listed_serious": st.booleans()}),
    "labour": st.fixed_dictionaries({"level": st.sampled_from(["full", "partial", "none"])}),
    "self_care": st.fixed_dictionaries(
        {"level": st.sampled_from(["self_care", "partly_lost", "fully_lost"])}
    ),
    "schooling": st.fixed_dictionaries(
        {"stage": st.sampled_from(["primary", "senior", "university"]), "full_time": st.booleans()}
    ),
    "income": st.fixed_dictionaries(
        {
            "category": st.sampled_from(["wages", "pension", "resident_basic_pension"]),
            "monthly_amount": st.decimals(0, 5000, places=2),
            "counted": st.booleans(),
        }
    ),
}
HOUSEHOLD_RECORDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "asset": st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["deposit", "securities", "vehicle"]),
            "value": st.decimals(0, 90000, places=2),
        }
    ),
    "rigid": st.fixed_dictionaries(
        {"kind": st.sampled_from(["medical", "education"]), "monthly_amount": st.decimals(0, 900, places=2)}
    ),
}
MODELS: dict[str, Any] = {
    "disability": Disability,
    "illness": Illness,
    "labour": LabourCapacity,
    "self_care": SelfCareAssessment,
    "schooling": Schooling,
    "income": IncomeItem,
    "asset": Asset,
    "rigid": RigidExpense,
}
EXTRA = {"disability": {"certificate_number": "D"}, "illness": {"name": "病"}}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    households = draw(st.lists(st.sampled_from(VILLAGES), min_size=1, max_size=3))
    persons = []
    for _ in range(draw(st.integers(1, 5))):
        joined, left = draw(periods())
        persons.append(
            {
                "born": date(1930, 1, 1) + timedelta(days=draw(st.integers(0, 30000))),
                "household": draw(st.integers(0, len(households) - 1)),
                "joined": joined,
                "left": left,
                # After leaving, the person joins another household from the next day.
                "then": draw(st.one_of(st.none(), st.integers(0, len(households) - 1))),
                "records": draw(
                    st.lists(st.tuples(st.sampled_from(sorted(RECORDS)), periods()), max_size=5).flatmap(
                        lambda rs: st.tuples(*(st.tuples(st.just(k), st.just(p), RECORDS[k]) for k, p in rs))
                    )
                ),
            }
        )
    household_records = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(households) - 1), st.sampled_from(sorted(HOUSEHOLD_RECORDS)), periods()
            ),
            max_size=4,
        ).flatmap(
            lambda rs: st.tuples(
                *(st.tuples(st.just(h), st.just(k), st.just(p), HOUSEHOLD_RECORDS[k]) for h, k, p in rs)
            )
        )
    )
    days = draw(st.lists(st.integers(-10, SPAN + 500), min_size=1, max_size=4))
    return {
        "households": households,
        "persons": persons,
        "household_records": household_records,
        "days": [START + timedelta(days=d) for d in days],
        "edit": draw(st.integers(0, 5)),
    }


def build(history: dict[str, Any]) -> tuple[list[Household], list[Person]]:
    households = []
    for village in history["households"]:
        n = next(_numbers)
        households.append(
            Household.objects.create(number=f"T{n:08d}", division_id=village, address="住址", area="urban")
        )
    persons = []
    for spec in history["persons"]:
        n = next(_numbers)
        home = households[spec["household"]]
        person = Person.objects.create(
            name=f"人{n}",
            sex="F",
            birth_date=spec["born"],
            id_digest=f"digest{n}",
            id_encrypted="x",
            id_masked="x",
            division_id=home.division_id,
        )
        persons.append(person)
        Membership.objects.create(
            person=person,
            household=home,
            relationship="other",
            start_date=spec["joined"],
            end_date=spec["left"],
        )
        if spec["left"] is not None and spec["then"] is not None:
            Membership.objects.create(
                person=person,
                household=households[spec["then"]],
                relationship="other",
                start_date=spec["left"] + timedelta(days=1),
            )
        for kind, (start, end), values in spec["records"]:
            MODELS[kind].objects.create(
                person=person, valid_from=start, valid_until=end, **EXTRA.get(kind, {}), **values
            )
    for index, kind, (start, end), values in history["household_records"]:
        MODELS[kind].objects.create(household=households[index], valid_from=start, valid_until=end, **values)
    return households, persons


def edit(history: dict[str, Any], households: list[Household], persons: list[Person]) -> None:
    """One change of the kind the triggers watch, after the summary was read once."""
    person, household = persons[0], households[-1]
    match history["edit"]:
        case 0:
            Person.objects.filter(pk=person.pk).update(birth_date=date(2008, 7, 1))
        case 1:
            Household.objects.filter(pk=household.pk).update(area="rural", division_id="640202001001")
        case 2:
            IncomeItem.objects.filter(person=person).update(valid_until=F("valid_from"))
            Disability.objects.filter(person=person).delete()
        case 3:
            Membership.objects.filter(person=person).update(household=household)
        case 4:
            RigidExpense.objects.filter(household=household).update(monthly_amount=Decimal("33.33"))
            Asset.objects.filter(household=household).delete()
        case _:
            for model in (
                Disability,
                Illness,
                LabourCapacity,
                SelfCareAssessment,
                Schooling,
                IncomeItem,
                Membership,
            ):
                model.objects.filter(person=person).delete()
            Person.objects.filter(pk=person.pk).delete()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_the_summary_agrees_with_the_registry_read_on_random_histories(
    tree: Any, history: dict[str, Any]
) -> None:
    with transaction.atomic():
        households, persons = build(history)
        ids = [h.pk for h in households]
        for day in history["days"]:
            assert_same(day, household_ids=ids)
        edit(history, households, persons)
        for day in history["days"]:
            assert_same(day, household_ids=ids)
            assert_same(day, division_prefix="640202")
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("stale", "persons", "by_index"),
    [
        (20_000, 2_500_000, True),  # a month's changes in a county of a million households
        (200_000, 25_000_000, True),  # the same share in one of ten million (either way ~114 s there)
        (1_000_000, 25_000_000, False),  # a county's facts changed wholesale: joined
        (10, -1, False),  # never analyzed: no estimate, joined (a new, small database)
    ],
)
def test_a_refresh_looks_persons_up_by_index_below_a_share_of_the_registry(
    stale: int, persons: float, by_index: bool
) -> None:
    assert looked_up_by_index(stale, persons) is by_index
