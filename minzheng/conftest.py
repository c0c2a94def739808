from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation

from minzheng.exchange.testing import department_simulator, department_simulator_process  # noqa: F401 (fixtures)
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language (zh-Hans): a request in English through the test
    client leaves English active in its thread, and messages read later in the same worker would be
    English."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def tree(db: None) -> dict[str, Division]:
    return build_tree()


@pytest.fixture
def county_admin(tree: dict[str, Division]) -> Staff:
    return make_staff("county_admin", "640202000000", [Role.COUNTY_ADMIN])


@pytest.fixture
def village_assistant(tree: dict[str, Division]) -> Staff:
    return make_staff("assistant", "640202001001", [Role.VILLAGE_ASSISTANT])


@pytest.fixture
def township_clerk(tree: dict[str, Division]) -> Staff:
    return make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])


@pytest.fixture
def auditor(tree: dict[str, Division]) -> Staff:
    return make_staff("auditor", "640202000000", [Role.AUDITOR])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are deselected on SQLite rather than skipped: a skip fails CI, and
    CI runs the whole suite on PostgreSQL as well, where these tests do run."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (drop if item.get_closest_marker("postgresql") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
