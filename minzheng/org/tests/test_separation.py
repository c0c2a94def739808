"""三员分立 and approver grants: every cell of the rule tables in docs/controls.md, through the services.

The tables are read from the document, so a document that drifts from the code fails here.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction

from minzheng.core.errors import Conflict, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import ChangeKind, ChangeStatus, Division, Office, Staff, StaffChangeRequest
from minzheng.org.roles import Role
from minzheng.org.services import (
    staff_change_confirm,
    staff_change_reject,
    staff_change_submit,
    staff_create,
    staff_set_roles,
)
from minzheng.org.testing import TEST_PASSWORD, make_staff

DOC = Path(settings.BASE_DIR) / "docs" / "controls.md"
COUNTY = "640202000000"
NEW_PASSWORD = "Reset-Passw0rd!9"

LABEL_ROLE = {
    "县级业务管理员": Role.COUNTY_ADMIN,
    "县级审批人": Role.COUNTY_APPROVER,
    "系统管理员": Role.SYSTEM_ADMIN,
    "安全管理员": Role.SECURITY_ADMIN,
    "安全审计员": Role.AUDIT_ADMIN,
}
TARGET_ROLE = {
    "系统管理员账号": Role.SYSTEM_ADMIN,
    "安全管理员账号": Role.SECURITY_ADMIN,
    "安全审计员账号": Role.AUDIT_ADMIN,
    "业务账号": Role.VILLAGE_ASSISTANT,
}
ACTIONS = {
    "设置角色": ChangeKind.SET_ROLES,
    "停用": ChangeKind.SET_ACTIVE,
    "重置密码": ChangeKind.RESET_PASSWORD,
    "解除锁定": ChangeKind.UNLOCK,
    "授予审批类角色": "grant_approver",
}


def rule_table(name: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(rf"<!-- rule-table: {name} -->\n(.*?)<!-- /rule-table -->", text, re.S)
    assert block, f"docs/controls.md has no rule table {name!r}"
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in block.group(1).strip().splitlines()
    ]
    return rows[2:]  # the header and the separator


@dataclass(frozen=True)
class Expected:
    outcome: str  # "refused", "alone" or "confirm"
    confirmer: Role | None = None


def expected(cell: str) -> Expected:
    if cell == "拒绝":
        return Expected("refused")
    if cell == "单独办理":
        return Expected("alone")
    match = re.fullmatch(r"提出，(.+)确认", cell)
    assert match, f"unknown cell {cell!r}"
    return Expected("confirm", LABEL_ROLE[match.group(1)])


def change_cells() -> list[tuple[str, str, str, str]]:
    targets = ["系统管理员账号", "安全管理员账号", "安全审计员账号", "业务账号"]
    cells: list[tuple[str, str, str, str]] = []
    for actor, action, *row in rule_table("changes"):
        assert len(row) == len(targets), (actor, action)
        cells.extend((actor, action, target, cell) for target, cell in zip(targets, row, strict=True))
    return cells


def grant_cells() -> list[tuple[str, str, str]]:
    granted = ["系统管理员", "安全管理员", "安全审计员"]
    return [
        (actor, role, cell)
        for actor, *row in rule_table("grants")
        for role, cell in zip(granted, row, strict=True)
    ]


def test_the_tables_cover_every_actor_action_and_target() -> None:
    cells = change_cells()
    assert {(a, b) for a, b, _, _ in cells} == {(a, b) for a in LABEL_ROLE for b in ACTIONS}
    assert len(cells) == len(LABEL_ROLE) * len(ACTIONS) * len(TARGET_ROLE)
    assert len(grant_cells()) == 4 * 3


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    """One acting account per actor row (a_…) and one target account per column (t_…), all at the
    county bureau."""
    accounts = {f"a_{role}": make_staff(f"a_{role}", COUNTY, [role]) for role in LABEL_ROLE.values()}
    accounts |= {f"t_{role}": make_staff(f"t_{role}", COUNTY, [role]) for role in TARGET_ROLE.values()}
    return accounts


def lock_out(staff: Staff) -> None:
    AccessAttempt.objects.create(
        username=staff.username,
        ip_address="127.0.0.1",
        user_agent="test",
        path_info="/login/",
        get_data="",
        post_data="",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
    )


def state(staff: Staff) -> tuple[object, ...]:
    fresh = Staff.objects.get(pk=staff.pk)
    return (
        sorted(fresh.roles),
        fresh.is_active,
        fresh.password,
        AccessAttempt.objects.filter(username=staff.username).count(),
    )


def submit(actor: Staff, target: Staff, action: str, new_roles: list[str]) -> Staff | StaffChangeRequest:
    kind = ChangeKind.SET_ROLES if action == "grant_approver" else action
    return staff_change_submit(
        actor=actor,
        staff=target,
        kind=kind,
        roles=new_roles,
        active=False,
        new_password=NEW_PASSWORD,
        reason="测试",
    )


def assert_applied(target: Staff, action: str, new_roles: list[str]) -> None:
    fresh = Staff.objects.get(pk=target.pk)
    if action in (ChangeKind.SET_ROLES, "grant_approver"):
        assert sorted(fresh.roles) == sorted(new_roles)
    elif action == ChangeKind.SET_ACTIVE:
        assert not fresh.is_active
    elif action == ChangeKind.RESET_PASSWORD:
        assert fresh.check_password(NEW_PASSWORD)
        assert fresh.must_change_password
    else:
        assert not AccessAttempt.objects.filter(username=target.username).exists()


def run_cell(
    people: dict[str, Staff], actor: Staff, target: Staff, action: str, new_roles: list[str], want: Expected
) -> None:
    lock_out(target)
    before = state(target)
    if want.outcome == "refused":
        with pytest.raises(PermissionDenied):
            submit(actor, target, action, new_roles)
        assert state(target) == before
        assert not StaffChangeRequest.objects.filter(staff=target).exists()
        return
    result = submit(actor, target, action, new_roles)
    if want.outcome == "alone":
        assert isinstance(result, Staff)
        assert_applied(target, action, new_roles)
        return
    assert isinstance(result, StaffChangeRequest)
    assert result.status == ChangeStatus.PENDING
    assert result.confirmer_roles == [want.confirmer]
    assert state(target) == before  # nothing happens until it is confirmed
    assert AuditEvent.objects.filter(action="staff.change_requested", object_id=str(result.pk)).exists()
    # Neither the proposer, nor the account concerned, nor a business administrator may confirm.
    for wrong in (actor, target, people[f"a_{Role.COUNTY_ADMIN}"]):
        with pytest.raises(PermissionDenied):
            staff_change_confirm(actor=wrong, request_id=result.pk)
    assert state(target) == before
    confirmer = people[f"a_{want.confirmer}"]
    done = staff_change_confirm(actor=confirmer, request_id=result.pk, note="核实无误")
    assert done.status == ChangeStatus.APPLIED
    assert done.decided_by_id == confirmer.pk
    assert done.password_hash == ""
    assert_applied(target, action, new_roles)
    assert AuditEvent.objects.filter(
        action="staff.change_confirmed", actor_username=confirmer.username
    ).exists()
    if action in (ChangeKind.SET_ROLES, "grant_approver"):
        fresh = Staff.objects.get(pk=target.pk)
        assert (fresh.roles_granted_by_id, fresh.roles_confirmed_by_id) == (actor.pk, confirmer.pk)


@pytest.mark.parametrize(("actor_label", "action_label", "target_label", "cell"), change_cells())
def test_change_rule_table(
    people: dict[str, Staff], actor_label: str, action_label: str, target_label: str, cell: str
) -> None:
    actor = people[f"a_{LABEL_ROLE[actor_label]}"]
    target_role = TARGET_ROLE[target_label]
    target = people[f"t_{target_role}"]
    action = ACTIONS[action_label]
    new_roles: list[str]
    if action == ChangeKind.SET_ROLES:
        new_roles = [Role.TOWNSHIP_CLERK] if target_role == Role.VILLAGE_ASSISTANT else []
    else:
        new_roles = [target_role, Role.COUNTY_APPROVER]
    run_cell(people, actor, target, action, new_roles, expected(cell))


@pytest.mark.parametrize(("actor_label", "granted_label", "cell"), grant_cells())
def test_grant_rule_table(people: dict[str, Staff], actor_label: str, granted_label: str, cell: str) -> None:
    actor = people[f"a_{LABEL_ROLE[actor_label]}"]
    target = people[f"t_{Role.VILLAGE_ASSISTANT}"]
    run_cell(people, actor, target, ChangeKind.SET_ROLES, [str(LABEL_ROLE[granted_label])], expected(cell))


@pytest.mark.parametrize("actor_role", list(LABEL_ROLE.values()))
@pytest.mark.parametrize("action", list(ACTIONS.values()))
def test_nobody_changes_their_own_account(people: dict[str, Staff], actor_role: Role, action: str) -> None:
    me = people[f"a_{actor_role}"]
    before = state(me)
    with pytest.raises(PermissionDenied) as exc:
        submit(me, me, action, [actor_role, Role.COUNTY_APPROVER] if action == "grant_approver" else [])
    assert exc.value.code == "own_account"
    assert state(me) == before


def test_nobody_makes_their_own_creation_an_approver_of_their_work(people: dict[str, Staff]) -> None:
    """A system administrator who also runs payrolls cannot propose an approver role for an account
    they created; one who does no business work can (and the security administrator confirms)."""
    office = Office.objects.get(division_id=COUNTY)
    runs_payrolls = make_staff("sys_and_admin", COUNTY, [Role.SYSTEM_ADMIN, Role.COUNTY_ADMIN])
    mine = staff_create(
        actor=runs_payrolls, username="mine", full_name="甲", office=office, password=TEST_PASSWORD, roles=[]
    )
    with pytest.raises(PermissionDenied) as exc:
        submit(runs_payrolls, mine, "grant_approver", [Role.COUNTY_APPROVER])
    assert exc.value.code == "own_creation"
    plain = people[f"a_{Role.SYSTEM_ADMIN}"]
    theirs = staff_create(
        actor=plain, username="theirs", full_name="乙", office=office, password=TEST_PASSWORD, roles=[]
    )
    request = submit(plain, theirs, "grant_approver", [Role.COUNTY_APPROVER])
    assert isinstance(request, StaffChangeRequest)


def test_accounts_are_created_without_administrator_or_approver_roles(people: dict[str, Staff]) -> None:
    office = Office.objects.get(division_id=COUNTY)
    for actor, role, code in (
        (people[f"a_{Role.COUNTY_ADMIN}"], Role.COUNTY_APPROVER, "approver_grant"),
        (people[f"a_{Role.SYSTEM_ADMIN}"], Role.TOWNSHIP_HEAD, "approver_grant"),
        (people[f"a_{Role.SYSTEM_ADMIN}"], Role.SECURITY_ADMIN, "separation_of_duties"),
    ):
        with pytest.raises(PermissionDenied) as exc:
            staff_create(
                actor=actor,
                username="new",
                full_name="丙",
                office=office,
                password=TEST_PASSWORD,
                roles=[role],
            )
        assert exc.value.code == code
    assert not Staff.objects.filter(username="new").exists()
    made = staff_create(
        actor=people[f"a_{Role.COUNTY_ADMIN}"],
        username="new",
        full_name="丙",
        office=office,
        password=TEST_PASSWORD,
        roles=[Role.TOWNSHIP_CLERK],
    )
    assert (made.created_by_id, made.roles_granted_by_id) == (people[f"a_{Role.COUNTY_ADMIN}"].pk,) * 2


def test_the_direct_service_refuses_what_needs_confirmation(people: dict[str, Staff]) -> None:
    with pytest.raises(PermissionDenied) as exc:
        staff_set_roles(
            actor=people[f"a_{Role.SYSTEM_ADMIN}"],
            staff=people[f"t_{Role.AUDIT_ADMIN}"],
            roles=[],
            reason="试",
        )
    assert exc.value.code == "confirmation_required"
    assert Staff.objects.get(pk=people[f"t_{Role.AUDIT_ADMIN}"].pk).roles == {Role.AUDIT_ADMIN}


def test_a_confirmation_rechecks_the_rules_as_they_stand(people: dict[str, Staff]) -> None:
    """The proposer demoted (or deactivated) meanwhile: the request can no longer be confirmed."""
    sys_admin, sec_admin = people[f"a_{Role.SYSTEM_ADMIN}"], people[f"a_{Role.SECURITY_ADMIN}"]
    request = submit(sys_admin, people[f"t_{Role.AUDIT_ADMIN}"], ChangeKind.SET_ACTIVE, [])
    assert isinstance(request, StaffChangeRequest)
    Staff.objects.filter(pk=sys_admin.pk).update(is_active=False)
    with pytest.raises(Conflict):
        staff_change_confirm(actor=sec_admin, request_id=request.pk)
    assert Staff.objects.get(pk=people[f"t_{Role.AUDIT_ADMIN}"].pk).is_active


def test_one_pending_request_per_kind_and_rejection(people: dict[str, Staff]) -> None:
    sys_admin, sec_admin = people[f"a_{Role.SYSTEM_ADMIN}"], people[f"a_{Role.SECURITY_ADMIN}"]
    target = people[f"t_{Role.AUDIT_ADMIN}"]
    request = submit(sys_admin, target, ChangeKind.RESET_PASSWORD, [])
    assert isinstance(request, StaffChangeRequest)
    assert request.password_hash  # kept only while pending
    with pytest.raises(Conflict):
        submit(sys_admin, target, ChangeKind.RESET_PASSWORD, [])
    with pytest.raises(PermissionDenied):  # not one of the confirmers, not the proposer
        staff_change_reject(actor=people[f"a_{Role.AUDIT_ADMIN}"], request_id=request.pk, note="不同意")
    rejected = staff_change_reject(actor=sec_admin, request_id=request.pk, note="不同意")
    assert (rejected.status, rejected.password_hash) == (ChangeStatus.REJECTED, "")
    with pytest.raises(Conflict):
        staff_change_confirm(actor=sec_admin, request_id=request.pk)
    assert Staff.objects.get(pk=target.pk).check_password(TEST_PASSWORD)
    assert AuditEvent.objects.filter(action="staff.change_rejected", object_id=str(request.pk)).exists()


def test_the_database_refuses_a_request_applied_by_its_proposer(people: dict[str, Staff]) -> None:
    sys_admin = people[f"a_{Role.SYSTEM_ADMIN}"]
    request = submit(sys_admin, people[f"t_{Role.AUDIT_ADMIN}"], ChangeKind.SET_ACTIVE, [])
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffChangeRequest.objects.filter(pk=request.pk).update(
            status=ChangeStatus.APPLIED, decided_by=sys_admin
        )


def test_the_reserved_path_creates_an_administrator_on_the_server(
    tree: dict[str, Division], monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        monkeypatch.setattr("sys.stdin", io.StringIO("Server-Passw0rd!\n"))
        call_command(
            "create_first_admin",
            username=f"first_{role}",
            office_division=COUNTY,
            role=role,
            password_stdin=True,
            stdout=io.StringIO(),
        )
        made = Staff.objects.get(username=f"first_{role}")
        assert made.roles == {role}
        assert made.created_by_id is None
    event = AuditEvent.objects.filter(action="staff.create").latest("seq")
    assert event.actor_username == "system"
