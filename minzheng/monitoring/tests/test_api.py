"""The monitoring API with bearer tokens (CSRF enforced on the client): a feed imported as a file, a
warning taken through its steps to a pre-filled application, an emergency, the rules' figures; bad
input answered with structured errors and nothing changed; another township gets 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from minzheng.monitoring.models import Feed, Warning
from minzheng.monitoring.tests.test_monitoring import VILLAGE, csv_file, number, people
from minzheng.org.models import Staff
from minzheng.org.services import api_token_issue
from minzheng.registry.testing import make_household

pytestmark = pytest.mark.django_db
__all__ = ["people"]


class Api:
    def __init__(self, staff: Staff) -> None:
        _, raw = api_token_issue(actor=staff, name="监测")
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params, headers=self.headers)

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            url, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )


def test_a_feed_to_an_application_through_the_api(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "接口发现户", members=2)
    head = household.head
    assert head is not None
    county = Api(people["county_reviewer"])
    form = {
        "county": "640202",
        "department": "区医疗保障局",
        "event_type": "medical_self_pay",
        "period": "2026-11-01",
    }
    bad = county.client.post(
        "/api/v1/monitoring/feeds",
        {**form, "file": SimpleUploadedFile("x.csv", csv_file([("1", "甲", "2026-11-01", "1")]), "text/csv")},
        headers=county.headers,
    )
    assert bad.status_code == 422
    assert set(bad.json()) == {"code", "message", "field_errors"}
    assert bad.json()["field_errors"]["rows"][0].startswith("第2行")
    assert not Feed.objects.exists()
    made = county.client.post(
        "/api/v1/monitoring/feeds",
        {
            **form,
            "file": SimpleUploadedFile(
                "y.csv", csv_file([(number(head), "户主", "2026-11-02", "30000")]), "text/csv"
            ),
        },
        headers=county.headers,
    )
    assert made.status_code == 201, made.content
    assert made.json()["warnings"] == 1
    listed = county.get("/api/v1/monitoring/warnings").json()
    assert listed["count"] == 1
    warning_id = listed["items"][0]["id"]
    assert listed["items"][0]["discovery"] is True

    township = Api(people["reviewer"])
    base = f"/api/v1/monitoring/warnings/{warning_id}"
    assert township.post(f"{base}/accept").json()["state"] == "accepted"
    one = township.post(
        f"{base}/visit",
        {"visited_on": timezone.localdate().isoformat(), "workers": ["张三"], "findings": "在家"},
    )
    assert one.status_code == 422
    assert one.json()["field_errors"]["workers"] == ["入户核实须有两名以上工作人员"]
    township.post(
        f"{base}/visit",
        {"visited_on": timezone.localdate().isoformat(), "workers": ["张三", "李四"], "findings": "属实"},
    )
    assert township.post(f"{base}/verify", {"true": True, "note": "属实"}).json()["state"] == "verified_true"
    refused = township.post(f"{base}/dispose", {"outcome": "referral", "reason": "转介"})
    assert refused.status_code == 422
    assert "referred_to" in refused.json()["field_errors"]
    clerk = Api(people["clerk"])
    done = clerk.post(
        f"{base}/dispose", {"outcome": "application", "reason": "引导申请", "item_code": "dibao"}
    )
    assert done.status_code == 200
    assert done.json()["state"] == "disposed"
    assert done.json()["case_id"]
    overview = county.get("/api/v1/monitoring/overview").json()
    assert overview["disposed"] == 1
    rules = {r["code"]: r for r in county.get("/api/v1/monitoring/rules").json()}
    assert rules["medical_self_pay"]["warnings"] == 1
    assert rules["medical_self_pay"]["true_rate"] == 1.0

    far = Api(people["far_reviewer"])
    assert far.get(base).status_code == 404
    assert far.post(f"{base}/accept").status_code == 404
    assert far.get("/api/v1/monitoring/warnings", state="disposed").json()["count"] == 0


def test_an_emergency_through_the_api(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "接口急难户", members=1)
    assert household.head is not None
    assistant = Api(people["assistant"])
    bad = assistant.post(
        "/api/v1/monitoring/emergencies",
        {"household_id": household.pk, "person_id": household.head_id, "kind": "flood", "description": "x"},
    )
    assert bad.status_code == 422
    made = assistant.post(
        "/api/v1/monitoring/emergencies",
        {
            "household_id": household.pk,
            "person_id": household.head_id,
            "kind": "accident",
            "description": "车祸",
        },
    )
    assert made.status_code == 201
    assert made.json()["severity"] == 3
    assert Warning.objects.get().due_on == timezone.localdate()
