from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.core import protect
from minzheng.core.errors import Conflict, InvalidInput, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry import selectors
from minzheng.registry.models import Household, Membership, Person
from minzheng.registry.services import (
    MemberInput,
    household_create,
    household_update,
    person_reveal_id_number,
)
from minzheng.registry.testing import make_household, resident_id


def test_household_is_numbered_per_village_and_members_protected(village_assistant: Staff) -> None:
    number = resident_id("640202")
    household = household_create(
        actor=village_assistant,
        division_code="640202001001",
        address="长胜社区5号楼",
        area="urban",
        members=[
            MemberInput(name="陈一", id_number=number, relationship="head"),
            MemberInput(name="陈二", id_number=resident_id("640202", male=False), relationship="spouse"),
        ],
    )
    assert household.number == "640202001001000001"
    head = Person.objects.get(name="陈一")
    assert household.head == head
    assert head.id_masked == f"{number[:6]}********{number[-4:]}"
    assert number not in head.id_encrypted
    assert head.id_digest == protect.lookup_digest(number)
    assert protect.decrypt(head.id_encrypted) == number
    assert head.division_id == "640202001001"
    assert Membership.objects.filter(household=household, end_date__isnull=True).count() == 2
    second = make_household(village_assistant, "640202001001", "陈三")
    assert second.number == "640202001001000002"


def test_fifteen_digit_id_is_stored_as_eighteen(village_assistant: Staff) -> None:
    household_create(
        actor=village_assistant,
        division_code="640202001001",
        address="长胜社区6号楼",
        area="urban",
        members=[MemberInput(name="老王", id_number="110105491231002", relationship="head")],
    )
    person = Person.objects.get(name="老王")
    assert protect.decrypt(person.id_encrypted) == "11010519491231002X"
    assert person.sex == "F"  # sequence 002 is even
    assert str(person.birth_date) == "1949-12-31"


def test_a_person_cannot_be_registered_twice(village_assistant: Staff) -> None:
    number = resident_id("640202")
    household_create(
        actor=village_assistant,
        division_code="640202001001",
        address="甲",
        area="urban",
        members=[MemberInput(name="周一", id_number=number, relationship="head")],
    )
    with pytest.raises(Conflict, match="周一"):
        household_create(
            actor=village_assistant,
            division_code="640202001001",
            address="乙",
            area="urban",
            members=[MemberInput(name="周一", id_number=number, relationship="head")],
        )
    assert Household.objects.count() == 1


@pytest.mark.parametrize(
    ("members", "field"),
    [
        ([], "members"),
        (
            [MemberInput(name="甲", id_number="640202198001010010", relationship="head")],
            "members[0].id_number",
        ),
        ([MemberInput(name="甲", id_number=resident_id(), relationship="spouse")], "members"),
        ([MemberInput(name="", id_number=resident_id(), relationship="head")], "members[0].name"),
        ([MemberInput(name="甲", id_number=resident_id(), relationship="boss")], "members[0].relationship"),
    ],
)
def test_bad_members_change_nothing(village_assistant: Staff, members: list[MemberInput], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        household_create(
            actor=village_assistant, division_code="640202001001", address="甲", area="urban", members=members
        )
    assert field in exc.value.field_errors
    assert Household.objects.count() == 0
    assert Person.objects.count() == 0
    assert AuditEvent.objects.filter(action="household.create").count() == 0


def test_household_must_be_in_a_village_of_the_jurisdiction(village_assistant: Staff) -> None:
    members = [MemberInput(name="甲", id_number=resident_id(), relationship="head")]
    with pytest.raises(InvalidInput) as exc:
        household_create(
            actor=village_assistant, division_code="640202001000", address="甲", area="urban", members=members
        )
    assert "division_code" in exc.value.field_errors
    with pytest.raises(OutOfScope):
        household_create(
            actor=village_assistant, division_code="640202001002", address="甲", area="urban", members=members
        )


def test_supervisor_cannot_write(tree: dict[str, Division]) -> None:
    supervisor = make_staff("sup", "640200000000", [Role.SUPERVISOR])
    with pytest.raises(PermissionDenied):
        household_create(
            actor=supervisor,
            division_code="640202001001",
            address="甲",
            area="urban",
            members=[MemberInput(name="甲", id_number=resident_id(), relationship="head")],
        )


def test_update_is_audited_with_before_and_after(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "吴一")
    household_update(
        actor=village_assistant, household=household, address="新地址9号", phone="13900000000", reason="搬家"
    )
    event = AuditEvent.objects.get(action="household.update")
    assert event.before is not None
    assert event.after is not None
    assert event.before["address"] == "吴一住址1号"
    assert event.after["address"] == "新地址9号"
    assert event.reason == "搬家"


def test_search_by_name_id_and_number(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "郑一")
    make_household(village_assistant, "640202001001", "郑二")
    head = Person.objects.get(name="郑一")
    number = protect.decrypt(head.id_encrypted)
    for term in ("郑一", number, household.number):
        found = selectors.household_list(actor=village_assistant, search=term)
        assert [h.pk for h in found] == [household.pk], term
    assert selectors.person_list(actor=village_assistant, search=number).get() == head


def test_village_assistant_cannot_reveal_full_id(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "孙一")
    assert household.head is not None
    with pytest.raises(PermissionDenied):
        person_reveal_id_number(actor=village_assistant, person=household.head, reason="想看")


def test_household_list_query_count_is_constant(
    village_assistant: Staff, django_assert_num_queries: object
) -> None:
    for i in range(5):
        make_household(village_assistant, "640202001001", f"钱{i}")
    with django_assert_num_queries(1):  # type: ignore[operator]
        rows = list(selectors.household_list(actor=village_assistant)[:50])
        _ = [(h.head.name if h.head else "", h.division.name, h.member_count) for h in rows]  # type: ignore[attr-defined]


def test_same_name_and_birth_date_is_flagged_within_scope(tree: dict[str, Division]) -> None:
    from datetime import date as d

    creator = make_staff("creator", "640000000000", [Role.TOWNSHIP_REVIEWER])
    born = d(1960, 2, 3)
    for village in ("640202001001", "640202001002", "640205001001"):
        household_create(
            actor=creator,
            division_code=village,
            address="某地",
            area="urban",
            members=[
                MemberInput(name="刘老汉", id_number=resident_id(village[:6], born), relationship="head")
            ],
        )
    make_household(creator, "640202001001", "单独一人")
    county = make_staff("county", "640202000000", [Role.COUNTY_REVIEWER])
    groups = selectors.likely_duplicates(actor=county)
    assert [(g.name, g.birth_date, len(g.persons)) for g in groups] == [("刘老汉", born, 2)]
    assistant = make_staff("village", "640202001001", [Role.VILLAGE_ASSISTANT])
    assert selectors.likely_duplicates(actor=assistant) == []
    client = Client()
    client.force_login(county)
    page = client.get(reverse("web:person_duplicates")).content.decode()
    assert page.count("刘老汉") == 2
    api = client.get("/api/v1/persons/likely-duplicates").json()
    assert len(api[0]["persons"]) == 2
