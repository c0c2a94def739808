"""Demo data for the monthly statistics: the demo county's last month computed from what the demo
made and frozen by the county approver (so its bulletin and drill-down are published and fixed), and
the current month computed as the worker's sweep would, so the dashboards open with figures."""

from __future__ import annotations

from django.utils import timezone

from minzheng.core.errors import Conflict
from minzheng.org.models import Staff
from minzheng.payments.months import add_months, first_of_month
from minzheng.reports import services
from minzheng.reports.models import StatisticPeriod

COUNTY = "640202"
APPROVER = "dwk_county_approver"


def build_demo_reports() -> int:
    """The periods computed or frozen (0 without the demo approver)."""
    approver = Staff.objects.filter(username=APPROVER).first()
    if approver is None:
        return 0
    this_month = first_of_month(timezone.localdate())
    last_month = add_months(this_month, -1)
    done = 0
    if not StatisticPeriod.objects.filter(county=COUNTY, month=last_month, state="frozen").exists():
        try:
            services.period_freeze(actor=approver, county=COUNTY, month=last_month)
            done += 1
        except Conflict:
            pass  # frozen meanwhile by the sweep
    services.period_recompute(actor=approver, county=COUNTY, month=this_month)
    return done + 1
