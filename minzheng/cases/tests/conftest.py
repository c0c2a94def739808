from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from minzheng.cases import services
from minzheng.cases.testing import registered_long_ago, sms_gateway, sms_gateway_process  # noqa: F401
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household


@pytest.fixture
def catalogue(db: None) -> None:
    catalogue_load(actor=None)


@pytest.fixture
def people(tree: dict[str, Division], catalogue: None) -> dict[str, Staff]:
    return {
        "assistant": make_staff("c_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk": make_staff("c_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("c_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "head": make_staff("c_head", "640202001000", [Role.TOWNSHIP_HEAD]),
        "county_reviewer": make_staff("c_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("c_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "outsider": make_staff("c_outsider", "640205000000", [Role.COUNTY_APPROVER, Role.COUNTY_REVIEWER]),
    }


@pytest.fixture
def household(people: dict[str, Staff]) -> Household:
    return registered_long_ago(make_household(people["clerk"], "640202001001", "王大山", members=2))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """Set the service clock ("today") for time-limit tests."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)

    return set_today
