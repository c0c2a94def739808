from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from minzheng.core.errors import InvalidInput, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Office, Staff, StaffRole
from minzheng.org.roles import ROLE_PERMISSIONS, Role
from minzheng.org.services import staff_create, staff_set_active, staff_set_roles
from minzheng.org.testing import make_staff


def test_every_role_has_permissions_and_supervisor_is_read_only() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    writes = {
        Perm.HOUSEHOLD_CHANGE,
        Perm.CASE_INTAKE,
        Perm.CASE_APPROVE_COUNTY,
        Perm.STAFF_MANAGE,
        Perm.PAYROLL_RUN,
        Perm.PAYROLL_APPROVE,
    }
    assert not ROLE_PERMISSIONS[Role.SUPERVISOR] & writes
    assert not ROLE_PERMISSIONS[Role.AUDITOR] & writes


def test_separated_roles_are_exclusive_in_the_database(village_assistant: Staff) -> None:
    StaffRole.objects.create(staff=village_assistant, role=Role.SYSTEM_ADMIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRole.objects.create(staff=village_assistant, role=Role.AUDIT_ADMIN)


def test_service_refuses_two_separated_roles(tree: dict[str, Division]) -> None:
    sysadmin = make_staff("root", "640202000000", [Role.SYSTEM_ADMIN])
    with pytest.raises(InvalidInput) as exc:
        staff_create(
            actor=sysadmin,
            username="both",
            full_name="甲",
            office=Office.objects.get(division_id="640202000000"),
            password="Strong-Passw0rd!",
            roles=[Role.SECURITY_ADMIN, Role.AUDIT_ADMIN],
        )
    assert exc.value.code == "separation_of_duties"
    assert not Staff.objects.filter(username="both").exists()


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short1A!", False),
        ("alllowercase", False),
        ("lowerandupper", False),
        ("Lower-and-1", True),
        ("中文密码abc123", True),
    ],
)
def test_password_policy(county_admin: Staff, password: str, ok: bool) -> None:
    office = Office.objects.get(division_id="640202001000")
    if ok:
        staff_create(
            actor=county_admin, username="n1", full_name="乙", office=office, password=password, roles=[]
        )
        assert Staff.objects.get(username="n1").check_password(password)
    else:
        with pytest.raises(InvalidInput) as exc:
            staff_create(
                actor=county_admin, username="n1", full_name="乙", office=office, password=password, roles=[]
            )
        assert "password" in exc.value.field_errors
        assert not Staff.objects.filter(username="n1").exists()


def test_staff_create_is_audited_with_after_state(county_admin: Staff) -> None:
    office = Office.objects.get(division_id="640202001001")
    staff = staff_create(
        actor=county_admin,
        username="helper",
        full_name="丙",
        office=office,
        password="Strong-Passw0rd!",
        roles=[Role.VILLAGE_ASSISTANT],
        reason="新聘协理员",
    )
    event = AuditEvent.objects.get(action="staff.create", object_id=str(staff.pk))
    assert event.actor_username == "county_admin"
    assert event.office_code == "640202000000"
    assert event.scope_code == "640202001001"
    assert event.after is not None
    assert event.after["roles"] == ["village_assistant"]
    assert event.reason == "新聘协理员"


def test_county_admin_cannot_create_staff_in_another_county(county_admin: Staff) -> None:
    with pytest.raises(OutOfScope):
        staff_create(
            actor=county_admin,
            username="outside",
            full_name="丁",
            office=Office.objects.get(division_id="640205001000"),
            password="Strong-Passw0rd!",
            roles=[],
        )


def test_only_system_admin_grants_separated_roles(county_admin: Staff, village_assistant: Staff) -> None:
    with pytest.raises(PermissionDenied):
        staff_set_roles(actor=county_admin, staff=village_assistant, roles=[Role.AUDIT_ADMIN], reason="试")
    staff_set_roles(actor=county_admin, staff=village_assistant, roles=[Role.TOWNSHIP_CLERK], reason="调岗")
    assert Staff.objects.get(pk=village_assistant.pk).roles == {Role.TOWNSHIP_CLERK}


def test_deactivated_staff_loses_all_permissions(county_admin: Staff, village_assistant: Staff) -> None:
    staff_set_active(actor=county_admin, staff=village_assistant, active=False, reason="离职")
    fresh = Staff.objects.get(pk=village_assistant.pk)
    assert fresh.permissions == frozenset()
    assert not fresh.has_perm(Perm.HOUSEHOLD_VIEW)


def test_deactivation_needs_a_reason(county_admin: Staff, village_assistant: Staff) -> None:
    with pytest.raises(InvalidInput):
        staff_set_active(actor=county_admin, staff=village_assistant, active=False, reason=" ")
    assert Staff.objects.get(pk=village_assistant.pk).is_active
