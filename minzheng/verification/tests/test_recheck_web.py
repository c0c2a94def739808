"""The monthly re-check through the pages (a county reviewer starts the month's batch, follows the
departments and sees the hits) and through the API with a bearer token (CSRF enforced on the
session-less client); another county's reviewer gets 404 for the batch and its hits."""

from __future__ import annotations

import json
from functools import partial

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.exchange.models import Counterparty
from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.payments.testing import enrolled_household
from minzheng.verification import services
from minzheng.verification.models import RecheckBatch, RequestStatus
from minzheng.verification.tests.test_recheck import due, people, this_month

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["people"]


def recipients(people: dict[str, Staff]) -> None:
    Counterparty.objects.update(active=False)  # enrolled before the county was connected
    due(enrolled_household(people, "页面到期户"))
    Counterparty.objects.update(active=True)


def test_a_county_reviewer_starts_the_month_on_the_page_and_sees_it_through(
    people: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    recipients(people)
    client = Client()
    client.force_login(people["county_reviewer"])
    page = client.get(reverse("web:rechecks"))
    assert page.status_code == 200
    assert 'value="640202"' in page.content.decode()

    bad = client.post(reverse("web:rechecks"), {"county": "6402", "month": "2026-12"})
    assert bad.status_code == 422
    assert not RecheckBatch.objects.exists()
    elsewhere = client.post(
        reverse("web:rechecks"), {"county": "640205", "month": this_month().strftime("%Y-%m")}
    )
    assert elsewhere.status_code == 422
    assert "管辖范围" in elsewhere.content.decode()

    made = client.post(reverse("web:rechecks"), {"county": "640202", "month": this_month().strftime("%Y-%m")})
    batch = RecheckBatch.objects.get()
    assert made.status_code == 302
    assert made["Location"] == reverse("web:recheck", args=[batch.pk])
    again = client.post(
        reverse("web:rechecks"), {"county": "640202", "month": this_month().strftime("%Y-%m")}
    )
    assert again.status_code == 422
    assert "已经生成" in again.content.decode()

    for query_id in batch.queries.values_list("pk", flat=True):
        wait_for(partial(services.collect, query_id=query_id), timeout=30)
    shown = client.get(reverse("web:recheck", args=[batch.pk])).content.decode()
    assert f'data-status="{RequestStatus.ANSWERED}"' in shown
    assert shown.count('data-state="answered"') == 8
    listed = client.get(reverse("web:rechecks")).content.decode()
    assert f'data-testid="recheck-row-{batch.pk}"' in listed

    outsider = Client()
    outsider.force_login(make_staff("rc_far", "640205000000", [Role.COUNTY_REVIEWER]))
    assert outsider.get(reverse("web:recheck", args=[batch.pk])).status_code == 404
    assert f"recheck-row-{batch.pk}" not in outsider.get(reverse("web:rechecks")).content.decode()


def test_the_batch_through_the_api_with_a_token(
    people: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    recipients(people)
    _, raw = api_token_issue(actor=people["county_reviewer"], name="核对脚本")
    client = Client(enforce_csrf_checks=True)
    auth = {"Authorization": f"Bearer {raw}"}

    def post(url: str, body: dict[str, object]) -> object:
        return client.post(url, json.dumps(body), content_type="application/json", headers=auth)

    refused = post("/api/v1/verification/rechecks", {"county": "64020", "month": "2026-12-01"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    made = post("/api/v1/verification/rechecks", {"county": "640202", "month": this_month().isoformat()})
    assert made.status_code == 201, made.content  # type: ignore[attr-defined]
    body = made.json()  # type: ignore[attr-defined]
    assert body["households"] == 1
    assert len(body["queries"]) == 8
    twice = post("/api/v1/verification/rechecks", {"county": "640202", "month": this_month().isoformat()})
    assert twice.status_code == 409  # type: ignore[attr-defined]

    batch_id = body["id"]
    for query_id in RecheckBatch.objects.get(pk=batch_id).queries.values_list("pk", flat=True):
        wait_for(partial(services.collect, query_id=query_id), timeout=30)
    detail = client.get(f"/api/v1/verification/rechecks/{batch_id}", headers=auth).json()
    assert detail["status"] == "answered"
    assert all(q["status"] == "answered" for q in detail["queries"])
    hits = client.get(f"/api/v1/verification/rechecks/{batch_id}/hits", headers=auth).json()
    assert hits["count"] == detail["hits"]
    assert client.get("/api/v1/verification/rechecks", headers=auth).json()["count"] == 1

    _, far = api_token_issue(actor=make_staff("rc_far2", "640205000000", [Role.COUNTY_REVIEWER]), name="x")
    other = {"Authorization": f"Bearer {far}"}
    assert client.get(f"/api/v1/verification/rechecks/{batch_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/verification/rechecks/{batch_id}/hits", headers=other).status_code == 404
    assert client.get("/api/v1/verification/rechecks", headers=other).json()["count"] == 0
