"""A small county with something to count: dibao households enrolled through every step (one in a
town), a month's payroll, an application in progress, a warning and tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from minzheng.catalogue.services import catalogue_load
from minzheng.feedback.models import Ticket, TicketChannel
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import services as payments
from minzheng.payments.models import Enrolment, PayrollRun
from minzheng.payments.months import add_months, first_of_month
from minzheng.payments.testing import enrolled_household, wide_payroll_window


@dataclass
class County:
    people: dict[str, Staff]
    enrolments: list[Enrolment]
    run: PayrollRun
    warning: MonitoringWarning
    tickets: list[Ticket]


def make_ticket(number: str, village: str, **fields: object) -> Ticket:
    today = timezone.localdate()
    values: dict[str, object] = {
        "channel": TicketChannel.PHONE,
        "kind": "complaint",
        "category_code": "100101",
        "title": f"诉求 {number}",
        "content": "诉求内容",
        "division_id": village,
        "office": Office.objects.get(division_id=village[:9] + "000"),
        "state": "processing",
        "received_on": today,
        "due_date": today + timedelta(days=20),
    }
    values.update(fields)
    return Ticket.objects.create(number=number, **values)


@pytest.fixture
def county(tree: dict[str, Division]) -> County:
    catalogue_load(actor=None)
    wide_payroll_window()
    township, county_code = "640202001000", "640202000000"
    people = {
        "clerk": make_staff("r_clerk", township, [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("r_reviewer", township, [Role.TOWNSHIP_REVIEWER]),
        "head": make_staff("r_head", township, [Role.TOWNSHIP_HEAD]),
        "county_reviewer": make_staff("r_county_reviewer", county_code, [Role.COUNTY_REVIEWER]),
        "approver": make_staff("r_approver", county_code, [Role.COUNTY_APPROVER]),
        "admin": make_staff("r_admin", county_code, [Role.COUNTY_ADMIN]),
        "supervisor": make_staff("r_supervisor", "640200000000", [Role.SUPERVISOR]),
        "region": make_staff("r_region", "640000000000", [Role.SUPERVISOR]),
        "outsider": make_staff("r_outsider", "640205000000", [Role.COUNTY_ADMIN]),
        "town_head": make_staff("r_town_head", "640202100000", [Role.TOWNSHIP_HEAD]),
    }
    town = {
        **people,
        "clerk": make_staff("r_town_clerk", "640202100000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("r_town_reviewer", "640202100000", [Role.TOWNSHIP_REVIEWER]),
    }
    enrolments = [
        enrolled_household(people, "甲户", village="640202001001"),
        enrolled_household(people, "乙户", village="640202001002", account="6222020200112233453"),
        enrolled_household(town, "丙户", village="640202100201", account="6222020200112233461"),
    ]
    month = first_of_month(timezone.localdate())
    # Two enrolled since last month, one new this month (decisions pay from the next month).
    Enrolment.objects.filter(pk__in=[e.pk for e in enrolments[:2]]).update(start_month=add_months(month, -1))
    Enrolment.objects.filter(pk=enrolments[2].pk).update(start_month=month)
    for e in enrolments:
        e.refresh_from_db()
    run = payments.payroll_run_request(actor=people["admin"], county="640202", month=month)
    run.refresh_from_db()
    household = enrolments[0].household
    assert household.head is not None
    today = timezone.localdate()
    warning = MonitoringWarning.objects.create(  # type: ignore[misc]
        records=1, amount=Decimal("20000.00"), person=household.head, household=household,
        village_code="640202001001", township_code="640202001000", direction="needs_help", severity=2,
        description="预警", clue_on=today, due_on=today - timedelta(days=1),
    )  # fmt: skip
    tickets = [
        make_ticket("T-1", "640202001001"),
        make_ticket("T-2", "640202100201", return_count=1),
    ]
    return County(people, enrolments, run, warning, tickets)
