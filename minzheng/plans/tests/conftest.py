from __future__ import annotations

import pytest

from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.plans.models import Indicator, Plan

COUNTY = "640202000000"
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def catalogue(db: None) -> None:
    catalogue_load(actor=None)


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    return {
        "admin": make_staff("p_admin", COUNTY, [Role.COUNTY_ADMIN]),
        "approver": make_staff("p_approver", COUNTY, [Role.COUNTY_APPROVER]),
        "reviewer": make_staff("p_county_reviewer", COUNTY, [Role.COUNTY_REVIEWER]),
        # One person holding both roles: may enter and approve, but never their own entry.
        "both": make_staff("p_both", COUNTY, [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER]),
        "township": make_staff("p_township", "640202001000", [Role.TOWNSHIP_HEAD]),
        "assistant": make_staff("p_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "city": make_staff("p_city", "640200000000", [Role.SUPERVISOR]),
        "outsider": make_staff("p_outsider", "640205000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER]),
    }


@pytest.fixture
def plan(db: None) -> Plan:
    """The Dawukou plan, brought in by the post_migrate loader."""
    return Plan.objects.get(code="dawukou_14th")


def indicator(plan: Plan, number: int) -> Indicator:
    return Indicator.objects.select_related("plan").get(plan=plan, number=number)
