from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from minzheng.core.errors import Conflict, InvalidInput, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry import selectors
from minzheng.registry.circumstances import Disability, Employment, IncomeItem, SelfCareAssessment
from minzheng.registry.models import Household, Person
from minzheng.registry.services import circumstance_end, circumstance_record
from minzheng.registry.testing import make_household


@pytest.fixture
def household(village_assistant: Staff) -> Household:
    return make_household(village_assistant, "640202001001", "马一", members=2)


def head(household: Household) -> Person:
    assert household.head is not None
    return household.head


def test_disability_is_recorded_validated_and_audited(village_assistant: Staff, household: Household) -> None:
    record = circumstance_record(
        actor=village_assistant,
        kind="disability",
        subject=head(household),
        valid_from=date(2024, 3, 1),
        values={"certificate_number": "64020219800517001142", "category": "intellectual", "grade": 3},
        reason="持证登记",
    )
    assert isinstance(record, Disability)
    assert record.is_severe
    event = AuditEvent.objects.get(action="circumstance.record.disability")
    assert event.after is not None
    assert event.after["grade"] == 3
    assert event.scope_code == "640202001001"
    with pytest.raises(InvalidInput) as exc:
        circumstance_record(
            actor=village_assistant,
            kind="disability",
            subject=head(household),
            valid_from=date(2024, 3, 1),
            values={"certificate_number": "x", "category": "physical", "grade": 5},
        )
    assert "grade" in exc.value.field_errors
    assert Disability.objects.count() == 1


def test_income_categories_are_counted_or_excluded(village_assistant: Staff, household: Household) -> None:
    wages = circumstance_record(
        actor=village_assistant,
        kind="income",
        subject=head(household),
        valid_from=date(2025, 1, 1),
        values={"category": "wages", "monthly_amount": "1800.50"},
    )
    pension = circumstance_record(
        actor=village_assistant,
        kind="income",
        subject=head(household),
        valid_from=date(2025, 1, 1),
        values={"category": "resident_basic_pension", "monthly_amount": "180.00"},
    )
    assert isinstance(wages, IncomeItem)
    assert isinstance(pension, IncomeItem)
    assert (wages.counted, pension.counted) == (True, False)
    assert IncomeItem.objects.get(pk=wages.pk).monthly_amount == Decimal("1800.50")


def test_self_care_level_follows_the_six_activities(village_assistant: Staff, household: Household) -> None:
    def assess(day: date, failed: list[str]) -> str:
        record = circumstance_record(
            actor=village_assistant,
            kind="self_care",
            subject=head(household),
            valid_from=day,
            values=dict.fromkeys(failed, False),
        )
        assert isinstance(record, SelfCareAssessment)
        return record.level

    assert assess(date(2024, 1, 1), []) == "self_care"
    assert assess(date(2024, 6, 1), ["bathing", "dressing", "eating"]) == "partly_lost"
    assert assess(date(2025, 1, 1), ["bathing", "dressing", "eating", "toileting"]) == "fully_lost"
    periods = list(SelfCareAssessment.objects.order_by("valid_from").values_list("valid_from", "valid_until"))
    assert periods == [
        (date(2024, 1, 1), date(2024, 5, 31)),
        (date(2024, 6, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), None),
    ]


def test_as_of_returns_what_was_in_force_that_day(village_assistant: Staff, household: Household) -> None:
    for day, status in ((date(2023, 1, 1), "employed"), (date(2024, 7, 1), "unemployed")):
        circumstance_record(
            actor=village_assistant,
            kind="employment",
            subject=head(household),
            valid_from=day,
            values={"status": status},
        )
    found = selectors.household_get(actor=village_assistant, pk=household.pk)

    def status_on(day: date) -> list[str]:
        rows = selectors.household_circumstances(actor=village_assistant, household=found, as_of=day)
        return [r.record.status for r in rows if isinstance(r.record, Employment)]

    assert status_on(date(2022, 12, 31)) == []
    assert status_on(date(2024, 6, 30)) == ["employed"]
    assert status_on(date(2024, 7, 1)) == ["unemployed"]
    assert len(selectors.household_circumstances(actor=village_assistant, household=found)) == 2


def test_single_valued_kind_refuses_an_older_start(village_assistant: Staff, household: Household) -> None:
    circumstance_record(
        actor=village_assistant,
        kind="labour_capacity",
        subject=head(household),
        valid_from=date(2025, 1, 1),
        values={"level": "full"},
    )
    with pytest.raises(Conflict):
        circumstance_record(
            actor=village_assistant,
            kind="labour_capacity",
            subject=head(household),
            valid_from=date(2024, 1, 1),
            values={"level": "none"},
        )


def test_asset_belongs_to_household_and_end_needs_reason(
    village_assistant: Staff, household: Household
) -> None:
    asset = circumstance_record(
        actor=village_assistant,
        kind="asset",
        subject=household,
        valid_from=date(2025, 1, 1),
        values={"kind": "vehicle", "value": "35000", "description": "2018年轿车"},
    )
    with pytest.raises(InvalidInput):
        circumstance_record(
            actor=village_assistant,
            kind="asset",
            subject=head(household),
            valid_from=date(2025, 1, 1),
            values={},
        )
    with pytest.raises(InvalidInput):
        circumstance_end(
            actor=village_assistant, kind="asset", record=asset, valid_until=date(2025, 6, 1), reason=""
        )
    circumstance_end(
        actor=village_assistant, kind="asset", record=asset, valid_until=date(2025, 6, 1), reason="车辆已出售"
    )
    with pytest.raises(Conflict):
        circumstance_end(
            actor=village_assistant, kind="asset", record=asset, valid_until=date(2025, 7, 1), reason="再次"
        )


def test_unknown_fields_and_kinds_are_refused(village_assistant: Staff, household: Household) -> None:
    with pytest.raises(InvalidInput) as exc:
        circumstance_record(
            actor=village_assistant,
            kind="illness",
            subject=head(household),
            valid_from=date(2025, 1, 1),
            values={"name": "尿毒症", "price": 1},
        )
    assert "price" in exc.value.field_errors
    with pytest.raises(InvalidInput):
        circumstance_record(
            actor=village_assistant,
            kind="horoscope",
            subject=head(household),
            valid_from=date(2025, 1, 1),
            values={},
        )


def test_supervisor_reads_but_cannot_record(tree: dict[str, Division], village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "马二")
    supervisor = make_staff("sup", "640200000000", [Role.SUPERVISOR])
    with pytest.raises(PermissionDenied):
        circumstance_record(
            actor=supervisor,
            kind="illness",
            subject=head(household),
            valid_from=date(2025, 1, 1),
            values={"name": "x"},
        )


def test_api_records_and_lists_as_of(village_assistant: Staff, household: Household) -> None:
    client = Client()
    client.force_login(village_assistant)
    person_id = household.head_id
    response = client.post(
        f"/api/v1/persons/{person_id}/circumstances",
        {
            "kind": "illness",
            "valid_from": "2025-03-01",
            "values": {"name": "尿毒症", "is_listed_serious": True},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    record_id = response.json()["id"]
    bad = client.post(
        f"/api/v1/persons/{person_id}/circumstances",
        {"kind": "disability", "valid_from": "2025-03-01", "values": {"grade": 9}},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert {"grade", "category", "certificate_number"} <= set(bad.json()["field_errors"])
    listed = client.get(f"/api/v1/households/{household.pk}/circumstances", {"as_of": "2025-02-28"})
    assert listed.json() == []
    listed = client.get(f"/api/v1/households/{household.pk}/circumstances", {"as_of": "2025-03-01"})
    assert [r["values"]["name"] for r in listed.json()] == ["尿毒症"]
    ended = client.post(
        f"/api/v1/circumstances/illness/{record_id}/end",
        {"valid_until": "2025-12-31", "reason": "已治愈"},
        content_type="application/json",
    )
    assert ended.status_code == 200
    assert ended.json()["valid_until"] == "2025-12-31"
