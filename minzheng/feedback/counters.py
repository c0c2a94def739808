"""Numbers given out per day (诉求编号, 网格事件编号): one counter row per numbering and day, taken
under a row lock, so numbers are unique and gap-free within a committed day even when two requests
arrive at once (counting the rows already there would give both the same number)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F

from minzheng.feedback.models import DailyCounter

TICKET = "ticket"
GRID = "grid"


@transaction.atomic
def next_number(name: str, day: date) -> int:
    """The next number of `name` on `day`, starting at 1. The row is created if missing without
    failing when another transaction creates it first (ON CONFLICT DO NOTHING), then locked
    (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises writers) and advanced."""
    DailyCounter.objects.bulk_create([DailyCounter(name=name, day=day, last=0)], ignore_conflicts=True)
    counter = DailyCounter.objects.select_for_update().get(name=name, day=day)
    DailyCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    return counter.last + 1
