"""The home page as each role's workbench: the lists that role acts on, with counts, overdue counts
and the items due soonest, scoped as the lists they open; a supervisor gets their dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.monitoring.models import Warning
from minzheng.monitoring.tests.test_monitoring import VILLAGE, medical, number, people
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.testing import make_household
from minzheng.web.home import pending_work

pytestmark = pytest.mark.django_db
__all__ = ["people"]


def labels(staff: Staff) -> dict[str, tuple[int, int, list[str]]]:
    return {str(w.label): (w.count, w.overdue, [d.label for d in w.items]) for w in pending_work(staff)}


def test_each_role_sees_the_lists_it_acts_on(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "工作台户", members=1)
    assert household.head is not None
    medical(people, [(number(household.head), "户主", "2026-11-03", "25000")])
    warning = Warning.objects.get(person=household.head)
    reviewer = labels(people["reviewer"])
    count, overdue, items = reviewer["待处置的监测预警"]
    assert (count, overdue) == (1, 0)
    assert items == [f"{warning.number} 工作台户 · 待签收"]
    assert "待办的在保复核" in reviewer
    # Past its limit: counted as overdue and the card turns red.
    Warning.objects.filter(pk=warning.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    card = next(w for w in pending_work(people["reviewer"]) if str(w.label) == "待处置的监测预警")
    assert (card.overdue, card.tone, card.items[0].tone) == (1, "danger", "danger")
    # Another township's reviewer never sees it.
    far = make_staff("home_far_reviewer", "640202100000", [Role.TOWNSHIP_REVIEWER])
    assert labels(far)["待处置的监测预警"][0] == 0
    # The clerk acts on intake: incomplete applications; the approver on runs; the admin on accounts.
    assert "一次性告知后待补齐材料的申请" in labels(people["clerk"])
    assert "待审批的发放名册" in labels(people["approver"])
    assert "待审批的发放名册" not in labels(people["clerk"])
    assert "待确认的账号变更" in labels(people["admin"])
    assert "待确认的账号变更" not in labels(people["reviewer"])


def test_the_page_lists_the_work_and_a_supervisor_gets_the_dashboard(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "页面户", members=1)
    assert household.head is not None
    medical(people, [(number(household.head), "户主", "2026-11-03", "25000")])
    warning = Warning.objects.get(person=household.head)
    client = Client()
    client.force_login(people["reviewer"])
    page = client.get(reverse("web:home")).content.decode()
    assert "待处置的监测预警" in page
    assert reverse("web:monitoring_warning", args=[warning.pk]) in page
    assert f"{warning.due_on:%m-%d}" in page
    supervisor = make_staff("home_supervisor", "640200000000", [Role.SUPERVISOR])
    client.force_login(supervisor)
    page = client.get(reverse("web:home")).content.decode()
    assert 'data-testid="dashboard-link"' in page
    assert 'data-testid="headline"' in page  # this month's key figures of the city
    assert "待处置的监测预警" not in page  # a supervisor reads, it does not handle warnings
    assistant = Client()
    assistant.force_login(people["assistant"])
    page = assistant.get(reverse("web:home")).content.decode()
    assert "到期的探访照料" in page
    assert 'data-testid="dashboard-link"' not in page
