"""The online applicant's API (token, own case, uploads) and the window's registry link endpoints."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from minzheng.cases import services
from minzheng.cases.models import Case, Document
from minzheng.cases.testing import PDF, online_case_missing_materials
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household, resident_id

ID_NUMBER = resident_id("640202", date(1974, 4, 4))


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "clerk": make_staff("oa_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "foreign": make_staff("oa_foreign", "640205001000", [Role.TOWNSHIP_CLERK]),
    }


@pytest.fixture
def case(people: dict[str, Staff]) -> Case:
    return online_case_missing_materials(people["clerk"], id_number=ID_NUMBER, phone="13900000009")


def staff_client(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def token(case: Case, secret: str = ID_NUMBER) -> Any:
    return Client().post(
        "/api/v1/public/applications/session",
        json.dumps({"number": case.number, "id_number": secret}),
        content_type="application/json",
    )


def test_applicant_sees_steps_and_uploads_a_missing_material(case: Case) -> None:
    assert token(case, resident_id("640202", date(1974, 4, 5))).status_code == 404
    response = token(case)
    assert response.status_code == 200
    headers = {"X-Applicant-Token": response.json()["token"]}
    client = Client()
    assert client.get("/api/v1/public/applications/mine").status_code == 403
    mine = client.get("/api/v1/public/applications/mine", headers=headers)
    assert mine.status_code == 200
    body = mine.json()
    assert body["state"] == "incomplete"
    assert body["steps"][0]["status"] == "done"
    assert body["steps"][1]["status"] == "current"
    assert any(s["status"] == "upcoming" and s["due_date"] is None for s in body["steps"])
    assert body["phone_masked"] == "139****0009"
    assert "13900000009" not in mine.content.decode()
    assert "oa_clerk" not in mine.content.decode()
    assert [n["kind"] for n in body["notices"]] == ["missing_materials", "received"]
    requirement = body["missing"][0]["requirement_id"]

    bad = client.post(
        "/api/v1/public/applications/mine/documents",
        {"requirement_id": requirement, "file": SimpleUploadedFile("a.pdf", b"<html>", "application/pdf")},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["field_errors"]["file"] == ["文件内容与类型不符"]
    assert not Document.objects.exists()

    done = client.post(
        "/api/v1/public/applications/mine/documents",
        {"requirement_id": requirement, "file": SimpleUploadedFile("证明.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert done.status_code == 201, done.content
    assert done.json()["file_name"] == "证明.pdf"
    assert Document.objects.get().from_applicant
    assert client.get("/api/v1/public/applications/mine", headers=headers).json()["missing"][0][
        "uploaded"
    ] == ["证明.pdf"]


def test_upload_after_the_case_closed_is_a_409(case: Case, people: dict[str, Staff]) -> None:
    headers = {"X-Applicant-Token": token(case).json()["token"]}
    requirement = services.missing_materials(case)[0].requirement_id
    services.case_transition(actor=people["clerk"], case_id=case.pk, action="withdraw", note="撤回")
    response = Client().post(
        "/api/v1/public/applications/mine/documents",
        {"requirement_id": requirement, "file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert response.status_code == 409
    assert response.json()["message"] == "申请已办结，不能再上传材料"
    assert not Document.objects.exists()


def test_window_links_or_registers_through_the_api(case: Case, people: dict[str, Staff]) -> None:
    clerk = staff_client(people["clerk"])
    assert clerk.get(f"/api/v1/cases/{case.pk}/household-candidates").json() == []
    foreign = make_household(people["foreign"], "640205001001", "周外县", members=1)
    refused = clerk.post(
        f"/api/v1/cases/{case.pk}/household",
        json.dumps({"household_id": foreign.pk}),
        content_type="application/json",
    )
    assert refused.status_code == 404
    other = staff_client(people["foreign"])
    assert other.get(f"/api/v1/cases/{case.pk}/household-candidates").status_code == 404
    case.refresh_from_db()
    assert case.household_id is None

    wrong = clerk.post(
        f"/api/v1/cases/{case.pk}/household/register",
        json.dumps(
            {"id_number": resident_id("640202", date(1974, 4, 5)), "address": "一号", "area": "urban"}
        ),
        content_type="application/json",
    )
    assert wrong.status_code == 422
    created = clerk.post(
        f"/api/v1/cases/{case.pk}/household/register",
        json.dumps({"id_number": ID_NUMBER, "address": "长胜街道1号", "area": "urban"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    household = Household.objects.get(pk=created.json()["household_id"])
    assert household.division_id == "640202001001"
    again = clerk.post(
        f"/api/v1/cases/{case.pk}/household",
        json.dumps({"household_id": household.pk}),
        content_type="application/json",
    )
    assert again.status_code == 409
    notes = clerk.get(f"/api/v1/cases/{case.pk}/applicant-notifications").json()
    assert [n["kind"] for n in notes] == ["missing_materials", "received"]
    assert notes[0]["sms"]["phone_masked"] == "139****0009"
