"""Every operation of the published OpenAPI schema, fuzzed in-process: schemathesis over the WSGI app.

For each operation schemathesis sends its coverage cases (for every parameter and field: boundary
values, missing and malformed values, wrong types, odd strings) and a few generated requests, valid
and deliberately invalid, in turn with a county administrator's bearer token and a village
assistant's. No response may be a server error
(5xx), and every response must match what the schema documents for its status code and content
type. The test is parametrized by operation (the test id names it), so an operation added to the API
is fuzzed as soon as it is published and a failure says which one misbehaves and how to reproduce it.

Bounded for CI: the coverage cases plus EXAMPLES generated requests per operation, each request
sent once (about 4,000 in all), derandomized so that every run sends the same requests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from config.wsgi import application
from minzheng.org.models import Division
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.registry.testing import make_household

# The coverage phase (boundary values, missing and malformed fields, for each parameter) runs in
# full; requests with methods the schema does not list are left out (each would only be a 405).
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": []}}})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 3


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection when a WSGI request finishes; the test's transaction
    lives on that connection. Django's own test client switches this off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def bearer_headers(tree: dict[str, Division]) -> Iterator[dict[str, str]]:
    """A county administrator and a village assistant of the same county, each with a token, and a
    household so that lists have something in them. Yields their headers in turn, one per request."""
    admin = make_staff("fuzz_county_admin", "640202000000", [Role.COUNTY_ADMIN])
    assistant = make_staff("fuzz_assistant", "640202001001", [Role.VILLAGE_ASSISTANT])
    make_household(assistant, "640202001001", "模糊测试户", members=2)
    headers = []
    for staff in (admin, assistant):
        _, raw = api_token_issue(actor=staff, name="fuzz")
        headers.append({"Authorization": f"Bearer {raw}"})
    return itertools.cycle(headers)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation_never_fails_and_matches_its_schema(
    case: Any, bearer_headers: Iterator[dict[str, str]]
) -> None:
    case.call_and_validate(headers=next(bearer_headers), checks=CHECKS)
