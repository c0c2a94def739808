"""The verification API: authorisations (refused with a Chinese message and no change when wrong),
提请核对 refused while someone is missing, a request answered by the department simulator (a real
process calling back the live server), its discrepancies disposed of and the sealed report;
another county gets 404 for the case, the request, the finding and the report.

SQLite caveat as in test_pages: the test waits on the simulator's state before reading again."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.models import Staff
from minzheng.registry.models import Membership
from minzheng.verification.models import Authorisation, Finding, Report, VerificationRequest
from minzheng.verification.tests.test_pages import ANSWERING, collect_bank, delivered, people
from minzheng.verification.tests.test_verification import dibao_case

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["people"]  # the fixture, shared with the page tests


def api(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_authorisations_are_checked_and_a_request_waits_for_all_of_them(people: dict[str, Staff]) -> None:
    case, household = dibao_case(people)
    head = Membership.objects.get(household=household, person__name="核对甲").person
    child = Membership.objects.get(household=household, person__name="核对乙").person
    reviewer, county = api(people["reviewer"]), api(people["county"])
    today = timezone.localdate().isoformat()

    shown = reviewer.get(f"/api/v1/cases/{case.pk}/verification").json()
    assert shown["complete"] is False
    assert sorted(p["name"] for p in shown["missing"]) == ["核对乙", "核对甲"]
    assert all("*" in p["id_masked"] for p in shown["missing"])

    url = f"/api/v1/cases/{case.pk}/authorisations"
    minor = post(
        reviewer, url, {"person_id": child.pk, "role": "member", "signer_name": "核对乙", "signed_on": today}
    )
    assert minor.status_code == 422
    assert minor.json()["field_errors"]["role"] == ["未成年人的授权由其监护人签署"]
    unknown_role = post(
        reviewer, url, {"person_id": head.pk, "role": "x", "signer_name": "甲", "signed_on": today}
    )
    assert unknown_role.status_code == 422
    assert "role" in unknown_role.json()["field_errors"]
    assert not Authorisation.objects.exists()

    refused = post(county, f"/api/v1/cases/{case.pk}/verification-requests")
    assert refused.status_code == 422
    assert refused.json()["message"] == "核对授权不完整，尚缺：核对甲、核对乙"
    assert not VerificationRequest.objects.exists()

    signed = post(
        reviewer, url, {"person_id": head.pk, "role": "member", "signer_name": "核对甲", "signed_on": today}
    )
    assert signed.status_code == 201
    assert [a["person_name"] for a in signed.json()["authorisations"]] == ["核对甲"]
    assert [p["name"] for p in signed.json()["missing"]] == ["核对乙"]
    guardian = post(
        reviewer,
        url,
        {"person_id": child.pk, "role": "guardian", "signer_name": "核对甲", "signed_on": today},
    )
    assert guardian.status_code == 201
    assert guardian.json()["complete"] is True
    twice = post(
        reviewer, url, {"person_id": head.pk, "role": "member", "signer_name": "核对甲", "signed_on": today}
    )
    assert twice.status_code == 409
    assert twice.json()["message"] == "该人员的核对授权已登记"
    assert post(reviewer, f"/api/v1/cases/{case.pk}/verification-requests").status_code == 403

    other = api(people["other_county"])
    assert other.get(f"/api/v1/cases/{case.pk}/verification").status_code == 404
    assert (
        post(
            other, url, {"person_id": head.pk, "role": "member", "signer_name": "x", "signed_on": today}
        ).status_code
        == 404
    )
    assert post(other, f"/api/v1/cases/{case.pk}/verification-requests").status_code == 404
    assert Authorisation.objects.count() == 2


def test_a_request_answered_disposed_of_and_reported_through_the_api(
    people: dict[str, Staff], department_simulator: DepartmentSimulator, settings: Any
) -> None:
    settings.MINZHENG_EXCHANGE_CALLBACK_BASE = department_simulator.callback_base
    case, household = dibao_case(people)
    reviewer, county, other = api(people["reviewer"]), api(people["county"]), api(people["other_county"])
    today = timezone.localdate().isoformat()
    for m in Membership.objects.filter(household=household).select_related("person"):
        role = "guardian" if m.person.name == "核对乙" else "member"
        body = {"person_id": m.person_id, "role": role, "signer_name": "核对甲", "signed_on": today}
        assert post(reviewer, f"/api/v1/cases/{case.pk}/authorisations", body).status_code == 201
    department_simulator.fault("vehicles", "refuse")
    for i, code in enumerate(ANSWERING):
        department_simulator.configure(code, delay_seconds=3.0 + 0.5 * i)

    sent = post(county, f"/api/v1/cases/{case.pk}/verification-requests")
    assert sent.status_code == 201, sent.content
    request = sent.json()
    states = {q["department"]: q["status"] for q in request["queries"]}
    assert states["vehicles"] == "rejected"
    assert states["tax"] == "acknowledged"
    assert all(q["due_on"] > today for q in request["queries"])
    listed = county.get("/api/v1/verification/requests").json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == request["id"]
    assert other.get("/api/v1/verification/requests").json()["count"] == 0
    again = post(county, f"/api/v1/cases/{case.pk}/verification-requests")
    assert again.status_code == 409
    nothing_failed = post(county, f"/api/v1/verification/requests/{request['id']}/resend")
    assert nothing_failed.status_code == 409
    assert nothing_failed.json()["message"] == "没有发送失败的部门查询"

    wait_for(delivered(department_simulator, len(ANSWERING)), timeout=40)
    waiting = county.get(f"/api/v1/verification/requests/{request['id']}").json()
    assert waiting["status"] == "open"
    assert [q["department"] for q in waiting["queries"] if q["status"] == "acknowledged"] == ["bank"]
    collect_bank(VerificationRequest.objects.get(pk=request["id"]))
    detail = county.get(f"/api/v1/verification/requests/{request['id']}").json()
    assert detail["status"] == "answered"
    wage = next(f for f in detail["findings"] if f["item"] == "wage_income")
    assert (wage["person_name"], wage["item_label"], wage["declared"], wage["discrepancy"]) == (
        "核对甲",
        "工资性收入（月均）",
        "0.00",
        True,
    )
    assert detail["pending_dispositions"] == sum(f["discrepancy"] for f in detail["findings"])

    report_url = f"/api/v1/verification/requests/{request['id']}/report"
    early = post(county, report_url)
    assert early.status_code == 409
    assert "未处理" in early.json()["message"]
    dispose = f"/api/v1/verification/findings/{wage['id']}/dispose"
    bad = post(county, dispose, {"disposition": "ignored", "note": "x"})
    assert bad.status_code == 422
    assert "disposition" in bad.json()["field_errors"]
    assert post(other, dispose, {"disposition": "accepted", "note": "越权"}).status_code == 404
    assert Finding.objects.get(pk=wage["id"]).disposition == "pending"
    for f in detail["findings"]:
        if f["discrepancy"]:
            done = post(
                county,
                f"/api/v1/verification/findings/{f['id']}/dispose",
                {"disposition": "accepted", "note": "采信"},
            )
            assert done.status_code == 200
            assert done.json()["disposition_label"] == "采信核对结果"

    assert post(other, report_url).status_code == 404
    issued = post(county, report_url)
    assert issued.status_code == 201, issued.content
    report = issued.json()
    stored = Report.objects.get(pk=report["id"])
    assert report["sha256"] == stored.sha256
    assert (
        report["sha256"]
        == hashlib.sha256(
            json.dumps(report["content"], sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
    )
    fetched = county.get(f"/api/v1/verification/reports/{report['id']}")
    assert fetched.json()["number"] == stored.number
    assert other.get(f"/api/v1/verification/reports/{report['id']}").status_code == 404
    assert other.get(f"/api/v1/verification/requests/{request['id']}").status_code == 404
    assert county.get("/api/v1/verification/requests").json()["count"] == 0  # none in progress
    assert county.get("/api/v1/verification/requests", {"status": "reported"}).json()["count"] == 1
    assert post(county, report_url).status_code == 409

    # The applicant contests a finding of the issued report; the re-check asks again about it only.
    detail = county.get(f"/api/v1/verification/requests/{request['id']}").json()
    contested = next(f for f in detail["findings"] if f["discrepancy"])
    contest = f"/api/v1/verification/findings/{contested['id']}/contest"
    assert post(reviewer, contest, {"statement": "已离职", "evidence": ""}).status_code == 422
    assert post(other, contest, {"statement": "越权", "evidence": "越权"}).status_code == 404
    answered = post(reviewer, contest, {"statement": "2026年10月已离职", "evidence": "离职证明"})
    assert answered.status_code == 200, answered.content
    assert answered.json()["disposition"] == "contested"
    for code in (
        "market",
        "provident_fund",
        "public_security",
        "real_estate",
        "social_insurance",
        "tax",
        "vehicles",
    ):
        department_simulator.configure(code, delay_seconds=60)  # no answer while this test runs
    recheck = post(county, f"/api/v1/verification/requests/{request['id']}/recheck")
    assert recheck.status_code == 201, recheck.content
    assert [q["department_name"] for q in recheck.json()["queries"]] == [contested["department"]]
    assert post(county, f"/api/v1/verification/requests/{request['id']}/recheck").status_code == 409
