"""The rules API: parameters in force, proposals and calculations with explanations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


HOUSEHOLD = {
    "region": "640202001001",
    "area": "urban",
    "date": "2026-11-01",
    "members": [
        {
            "id": "甲",
            "birth_date": "1950-03-01",
            "incomes": [{"category": "pension", "monthly_amount": "300"}],
        },
        {"id": "乙", "birth_date": "1980-01-01", "incomes": [{"category": "wages", "monthly_amount": "800"}]},
    ],
}


def test_parameters_in_force_with_references(village_assistant: Staff) -> None:
    response = client_for(village_assistant).get("/api/v1/parameters?date=2026-01-01")
    assert response.status_code == 200
    rows = {(r["name"], r["area"]): r for r in response.json()}
    urban = rows[("dibao.standard", "urban")]
    assert (urban["value"], urban["region"], urban["effective_from"]) == ("650.00", "640202", "2022-01-01")
    assert "石大政发〔2022〕69号" in urban["reference"]


def test_dibao_calculation_is_explained_line_by_line(village_assistant: Staff) -> None:
    response = post(client_for(village_assistant), "/api/v1/calculations/dibao", HOUSEHOLD)
    assert response.status_code == 200, response.content
    body = response.json()
    # 650 x 2 - (300 + 800) = 200; per-capita 100; elderly +10% = 10.00
    assert (body["eligible"], body["amount"], body["monthly_amount"]) == (True, "210.00", "210.00")
    assert [(li["code"], li["amount"]) for li in body["lines"]] == [
        ("standard", "1300.00"),
        ("income", "-300.00"),
        ("income", "-800.00"),
        ("category_topup", "10.00"),
    ]
    used = {p["name"]: p for p in body["parameters"]}
    assert used["dibao.standard"]["value"] == "650.00"
    assert used["dibao.standard"]["overridden"] is False
    assert all(p["reference"] for p in body["parameters"])


def test_what_if_overrides_are_marked_in_the_explanation(village_assistant: Staff) -> None:
    body = post(
        client_for(village_assistant),
        "/api/v1/calculations/dibao",
        {**HOUSEHOLD, "overrides": {"dibao.standard": "700"}},
    ).json()
    # 700 x 2 - 1100 = 300; per-capita 150; +15.00
    assert body["amount"] == "315.00"
    assert body["overridden"] is True
    standard = next(p for p in body["parameters"] if p["name"] == "dibao.standard")
    assert (standard["value"], standard["overridden"]) == ("700.00", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOUSEHOLD, "members": []}, "members"),
        ({**HOUSEHOLD, "area": "suburb"}, "area"),
        ({**HOUSEHOLD, "region": "64x"}, "region"),
        ({**HOUSEHOLD, "members": [{"id": "甲", "birth_date": "1950-13-01"}]}, "members.0.birth_date"),
        (
            {
                **HOUSEHOLD,
                "members": [
                    {
                        "id": "甲",
                        "birth_date": "1950-01-01",
                        "incomes": [{"category": "x", "monthly_amount": "1"}],
                    }
                ],
            },
            "members.0.incomes.0.category",
        ),
        (
            {
                **HOUSEHOLD,
                "members": [
                    {
                        "id": "甲",
                        "birth_date": "1950-01-01",
                        "incomes": [{"category": "wages", "monthly_amount": "-1"}],
                    }
                ],
            },
            "members.0.incomes.0.monthly_amount",
        ),
        ({**HOUSEHOLD, "overrides": {"dibao.nonsense": "1"}}, "overrides"),
        ({**HOUSEHOLD, "overrides": {"dibao.standard": "lots"}}, "overrides"),
        ({**HOUSEHOLD, "date": "2019-01-01"}, "date"),
    ],
)
def test_invalid_input_gets_field_errors_never_a_500(village_assistant: Staff, body: Any, field: str) -> None:
    response = post(client_for(village_assistant), "/api/v1/calculations/dibao", body)
    assert response.status_code == 422, response.content
    errors = response.json()["field_errors"]
    assert any(key.startswith(field) for key in errors), errors


def test_unknown_programme_is_404(village_assistant: Staff) -> None:
    response = post(client_for(village_assistant), "/api/v1/calculations/pension", HOUSEHOLD)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_programme"


def test_proposal_and_approval_through_the_api(county_admin: Staff, tree: dict[str, Division]) -> None:
    approver = make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])
    created = post(
        client_for(county_admin),
        "/api/v1/parameter-proposals",
        {
            "name": "disability.living.amount",
            "region": "640202",
            "effective_from": "2027-01-01",
            "value": "130",
            "reference": "石大政发〔2026〕9号",
            "reason": "提标",
        },
    )
    assert created.status_code == 201, created.content
    value_id = created.json()["id"]
    assert (
        post(client_for(county_admin), f"/api/v1/parameter-proposals/{value_id}/approve", {}).status_code
        == 403
    )
    approved = post(client_for(approver), f"/api/v1/parameter-proposals/{value_id}/approve", {"note": "同意"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    history = client_for(approver).get("/api/v1/parameters/disability.living.amount/values").json()
    assert [h["value"] for h in history if h["region"] == "640202"] == ["130.00", "110.00"]
