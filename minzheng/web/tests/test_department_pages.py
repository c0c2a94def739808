"""Pages and API of a partner department's account: its transferred items with the feedback form,
and the assistance-status inquiry."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.cases.models import Case, MaterialStatus, Transfer
from minzheng.cases.services import case_intake, case_transition
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.selectors import item_materials
from minzheng.inquiries.models import StatusInquiry
from minzheng.inquiries.testing import Served, make_federation, make_served
from minzheng.org.models import Division, Office, PartnerDepartment, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household


def transferred(clerk: Staff, household: Household, item: str) -> Case:
    case = case_intake(
        actor=clerk,
        item_code=item,
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="window",
        materials={
            m.pk: MaterialStatus.PROVIDED for m in item_materials(item=ServiceItem.objects.get(code=item))
        },
    )
    return case_transition(actor=clerk, case_id=case.pk, action="transfer")


@pytest.fixture
def served(tree: dict[str, Division]) -> Served:
    return make_served()


@pytest.fixture
def federation(tree: dict[str, Division]) -> Staff:
    return make_federation()


@pytest.fixture
def education(served: Served) -> Staff:
    return make_staff(
        "edu_bureau", "640202000000", [Role.DEPARTMENT_STAFF], department=PartnerDepartment.EDUCATION
    )


@pytest.fixture
def clerk(served: Served) -> Staff:
    return Staff.objects.get(username="i_clerk")


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_worklist_lists_own_transfers_and_feedback_closes_one(
    served: Served,
    clerk: Staff,
    education: Staff,
) -> None:
    school = transferred(clerk, served.household, "education_aid")
    housing = transferred(clerk, served.household, "housing_assistance")
    client = logged_in(education)
    page = client.get(reverse("web:department_transfers")).content.decode()
    assert school.number in page
    assert housing.number not in page
    assert "教育局" in page
    assert f'data-testid="transfer-{school.pk}"' in page
    home = client.get(reverse("web:home")).content.decode()
    assert "待反馈的转办事项" in home

    posted = client.post(
        reverse("web:department_transfer_feedback", args=[school.pk]),
        {f"t{school.pk}-feedback": "已纳入秋季学期资助名单"},
    )
    assert posted.status_code == 302
    transfer = Transfer.objects.get(case=school)
    assert transfer.feedback == "已纳入秋季学期资助名单"
    assert Case.objects.get(pk=school.pk).state == "closed"
    assert (
        f'data-testid="transfer-{school.pk}"'
        not in client.get(reverse("web:department_transfers")).content.decode()
    )
    assert (
        "已纳入秋季学期资助名单"
        in client.get(reverse("web:department_transfers"), {"closed": "1"}).content.decode()
    )


def test_feedback_form_refuses_blank_and_other_departments_items(
    served: Served,
    clerk: Staff,
    education: Staff,
) -> None:
    school = transferred(clerk, served.household, "education_aid")
    housing = transferred(clerk, served.household, "housing_assistance")
    client = logged_in(education)
    blank = client.post(
        reverse("web:department_transfer_feedback", args=[school.pk]), {f"t{school.pk}-feedback": "  "}
    )
    assert blank.status_code == 422
    other = client.post(
        reverse("web:department_transfer_feedback", args=[housing.pk]), {f"t{housing.pk}-feedback": "越权"}
    )
    assert other.status_code == 404
    assert Transfer.objects.filter(feedback="").count() == 2
    # Civil-affairs pages are not theirs.
    assert client.get(reverse("web:cases")).status_code == 403
    assert client.get(reverse("web:households")).status_code == 403
    assert logged_in(clerk).get(reverse("web:department_transfers")).status_code == 403


def test_status_inquiry_page_answers_statuses_and_records_the_purpose(
    served: Served,
    federation: Staff,
) -> None:
    client = logged_in(federation)
    assert client.get(reverse("web:status_inquiry")).status_code == 200
    answer = client.post(
        reverse("web:status_inquiry"),
        {"id_number": served.id_number(served.child), "purpose": "困难残疾人生活补贴资格审核"},
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert 'data-status="dibao"' in page
    assert 'data-status="severely_disabled"' in page
    assert "王大山" not in page  # no names of the household's members
    assert "1300" not in page  # no amounts
    elsewhere = client.post(
        reverse("web:status_inquiry"),
        {"id_number": served.id_number(served.elsewhere.head), "purpose": "困难残疾人生活补贴资格审核"},  # type: ignore[arg-type]
    )
    assert 'data-testid="no-status"' in elsewhere.content.decode()
    no_purpose = client.post(
        reverse("web:status_inquiry"), {"id_number": served.id_number(served.child), "purpose": "查"}
    )
    assert no_purpose.status_code == 422
    assert StatusInquiry.objects.count() == 2
    assert "困难残疾人生活补贴资格审核" in client.get(reverse("web:status_inquiry")).content.decode()


def test_status_inquiry_api_with_a_read_only_token(served: Served, federation: Staff) -> None:
    _, raw = api_token_issue(actor=federation, name="残联业务系统", read_only=True)
    client = Client()
    auth = {"Authorization": f"Bearer {raw}"}
    params = {
        "id_number": served.id_number(served.child),
        "purpose": "困难残疾人生活补贴资格审核",
        "on": timezone.localdate().isoformat(),
    }
    response = client.get("/api/v1/status-inquiries", params, headers=auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted((s["status"], s["subject"]) for s in body["statuses"]) == [
        ("dibao", "household"),
        ("severely_disabled", "person"),
    ]
    assert set(body["statuses"][0]) == {"status", "label", "subject", "valid_from", "valid_until"}
    assert StatusInquiry.objects.get(pk=body["inquiry_id"]).channel == "api"
    missing = client.get("/api/v1/status-inquiries", {"id_number": params["id_number"]}, headers=auth)
    assert missing.status_code == 422
    assert "purpose" in missing.json()["field_errors"]
    elsewhere = client.get(
        "/api/v1/status-inquiries",
        {**params, "id_number": served.id_number(served.elsewhere.head)},  # type: ignore[arg-type]
        headers=auth,
    ).json()
    assert (elsewhere["statuses"], elsewhere["message"]) == ([], "未查到该人员的救助身份")


def test_transfer_api_lists_and_takes_feedback(served: Served, clerk: Staff, education: Staff) -> None:
    school = transferred(clerk, served.household, "education_aid")
    housing = transferred(clerk, served.household, "housing_assistance")
    _, raw = api_token_issue(actor=education, name="教育局资助系统")
    client = Client()
    auth = {"Authorization": f"Bearer {raw}"}
    listed = client.get("/api/v1/department/transfers", headers=auth).json()
    assert [t["number"] for t in listed["items"]] == [school.number]
    assert client.get(f"/api/v1/department/transfers/{housing.pk}", headers=auth).status_code == 404
    refused = client.post(
        f"/api/v1/department/transfers/{housing.pk}/feedback",
        {"feedback": "越权"},
        content_type="application/json",
        headers=auth,
    )
    assert refused.status_code == 404
    done = client.post(
        f"/api/v1/department/transfers/{school.pk}/feedback",
        {"feedback": "已资助"},
        content_type="application/json",
        headers=auth,
    )
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["feedback"]) == ("closed", "已资助")
    assert client.get("/api/v1/department/transfers", headers=auth).json()["count"] == 0


def test_department_pages_read_in_english(served: Served, federation: Staff, education: Staff) -> None:
    inquiry = logged_in(federation).post(
        reverse("web:status_inquiry"),
        {"id_number": served.id_number(served.elsewhere.head), "purpose": "困难残疾人生活补贴资格审核"},  # type: ignore[arg-type]
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "No status found for this person" in inquiry.content.decode()
    assert "My recent inquiries" in inquiry.content.decode()
    worklist = logged_in(education).get(reverse("web:department_transfers"), HTTP_ACCEPT_LANGUAGE="en")
    assert "No transferred items await your result" in worklist.content.decode()


def test_county_admin_creates_a_department_account(served: Served) -> None:
    admin = make_staff("dept_admin", "640202000000", [Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN])
    office = Office.objects.get(division_id="640202000000")
    form = {
        "username": "cl_new",
        "full_name": "残联新人",
        "office": office.pk,
        "password": "Strong-Passw0rd!",
        "roles": [Role.DEPARTMENT_STAFF],
        "department": "",
    }
    client = logged_in(admin)
    refused = client.post(reverse("web:staff_create"), form)
    assert "请选择所属部门" in refused.content.decode()
    mixed = client.post(
        reverse("web:staff_create"),
        {
            **form,
            "department": "disability_federation",
            "roles": [Role.DEPARTMENT_STAFF, Role.VILLAGE_ASSISTANT],
        },
    )
    assert "只能授予" in mixed.content.decode()
    assert not Staff.objects.filter(username="cl_new").exists()
    created = client.post(reverse("web:staff_create"), {**form, "department": "disability_federation"})
    assert created.status_code == 302
    staff = Staff.objects.get(username="cl_new")
    assert (staff.department, sorted(staff.roles)) == ("disability_federation", [Role.DEPARTMENT_STAFF])
    api = client.get(f"/api/v1/staff/{staff.pk}").json()
    assert api["department"] == "disability_federation"
