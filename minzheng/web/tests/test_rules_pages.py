"""Standards pages: in force with references, history, propose, approve by a second person."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.rules.models import ParameterValue, ValueStatus


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_standards_in_force_show_value_region_and_reference(village_assistant: Staff) -> None:
    page = logged_in(village_assistant).get(reverse("web:parameters"), {"day": "2026-01-01"}).content.decode()
    assert "最低生活保障标准（每人每月）" in page
    assert "650.00" in page
    assert "石大政发〔2022〕69号" in page
    assert "待核实" in page  # provisional values are flagged


def test_propose_on_the_page_and_approve_by_another_person(
    county_admin: Staff, tree: dict[str, Division]
) -> None:
    approver = make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])
    url = reverse("web:parameter_detail", args=["elderly.bands"])
    response = logged_in(county_admin).post(
        url,
        {
            "region": "640202",
            "area": "all",
            "effective_from": "2027-01-01",
            "value": '[{"from_age": 80, "amount": "550"}, {"from_age": 90, "amount": "650"}]',
            "reference": "石大政发〔2026〕12号",
            "reason": "提高高龄津贴",
        },
    )
    assert response.status_code == 302
    proposal = ParameterValue.objects.get(status=ValueStatus.PROPOSED)

    listing = logged_in(approver).get(reverse("web:parameter_proposals")).content.decode()
    assert "石大政发〔2026〕12号" in listing
    response = logged_in(approver).post(
        reverse("web:parameter_decide", args=[proposal.pk]), {"decision": "approve", "note": "同意"}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ValueStatus.APPROVED
    assert proposal.decided_by == approver


def test_a_bad_value_is_shown_on_the_form_in_chinese(county_admin: Staff) -> None:
    response = logged_in(county_admin).post(
        reverse("web:parameter_detail", args=["dibao.standard"]),
        {
            "region": "640202",
            "area": "urban",
            "effective_from": "2027-01-01",
            "value": "六百",
            "reference": "x",
            "reason": "y",
        },
    )
    assert response.status_code == 200
    assert "金额格式不正确" in response.content.decode()
    assert not ParameterValue.objects.filter(status=ValueStatus.PROPOSED).exists()


def test_rejecting_without_a_reason_is_refused_with_a_message(
    county_admin: Staff, tree: dict[str, Division]
) -> None:
    approver = make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])
    logged_in(county_admin).post(
        reverse("web:parameter_detail", args=["dibao.standard"]),
        {
            "region": "640202",
            "area": "urban",
            "effective_from": "2027-01-01",
            "value": "700",
            "reference": "x",
            "reason": "y",
        },
    )
    proposal = ParameterValue.objects.get(status=ValueStatus.PROPOSED)
    client = logged_in(approver)
    response = client.post(
        reverse("web:parameter_decide", args=[proposal.pk]), {"decision": "reject"}, follow=True
    )
    assert "请填写驳回理由" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ValueStatus.PROPOSED
