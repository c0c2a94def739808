"""The demo opens the plan's table with every indicator lit and one entry waiting for approval."""

from __future__ import annotations

import pytest
from django.utils import timezone

from minzheng.demo.plans import build_demo_plans
from minzheng.demo.services import ensure_accounts
from minzheng.org.models import Staff
from minzheng.org.services import divisions_load
from minzheng.plans import selectors
from minzheng.plans.models import EntryStatus, IndicatorEntry, Plan


@pytest.mark.django_db
def test_the_demo_lights_all_14_indicators() -> None:
    for county in ("640202", "640205"):
        divisions_load(actor=None, prefix=county)
    ensure_accounts()
    made = build_demo_plans()
    assert made == 14
    assert build_demo_plans() == 0  # a rerun adds nothing
    plan = Plan.objects.get(region="640202")
    rows = selectors.plan_rows(actor=Staff.objects.get(username="dwk_county_approver"), plan=plan)
    assert len(rows) == 14
    assert all(r.light.code != "grey" for r in rows), [(r.indicator.number, r.light.code) for r in rows]
    lights = {r.indicator.number: r.light.code for r in rows}
    assert lights[3] == "green"
    assert lights[4] == "amber"
    assert lights[12] == "red"
    ratio = next(r for r in rows if r.indicator.number == 2)
    assert ratio.latest is not None
    assert ratio.latest.year == timezone.localdate().year
    assert str(ratio.latest.value) == "70.80"
    assert IndicatorEntry.objects.filter(status=EntryStatus.PENDING).count() == 1
