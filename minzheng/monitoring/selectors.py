"""Reads of monitoring, within the actor's jurisdiction: a warning belongs to its household's village
(an assistant sees their village's, a township its villages', a county all of its own); a feed and a
rule's figures to the county."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from minzheng.core.errors import NotFound
from minzheng.core.permissions import Perm
from minzheng.monitoring.models import (
    CohortImport,
    CohortMembership,
    Feed,
    FeedFeedback,
    FeedRecord,
    Warning,
    WarningPhoto,
    WarningRule,
    WarningState,
)
from minzheng.monitoring.services import OPEN_STATES, rules_in_force
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require, scoped

AGE_BANDS = ((0, 5), (6, 10), (11, 15), (16, None))  # days since the clue


def warnings(
    *,
    actor: Staff,
    state: str = "",
    open_only: bool = False,
    overdue: bool = False,
    escalated: bool = False,
    rule: str = "",
    township: str = "",
) -> QuerySet[Warning]:
    require(actor, Perm.MONITORING_VIEW)
    qs = scoped(Warning.objects.all(), actor, field="village_code")
    if state:
        qs = qs.filter(state=state)
    if open_only or overdue or escalated:
        qs = qs.filter(state__in=OPEN_STATES)
    if overdue:
        qs = qs.filter(due_on__lt=timezone.localdate())
    if escalated:
        qs = qs.filter(escalated_at__isnull=False)
    if rule:
        qs = qs.filter(rule__code=rule) if rule != "emergency" else qs.filter(rule__isnull=True)
    if township:
        qs = qs.filter(township_code=township)
    return qs.select_related("rule", "person", "household", "case").order_by("-severity", "due_on", "pk")


def warning_get(*, actor: Staff, warning_id: int) -> Warning:
    found = warnings(actor=actor).filter(pk=warning_id).select_related("record__feed").first()
    if found is None:
        raise NotFound("没有找到该预警")
    return found


def photo_get(*, actor: Staff, warning_id: int, photo_id: int) -> WarningPhoto:
    warning = warning_get(actor=actor, warning_id=warning_id)
    found = WarningPhoto.objects.filter(pk=photo_id, visit__warning=warning).first()
    if found is None:
        raise NotFound("没有找到该照片")
    return found


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    by_age: list[int]
    total: int


@dataclass(frozen=True)
class Overview:
    states: list[StateCount]
    overdue: int
    escalated: int
    disposed: int
    total: int

    @property
    def closure_rate(self) -> float | None:
        return None if not self.total else self.disposed / self.total


def overview(*, actor: Staff, today: date | None = None) -> Overview:
    """Warnings by state and age since the clue (the county view), overdue and escalated counts."""
    day = today or timezone.localdate()
    qs = warnings(actor=actor)
    bands = {}
    for low, high in AGE_BANDS:
        newest = day - timedelta(days=low)
        cond = Q(clue_on__lte=newest) & (
            Q(clue_on__gte=day - timedelta(days=high)) if high is not None else Q()
        )
        bands[f"a{low}"] = Count("pk", filter=cond)
    rows = {r["state"]: r for r in qs.values("state").annotate(total=Count("pk"), **bands)}
    states = [
        StateCount(
            state=s.value,
            label=str(s.label),
            by_age=[rows.get(s.value, {}).get(f"a{low}", 0) for low, _ in AGE_BANDS],
            total=rows.get(s.value, {}).get("total", 0),
        )
        for s in WarningState
    ]
    return Overview(
        states=states,
        overdue=qs.filter(state__in=OPEN_STATES, due_on__lt=day).count(),
        escalated=qs.filter(state__in=OPEN_STATES, escalated_at__isnull=False).count(),
        disposed=rows.get(WarningState.DISPOSED, {}).get("total", 0),
        total=sum(s.total for s in states),
    )


def feeds(*, actor: Staff) -> QuerySet[Feed]:
    require(actor, Perm.MONITORING_VIEW)
    return scoped(Feed.objects.all(), actor, field="county").select_related("imported_by")


def feed_get(*, actor: Staff, feed_id: int) -> Feed:
    found = feeds(actor=actor).filter(pk=feed_id).first()
    if found is None:
        raise NotFound("没有找到该数据文件")
    return found


def feed_feedbacks(*, actor: Staff, feed_id: int) -> QuerySet[FeedFeedback]:
    """The feedback workbooks issued for a feed, newest first (without their content)."""
    feed = feed_get(actor=actor, feed_id=feed_id)
    return feed.feedbacks.defer("content").select_related("issued_by")


def feed_feedback_get(*, actor: Staff, feedback_id: int) -> FeedFeedback:
    found = FeedFeedback.objects.filter(pk=feedback_id).select_related("feed").first()
    if found is None or not feeds(actor=actor).filter(pk=found.feed_id).exists():
        raise NotFound("没有找到该反馈文件")
    return found


def cohort_imports(*, actor: Staff) -> QuerySet[CohortImport]:
    require(actor, Perm.MONITORING_VIEW)
    return scoped(CohortImport.objects.all(), actor, field="county").select_related("imported_by")


@dataclass(frozen=True)
class RuleFigures:
    rule: WarningRule
    records: int  # matched records of the rule's event type in the county's feeds
    warnings: int
    verified_true: int
    verified_false: int

    @property
    def hit_rate(self) -> float | None:
        return None if not self.records else self.warnings / self.records

    @property
    def true_rate(self) -> float | None:
        checked = self.verified_true + self.verified_false
        return None if not checked else self.verified_true / checked


def rule_figures(*, actor: Staff, county: str = "") -> list[RuleFigures]:
    """Each rule in force for the county with its hit rate (warnings per matched record) and its
    true-positive rate (warnings verified true of those verified), so that useless rules are tuned."""
    require(actor, Perm.MONITORING_VIEW)
    county = county or jurisdiction_of(actor).division_code[:6]
    records = dict(
        scoped(FeedRecord.objects.filter(person__isnull=False), actor, field="feed__county")
        .filter(feed__county=county)
        .values_list("feed__event_type")
        .annotate(n=Count("pk"))
    )
    counts = {
        r["rule__code"]: r
        for r in warnings(actor=actor)
        .filter(rule__isnull=False)
        .values("rule__code")
        .annotate(
            n=Count("pk"),
            t=Count("pk", filter=Q(verified=True)),
            f=Count("pk", filter=Q(verified=False)),
        )
    }
    return [
        RuleFigures(
            rule=r,
            records=records.get(r.event_type, 0),
            warnings=counts.get(r.code, {}).get("n", 0),
            verified_true=counts.get(r.code, {}).get("t", 0),
            verified_false=counts.get(r.code, {}).get("f", 0),
        )
        for r in sorted(rules_in_force(county, timezone.localdate()), key=lambda r: r.code)
    ]


def _cohort_counts_sql() -> str:
    from minzheng.monitoring.services import cohorts_sql

    return f"""WITH placed AS (
        SELECT m.person_id, m.household_id, hh.division_id AS village
        FROM registry_membership m JOIN registry_household hh ON hh.id = m.household_id
        WHERE m.start_date <= %(day)s AND (m.end_date IS NULL OR m.end_date >= %(day)s)
          AND hh.division_id LIKE %(prefix)s),
    cohort_members AS ({cohorts_sql()})
    SELECT SUBSTR(p.village, 1, 9) || '000' AS township, cm.cohort, COUNT(DISTINCT cm.person_id)
    FROM cohort_members cm JOIN placed p ON p.person_id = cm.person_id
    GROUP BY SUBSTR(p.village, 1, 9) || '000', cm.cohort
    ORDER BY 1, 2"""  # noqa: S608 (constant SQL)


@dataclass(frozen=True)
class CohortRow:
    township_code: str
    township: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cohort_counts(*, actor: Staff, day: date | None = None) -> list[CohortRow]:
    """Persons monitored per township and cohort on `day` (a person may be in several cohorts)."""
    from django.db import connection

    from minzheng.core.frames import sql_params
    from minzheng.org.models import Division

    require(actor, Perm.MONITORING_VIEW)
    prefix = jurisdiction_of(actor).prefix
    with connection.cursor() as cursor:
        cursor.execute(
            _cohort_counts_sql(), sql_params({"day": day or timezone.localdate(), "prefix": f"{prefix}%"})
        )
        rows = cursor.fetchall()
    grouped: dict[str, dict[str, int]] = {}
    for township, cohort, n in rows:
        grouped.setdefault(township, {})[cohort] = int(n)
    names = dict(Division.objects.filter(code__in=grouped).values_list("code", "name"))
    return [CohortRow(code, names.get(code, code), counts) for code, counts in sorted(grouped.items())]


def cohort_memberships(*, actor: Staff) -> QuerySet[CohortMembership]:
    """The imported and recorded memberships (防返贫监测, others) of persons in the actor's jurisdiction."""
    require(actor, Perm.MONITORING_VIEW)
    prefix = jurisdiction_of(actor).prefix
    return (
        CohortMembership.objects.filter(
            person__memberships__end_date__isnull=True,
            person__memberships__household__division__code__startswith=prefix,
        )
        .select_related("person", "recorded_by")
        .distinct()
        .order_by("-since", "pk")
    )
