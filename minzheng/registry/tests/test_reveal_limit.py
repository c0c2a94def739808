"""Revealing full ID numbers is limited per account; a refusal is audited too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from minzheng.core.errors import TooManyRequests
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.services import person_reveal_id_number
from minzheng.registry.testing import make_household


@pytest.fixture
def clerk(tree: dict[str, Division]) -> Staff:
    return make_staff("reveal_clerk", "640202001000", [Role.TOWNSHIP_CLERK])


@pytest.fixture
def household(clerk: Staff) -> Household:
    return make_household(clerk, "640202001001", "钱查看", members=2)


def test_reveals_beyond_the_limit_are_refused_and_audited(
    clerk: Staff, household: Household, settings: Any
) -> None:
    settings.MINZHENG_ID_REVEAL_LIMIT = (3, 3600)
    head = household.head
    assert head is not None
    for _ in range(3):
        assert len(person_reveal_id_number(actor=clerk, person=head, reason="核对材料")) == 18
    with pytest.raises(TooManyRequests):
        person_reveal_id_number(actor=clerk, person=head, reason="核对材料")
    assert AuditEvent.objects.filter(actor=clerk, action="person.reveal_id_number").count() == 3
    refused = AuditEvent.objects.get(actor=clerk, action="person.reveal_id_number.refused")
    assert (refused.object_id, refused.reason) == (str(head.pk), "核对材料")
    # Another account has its own allowance.
    other = make_staff("reveal_clerk_2", "640202001000", [Role.TOWNSHIP_CLERK])
    assert person_reveal_id_number(actor=other, person=head, reason="核对材料")


def test_the_api_answers_429_in_a_loop(clerk: Staff, household: Household, settings: Any) -> None:
    settings.MINZHENG_ID_REVEAL_LIMIT = (5, 3600)
    _, raw = api_token_issue(actor=clerk, name="loop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert household.head is not None
    url = f"/api/v1/persons/{household.head.pk}/id-number"
    statuses = [
        client.post(url, {"reason": "批量核对"}, content_type="application/json").status_code
        for _ in range(8)
    ]
    assert statuses == [200] * 5 + [429] * 3
    last = client.post(url, {"reason": "批量核对"}, content_type="application/json")
    assert last.json()["code"] == "rate_limited"
    assert AuditEvent.objects.filter(actor=clerk, action="person.reveal_id_number.refused").count() == 4
