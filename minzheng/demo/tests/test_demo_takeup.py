"""The demo fills the take-up worklist (应保尽保): the county reviewer's scan of 大武口区 lists
households, none of them enrolled in or applying for the programme listed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.cases.models import Case
from minzheng.payments.models import Enrolment
from minzheng.rules.models import TakeUpGap, TakeUpScan


@pytest.mark.django_db
def test_the_demo_scan_fills_the_worklist() -> None:
    out = StringIO()
    call_command("demo_data", "--households", "2000", stdout=out)
    scan = TakeUpScan.objects.get()
    assert scan.county == "640202"
    assert scan.households >= 2000
    assert scan.gaps == TakeUpGap.objects.filter(scan=scan).count() > 0
    assert "应保尽保排查" in out.getvalue()
    dibao = set(TakeUpGap.objects.filter(programme="dibao").values_list("household_id", flat=True))
    assert dibao
    assert not dibao & set(Enrolment.objects.filter(programme="dibao").values_list("household_id", flat=True))
    applying = Case.objects.filter(item__code="dibao", closed_at__isnull=True).values_list(
        "household_id", flat=True
    )
    assert not dibao & set(applying)
    call_command("demo_data", "--households", "2000", stdout=StringIO())
    assert (
        TakeUpGap.objects.filter(taken_up_at__isnull=True).exclude(scan=TakeUpScan.objects.first()).count()
        == 0
    )
