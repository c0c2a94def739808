from __future__ import annotations

import pytest

from minzheng.inquiries.testing import Served, make_federation, make_served
from minzheng.org.models import Division, Staff


@pytest.fixture
def served(tree: dict[str, Division]) -> Served:
    return make_served()


@pytest.fixture
def federation(tree: dict[str, Division]) -> Staff:
    return make_federation()
