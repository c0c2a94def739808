from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from minzheng.core.audit import verify_chain
from minzheng.core.errors import InvalidInput, OutOfScope
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Membership, Person
from minzheng.registry.services import household_merge, household_set_head, household_split, person_move
from minzheng.registry.testing import make_household

# Members join on the day they are registered (today); changes take effect from the next day.
ON = timezone.localdate() + timedelta(days=1)


def members_of(household: Household) -> set[str]:
    return set(
        Membership.objects.filter(household=household, end_date__isnull=True).values_list(
            "person__name", flat=True
        )
    )


def test_move_keeps_history_and_follows_the_village(tree: dict[str, Division]) -> None:
    clerk = make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    old = make_household(clerk, "640202001001", "甲户主", members=3)
    new = make_household(clerk, "640202001002", "乙户主")
    child = Person.objects.get(name="甲户主家1")
    person_move(
        actor=clerk,
        person=child,
        target=new,
        relationship="child_in_law",
        on=ON,
        reason="婚嫁迁入",
    )
    assert members_of(old) == {"甲户主", "甲户主家2"}
    assert "甲户主家1" in members_of(new)
    history = list(
        Membership.objects.filter(person=child).order_by("start_date").values_list("household_id", "end_date")
    )
    assert history == [(old.pk, ON - timedelta(days=1)), (new.pk, None)]
    assert Person.objects.get(pk=child.pk).division_id == "640202001002"
    assert verify_chain().ok


def test_move_into_another_township_is_out_of_scope(tree: dict[str, Division]) -> None:
    clerk = make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    creator = make_staff("creator", "640000000000", [Role.TOWNSHIP_REVIEWER])
    mine = make_household(clerk, "640202001001", "丙户主", members=2)
    theirs = make_household(creator, "640202100201", "丁户主")
    with pytest.raises(OutOfScope):
        person_move(
            actor=clerk,
            person=Person.objects.get(name="丙户主家1"),
            target=theirs,
            relationship="other",
            on=ON,
            reason="x",
        )
    assert members_of(mine) == {"丙户主", "丙户主家1"}


def test_last_member_leaving_closes_the_household(
    village_assistant: Staff,
) -> None:
    a = make_household(village_assistant, "640202001001", "戊户主", members=1)
    b = make_household(village_assistant, "640202001001", "己户主")
    person_move(
        actor=village_assistant,
        person=Person.objects.get(name="戊户主"),
        target=b,
        relationship="sibling",
        on=ON,
        reason="投靠",
    )
    a.refresh_from_db()
    assert a.is_active is False  # closed; the head stays on record as who headed it last


def test_split_creates_a_new_household_in_the_same_village(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "庚户主", members=3)
    son = Person.objects.get(name="庚户主家1")
    daughter = Person.objects.get(name="庚户主家2")
    with pytest.raises(InvalidInput):
        household_split(
            actor=village_assistant,
            household=household,
            members={son.pk: "head"},
            new_head=daughter.pk,
            address="x",
            on=ON,
            reason="分户",
        )
    new = household_split(
        actor=village_assistant,
        household=household,
        members={son.pk: "head", daughter.pk: "sibling"},
        new_head=son.pk,
        address="长胜社区新楼1号",
        on=ON,
        reason="成年分户",
    )
    assert new.number == "640202001001000002"
    assert new.head_id == son.pk
    assert members_of(new) == {"庚户主家1", "庚户主家2"}
    assert members_of(household) == {"庚户主"}


def test_merge_moves_everyone_and_closes_the_source(village_assistant: Staff) -> None:
    source = make_household(village_assistant, "640202001001", "辛户主", members=2)
    target = make_household(village_assistant, "640202001001", "壬户主")
    people = dict(
        Membership.objects.filter(household=source, end_date__isnull=True).values_list(
            "person_id", "relationship"
        )
    )
    with pytest.raises(InvalidInput):
        household_merge(
            actor=village_assistant,
            source=source,
            target=target,
            relationships={},
            on=ON,
            reason="合户",
        )
    household_merge(
        actor=village_assistant,
        source=source,
        target=target,
        relationships=dict.fromkeys(people, "other"),
        on=ON,
        reason="老人随子女合户",
    )
    source.refresh_from_db()
    assert source.is_active is False
    assert members_of(target) == {"壬户主", "壬户主家1", "辛户主", "辛户主家1"}


def test_set_head(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "癸户主", members=2)
    child = Person.objects.get(name="癸户主家1")
    household_set_head(actor=village_assistant, household=household, person=child, reason="原户主年迈")
    household.refresh_from_db()
    assert household.head_id == child.pk
    heads = Membership.objects.filter(household=household, end_date__isnull=True, relationship="head")
    assert list(heads.values_list("person_id", flat=True)) == [child.pk]
