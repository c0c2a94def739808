"""Shared fixtures of the payments tests."""

from __future__ import annotations

import pytest

from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments.testing import wide_payroll_window


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    wide_payroll_window()
    return {
        "clerk": make_staff("p_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("p_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("p_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("p_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "admin": make_staff("p_admin", "640202000000", [Role.COUNTY_ADMIN]),
    }
