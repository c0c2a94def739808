"""The staff pages: 三员分立 and approver grants through the web, the confirmation page, tokens."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.org.models import ApiToken, ChangeStatus, Division, Office, Staff, StaffChangeRequest
from minzheng.org.roles import Role
from minzheng.org.services import staff_create
from minzheng.org.testing import TEST_PASSWORD, make_staff

COUNTY = "640202000000"


def signed_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_business_admin_cannot_touch_an_administrator_on_the_page(tree: dict[str, Division]) -> None:
    county_admin = make_staff("ca", COUNTY, [Role.COUNTY_ADMIN])
    sys_admin = make_staff("sys", COUNTY, [Role.SYSTEM_ADMIN])
    client = signed_in(county_admin)
    url = reverse("web:staff_detail", args=[sys_admin.pk])
    page = client.post(url, {"action": "deactivate", "reason": "越权"})
    assert page.status_code == 200
    assert "不能由业务角色变更" in page.content.decode()
    page = client.post(url, {"action": "roles", "roles": [], "reason": "越权"})
    assert "不能由业务角色变更" in page.content.decode()
    fresh = Staff.objects.get(pk=sys_admin.pk)
    assert fresh.is_active
    assert fresh.roles == {Role.SYSTEM_ADMIN}
    assert not StaffChangeRequest.objects.exists()


def test_reset_of_an_administrator_waits_for_the_third_on_the_pages(tree: dict[str, Division]) -> None:
    sys_admin = make_staff("sys", COUNTY, [Role.SYSTEM_ADMIN])
    sec_admin = make_staff("sec", COUNTY, [Role.SECURITY_ADMIN])
    audit_admin = make_staff("aud", COUNTY, [Role.AUDIT_ADMIN])
    detail = reverse("web:staff_detail", args=[sys_admin.pk])
    posted = signed_in(sec_admin).post(
        detail,
        {"action": "reset_password", "new_password": "Taken-Passw0rd!1", "reason": "遗忘密码"},
        follow=True,
    )
    assert "须经安全审计员确认后生效" in posted.content.decode()
    assert Staff.objects.get(pk=sys_admin.pk).check_password(TEST_PASSWORD)
    request = StaffChangeRequest.objects.get()
    auditor = signed_in(audit_admin)
    listing = auditor.get(reverse("web:staff_changes")).content.decode()
    assert "sys" in listing
    assert "重置密码" in listing
    # The proposer's confirmation is refused.
    refused = signed_in(sec_admin).post(
        reverse("web:staff_change_decide", args=[request.pk]), {"action": "confirm"}
    )
    assert refused.status_code == 403
    done = auditor.post(
        reverse("web:staff_change_decide", args=[request.pk]),
        {"action": "confirm", "note": "已核实", "next": detail},
    )
    assert done.status_code == 302
    assert done["Location"] == detail
    assert StaffChangeRequest.objects.get().status == ChangeStatus.APPLIED
    assert Staff.objects.get(pk=sys_admin.pk).check_password("Taken-Passw0rd!1")


def test_approver_grant_proposed_and_confirmed_on_the_pages(tree: dict[str, Division]) -> None:
    county_admin = make_staff("ca", COUNTY, [Role.COUNTY_ADMIN])
    sys_admin = make_staff("sys", COUNTY, [Role.SYSTEM_ADMIN])
    sec_admin = make_staff("sec", COUNTY, [Role.SECURITY_ADMIN])
    made = staff_create(
        actor=county_admin,
        username="newbie",
        full_name="新人",
        office=Office.objects.get(division_id=COUNTY),
        password=TEST_PASSWORD,
        roles=[],
    )
    detail = reverse("web:staff_detail", args=[made.pk])
    page = signed_in(county_admin).post(
        detail, {"action": "roles", "roles": [Role.COUNTY_APPROVER], "reason": "任命"}
    )
    assert "只能由系统管理员提出、安全管理员确认" in page.content.decode()
    signed_in(sys_admin).post(detail, {"action": "roles", "roles": [Role.COUNTY_APPROVER], "reason": "任命"})
    request = StaffChangeRequest.objects.get()
    assert request.confirmer_roles == [Role.SECURITY_ADMIN]
    signed_in(sec_admin).post(reverse("web:staff_change_decide", args=[request.pk]), {"action": "confirm"})
    assert Staff.objects.get(pk=made.pk).roles == {Role.COUNTY_APPROVER}
    shown = signed_in(sec_admin).get(detail).content.decode()
    assert 'data-testid="staff-created-by">ca<' in shown
    assert "sys（确认：sec）" in shown


def test_token_page_issues_a_read_only_token_with_its_expiry(township_clerk: Staff) -> None:
    client = signed_in(township_clerk)
    page = client.post(reverse("web:tokens"), {"name": "统计系统", "read_only": "on"})
    assert page.status_code == 200
    token = ApiToken.objects.get(staff=township_clerk)
    assert token.read_only
    body = page.content.decode()
    assert "只读" in body
    # The page shows local time (Asia/Shanghai); compare in that zone so the test holds at any hour.
    assert timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M") in body
