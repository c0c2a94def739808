from __future__ import annotations

import pytest

from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.workdays.services import workdays_load


@pytest.fixture
def system_admin(tree: dict[str, Division]) -> Staff:
    return make_staff("sysadmin", "640202000000", [Role.SYSTEM_ADMIN])


@pytest.fixture
def calendar_2026(db: None) -> None:
    workdays_load(actor=None, years=[2025, 2026, 2027])
