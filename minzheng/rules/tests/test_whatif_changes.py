"""What-if, household by household: who would gain, lose, newly qualify or stop qualifying under a
proposed standard, matching the counts, page by page, in the service, the API and the page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.core.errors import InvalidInput
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Membership
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household
from minzheng.rules.whatif import whatif_run

DAY = date(2026, 12, 1)


@pytest.fixture
def households(tree: dict[str, Division]) -> dict[str, Household]:
    """Urban two-person households in 长胜社区 by monthly wages (standard 650: threshold 1300)."""
    clerk = make_staff("c_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    made = {}
    for wages in ("1200", "1250", "1290", "1350"):
        household = make_household(clerk, "640202001001", f"变化{wages}", members=2)
        circumstance_record(
            actor=clerk,
            kind="income",
            subject=household.head,  # type: ignore[arg-type]
            valid_from=date(2026, 1, 1),
            values={"category": "wages", "monthly_amount": wages},
        )
        made[wages] = household
    Membership.objects.update(start_date=date(2020, 1, 1))
    return made


@pytest.fixture
def planner(tree: dict[str, Division]) -> Staff:
    return make_staff("c_planner", "640202000000", [Role.COUNTY_ADMIN])


def test_a_lower_standard_lists_who_stops_qualifying_and_who_gets_less(
    households: dict[str, Household], planner: Staff
) -> None:
    # 630 x 2 = 1260: 1290 stops qualifying (10 -> 0); 1200 (100 -> 60) and 1250 (50 -> 10) get less.
    result = whatif_run(
        actor=planner, programme="dibao", parameter="dibao.standard", value="630", effective_from=DAY
    )
    assert result.no_longer_eligible == result.change_counts["no_longer_eligible"] == 1
    assert result.newly_eligible == result.change_counts["newly_eligible"] == 0
    assert (result.change_counts["gain"], result.change_counts["lose"], result.changes_total) == (0, 2, 3)
    rows = [(c.household_id, c.change, c.amount_before, c.amount_after) for c in result.changes]
    assert rows == [
        (households["1290"].pk, "no_longer_eligible", Decimal("10.00"), Decimal("0.00")),
        (households["1200"].pk, "lose", Decimal("100.00"), Decimal("60.00")),
        (households["1250"].pk, "lose", Decimal("50.00"), Decimal("10.00")),
    ]
    assert result.changes[0].township == "长胜街道"
    assert result.changes[0].village == "长胜社区"
    assert sum(c.difference for c in result.changes) == result.cost_change


def test_a_higher_standard_lists_the_newly_eligible_page_by_page(
    households: dict[str, Household], planner: Staff
) -> None:
    # 700 x 2 = 1400: 1350 newly qualifies (50); the three others gain 100 each.
    first = whatif_run(
        actor=planner,
        programme="dibao",
        parameter="dibao.standard",
        value="700",
        effective_from=DAY,
        page_size=2,
    )
    assert (first.newly_eligible, first.change_counts["gain"], first.changes_total, first.pages) == (
        1,
        3,
        4,
        2,
    )
    assert [c.change for c in first.changes] == ["newly_eligible", "gain"]
    second = whatif_run(
        actor=planner,
        programme="dibao",
        parameter="dibao.standard",
        value="700",
        effective_from=DAY,
        page_size=2,
        page=2,
    )
    assert [c.change for c in second.changes] == ["gain", "gain"]
    gains = whatif_run(
        actor=planner,
        programme="dibao",
        parameter="dibao.standard",
        value="700",
        effective_from=DAY,
        change="newly_eligible",
    )
    assert [(c.household_id, c.amount_after) for c in gains.changes] == [
        (households["1350"].pk, Decimal("50.00"))
    ]
    with pytest.raises(InvalidInput) as exc:
        whatif_run(
            actor=planner,
            programme="dibao",
            parameter="dibao.standard",
            value="700",
            effective_from=DAY,
            change="everyone",
            page=0,
        )
    assert {"change", "page"} <= set(exc.value.field_errors)


def test_the_api_and_the_page_list_the_households(households: dict[str, Household], planner: Staff) -> None:
    _, token = api_token_issue(actor=planner, name="whatif")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {
        "programme": "dibao",
        "parameter": "dibao.standard",
        "value": "630",
        "effective_from": "2026-12-01",
    }
    response = client.post("/api/v1/whatif", {**body, "change": "lose"}, content_type="application/json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["change_counts"] == {"newly_eligible": 0, "no_longer_eligible": 1, "gain": 0, "lose": 2}
    assert data["changes_total"] == 2
    assert [(c["number"], c["monthly_difference"]) for c in data["changes"]] == [
        (households["1200"].number, "-40.00"),
        (households["1250"].number, "-40.00"),
    ]
    bad = client.post("/api/v1/whatif", {**body, "page_size": 500}, content_type="application/json")
    assert bad.status_code == 422
    browser = Client()
    browser.force_login(planner)
    page = browser.get(
        reverse("web:whatif"), {**body, "area": "all", "change": "no_longer_eligible"}
    ).content.decode()
    assert households["1290"].number in page
    assert households["1200"].number not in page
    assert "不再符合条件" in page
