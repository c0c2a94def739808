"""Writes of the monthly statistics: recompute a month (the worker's sweep, or on demand) and freeze
it at the month's end. A frozen month never changes: both refuse it."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, DomainError, InvalidInput
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Office, OfficeKind, Staff
from minzheng.org.scope import require, require_in_scope
from minzheng.payments.months import add_months, first_of_month
from minzheng.reports import statistics
from minzheng.reports.metrics import window
from minzheng.reports.models import PeriodState, StatisticPeriod

logger = logging.getLogger("minzheng.reports")

# The sweep recomputes the current month (and the last one until it is frozen) when its figures are
# older than this: the dashboards are current within minutes of a change.
REFRESH = timedelta(minutes=5)
# The last month is frozen automatically this many days after it ended (time for the bank's
# results and late entries), unless a county administrator or approver froze it before.
FREEZE_AFTER_DAYS = 5


class ReportsAudit(StrEnum):
    RECOMPUTE = "reports.recompute"
    FREEZE = "reports.freeze"


def check_month(month: date) -> date:
    """The first of `month`; a month not begun yet is refused."""
    month = first_of_month(month)
    if month > first_of_month(timezone.localdate()):
        raise InvalidInput("不能统计尚未到来的月份", field_errors={"month": ["月份不能晚于本月"]})
    return month


def check_county(actor: Staff | None, county: str) -> str:
    """A county code (6 digits) of an existing county, within the actor's jurisdiction."""
    county = (county or "").strip()
    if (
        len(county) != 6
        or not county.isdigit()
        or not Division.objects.filter(code=statistics.county_code(county), level=3).exists()
    ):
        raise InvalidInput("县（区）代码无效", field_errors={"county": ["请填写6位县（区）代码"]})
    if actor is not None:
        require_in_scope(actor, statistics.county_code(county))
    return county


def _period_locked(county: str, month: date) -> StatisticPeriod:
    try:
        with transaction.atomic():
            StatisticPeriod.objects.get_or_create(county=county, month=month)
    except IntegrityError:
        pass  # made meanwhile by another process: locked below
    return StatisticPeriod.objects.select_for_update().get(county=county, month=month)


@transaction.atomic
def period_recompute(
    *, actor: Staff | None, county: str, month: date, now: datetime | None = None
) -> StatisticPeriod:
    """Compute a month's figures again from the database (None: the worker's sweep). Audited when
    asked for, and when the sweep finds the figures changed."""
    if actor is not None:
        require(actor, Perm.REPORT_MANAGE)
    county = check_county(actor, county)
    month = check_month(month)
    period = _period_locked(county, month)
    if period.frozen:
        raise Conflict(f"{month:%Y年%m月}的统计已冻结，不再重算", code="period_frozen")
    now = now or timezone.now()
    before = period.digest
    count = statistics.compute(period, window(county, month, now=now))
    period.computed_at = now
    period.computed_by = actor
    period.digest = statistics.digest(period)
    period.save(update_fields=["computed_at", "computed_by", "digest"])
    if actor is not None or period.digest != before:
        audit_record(
            actor=actor,
            action=ReportsAudit.RECOMPUTE,
            object_type="statistic_period",
            object_id=period.pk,
            scope_code=statistics.county_code(county),
            before={"digest": before},
            after={"county": county, "month": month, "figures": count, "digest": period.digest},
        )
    return period


@transaction.atomic
def period_freeze(
    *, actor: Staff | None, county: str, month: date, now: datetime | None = None
) -> StatisticPeriod:
    """Freeze a month that has ended (None: the worker's sweep): its figures are computed once more,
    as at the month's end, the records each counted are kept with them, and from then on the month
    is never recomputed."""
    if actor is not None:
        require(actor, Perm.REPORT_MANAGE)
    county = check_county(actor, county)
    month = check_month(month)
    if add_months(month, 1) > timezone.localdate():
        raise InvalidInput("本月尚未结束，月末后才能冻结", field_errors={"month": ["只能冻结已结束的月份"]})
    period = _period_locked(county, month)
    if period.frozen:
        raise Conflict(
            f"{month:%Y年%m月}的统计已于{timezone.localtime(period.frozen_at):%Y-%m-%d %H:%M}冻结，不能重复冻结",  # type: ignore[arg-type]
            code="period_frozen",
        )
    now = now or timezone.now()
    w = window(county, month, now=now)
    count = statistics.compute(period, w)
    statistics.write_members(period, w)
    period.computed_at = now
    period.computed_by = actor
    period.digest = statistics.digest(period)
    period.state = PeriodState.FROZEN
    period.frozen_at = now
    period.frozen_by = actor
    period.save()
    audit_record(
        actor=actor,
        action=ReportsAudit.FREEZE,
        object_type="statistic_period",
        object_id=period.pk,
        scope_code=statistics.county_code(county),
        after={"county": county, "month": month, "figures": count, "digest": period.digest},
    )
    return period


def statistics_sweep(*, now: datetime | None = None) -> int:
    """The worker's periodic sweep (core.recovery): for every county with a civil-affairs bureau,
    the current month (and the last one, until frozen) recomputed when older than REFRESH; the last
    month frozen FREEZE_AFTER_DAYS days after it ended. Several workers may run it at once: each
    period is decided under its row lock. The number of periods recomputed or frozen."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    current = first_of_month(today)
    previous = add_months(current, -1)
    counties = sorted(
        {
            code[:6]
            for code in Office.objects.filter(kind=OfficeKind.COUNTY_BUREAU, is_active=True).values_list(
                "division_id", flat=True
            )
        }
    )
    fresh_after = now - REFRESH
    handled = 0
    for county in counties:
        periods = {
            p.month: p for p in StatisticPeriod.objects.filter(county=county, month__in=[previous, current])
        }
        for month in (previous, current):
            period = periods.get(month)
            if period is not None and period.frozen:
                continue
            try:
                if month == previous and today >= current + timedelta(days=FREEZE_AFTER_DAYS):
                    period_freeze(actor=None, county=county, month=month, now=now)
                elif period is None or period.computed_at is None or period.computed_at < fresh_after:
                    period_recompute(actor=None, county=county, month=month, now=now)
                else:
                    continue
            except DomainError:
                logger.exception("statistics of %s %s not computed", county, month)
                continue
            handled += 1
    return handled
