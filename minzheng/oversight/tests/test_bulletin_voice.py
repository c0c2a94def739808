"""The monthly bulletin carries, per unit, the public's voice (tickets received, on-time, satisfaction
and return rates) and the warnings open and overdue at month end; frozen, it keeps them; its print
page and Excel show them, and an older bulletin frozen without them still prints."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from minzheng.feedback.models import Ticket
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.oversight import selectors, services
from minzheng.oversight.models import Bulletin
from minzheng.registry.testing import make_household

COUNTY = "640202000000"
STREET = "640202001000"
TOWN = "640202100000"


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def ticket(n: int, received: date, **kw: object) -> Ticket:
    fields: dict[str, object] = {
        "number": f"MZT-T{n}",
        "channel": "phone",
        "kind": "complaint",
        "category_code": "100701",
        "title": "t",
        "content": "c",
        "division_id": "640202001001",
        "office": Office.objects.get(division_id=STREET),
        "state": "processing",
        "received_on": received,
        "due_date": received + timedelta(days=10),
    }
    fields.update(kw)
    return Ticket.objects.create(**fields)  # type: ignore[arg-type]


@pytest.fixture
def supervisor(tree: dict[str, Division]) -> Staff:
    return make_staff("voice_admin", COUNTY, [Role.COUNTY_ADMIN])


def test_the_bulletin_counts_the_public_s_voice_and_the_warnings_per_unit(supervisor: Staff) -> None:
    today = timezone.localdate()
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last_day = today.replace(day=1) - timedelta(days=1)
    first = month
    # The street office: 4 tickets received in the month; 2 closed in it (1 on time); 1 returned;
    # 2 called back (1 satisfied).
    ticket(1, first, state="closed", decision="upheld", closed_at=at(first + timedelta(days=2)))
    ticket(
        2,
        first,
        state="closed",
        decision="upheld",
        due_date=first,
        closed_at=at(first + timedelta(days=3)),
        satisfaction=5,
        called_back_at=at(first + timedelta(days=4)),
    )
    ticket(3, first, return_count=1, satisfaction=2, called_back_at=at(first + timedelta(days=5)))
    ticket(4, last_day)
    # Not this month: received the month before, and after the month ended.
    ticket(5, first - timedelta(days=1))
    ticket(6, today + timedelta(days=1))
    # The town: one ticket about a village there with no office yet.
    ticket(7, first, division_id="640202100201", office=None)
    # Warnings: open at month end (one past due), disposed within the month, raised after it.
    clerk = make_staff("voice_clerk", STREET, [Role.TOWNSHIP_CLERK])
    household = make_household(clerk, "640202001001", "预警户", members=1)

    def warning(created: datetime, due: date, disposed: datetime | None = None) -> None:
        MonitoringWarning.objects.create(
            person=household.head,  # type: ignore[misc]
            household=household,
            village_code="640202001001",
            township_code=STREET,
            direction="needs_help",
            severity=2,
            clue_on=created.date(),
            due_on=due,
            created_at=created,
            disposed_at=disposed,
        )

    warning(at(first), last_day + timedelta(days=5))
    warning(at(first), first + timedelta(days=3))
    warning(at(first), first + timedelta(days=3), disposed=at(first + timedelta(days=2)))
    warning(at(today + timedelta(days=1)), today + timedelta(days=9))

    content = selectors.bulletin_content(actor=supervisor, division_code=COUNTY, month=month)
    units = {u["code"]: u for u in content["ranking"]}
    street, town = units[STREET], units[TOWN]
    assert (street["tickets_received"], street["tickets_closed"], street["tickets_closed_on_time"]) == (
        4,
        2,
        1,
    )
    assert (street["tickets_on_time_rate"], street["tickets_satisfaction_rate"]) == ("50.0", "50.0")
    assert street["tickets_return_rate"] == "25.0"
    assert (street["warnings_open"], street["warnings_overdue"]) == (2, 1)
    assert (town["tickets_received"], town["tickets_on_time_rate"], town["warnings_open"]) == (1, None, 0)

    # Frozen, it keeps them; later tickets change neither the stored content nor a recomputation.
    bulletin = services.bulletin_freeze(actor=supervisor, division_code=COUNTY, month=month, content=content)
    ticket(8, last_day)
    stored = Bulletin.objects.get(pk=bulletin.pk).content
    assert {u["code"]: u["tickets_received"] for u in stored["ranking"]}[STREET] == 4
    again = selectors.bulletin_content(actor=supervisor, division_code=COUNTY, month=month)
    assert {u["code"]: u["tickets_received"] for u in again["ranking"]}[STREET] == 5  # counted, not stored

    client = Client()
    client.force_login(supervisor)
    page = client.get(f"/oversight/bulletins/{bulletin.pk}/").content.decode()
    assert 'data-testid="voice"' in page
    assert "50.0%" in page
    assert "25.0%" in page
    xlsx = client.get(f"/oversight/bulletins/{bulletin.pk}/bulletin.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content))["群众诉求与监测预警"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    street_row = rows[street["name"]]
    assert street_row[1:5] == (4, 2, 1, 50)
    assert street_row[-2:] == (2, 1)
    assert rows[town["name"]][4] == "—"


def test_an_older_bulletin_frozen_without_them_still_prints(supervisor: Staff) -> None:
    today = timezone.localdate()
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    content = selectors.bulletin_content(actor=supervisor, division_code=COUNTY, month=month)
    content.pop("has_voice")
    for unit in content["ranking"]:
        for key in [k for k in unit if k.startswith(("tickets_", "warnings_"))]:
            del unit[key]
    bulletin = services.bulletin_freeze(actor=supervisor, division_code=COUNTY, month=month, content=content)
    client = Client()
    client.force_login(supervisor)
    page = client.get(f"/oversight/bulletins/{bulletin.pk}/")
    assert page.status_code == 200
    assert 'data-testid="voice"' not in page.content.decode()
    xlsx = client.get(f"/oversight/bulletins/{bulletin.pk}/bulletin.xlsx")
    assert "群众诉求与监测预警" not in load_workbook(io.BytesIO(xlsx.content)).sheetnames
