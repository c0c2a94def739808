"""The extreme-poverty support API: support mode, county sampling, visiting plans and visits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from minzheng.cases import care, services
from minzheng.cases.models import CareVisitPlan, Case
from minzheng.cases.tests.test_care import approved, investigate, to_county_review
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "assistant": make_staff("ca_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk": make_staff("ca_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("ca_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("ca_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("ca_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "neighbour": make_staff("ca_neighbour", "640202001002", [Role.VILLAGE_ASSISTANT]),
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)
        monkeypatch.setattr(care, "_today", lambda: day)

    return set_today


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_support_mode_and_county_sampling_through_the_api(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = to_county_review(people, clock, "特困接口甲")
    url = f"/api/v1/cases/{case.pk}/support-mode"
    reviewer = client_for(people["reviewer"])
    refused = post(reviewer, url, {"mode": "institutional"})
    assert refused.status_code == 422
    assert refused.json()["field_errors"] == {"institution": ["集中供养须填写供养服务机构名称"]}
    assert post(reviewer, url, {"mode": "boat"}).status_code == 422
    done = post(reviewer, url, {"mode": "home"})
    assert done.status_code == 200
    assert done.json() == {
        "case_id": case.pk,
        "number": case.number,
        "support_mode": "home",
        "support_mode_label": "分散供养",
        "institution": "",
    }
    assert post(client_for(people["approver"]), url, {"mode": "home"}).status_code == 403
    assert (
        post(client_for(people["neighbour"]), url, {"mode": "institutional", "institution": "x"}).status_code
        == 404
    )
    assert Case.objects.get(pk=case.pk).details["support_mode"] == "home"

    approver = client_for(people["approver"])
    [row] = approver.get("/api/v1/care/county-sampling", {"year": 2026}).json()
    assert row == {
        "code": "640202",
        "name": "大武口区",
        "reviewed": 1,
        "sampled": 1,
        "visited": 0,
        "pending": 1,
        "share": "1.000",
        "meets_target": True,
    }
    listed = approver.get("/api/v1/care/sampled-cases", {"year": 2026, "pending": True}).json()
    assert [(c["number"], c["county_visit_on"]) for c in listed["items"]] == [(case.number, None)]
    investigate(people["county_reviewer"], case)
    assert approver.get("/api/v1/care/sampled-cases", {"year": 2026, "pending": True}).json()["count"] == 0
    assert client_for(people["neighbour"]).get("/api/v1/care/county-sampling", {"year": 2026}).json() == []


def test_plans_and_visits_through_the_api(people: dict[str, Staff], clock: Callable[[date], None]) -> None:
    case = approved(people, clock, "特困接口乙")
    CareVisitPlan.objects.filter(case=case).delete()  # as a case approved before plans were made
    today = timezone.localdate()
    clock(today)
    reviewer = client_for(people["reviewer"])
    brought = reviewer.post("/api/v1/care/plans/bring-in")
    assert brought.status_code == 200
    plan = CareVisitPlan.objects.get(case=case)
    assert brought.json() == {"created": 1, "plan_ids": [plan.pk]}
    assert reviewer.post("/api/v1/care/plans/bring-in").json() == {"created": 0, "plan_ids": []}
    assert client_for(people["assistant"]).post("/api/v1/care/plans/bring-in").status_code == 403

    assistant = client_for(people["assistant"])
    assert plan.next_due == today + timedelta(days=30)  # decided today: not due yet
    assert assistant.get("/api/v1/care/plans", {"due": True}).json()["count"] == 0
    CareVisitPlan.objects.filter(pk=plan.pk).update(next_due=today - timedelta(days=1))
    due = assistant.get("/api/v1/care/plans", {"due": True}).json()
    assert [(p["id"], p["person_name"], p["overdue"]) for p in due["items"]] == [
        (plan.pk, "特困接口乙", True)
    ]
    recorded = post(
        assistant,
        f"/api/v1/care/plans/{plan.pk}/visits",
        {
            "visited_on": today.isoformat(),
            "companions": ["村医王五"],
            "living_conditions": "房屋安全",
            "health": "良好",
            "follow_up_needed": False,
        },
    )
    assert recorded.status_code == 201
    assert recorded.json()["visitor_name"] == people["assistant"].full_name
    detail = assistant.get(f"/api/v1/care/plans/{plan.pk}").json()
    assert detail["next_due"] == (today + timedelta(days=30)).isoformat()
    assert detail["last_visit_on"] == today.isoformat()
    assert [v["companions"] for v in detail["visits"]] == [["村医王五"]]
    missing = post(assistant, f"/api/v1/care/plans/{plan.pk}/visits", {"visited_on": today.isoformat()})
    assert missing.status_code == 422
    assert {"living_conditions", "health"} <= set(missing.json()["field_errors"])

    neighbour = client_for(people["neighbour"])
    assert neighbour.get(f"/api/v1/care/plans/{plan.pk}").status_code == 404
    assert neighbour.get("/api/v1/care/plans").json()["count"] == 0
    body = {"visited_on": today.isoformat(), "living_conditions": "x", "health": "y"}
    assert post(neighbour, f"/api/v1/care/plans/{plan.pk}/visits", body).status_code == 404
    assert plan.visits.count() == 1
