"""What-if over the registry: counts and monthly cost before and after a changed standard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Membership
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household
from minzheng.rules.whatif import whatif_run

DAY = date(2026, 12, 1)


@pytest.fixture
def county(tree: dict[str, Division]) -> dict[str, object]:
    """Three urban two-person households in 640202 with monthly wages 1200, 1290 and 1400, and one in
    another county (never counted)."""
    clerk = make_staff("w_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    other = make_staff("w_other", "640205001000", [Role.TOWNSHIP_CLERK])
    made: list[Household] = []
    for wages in ("1200", "1290", "1400"):
        household = make_household(clerk, "640202001001", f"测算{wages}", members=2)
        circumstance_record(
            actor=clerk,
            kind="income",
            subject=household.head,  # type: ignore[arg-type]
            valid_from=date(2026, 1, 1),
            values={"category": "wages", "monthly_amount": wages},
        )
        made.append(household)
    made.append(make_household(other, "640205001001", "外县户", members=2))
    Membership.objects.update(start_date=date(2020, 1, 1))
    return {"households": made, "planner": make_staff("w_planner", "640202000000", [Role.COUNTY_ADMIN])}


def test_raising_the_standard_adds_households_and_costs_the_difference(county: dict[str, object]) -> None:
    planner = county["planner"]
    assert isinstance(planner, Staff)
    result = whatif_run(
        actor=planner,
        programme="dibao",
        parameter="dibao.standard",
        value="700",
        effective_from=DAY,
        area="urban",
    )
    # Standard 650 x 2 = 1300: 1200 and 1290 are eligible (100 + 10), 1400 is not.
    # At 700 x 2 = 1400: 1200, 1290 eligible (200 + 110); 1400 is exactly at the line: still not eligible.
    assert (result.households, result.eligible_before, result.eligible_after) == (3, 2, 2)
    assert (result.cost_before, result.cost_after) == (Decimal("110.00"), Decimal("310.00"))
    assert (result.newly_eligible, result.no_longer_eligible) == (0, 0)
    assert [(t.code, t.households) for t in result.townships] == [("640202001000", 3)]

    higher = whatif_run(
        actor=planner, programme="dibao", parameter="dibao.standard", value="701", effective_from=DAY
    )
    assert (higher.eligible_after, higher.newly_eligible) == (3, 1)
    assert higher.cost_after == Decimal("202.00") + Decimal("112.00") + Decimal("2.00")  # 1402 - wages


def test_lowering_the_standard_shows_who_loses_eligibility(county: dict[str, object]) -> None:
    planner = county["planner"]
    assert isinstance(planner, Staff)
    result = whatif_run(
        actor=planner, programme="dibao", parameter="dibao.standard", value="640", effective_from=DAY
    )
    # 640 x 2 = 1280: 1290 drops out.
    assert (result.eligible_before, result.eligible_after, result.no_longer_eligible) == (2, 1, 1)


def test_the_rural_only_change_leaves_urban_households_alone(county: dict[str, object]) -> None:
    planner = county["planner"]
    assert isinstance(planner, Staff)
    result = whatif_run(
        actor=planner,
        programme="dibao",
        parameter="dibao.standard",
        value="900",
        effective_from=DAY,
        area="rural",
    )
    assert result.cost_after == result.cost_before


def test_bad_what_if_input_gets_field_errors(county: dict[str, object]) -> None:
    planner = county["planner"]
    assert isinstance(planner, Staff)
    with pytest.raises(InvalidInput) as exc:
        whatif_run(
            actor=planner, programme="temporary_assistance", parameter="x.y", value="1", effective_from=DAY
        )
    assert {"programme", "parameter"} <= set(exc.value.field_errors)
    with pytest.raises(InvalidInput) as exc:
        whatif_run(
            actor=planner, programme="dibao", parameter="dibao.standard", value="七百", effective_from=DAY
        )
    assert "value" in exc.value.field_errors
    with pytest.raises(InvalidInput):
        whatif_run(
            actor=planner,
            programme="dibao",
            parameter="dibao.standard",
            value="700",
            effective_from=DAY,
            place="640205",
        )


def test_village_assistants_cannot_run_what_ifs(county: dict[str, object], village_assistant: Staff) -> None:
    with pytest.raises(PermissionDenied):
        whatif_run(
            actor=village_assistant,
            programme="dibao",
            parameter="dibao.standard",
            value="700",
            effective_from=DAY,
        )


def test_what_if_through_the_api_and_the_page(county: dict[str, object]) -> None:
    import json

    from django.test import Client
    from django.urls import reverse

    planner = county["planner"]
    assert isinstance(planner, Staff)
    client = Client()
    client.force_login(planner)
    body = {
        "programme": "dibao",
        "parameter": "dibao.standard",
        "value": "701",
        "effective_from": "2026-12-01",
    }
    response = client.post("/api/v1/whatif", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["eligible_before"], data["eligible_after"], data["monthly_cost_after"]) == (2, 3, "316.00")
    assert data["townships"][0]["code"] == "640202001000"
    bad = client.post("/api/v1/whatif", json.dumps({**body, "value": "x"}), content_type="application/json")
    assert bad.status_code == 422
    assert "value" in bad.json()["field_errors"]

    page = client.get(reverse("web:whatif"), {**body, "area": "all"}).content.decode()
    assert "316.00" in page
    assert 'id="whatif-data"' in page
