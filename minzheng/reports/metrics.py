"""What the monthly statistics count: each metric is one or more queries over another app's table
giving, per record counted, its unit (the township of its village, or the office a ticket is with),
its dimension (programme, urban/rural, item, category …), its id and its weight (1, or an amount).

The same queries compute a figure (grouped and counted inside the database by `statistics`), list
it (the drill-down of a month still open) and write its members when the month is frozen: so the
list always holds what the figure counted.

A month M is read as at its reference instant: now while M is the current month, else the first
instant of the next month (in the local time zone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    CharField,
    Exists,
    Expression,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Substr
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from minzheng.cases.models import Case
from minzheng.feedback.models import Ticket, TicketState
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.payments.models import (
    ChangeKind,
    Enrolment,
    EnrolmentChange,
    EntryKind,
    FundEntry,
    LineStatus,
    PayrollLine,
)
from minzheng.payments.months import add_months, first_of_month
from minzheng.registry.models import Membership

# Programmes whose benefit covers the whole household (保障人数 = its members); the others cover
# the person paid (特困人员, 两项补贴, 高龄津贴, 孤儿).
HOUSEHOLD_PROGRAMMES = ("dibao",)


@dataclass(frozen=True)
class Window:
    """The month of a county being counted, and the instant it is read at."""

    county: str
    month: date
    next_month: date
    at: datetime  # the reference instant (aware)
    day: date  # the reference day: today, or the month's last day

    @property
    def current(self) -> bool:
        return self.next_month > timezone.localdate()

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.month, time.min))

    @property
    def end(self) -> datetime:
        """The end of what the month counts: the reference instant."""
        return self.at


def window(county: str, month: date, *, now: datetime | None = None) -> Window:
    month = first_of_month(month)
    next_month = add_months(month, 1)
    now = now or timezone.now()
    month_end = timezone.make_aware(datetime.combine(next_month, time.min))
    at = min(now, month_end)
    day = min(timezone.localtime(now).date(), next_month - timedelta(days=1))
    return Window(county=county, month=month, next_month=next_month, at=at, day=day)


@dataclass(frozen=True)
class Part:
    """One query of a metric: the table's rows counted, and how each gives its code, dimension,
    id and weight."""

    rows: Callable[[Window], QuerySet[Any]]
    code: Expression | F  # the 12-digit division code of the record
    dimension: Expression | F | Value
    member: Expression | F
    weight: Expression | F | Value


@dataclass(frozen=True)
class Metric:
    code: str
    label: str | Promise
    group: str
    kind: str  # what the drill-down lists: households, persons, enrolments, lines, entries, cases, warnings, tickets
    parts: tuple[Part, ...]
    money: bool = False  # the weight is an amount (yuan) and the figure its sum


def _covered(w: Window) -> Q:
    """An enrolment in force in the month (在保): started, and not ended (end month exclusive)."""
    return Q(start_month__lte=w.month) & (Q(end_month__isnull=True) | Q(end_month__gt=w.month))


def _programme_area(area: str = "household__area") -> Concat:
    return Concat(F("programme"), Value(":"), F(area), output_field=CharField())


def _enrolments(condition: Callable[[Window], Q]) -> Callable[[Window], QuerySet[Any]]:
    return lambda w: Enrolment.objects.filter(condition(w))


def _dibao_members(w: Window) -> QuerySet[Any]:
    covered = Enrolment.objects.filter(
        _covered(w), household=OuterRef("household"), programme__in=HOUSEHOLD_PROGRAMMES
    )
    return Membership.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=w.day), Exists(covered), start_date__lte=w.day
    )


def _exiting(w: Window) -> Q:
    change = EnrolmentChange.objects.filter(
        enrolment=OuterRef("pk"), kind=ChangeKind.EXIT, effective_month__lte=w.month
    )
    return Q(start_month__lte=w.month, end_month__gt=w.month) & Q(Exists(change))


def _lines(w: Window) -> QuerySet[Any]:
    # A failed line that was paid again (REISSUED) is counted once, by its re-issue.
    return PayrollLine.objects.filter(month=w.month).exclude(status=LineStatus.REISSUED)


def _cases_open(w: Window) -> QuerySet[Any]:
    return Case.objects.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=w.end), submitted_at__lt=w.end)


def _cases_closed(w: Window) -> QuerySet[Any]:
    return Case.objects.filter(closed_at__gte=w.start, closed_at__lt=w.end)


def _warnings_open(w: Window) -> QuerySet[Any]:
    return MonitoringWarning.objects.filter(
        Q(disposed_at__isnull=True) | Q(disposed_at__gte=w.end), created_at__lt=w.end
    )


def _warnings_disposed(w: Window) -> QuerySet[Any]:
    return MonitoringWarning.objects.filter(disposed_at__gte=w.start, disposed_at__lt=w.end)


def _tickets_received(w: Window) -> QuerySet[Any]:
    return Ticket.objects.filter(received_on__gte=w.month, received_on__lte=w.day)


def _tickets_closed(w: Window) -> QuerySet[Any]:
    return Ticket.objects.filter(state=TicketState.CLOSED, closed_at__gte=w.start, closed_at__lt=w.end)


def _tickets_rated(w: Window) -> QuerySet[Any]:
    return Ticket.objects.filter(
        satisfaction__isnull=False, called_back_at__gte=w.start, called_back_at__lt=w.end
    )


NO_DIMENSION = Value("", output_field=CharField())
ENROLMENT_CODE = F("division_id")
CASE_CODE = F("division_id")
WARNING_CODE = F("village_code")
# A ticket counts for the office responsible for it, or the place it concerns while none is.
TICKET_CODE = Coalesce(F("office__division_id"), F("division_id"), output_field=CharField())
# By middle class (中类, four digits): the civil-affairs requests all share one major class.
TICKET_CATEGORY = Substr(F("category_code"), 1, 4, output_field=CharField())


def _part(
    rows: Callable[[Window], QuerySet[Any]], code: Any, dimension: Any, member: Any = None, weight: Any = None
) -> Part:
    return Part(
        rows=rows, code=code, dimension=dimension, member=member or F("pk"), weight=weight or Value(1)
    )


METRICS: tuple[Metric, ...] = (
    # Coverage (保障对象): households and persons per programme and urban/rural.
    Metric(
        "households_covered",
        _("保障户数"),
        "coverage",
        "households",
        (_part(_enrolments(_covered), ENROLMENT_CODE, _programme_area(), F("household_id")),),
    ),
    Metric(
        "persons_covered",
        _("保障人数"),
        "coverage",
        "persons",
        (
            _part(
                _dibao_members,
                F("household__division_id"),
                Concat(Value("dibao:"), F("household__area"), output_field=CharField()),
                F("person_id"),
            ),
            _part(
                lambda w: Enrolment.objects.filter(_covered(w)).exclude(programme__in=HOUSEHOLD_PROGRAMMES),
                ENROLMENT_CODE,
                _programme_area(),
                F("payee_id"),
            ),
        ),
    ),
    # Movement (动态管理): new, exited and gradually exiting in the month.
    Metric(
        "enrolments_new",
        _("新增保障"),
        "movement",
        "enrolments",
        (_part(lambda w: Enrolment.objects.filter(start_month=w.month), ENROLMENT_CODE, _programme_area()),),
    ),
    Metric(
        "enrolments_exited",
        _("退出保障"),
        "movement",
        "enrolments",
        (_part(lambda w: Enrolment.objects.filter(end_month=w.month), ENROLMENT_CODE, _programme_area()),),
    ),
    Metric(
        "enrolments_exiting",
        _("渐退期"),
        "movement",
        "enrolments",
        (_part(_enrolments(_exiting), ENROLMENT_CODE, _programme_area()),),
    ),
    # Money (资金发放): the month's payroll lines per programme, and what they paid.
    Metric(
        "payroll_lines",
        _("发放笔数"),
        "money",
        "lines",
        (_part(_lines, F("division_code"), F("programme")),),
    ),
    Metric(
        "payroll_amount",
        _("发放金额（元）"),
        "money",
        "lines",
        (_part(_lines, F("division_code"), F("programme"), weight=F("amount")),),
        money=True,
    ),
    Metric(
        "paid_amount",
        _("已到账金额（元）"),
        "money",
        "lines",
        (
            _part(
                lambda w: _lines(w).filter(status=LineStatus.PAID),
                F("division_code"),
                F("programme"),
                weight=F("amount"),
            ),
        ),
        money=True,
    ),
    Metric(
        "fund_paid",
        _("救助资金支出（元）"),
        "money",
        "entries",
        (
            _part(
                lambda w: FundEntry.objects.filter(kind=EntryKind.PAID, month=w.month),
                F("fund__township_code"),
                F("fund__kind"),
                weight=F("amount"),
            ),
        ),
        money=True,
    ),
    # Applications (申请办理) and their timeliness (限时办结).
    Metric(
        "cases_in_progress",
        _("在办申请"),
        "timeliness",
        "cases",
        (_part(_cases_open, CASE_CODE, F("item__code")),),
    ),
    Metric(
        "cases_overdue",
        _("在办超期"),
        "timeliness",
        "cases",
        (_part(lambda w: _cases_open(w).filter(due_date__lt=w.day), CASE_CODE, F("item__code")),),
    ),
    Metric(
        "cases_closed",
        _("本月办结"),
        "timeliness",
        "cases",
        (_part(_cases_closed, CASE_CODE, F("item__code")),),
    ),
    Metric(
        "cases_closed_late",
        _("超期办结"),
        "timeliness",
        "cases",
        (
            _part(
                lambda w: _cases_closed(w).filter(closed_at__date__gt=F("due_date")),
                CASE_CODE,
                F("item__code"),
            ),
        ),
    ),
    # Monitoring (监测预警) and the closure of its warnings.
    Metric(
        "warnings_raised",
        _("新增预警"),
        "warnings",
        "warnings",
        (
            _part(
                lambda w: MonitoringWarning.objects.filter(created_at__gte=w.start, created_at__lt=w.end),
                WARNING_CODE,
                NO_DIMENSION,
            ),
        ),
    ),
    Metric(
        "warnings_open",
        _("未处置预警"),
        "warnings",
        "warnings",
        (_part(_warnings_open, WARNING_CODE, NO_DIMENSION),),
    ),
    Metric(
        "warnings_overdue",
        _("逾期未处置预警"),
        "warnings",
        "warnings",
        (_part(lambda w: _warnings_open(w).filter(due_on__lt=w.day), WARNING_CODE, NO_DIMENSION),),
    ),
    Metric(
        "warnings_disposed",
        _("本月处置预警"),
        "warnings",
        "warnings",
        (_part(_warnings_disposed, WARNING_CODE, NO_DIMENSION),),
    ),
    Metric(
        "warnings_disposed_on_time",
        _("按期处置预警"),
        "warnings",
        "warnings",
        (
            _part(
                lambda w: _warnings_disposed(w).filter(disposed_at__date__lte=F("due_on")),
                WARNING_CODE,
                NO_DIMENSION,
            ),
        ),
    ),
    # Service quality (服务质量): the public's tickets per office.
    Metric(
        "tickets_received",
        _("受理诉求"),
        "service",
        "tickets",
        (_part(_tickets_received, TICKET_CODE, TICKET_CATEGORY),),
    ),
    Metric(
        "tickets_closed",
        _("办结诉求"),
        "service",
        "tickets",
        (_part(_tickets_closed, TICKET_CODE, TICKET_CATEGORY),),
    ),
    Metric(
        "tickets_closed_on_time",
        _("按时办结诉求"),
        "service",
        "tickets",
        (
            _part(
                lambda w: _tickets_closed(w).filter(closed_at__date__lte=F("due_date")),
                TICKET_CODE,
                TICKET_CATEGORY,
            ),
        ),
    ),
    Metric(
        "tickets_rated",
        _("回访评价"),
        "service",
        "tickets",
        (_part(_tickets_rated, TICKET_CODE, TICKET_CATEGORY),),
    ),
    Metric(
        "tickets_satisfied",
        _("满意（4–5分）"),
        "service",
        "tickets",
        (_part(lambda w: _tickets_rated(w).filter(satisfaction__gte=4), TICKET_CODE, TICKET_CATEGORY),),
    ),
    Metric(
        "tickets_repeat",
        _("重复诉求（并单）"),
        "service",
        "tickets",
        (
            _part(
                lambda w: _tickets_received(w).filter(merged_into__isnull=False), TICKET_CODE, TICKET_CATEGORY
            ),
        ),
    ),
    Metric(
        "tickets_returned",
        _("退单诉求"),
        "service",
        "tickets",
        (_part(lambda w: _tickets_received(w).filter(return_count__gt=0), TICKET_CODE, TICKET_CATEGORY),),
    ),
)
BY_CODE: dict[str, Metric] = {m.code: m for m in METRICS}

# The standards in force (county-wide, from the dated parameters: `statistics.standards`).
STANDARD = "standard"

# Rates shown beside the counts: (code, label, numerator, denominator, numerator counts the complement).
RATES: tuple[tuple[str, str | Promise, str, str, bool], ...] = (
    ("cases_on_time_rate", _("申请按期办结率"), "cases_closed_late", "cases_closed", True),
    ("warnings_on_time_rate", _("预警按期处置率"), "warnings_disposed_on_time", "warnings_disposed", False),
    ("tickets_on_time_rate", _("诉求按时办结率"), "tickets_closed_on_time", "tickets_closed", False),
    ("tickets_satisfaction_rate", _("满意率"), "tickets_satisfied", "tickets_rated", False),
    ("tickets_repeat_rate", _("重复诉求率"), "tickets_repeat", "tickets_received", False),
    ("tickets_return_rate", _("退单率"), "tickets_returned", "tickets_received", False),
)

GROUPS: tuple[tuple[str, str | Promise], ...] = (
    ("coverage", _("保障对象")),
    ("movement", _("动态管理")),
    ("money", _("资金发放")),
    ("timeliness", _("申请办理时效")),
    ("warnings", _("监测预警")),
    ("service", _("服务质量")),
)


def rows(metric: Metric, w: Window, *, prefix: str = "", dimension: str | None = None) -> list[QuerySet[Any]]:
    """The metric's rows in the county of `w` (within `prefix`, of `dimension` or a dimension
    under it, e.g. "dibao" for "dibao:urban"), each as (r_unit, r_dim, r_member, r_weight)."""
    found: list[QuerySet[Any]] = []
    high = w.county + ":"  # codes are digits: the county's codes are [county, county + ":")
    for part in metric.parts:
        qs = part.rows(w).annotate(r_code=part.code).filter(r_code__gte=w.county, r_code__lt=high)
        if prefix:
            qs = qs.filter(r_code__startswith=prefix)
        qs = qs.annotate(
            r_unit=Concat(Substr("r_code", 1, 9), Value("000"), output_field=CharField()),
            r_dim=part.dimension,
            r_member=part.member,
            r_weight=part.weight,
        )
        if dimension:
            qs = qs.filter(Q(r_dim=dimension) | Q(r_dim__startswith=dimension + ":"))
        found.append(qs.values("r_unit", "r_dim", "r_member", "r_weight").order_by())
    return found


def union_sql(querysets: list[QuerySet[Any]]) -> tuple[str, list[Any]]:
    """The querysets as one SQL text (UNION ALL) with its parameters."""
    texts: list[str] = []
    params: list[Any] = []
    for qs in querysets:
        sql, p = qs.query.sql_with_params()
        texts.append(sql)
        params.extend(p)
    return " UNION ALL ".join(texts), params
