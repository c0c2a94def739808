"""The monthly statistics: figures against a hand count, drill-down equality for every metric family,
freezing (a frozen month never changes, its drill-down neither), bad input refused, audit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from minzheng.core.errors import Conflict, InvalidInput, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.payments import services as payments
from minzheng.payments.models import PayrollLine
from minzheng.payments.months import add_months, first_of_month
from minzheng.registry.models import Membership
from minzheng.reports import selectors, services
from minzheng.reports.metrics import METRICS
from minzheng.reports.models import StatisticMember, StatisticPeriod, StatisticValue
from minzheng.reports.tests.conftest import County, make_ticket

THIS_MONTH = first_of_month(timezone.localdate())


def figure(period: StatisticPeriod, metric: str, prefix: str = "", dimension: str = "") -> Decimal:
    qs = StatisticValue.objects.filter(period=period, metric=metric, division_code__startswith=prefix)
    if dimension:
        qs = qs.filter(dimension__startswith=dimension)
    return sum((v for v in qs.values_list("value", flat=True)), Decimal(0))


def test_figures_match_a_hand_count(county: County) -> None:
    period = services.period_recompute(actor=county.people["admin"], county="640202", month=THIS_MONTH)
    covered = [e for e in county.enrolments if e.start_month <= THIS_MONTH]
    assert covered, "the fixture's households are covered this month"
    members = Membership.objects.filter(
        household__in=[e.household for e in covered], end_date__isnull=True
    ).count()
    assert figure(period, "households_covered") == len(covered)
    assert figure(period, "households_covered", "640202001") == len(
        [e for e in covered if e.division_id.startswith("640202001")]
    )
    assert figure(period, "persons_covered", dimension="dibao") == members
    lines = PayrollLine.objects.filter(month=THIS_MONTH)
    assert figure(period, "payroll_lines") == lines.count()
    assert figure(period, "payroll_amount") == sum((line.amount for line in lines), Decimal(0))
    assert figure(period, "warnings_open") == 1
    assert figure(period, "warnings_overdue") == 1
    assert figure(period, "tickets_received") == 2
    assert figure(period, "tickets_returned") == 1
    # Tickets count for the office responsible: the town's ticket under 星海镇.
    assert figure(period, "tickets_received", "640202100") == 1
    # The urban dibao standard in force (650 in the shipped pack for 640202 unless raised).
    standard = StatisticValue.objects.get(period=period, metric="standard", dimension="dibao.standard:urban")
    assert standard.value > 0
    assert AuditEvent.objects.filter(action="reports.recompute", object_id=str(period.pk)).count() == 1


@pytest.mark.parametrize("metric", [m.code for m in METRICS])
def test_drill_down_lists_what_each_figure_counts(county: County, metric: str) -> None:
    admin = county.people["admin"]
    period = services.period_recompute(actor=admin, county="640202", month=THIS_MONTH)
    for unit in ("", "640202001000", "640202100000"):
        found = selectors.members(actor=admin, county="640202", month=THIS_MONTH, metric=metric, unit=unit)
        prefix = unit[:9]
        assert found.figure == figure(period, metric, prefix)
        if found.money:
            assert found.total == found.figure
        else:
            assert found.count == found.figure, (metric, unit)
            assert len(found.rows) == min(found.count, selectors.PAGE_SIZE)


def test_a_frozen_month_never_changes(county: County) -> None:
    admin = county.people["admin"]
    last_month = add_months(THIS_MONTH, -1)
    # Last month: the households enrolled this month were not covered yet; a ticket received then.
    make_ticket("T-OLD", "640202001001", received_on=last_month)
    period = services.period_freeze(actor=county.people["approver"], county="640202", month=last_month)
    assert period.frozen
    assert period.frozen_by == county.people["approver"]
    frozen = {
        (v.metric, v.division_code, v.dimension): v.value
        for v in StatisticValue.objects.filter(period=period)
    }
    received = selectors.members(actor=admin, county="640202", month=last_month, metric="tickets_received")
    assert received.count == received.figure == 1
    kept = StatisticMember.objects.filter(period=period).count()

    # The data changes afterwards: another ticket of last month, the old one deleted.
    make_ticket("T-LATE", "640202001002", received_on=last_month)
    make_ticket("T-LATE2", "640202001002", received_on=last_month + timedelta(days=1))
    with pytest.raises(Conflict):
        services.period_recompute(actor=admin, county="640202", month=last_month)
    with pytest.raises(Conflict):
        services.period_freeze(actor=admin, county="640202", month=last_month)
    services.statistics_sweep()
    after = {
        (v.metric, v.division_code, v.dimension): v.value
        for v in StatisticValue.objects.filter(period=period)
    }
    assert after == frozen
    assert StatisticMember.objects.filter(period=period).count() == kept
    again = selectors.members(actor=admin, county="640202", month=last_month, metric="tickets_received")
    assert again.count == again.figure == 1
    assert [r["title"] for r in again.rows] == ["T-OLD"]
    assert AuditEvent.objects.filter(action="reports.freeze", object_id=str(period.pk)).count() == 1


def test_bad_input_is_refused_and_changes_nothing(county: County) -> None:
    admin = county.people["admin"]
    next_month = add_months(THIS_MONTH, 1)
    with pytest.raises(InvalidInput):
        services.period_recompute(actor=admin, county="640202", month=next_month)
    with pytest.raises(InvalidInput):
        services.period_freeze(actor=admin, county="640202", month=THIS_MONTH)  # not ended yet
    with pytest.raises(InvalidInput):
        services.period_recompute(actor=admin, county="64020", month=THIS_MONTH)
    with pytest.raises(OutOfScope):
        services.period_recompute(actor=county.people["outsider"], county="640202", month=THIS_MONTH)
    with pytest.raises(PermissionDenied):
        services.period_recompute(actor=county.people["supervisor"], county="640202", month=THIS_MONTH)
    assert not StatisticPeriod.objects.exists()
    services.period_recompute(actor=admin, county="640202", month=THIS_MONTH)
    # A drill-down outside the actor's jurisdiction.
    with pytest.raises(OutOfScope):
        selectors.members(
            actor=county.people["head"],
            county="640202",
            month=THIS_MONTH,
            metric="households_covered",
            unit="640202100000",
        )
    with pytest.raises(OutOfScope):
        selectors.members(
            actor=county.people["outsider"], county="640202", month=THIS_MONTH, metric="households_covered"
        )
    with pytest.raises(InvalidInput):
        selectors.members(actor=admin, county="640202", month=THIS_MONTH, metric="no_such_metric")
    with pytest.raises(InvalidInput):
        selectors.parse_month(f"{next_month:%Y-%m}")


def test_the_sweep_keeps_the_current_month_current_and_freezes_the_last(county: County) -> None:
    assert services.statistics_sweep() >= 2  # both months of every county computed
    period = StatisticPeriod.objects.get(county="640202", month=THIS_MONTH)
    before = figure(period, "tickets_received")
    make_ticket("T-NEW", "640202001001")
    assert services.statistics_sweep() == 0  # fresh: nothing to do
    later = timezone.now() + services.REFRESH + timedelta(seconds=1)
    services.statistics_sweep(now=later)
    assert figure(period, "tickets_received") == before + 1
    # Days after the month ended, the last month is frozen by the sweep itself.
    next_month_day = add_months(THIS_MONTH, 1) + timedelta(days=services.FREEZE_AFTER_DAYS)
    moment = timezone.make_aware(datetime.combine(next_month_day, time.min))
    with mock.patch("django.utils.timezone.now", return_value=moment):
        services.statistics_sweep(now=moment)
    period.refresh_from_db()
    assert period.frozen
    assert period.frozen_by is None


def test_dashboards_by_level(county: County) -> None:
    services.period_recompute(actor=county.people["admin"], county="640202", month=THIS_MONTH)
    city = selectors.dashboard(actor=county.people["supervisor"], month=THIS_MONTH)
    assert city.level == "city"
    assert [c.county for c in city.columns] == ["640202", "640205"]
    assert city.columns[0].rank == 1
    assert city.columns[0].figures["households_covered"] == 3
    region = selectors.dashboard(actor=county.people["region"], month=THIS_MONTH)
    assert {c.county for c in region.columns} >= {"640202", "640205", "640104"}
    own = selectors.dashboard(actor=county.people["admin"], month=THIS_MONTH)
    assert own.level == "county"
    assert {c.code for c in own.columns} == {"640202001000", "640202100000"}
    town = selectors.dashboard(actor=county.people["town_head"], month=THIS_MONTH)
    assert [c.code for c in town.columns] == ["640202100000"]
    assert town.columns[0].figures["households_covered"] == 1
    assert town.trend["households_covered"][-1] == 1
    with pytest.raises(InvalidInput):
        selectors.dashboard(actor=county.people["admin"], month=date(2999, 1, 1))


def test_payroll_changes_show_after_recompute(county: County) -> None:
    admin = county.people["admin"]
    period = services.period_recompute(actor=admin, county="640202", month=THIS_MONTH)
    enrolment = county.enrolments[0]
    payments.enrolment_start_exit(
        actor=admin, enrolment_id=enrolment.pk, months=3, month=THIS_MONTH, reason="收入增加"
    )
    services.period_recompute(actor=admin, county="640202", month=THIS_MONTH)
    assert figure(period, "enrolments_exiting") == 1
    exiting = selectors.members(actor=admin, county="640202", month=THIS_MONTH, metric="enrolments_exiting")
    assert exiting.count == 1
    assert exiting.rows[0]["id"] == enrolment.pk
