"""Maker-checker by person, not account: an approver account the requester created, or gave its
roles, cannot approve that requester's payroll run, parameter change or case decision."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import PermissionDenied
from minzheng.org.models import ChangeKind, Division, Office, Staff, StaffChangeRequest
from minzheng.org.roles import APPROVER_ROLES, Role
from minzheng.org.services import (
    require_independent_checker,
    staff_change_confirm,
    staff_change_submit,
    staff_create,
)
from minzheng.org.testing import TEST_PASSWORD, make_staff
from minzheng.payments.models import PayrollRun, RunStatus
from minzheng.payments.services import payroll_approve
from minzheng.registry.testing import make_household
from minzheng.rules.models import ValueStatus
from minzheng.rules.services import parameter_approve, parameter_propose

COUNTY = "640202000000"


def approver_made_by(
    maker: Staff, username: str, division: str = COUNTY, role: Role = Role.COUNTY_APPROVER
) -> Staff:
    """The attack: `maker` creates an account; the approver role is then granted the only way there
    is (a system administrator proposes, a security administrator confirms)."""
    account = staff_create(
        actor=maker,
        username=username,
        full_name=username,
        office=Office.objects.get(division_id=division),
        password=TEST_PASSWORD,
        roles=[],
    )
    return grant(account, role)


def grant(account: Staff, role: Role) -> Staff:
    sys_admin = Staff.objects.filter(role_grants__role=Role.SYSTEM_ADMIN).first() or make_staff(
        "mc_sys", COUNTY, [Role.SYSTEM_ADMIN]
    )
    sec_admin = Staff.objects.filter(role_grants__role=Role.SECURITY_ADMIN).first() or make_staff(
        "mc_sec", COUNTY, [Role.SECURITY_ADMIN]
    )
    request = staff_change_submit(
        actor=sys_admin, staff=account, kind=ChangeKind.SET_ROLES, roles=[role], reason="任命"
    )
    assert isinstance(request, StaffChangeRequest)
    staff_change_confirm(actor=sec_admin, request_id=request.pk)
    return Staff.objects.get(pk=account.pk)


def test_approver_roles_are_the_roles_that_approve() -> None:
    assert {Role.COUNTY_APPROVER, Role.TOWNSHIP_HEAD} == APPROVER_ROLES


def test_independent_checker_rules(tree: dict[str, Division]) -> None:
    maker = make_staff("maker", COUNTY, [Role.COUNTY_ADMIN])
    other = make_staff("other", COUNTY, [Role.COUNTY_APPROVER])
    require_independent_checker(maker=maker, checker=other)
    with pytest.raises(PermissionDenied):
        require_independent_checker(maker=maker, checker=maker)
    for field in ("created_by", "roles_granted_by", "roles_confirmed_by"):
        linked = make_staff(f"linked_{field}", COUNTY, [Role.COUNTY_APPROVER])
        Staff.objects.filter(pk=linked.pk).update(**{field: maker})
        with pytest.raises(PermissionDenied) as exc:
            require_independent_checker(maker=maker, checker=Staff.objects.get(pk=linked.pk))
        assert exc.value.code == "maker_checker"
        assert "maker" in exc.value.message


def test_county_admin_cannot_approve_own_payroll_through_an_account_he_made(
    tree: dict[str, Division],
) -> None:
    county_admin = make_staff("county_admin", COUNTY, [Role.COUNTY_ADMIN])
    # He may not give it the approver role himself, at creation or afterwards.
    with pytest.raises(PermissionDenied):
        staff_create(
            actor=county_admin,
            username="puppet0",
            full_name="傀儡",
            office=Office.objects.get(division_id=COUNTY),
            password=TEST_PASSWORD,
            roles=[Role.COUNTY_APPROVER],
        )
    puppet = approver_made_by(county_admin, "puppet")
    assert puppet.roles == {Role.COUNTY_APPROVER}
    run = PayrollRun.objects.create(
        county="640202",
        month=date(2027, 1, 1),
        status=RunStatus.COMPUTED,
        line_count=1,
        total_amount=Decimal("100.00"),
        created_by=county_admin,
    )
    with pytest.raises(PermissionDenied) as exc:
        payroll_approve(actor=puppet, run_id=run.pk)
    assert exc.value.code == "maker_checker"
    assert PayrollRun.objects.get(pk=run.pk).status == RunStatus.COMPUTED
    # An approver the county administrator had no hand in approves it.
    independent = grant(make_staff("independent", COUNTY, []), Role.COUNTY_APPROVER)
    assert payroll_approve(actor=independent, run_id=run.pk).status == RunStatus.APPROVED


def test_county_admin_roles_given_to_an_approver_also_bar_it(tree: dict[str, Division]) -> None:
    """Last given its roles by the requester: a county administrator who re-sets an approver's other
    roles becomes the one who gave it its roles, and that approver no longer checks his work."""
    county_admin = make_staff("county_admin", COUNTY, [Role.COUNTY_ADMIN])
    approver = grant(make_staff("approver", COUNTY, []), Role.COUNTY_APPROVER)
    result = staff_change_submit(
        actor=county_admin,
        staff=approver,
        kind=ChangeKind.SET_ROLES,
        roles=[Role.COUNTY_APPROVER, Role.SUPERVISOR],
        reason="兼任督导",
    )
    assert isinstance(result, Staff)
    proposal = parameter_propose(
        actor=county_admin,
        name="disability.living.amount",
        region="640202",
        area="all",
        effective_from=date(2027, 1, 1),
        value="150",
        reference="测试",
        reason="测试",
    )
    with pytest.raises(PermissionDenied):
        parameter_approve(actor=Staff.objects.get(pk=approver.pk), value_id=proposal.pk)
    independent = grant(make_staff("independent", COUNTY, []), Role.COUNTY_APPROVER)
    assert parameter_approve(actor=independent, value_id=proposal.pk).status == ValueStatus.APPROVED


def test_case_decision_refused_to_an_approver_made_by_the_reviewer(tree: dict[str, Division]) -> None:
    catalogue_load(actor=None)
    clerk = make_staff("c_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    reviewer = make_staff("c_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER])
    county_reviewer = make_staff("c_county_reviewer", COUNTY, [Role.COUNTY_REVIEWER])
    household = registered_long_ago(make_household(clerk, "640202001001", "王大山", members=2))
    puppet = make_staff("c_puppet", COUNTY, [Role.COUNTY_APPROVER])
    Staff.objects.filter(pk=puppet.pk).update(created_by=reviewer)
    puppet = Staff.objects.get(pk=puppet.pk)
    with pytest.raises(PermissionDenied) as exc:
        approved_dibao_case(
            household, clerk=clerk, reviewer=reviewer, county_reviewer=county_reviewer, approver=puppet
        )
    assert exc.value.code == "maker_checker"
    approver = make_staff("c_approver", COUNTY, [Role.COUNTY_APPROVER])
    household2 = registered_long_ago(make_household(clerk, "640202001002", "李小河", members=2))
    case = approved_dibao_case(
        household2, clerk=clerk, reviewer=reviewer, county_reviewer=county_reviewer, approver=approver
    )
    assert case.state == "approved"
