"""The online applicant's status page (steps, missing materials, uploads, inbox) and the window's
online-application panel (link to the registry, register a household)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minzheng.cases import services
from minzheng.cases.models import ApplicantNotification, Case, Document
from minzheng.cases.testing import PDF, online_case_missing_materials
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household, resident_id

ID_NUMBER = resident_id("640202", date(1972, 2, 2))


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "clerk": make_staff("o_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "foreign_clerk": make_staff("o_foreign", "640205001000", [Role.TOWNSHIP_CLERK]),
    }


@pytest.fixture
def case(people: dict[str, Staff]) -> Case:
    return online_case_missing_materials(people["clerk"], id_number=ID_NUMBER, phone="13900000007")


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def look_up(client: Client, case: Case, secret: str = ID_NUMBER) -> str:
    return client.post(reverse("web:status"), {"number": case.number, "id_number": secret}).content.decode()


def post_file(client: Client, requirement_id: int, name: str, content: bytes, content_type: str) -> Any:
    return client.post(
        reverse("web:status_upload"),
        {"requirement": str(requirement_id), "file": SimpleUploadedFile(name, content, content_type)},
    )


def first_missing(case: Case) -> int:
    return int(services.missing_materials(case)[0].requirement_id)


def test_status_page_shows_steps_due_dates_missing_materials_and_inbox(case: Case) -> None:
    client = Client()
    page = look_up(client, case, "13900000007")  # the phone number also identifies
    assert 'data-testid="status-steps"' in page
    assert "材料不全，已一次性告知" in page
    assert "已受理，待启动调查" in page
    assert "后续环节" in page
    assert "3个工作日" in page
    assert services.missing_materials(case)[0].requirement.name in page
    assert "材料不全，已一次性告知：请查看下方清单并补交" in page  # the inbox
    assert "139****0007" in page
    assert "13900000007" not in page
    assert "o_clerk" not in page
    assert "请补充" not in page
    # The browser remembers the applicant: a plain GET shows the case again.
    assert 'data-testid="status-steps"' in client.get(reverse("web:status")).content.decode()
    assert 'data-testid="status-steps"' not in Client().get(reverse("web:status")).content.decode()


def test_applicant_uploads_a_missing_material_on_the_status_page(
    case: Case, people: dict[str, Staff]
) -> None:
    client = Client()
    look_up(client, case)
    requirement = first_missing(case)
    response = post_file(client, requirement, "证明.pdf", PDF, "application/pdf")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "材料已上传，等待窗口核验" in page
    assert "证明.pdf" in page
    assert "已网上补交，待窗口核验" in page
    document = Document.objects.get()
    assert (document.case_id, document.from_applicant, document.requirement_id) == (
        case.pk,
        True,
        requirement,
    )
    # The window sees it on the case page, in the online panel.
    panel = logged_in(people["clerk"]).get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'data-testid="online-uploads"' in panel
    assert "证明.pdf" in panel
    assert "补交材料已收到" in panel


def test_a_wrong_file_or_no_session_is_refused_and_changes_nothing(case: Case) -> None:
    requirement = first_missing(case)
    assert post_file(Client(), requirement, "a.pdf", PDF, "application/pdf").status_code == 403
    client = Client()
    look_up(client, case)
    response = post_file(client, requirement, "a.exe", b"MZ\x90\x00", "application/pdf")
    assert response.status_code == 422
    assert "文件内容与类型不符" in response.content.decode()
    response = post_file(client, requirement, "a.html", b"<html>", "text/html")
    assert "只接受 PDF、JPG、PNG 文件" in response.content.decode()
    assert not Document.objects.exists()
    assert list(ApplicantNotification.objects.values_list("kind", flat=True).order_by("pk")) == [
        "received",
        "missing_materials",
    ]


def test_upload_after_the_case_is_closed_is_refused(case: Case, people: dict[str, Staff]) -> None:
    client = Client()
    look_up(client, case)
    requirement = first_missing(case)
    services.case_transition(actor=people["clerk"], case_id=case.pk, action="withdraw", note="撤回")
    response = post_file(client, requirement, "a.pdf", PDF, "application/pdf")
    assert response.status_code == 422
    assert "申请已办结，不能再上传材料" in response.content.decode()
    assert not Document.objects.exists()


def test_leaving_forgets_the_applicant(case: Case) -> None:
    client = Client()
    look_up(client, case)
    assert client.post(reverse("web:status_leave")).status_code == 302
    assert 'data-testid="status-steps"' not in client.get(reverse("web:status")).content.decode()


def test_clerk_links_the_application_or_registers_a_household(case: Case, people: dict[str, Staff]) -> None:
    clerk = logged_in(people["clerk"])
    page = clerk.get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'data-testid="online-panel"' in page
    assert "辖区内没有登记申请人" in page

    # A household outside the clerk's jurisdiction: refused, nothing changes.
    foreign = make_household(people["foreign_clerk"], "640205001001", "周外县", members=1)
    response = clerk.post(reverse("web:case_link_household", args=[case.pk]), {"household_id": foreign.pk})
    assert response.status_code == 302
    assert "没有找到该家庭" in clerk.get(response["Location"]).content.decode()
    case.refresh_from_db()
    assert case.household_id is None
    # Neither can the foreign clerk reach this case.
    foreign_clerk = logged_in(people["foreign_clerk"])
    foreign_clerk.post(reverse("web:case_link_household", args=[case.pk]), {"household_id": foreign.pk})
    case.refresh_from_db()
    assert case.household_id is None

    wrong = clerk.post(
        reverse("web:case_register_household", args=[case.pk]),
        {"id_number": resident_id("640202", date(1972, 2, 3)), "address": "长胜街道1号", "area": "urban"},
    )
    assert "身份证号与申请人不符" in clerk.get(wrong["Location"]).content.decode()
    assert not Household.objects.filter(division_id="640202001001").exists()
    done = clerk.post(
        reverse("web:case_register_household", args=[case.pk]),
        {"id_number": ID_NUMBER, "address": "长胜街道1号", "area": "urban"},
    )
    page = clerk.get(done["Location"]).content.decode()
    assert "已登记新家庭并关联本申请" in page
    case.refresh_from_db()
    assert case.household is not None
    assert case.household.head is not None
    assert case.household.head.name == "赵网申"
    assert 'data-testid="online-linked"' in page


def test_clerk_links_to_the_household_found_by_id_digest(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], "640202001001", "钱已登", members=2)
    head = household.head
    assert head is not None
    case = services.case_submit_online(
        item_code="dibao",
        division_code="640202001001",
        applicant_name=head.name,
        id_number=resident_id("640202", date(1973, 3, 3)),
        phone="13900000008",
    )
    Case.objects.filter(pk=case.pk).update(applicant_id_digest=head.id_digest)  # registered since
    clerk = logged_in(people["clerk"])
    page = clerk.get(reverse("web:case", args=[case.pk])).content.decode()
    assert f'data-testid="link-{household.pk}"' in page
    clerk.post(reverse("web:case_link_household", args=[case.pk]), {"household_id": household.pk})
    case.refresh_from_db()
    assert (case.household_id, case.applicant_id) == (household.pk, head.pk)
