"""The sweeps added for monitoring and statistics as operators run them, on PostgreSQL: two worker
processes of their own (`manage.py worker`, production mode, each in a directory of its own as on
another host) sweeping at once, then `kill -9` of one and the other carrying on. Each overdue
warning goes to the county exactly once; the month's statistics are computed once per county and
agree with the data; nothing is kept on either host's disk."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from minzheng.core.models import AuditEvent
from minzheng.monitoring.models import Warning
from minzheng.monitoring.tests.test_monitoring import VILLAGE, medical, number, people
from minzheng.org.models import Staff
from minzheng.payments.tests.test_payroll_processes import start_worker, wait_for
from minzheng.registry.testing import make_household
from minzheng.reports.models import StatisticPeriod, StatisticValue

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
__all__ = ["people", "start_worker"]
ESCALATED = "monitoring.warning_escalated"


def overdue_warnings(people: dict[str, Staff], n: int, tag: str) -> set[int]:
    heads = []
    for i in range(n):
        household = make_household(people["clerk"], VILLAGE, f"{tag}{i}", members=1)
        assert household.head is not None
        heads.append(household.head)
    medical(people, [(number(h), h.name, "2026-11-03", "25000") for h in heads], name=f"{tag}.csv")
    made = set(Warning.objects.filter(person__in=heads).values_list("pk", flat=True))
    assert len(made) == n
    Warning.objects.filter(pk__in=made).update(due_on=timezone.localdate() - timedelta(days=1))
    return made


def escalations() -> list[str]:
    return list(AuditEvent.objects.filter(action=ESCALATED).values_list("object_id", flat=True))


def test_two_workers_sweep_once_and_a_killed_one_is_not_missed(
    people: dict[str, Staff], start_worker: Any, tmp_path: Path
) -> None:
    first = overdue_warnings(people, 30, "甲")
    a = start_worker("host-a")
    start_worker("host-b")
    wait_for(lambda: len(escalations()) >= len(first), what="both workers to escalate the warnings")
    this_month = timezone.localdate().replace(day=1)
    # The sweep also freezes or recomputes last month; wait for this month's figures themselves.
    wait_for(
        lambda: StatisticPeriod.objects.filter(
            county="640202", month=this_month, computed_at__isnull=False
        ).exists(),
        what="a worker to compute the month's statistics",
    )
    done = escalations()
    assert sorted(done) == sorted(str(pk) for pk in first)  # each once, by one of the two
    assert not Warning.objects.filter(pk__in=first, escalated_at__isnull=True).exists()
    periods = StatisticPeriod.objects.filter(county="640202", month=this_month)
    assert periods.count() == 1
    period = periods.get()
    opened = StatisticValue.objects.filter(period=period, metric="warnings_open").aggregate(n=Sum("value"))[
        "n"
    ]
    overdue = StatisticValue.objects.filter(period=period, metric="warnings_overdue").aggregate(
        n=Sum("value")
    )
    assert opened == overdue["n"] == len(first)

    os.killpg(a.pid, signal.SIGKILL)
    a.wait(10)
    second = overdue_warnings(people, 5, "乙")
    wait_for(lambda: len(escalations()) >= len(first) + len(second), what="the surviving worker")
    assert sorted(escalations()) == sorted(str(pk) for pk in first | second)
    for host in ("host-a", "host-b"):
        kept = [p for p in (tmp_path / host).rglob("*") if p.is_file() and p.name != "stderr.log"]
        assert kept == []
