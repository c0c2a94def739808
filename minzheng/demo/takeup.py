"""Demo data for the take-up worklist (应保尽保): the county reviewer scans 大武口区 as of today, so the
village and township worklists list the households the rules say qualify and nobody serves yet."""

from __future__ import annotations

from django.utils import timezone

from minzheng.org.models import Staff
from minzheng.rules.models import TakeUpScan
from minzheng.rules.takeup import takeup_scan

COUNTY = "640202"
REVIEWER = "dwk_county_reviewer"


def build_demo_takeup() -> TakeUpScan | None:
    """Scan the demo county today (a new scan replaces the open rows of the previous one, so the
    worklist follows the demo's cases and enrolments); None without the demo reviewer."""
    reviewer = Staff.objects.filter(username=REVIEWER).first()
    if reviewer is None:
        return None
    return takeup_scan(actor=reviewer, county=COUNTY, day=timezone.localdate())
