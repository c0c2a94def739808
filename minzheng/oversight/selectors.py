"""Reads for grassroots capacity. Gaps are computed on read, for a whole county at once (a fixed
number of queries however many townships), against the norm set the county applies on the date asked.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import CharField, Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr, TruncMonth
from django.utils import timezone

from minzheng.cases.models import CaseStep
from minzheng.core.errors import NotFound
from minzheng.core.identifiers import DivisionLevel
from minzheng.core.permissions import Perm
from minzheng.feedback.models import Ticket, TicketState
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.oversight.models import (
    SOCIAL_WORK_POSTS,
    STAFF_POSTS,
    Bulletin,
    CountyNormChoice,
    FacilityCheck,
    FacilityCheckItem,
    FundingRecord,
    Metric,
    NormBand,
    NormSet,
    PopulationRecord,
    PostKind,
    Rectification,
    RectificationStatus,
    SampledCase,
    ServiceContract,
    ServiceProvider,
    SpotCheck,
    StaffAssignment,
    SupervisionTask,
    TrainingAttendance,
    TrainingEvent,
    TrainingKind,
    TrainingPlan,
    Worker,
)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def applicable_norm_set(county_code: str, on: date) -> NormSet | None:
    choice = (
        CountyNormChoice.objects.filter(county_id=county_code[:6] + "000000", valid_from__lte=on)
        .select_related("norm_set")
        .order_by("-valid_from")
        .first()
    )
    return choice.norm_set if choice else None


def band_value(bands: list[NormBand], metric: str, population: int | None) -> Decimal | None:
    """The norm for `population` ([min, max) bands); None when the set has no such norm, or the
    population is needed and unknown."""
    of_metric = [b for b in bands if b.metric == metric]
    if not of_metric:
        return None
    if len(of_metric) == 1 and of_metric[0].population_min == 0 and of_metric[0].population_max is None:
        return of_metric[0].value
    if population is None:
        return None
    for band in of_metric:
        if band.population_min <= population and (
            band.population_max is None or population < band.population_max
        ):
            return band.value
    return None


@dataclass
class Cell:
    metric: str
    label: str
    required: Decimal | None
    actual: Decimal | None
    short: bool
    note: str = ""


@dataclass
class UnitRow:
    code: str
    name: str
    level: int
    population: int | None
    population_year: int
    norm_set: str
    cells: list[Cell] = field(default_factory=list)
    facilities: list[Cell] = field(default_factory=list)

    @property
    def shortfalls(self) -> int:
        return sum(1 for c in self.cells if c.short) + sum(1 for c in self.facilities if c.short)

    @property
    def short_labels(self) -> list[str]:
        return [c.label for c in [*self.cells, *self.facilities] if c.short]


def _cell(
    metric: str, required: Decimal | None, actual: Decimal | None, note: str = "", label: str = ""
) -> Cell:
    short = required is not None and (actual is None or actual < required)
    return Cell(
        metric,
        label or str(Metric(metric).label if metric in Metric.values else metric),
        required,
        actual,
        short,
        note,
    )


def _active(on: date) -> Q:
    return Q(start_on__lte=on) & (Q(end_on__isnull=True) | Q(end_on__gte=on))


def _counts(divisions: list[str], posts: tuple[str, ...], on: date) -> dict[str, int]:
    rows = (
        StaffAssignment.objects.filter(_active(on), division_id__in=divisions, post__in=posts)
        .values("division_id")
        .annotate(n=Count("worker_id", distinct=True))
    )
    return {r["division_id"]: r["n"] for r in rows}


def _latest_checks(divisions: list[str], on: date) -> dict[str, FacilityCheck]:
    latest: dict[str, FacilityCheck] = {}
    for check in FacilityCheck.objects.filter(division_id__in=divisions, checked_on__lte=on).order_by(
        "division_id", "-checked_on", "-pk"
    ):
        latest.setdefault(check.division_id, check)
    return latest


def _training_events(divisions: list[str], posts: tuple[str, ...], on: date) -> dict[str, int]:
    """Distinct trainings (not held by the unit itself) that the unit's people attended this year."""
    rows = (
        TrainingAttendance.objects.filter(
            event__start_on__year=on.year,
            event__start_on__lte=on,
            worker__assignments__division_id__in=divisions,
            worker__assignments__post__in=posts,
        )
        .filter(Q(worker__assignments__end_on__isnull=True) | Q(worker__assignments__end_on__gte=on))
        .values("worker__assignments__division_id")
        .annotate(n=Count("event_id", distinct=True))
    )
    return {r["worker__assignments__division_id"]: r["n"] for r in rows}


def _training_days(divisions: list[str], on: date) -> dict[str, tuple[Decimal, int]]:
    """Per unit: the fewest training days any of its staff had this year, and how many staff."""
    staff = list(
        StaffAssignment.objects.filter(
            _active(on), division_id__in=divisions, post__in=STAFF_POSTS
        ).values_list("division_id", "worker_id")
    )
    days = dict(
        TrainingAttendance.objects.filter(
            worker_id__in={w for _, w in staff}, event__start_on__year=on.year, event__start_on__lte=on
        )
        .values("worker_id")
        .annotate(d=Sum("days_attended"))
        .values_list("worker_id", "d")
    )
    per: dict[str, list[Decimal]] = defaultdict(list)
    for division, worker in staff:
        per[division].append(days.get(worker) or Decimal(0))
    return {d: (min(v), len(v)) for d, v in per.items()}


def _without_pre_job(divisions: list[str], on: date) -> dict[str, int]:
    trained = TrainingAttendance.objects.filter(
        event__kind=TrainingKind.PRE_JOB, passed=True, event__start_on__lte=on
    ).values("worker_id")
    rows = (
        StaffAssignment.objects.filter(_active(on), division_id__in=divisions)
        .exclude(worker_id__in=trained)
        .values("division_id")
        .annotate(n=Count("worker_id", distinct=True))
    )
    return {r["division_id"]: r["n"] for r in rows}


def township_rows(county_code: str, on: date, *, only: str | None = None) -> list[UnitRow]:
    """Required against actual for every norm, per township of the county, on `on`."""
    county_code = county_code[:6] + "000000"
    townships = list(
        Division.objects.filter(parent_id=county_code, level=DivisionLevel.TOWNSHIP, is_active=True).order_by(
            "code"
        )
    )
    if only is not None:
        townships = [t for t in townships if t.code == only]
    codes = [t.code for t in townships]
    norm_set = applicable_norm_set(county_code, on)
    bands = list(norm_set.bands.all()) if norm_set else []
    items = list(norm_set.facility_items.all()) if norm_set else []
    year = on.year
    population = dict(
        PopulationRecord.objects.filter(division_id__in=codes, year=year).values_list(
            "division_id", "resident_population"
        )
    )
    staff = _counts(codes, STAFF_POSTS, on)
    social = _counts(codes, SOCIAL_WORK_POSTS, on)
    funding = {f.division_id: f for f in FundingRecord.objects.filter(division_id__in=codes, year=year)}
    checks = _latest_checks(codes, on)
    quantities: dict[int, dict[str, int]] = defaultdict(dict)
    for found in FacilityCheckItem.objects.filter(facility_check_id__in=[c.pk for c in checks.values()]):
        quantities[found.facility_check_id][found.code] = found.quantity
    trainings = _training_events(codes, STAFF_POSTS, on)
    days = _training_days(codes, on)
    no_pre_job = _without_pre_job(codes, on)
    # Villages short of assistants, per township.
    villages = list(
        Division.objects.filter(parent_id__in=codes, level=DivisionLevel.VILLAGE, is_active=True).values_list(
            "code", "parent_id"
        )
    )
    village_population = dict(
        PopulationRecord.objects.filter(division_id__in=[v for v, _ in villages], year=year).values_list(
            "division_id", "resident_population"
        )
    )
    assistants = _counts([v for v, _ in villages], (PostKind.VILLAGE_ASSISTANT,), on)
    villages_short: dict[str, int] = defaultdict(int)
    for village, parent in villages:
        need = band_value(bands, Metric.VILLAGE_ASSISTANTS, village_population.get(village))
        if need is not None and assistants.get(village, 0) < need:
            villages_short[parent] += 1
    rows: list[UnitRow] = []
    for township in townships:
        pop = population.get(township.code)
        row = UnitRow(
            township.code, township.name, township.level, pop, year, norm_set.name if norm_set else ""
        )
        note = "" if pop is not None else f"缺{year}年人口数据"
        row.cells.append(
            _cell(
                Metric.TOWNSHIP_STAFF,
                band_value(bands, Metric.TOWNSHIP_STAFF, pop),
                Decimal(staff.get(township.code, 0)),
                note,
            )
        )
        need = band_value(bands, Metric.SOCIAL_WORK_POSTS, pop)
        if need is not None:
            row.cells.append(_cell(Metric.SOCIAL_WORK_POSTS, need, Decimal(social.get(township.code, 0))))
        need = band_value(bands, Metric.TOWNSHIP_FUNDS, pop)
        if need is not None or township.code in funding:
            record = funding.get(township.code)
            listed = "" if record is None or record.separately_listed else "未单独列支"
            row.cells.append(
                _cell(Metric.TOWNSHIP_FUNDS, need, record.budgeted if record else None, listed or note)
            )
        check = checks.get(township.code)
        need = band_value(bands, Metric.OFFICE_AREA, pop)
        if need is not None:
            row.cells.append(_cell(Metric.OFFICE_AREA, need, check.office_area_m2 if check else None))
        if norm_set is not None and norm_set.window_sign_required:
            row.cells.append(
                _cell(
                    "window_sign",
                    Decimal(1),
                    Decimal(1 if check and check.window_has_sign else 0),
                    label="服务窗口标志牌和民政徽标",
                )
            )
        need = band_value(bands, Metric.TOWNSHIP_TRAININGS, pop)
        if need is not None:
            row.cells.append(_cell(Metric.TOWNSHIP_TRAININGS, need, Decimal(trainings.get(township.code, 0))))
        need = band_value(bands, Metric.TRAINING_DAYS, pop)
        if need is not None:
            fewest, people = days.get(township.code, (Decimal(0), 0))
            row.cells.append(_cell(Metric.TRAINING_DAYS, need, fewest, f"{people}人中最少者"))
        if norm_set is not None and norm_set.pre_job_training_required:
            row.cells.append(
                _cell(
                    "pre_job",
                    Decimal(0),
                    Decimal(0),
                    label="未经岗前培训的人员",
                    note=f"{no_pre_job.get(township.code, 0)}人",
                )
            )
            row.cells[-1].short = no_pre_job.get(township.code, 0) > 0
            row.cells[-1].actual = Decimal(no_pre_job.get(township.code, 0))
        if band_value(bands, Metric.VILLAGE_ASSISTANTS, 0) is not None:
            short = villages_short.get(township.code, 0)
            row.cells.append(
                Cell(
                    "villages_short",
                    "协理员不足的村（社区）",
                    Decimal(0),
                    Decimal(short),
                    short > 0,
                    f"{short}个",
                )
            )
        quantity = quantities.get(check.pk, {}) if check else {}
        for item in items:
            have = quantity.get(item.code, 0)
            row.facilities.append(
                Cell(
                    item.code, item.label, Decimal(item.min_quantity), Decimal(have), have < item.min_quantity
                )
            )
        rows.append(row)
    return rows


def village_rows(township_code: str, on: date) -> list[UnitRow]:
    villages = list(
        Division.objects.filter(
            parent_id=township_code, level=DivisionLevel.VILLAGE, is_active=True
        ).order_by("code")
    )
    codes = [v.code for v in villages]
    norm_set = applicable_norm_set(township_code, on)
    bands = list(norm_set.bands.all()) if norm_set else []
    population = dict(
        PopulationRecord.objects.filter(division_id__in=codes, year=on.year).values_list(
            "division_id", "resident_population"
        )
    )
    assistants = _counts(codes, (PostKind.VILLAGE_ASSISTANT,), on)
    trainings = _training_events(codes, (PostKind.VILLAGE_ASSISTANT,), on)
    allowance = dict(
        StaffAssignment.objects.filter(_active(on), division_id__in=codes, post=PostKind.VILLAGE_ASSISTANT)
        .values("division_id")
        .annotate(low=Min("monthly_allowance"))
        .values_list("division_id", "low")
    )
    rows = []
    for village in villages:
        pop = population.get(village.code)
        row = UnitRow(
            village.code, village.name, village.level, pop, on.year, norm_set.name if norm_set else ""
        )
        row.cells.append(
            _cell(
                Metric.VILLAGE_ASSISTANTS,
                band_value(bands, Metric.VILLAGE_ASSISTANTS, pop),
                Decimal(assistants.get(village.code, 0)),
            )
        )
        need = band_value(bands, Metric.VILLAGE_ALLOWANCE, pop)
        if need is not None:
            row.cells.append(_cell(Metric.VILLAGE_ALLOWANCE, need, allowance.get(village.code)))
        need = band_value(bands, Metric.VILLAGE_TRAININGS, pop)
        if need is not None:
            row.cells.append(_cell(Metric.VILLAGE_TRAININGS, need, Decimal(trainings.get(village.code, 0))))
        rows.append(row)
    return rows


@dataclass
class CountyRollup:
    code: str
    name: str
    norm_set: str
    townships: int
    townships_compliant: int
    shortfalls: int
    staff_required: Decimal
    staff_actual: Decimal
    short_by_norm: dict[str, int]

    @property
    def compliance_percent(self) -> int:
        return round(100 * self.townships_compliant / self.townships) if self.townships else 0


def county_rollup(county: Division, on: date) -> CountyRollup:
    rows = township_rows(county.code, on)
    by_norm: dict[str, int] = defaultdict(int)
    required = actual = Decimal(0)
    for row in rows:
        for cell in [*row.cells, *row.facilities]:
            if cell.short:
                by_norm[cell.label] += 1
            if cell.metric == Metric.TOWNSHIP_STAFF:
                required += cell.required or 0
                actual += cell.actual or 0
    norm_set = applicable_norm_set(county.code, on)
    return CountyRollup(
        county.code,
        county.name,
        norm_set.name if norm_set else "",
        len(rows),
        sum(1 for r in rows if r.shortfalls == 0 and r.population is not None),
        sum(r.shortfalls for r in rows),
        required,
        actual,
        dict(by_norm),
    )


@dataclass
class ComplianceView:
    division: Division
    on: date
    counties: list[CountyRollup] = field(default_factory=list)
    townships: list[UnitRow] = field(default_factory=list)
    villages: list[UnitRow] = field(default_factory=list)
    breadcrumbs: list[Division] = field(default_factory=list)


def _in_scope_division(actor: Staff, code: str) -> Division:
    division = Division.objects.filter(code=code).first()
    if division is None or not jurisdiction_of(actor).contains(division.code):
        raise NotFound("没有该区划")
    return division


def compliance(*, actor: Staff, code: str | None = None, on: date | None = None) -> ComplianceView:
    """What the actor sees at `code` (its own office's division by default): counties side by side
    for a city or region, townships for a county, villages (and the township's own row) for a
    township."""
    require(actor, Perm.OVERSIGHT_VIEW)
    on = on or timezone.localdate()
    division = _in_scope_division(actor, code or actor.office.division_id)
    view = ComplianceView(division, on)
    crumbs = []
    node: Division | None = division
    prefix = jurisdiction_of(actor).prefix
    while node is not None and node.code.startswith(prefix):
        crumbs.append(node)
        node = node.parent
    view.breadcrumbs = list(reversed(crumbs))
    if division.level <= DivisionLevel.CITY:
        counties = Division.objects.filter(
            code__startswith=division.prefix, level=DivisionLevel.COUNTY, is_active=True
        ).order_by("code")
        view.counties = [county_rollup(c, on) for c in counties]
    elif division.level == DivisionLevel.COUNTY:
        view.townships = township_rows(division.code, on)
    elif division.level == DivisionLevel.TOWNSHIP:
        view.townships = township_rows(division.code[:6], on, only=division.code)
        view.villages = village_rows(division.code, on)
    else:
        view.villages = [r for r in village_rows(division.parent_id or "", on) if r.code == division.code]
    return view


def township_trend(*, actor: Staff, code: str, years: int = 4) -> list[tuple[int, UnitRow]]:
    """A township's compliance at the end of each recent year (today for this year)."""
    require(actor, Perm.OVERSIGHT_VIEW)
    division = _in_scope_division(actor, code)
    if division.level != DivisionLevel.TOWNSHIP:
        return []
    today = timezone.localdate()
    trend = []
    for year in range(today.year - years + 1, today.year + 1):
        on = today if year == today.year else date(year, 12, 31)
        rows = township_rows(division.code[:6], on, only=division.code)
        if rows:
            trend.append((year, rows[0]))
    return trend


# --- Lists ----------------------------------------------------------------------------------------


def workers(*, actor: Staff, division_code: str | None = None) -> QuerySet[Worker]:
    require(actor, Perm.OVERSIGHT_VIEW)
    qs = scoped(Worker.objects.select_related("division", "staff"), actor)
    if division_code:
        qs = qs.filter(division__code__startswith=division_code.rstrip("0") or division_code)
    return qs.prefetch_related("assignments", "qualifications").order_by("division_id", "full_name")


def assignments(*, actor: Staff, division_code: str, on: date | None = None) -> QuerySet[StaffAssignment]:
    require(actor, Perm.OVERSIGHT_VIEW)
    on = on or timezone.localdate()
    return (
        scoped(StaffAssignment.objects.filter(_active(on), division_id=division_code), actor)
        .select_related("worker", "worker__staff", "contract")
        .prefetch_related("worker__qualifications")
        .order_by("post", "worker__full_name")
    )


def facility_checks(*, actor: Staff, division_code: str) -> QuerySet[FacilityCheck]:
    require(actor, Perm.OVERSIGHT_VIEW)
    return scoped(FacilityCheck.objects.filter(division_id=division_code), actor).prefetch_related(
        "items", "evidence"
    )


def training_events(*, actor: Staff, year: int | None = None) -> QuerySet[TrainingEvent]:
    """Trainings held in the actor's jurisdiction or above it (a township sees its county's)."""
    require(actor, Perm.OVERSIGHT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    above = [prefix[:n] for n in (2, 4, 6, 9) if n <= len(prefix)]
    qs = TrainingEvent.objects.filter(
        Q(organiser__code__startswith=prefix) | Q(organiser__prefix__in=above)
    ).select_related("organiser")
    if year:
        qs = qs.filter(start_on__year=year)
    return qs.annotate(
        attendees=Count("attendance", filter=Q(attendance__worker__division__code__startswith=prefix))
    )


def training_event(*, actor: Staff, event_id: int) -> TrainingEvent:
    found = training_events(actor=actor).filter(pk=event_id).first()
    if found is None:
        raise NotFound("没有该培训")
    return found


def attendance_in_scope(*, actor: Staff, event: TrainingEvent) -> QuerySet[TrainingAttendance]:
    return scoped(
        event.attendance.select_related("worker", "worker__division"), actor, field="worker__division__code"
    )


def contracts(*, actor: Staff) -> QuerySet[ServiceContract]:
    require(actor, Perm.OVERSIGHT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    # A township sees its county's contracts only through the posts and services in its area.
    qs = ServiceContract.objects.filter(
        Q(county__code__startswith=prefix)
        | Q(posts__division__code__startswith=prefix)
        | Q(deliveries__division__code__startswith=prefix)
    ).distinct()
    return qs.select_related("provider", "county").order_by("-start_on", "pk")


def contract_get(*, actor: Staff, contract_id: int) -> ServiceContract:
    found = contracts(actor=actor).filter(pk=contract_id).first()
    if found is None:
        raise NotFound("没有该购买服务合同")
    return found


@dataclass
class ContractSummary:
    posts_filled: int
    deliveries: int
    confirmed: int
    hours: Decimal
    by_month: list[tuple[str, int]]


def contract_summary(*, actor: Staff, contract: ServiceContract, on: date | None = None) -> ContractSummary:
    on = on or timezone.localdate()
    prefix = jurisdiction_of(actor).prefix
    deliveries = contract.deliveries.filter(division__code__startswith=prefix)
    totals = deliveries.aggregate(
        n=Count("pk"), c=Count("pk", filter=Q(recipient_confirmed=True)), h=Sum("hours")
    )
    # TruncMonth, not a substring of the date: PostgreSQL has no substring of a date.
    by_month = (
        deliveries.annotate(m=TruncMonth("delivered_on")).values("m").annotate(n=Count("pk")).order_by("m")
    )
    return ContractSummary(
        posts_filled=contract.posts.filter(_active(on), division__code__startswith=prefix).count(),
        deliveries=totals["n"] or 0,
        confirmed=totals["c"] or 0,
        hours=totals["h"] or Decimal(0),
        by_month=[(f"{r['m']:%Y-%m}", r["n"]) for r in by_month],
    )


def rectifications(*, actor: Staff, open_only: bool = False) -> QuerySet[Rectification]:
    require(actor, Perm.OVERSIGHT_VIEW)
    qs = scoped(Rectification.objects.select_related("division"), actor)
    if open_only:
        qs = qs.exclude(status=RectificationStatus.VERIFIED)
    return qs.prefetch_related("evidence")


def supervision_tasks(*, actor: Staff) -> QuerySet[SupervisionTask]:
    require(actor, Perm.OVERSIGHT_VIEW)
    return scoped(SupervisionTask.objects.select_related("division"), actor)


def spot_checks(*, actor: Staff) -> QuerySet[SpotCheck]:
    require(actor, Perm.OVERSIGHT_VIEW)
    return scoped(SpotCheck.objects.select_related("county"), actor, field="county__code").prefetch_related(
        "samples", "samples__case", "samples__division"
    )


def bulletins(*, actor: Staff) -> QuerySet[Bulletin]:
    require(actor, Perm.OVERSIGHT_VIEW)
    return scoped(Bulletin.objects.select_related("division"), actor)


def bulletin_get(*, actor: Staff, bulletin_id: int) -> Bulletin:
    found = bulletins(actor=actor).filter(pk=bulletin_id).first()
    if found is None:
        raise NotFound("没有该通报")
    return found


# --- Supervision indicators and the monthly bulletin ---------------------------------------------


def _overdue_steps_as_of(prefix: str, on: date, width: int) -> dict[str, int]:
    """Case steps past their time limit on `on` and not done by then, per unit (prefix of `width`
    digits of the case's village): the same as cases.selectors.overdue_steps on that day, as of
    that day, so a month's figure can be recomputed later."""
    rows = (
        CaseStep.objects.filter(case__division__code__startswith=prefix, started_on__lte=on, due_date__lt=on)
        .filter(Q(completed_on__isnull=True) | Q(completed_on__gt=on))
        .annotate(unit=Substr("case__division_id", 1, width))
        .values("unit")
        .annotate(n=Count("pk"))
    )
    return {r["unit"]: r["n"] for r in rows}


def _open_rectifications(prefix: str, on: date) -> list[Rectification]:
    return list(
        Rectification.objects.filter(division__code__startswith=prefix, opened_on__lte=on)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=on))
        .select_related("division")
        .order_by("opened_on", "pk")
    )


def _percent(part: int, whole: int) -> str | None:
    """A rate as a percentage with one decimal, kept as text in the frozen content (no float drift)."""
    if not whole:
        return None
    return str((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


VOICE_KEYS = (
    "tickets_received",
    "tickets_closed",
    "tickets_closed_on_time",
    "tickets_rated",
    "tickets_satisfied",
    "tickets_returned",
    "warnings_open",
    "warnings_overdue",
)


def _public_voice(prefix: str, month: date, as_of: date, width: int) -> dict[str, dict[str, Any]]:
    """The public's voice and the warnings in a month, per unit (the first `width` digits of the
    code): tickets received, closed (on time), called back (satisfied: 4 or 5 of 5), returned
    (退单) at least once; monitoring warnings open at month end and, of those, past their due date.
    Counted as the monthly statistics count them (reports.metrics: a ticket belongs to the office
    responsible for it, else the place it concerns; a warning to its village), as of the month's
    last day, so the frozen figure can be recomputed. Two grouped queries."""
    start = timezone.make_aware(datetime.combine(month, time.min))
    end = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))
    received = Q(received_on__gte=month, received_on__lte=as_of)
    closed = Q(state=TicketState.CLOSED, closed_at__gte=start, closed_at__lt=end)
    rated = Q(satisfaction__isnull=False, called_back_at__gte=start, called_back_at__lt=end)
    tickets = (
        Ticket.objects.annotate(
            where=Coalesce(F("office__division_id"), F("division_id"), output_field=CharField())
        )
        .filter(where__startswith=prefix)
        .filter(received | closed | rated)
        .annotate(unit=Substr("where", 1, width))
        .values("unit")
        .annotate(
            tickets_received=Count("pk", filter=received),
            tickets_closed=Count("pk", filter=closed),
            tickets_closed_on_time=Count("pk", filter=closed & Q(closed_at__date__lte=F("due_date"))),
            tickets_rated=Count("pk", filter=rated),
            tickets_satisfied=Count("pk", filter=rated & Q(satisfaction__gte=4)),
            tickets_returned=Count("pk", filter=received & Q(return_count__gt=0)),
        )
    )
    still_open = Q(created_at__lt=end) & (Q(disposed_at__isnull=True) | Q(disposed_at__gte=end))
    warnings = (
        MonitoringWarning.objects.filter(village_code__startswith=prefix)
        .filter(still_open)
        .annotate(unit=Substr("village_code", 1, width))
        .values("unit")
        .annotate(warnings_open=Count("pk"), warnings_overdue=Count("pk", filter=Q(due_on__lt=as_of)))
    )
    units: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(VOICE_KEYS, 0))
    for row in [*tickets, *warnings]:
        units[row["unit"]].update({k: v for k, v in row.items() if k != "unit"})
    return units


def _with_rates(counts: dict[str, Any]) -> dict[str, Any]:
    return {
        **counts,
        "tickets_on_time_rate": _percent(counts["tickets_closed_on_time"], counts["tickets_closed"]),
        "tickets_satisfaction_rate": _percent(counts["tickets_satisfied"], counts["tickets_rated"]),
        "tickets_return_rate": _percent(counts["tickets_returned"], counts["tickets_received"]),
    }


def _score(shortfalls: int, overdue: int, open_items: int) -> int:
    # The bulletin's ranking: 100 less 10 per norm gap, 2 per overdue case step, 5 per open
    # rectification; floor 0. A published rule of the bureau may replace these weights.
    return max(0, 100 - 10 * shortfalls - 2 * overdue - 5 * open_items)


def bulletin_content(*, actor: Staff, division_code: str, month: date) -> dict[str, Any]:
    """The month's indicators per unit (townships of a county; counties of a city or region), as of
    the month's last day: ranking, praised and criticised units, open rectifications with their age."""
    require(actor, Perm.OVERSIGHT_VIEW)
    division = _in_scope_division(actor, division_code)
    as_of = month_end(month.replace(day=1))
    open_items = _open_rectifications(division.prefix, as_of)
    units: list[dict[str, Any]] = []
    if division.level == DivisionLevel.COUNTY:
        overdue = _overdue_steps_as_of(division.prefix, as_of, 9)
        voice = _public_voice(division.prefix, month.replace(day=1), as_of, 9)
        for row in township_rows(division.code, as_of):
            mine = [r for r in open_items if r.division_id.startswith(row.code[:9])]
            units.append(
                {
                    "code": row.code,
                    "name": row.name,
                    "shortfalls": row.shortfalls,
                    "short": row.short_labels,
                    "overdue_steps": overdue.get(row.code[:9], 0),
                    "open_rectifications": len(mine),
                    **_with_rates(voice[row.code[:9]]),
                }
            )
    elif division.level <= DivisionLevel.CITY:
        overdue = _overdue_steps_as_of(division.prefix, as_of, 6)
        voice = _public_voice(division.prefix, month.replace(day=1), as_of, 6)
        for county in Division.objects.filter(
            code__startswith=division.prefix, level=DivisionLevel.COUNTY, is_active=True
        ).order_by("code"):
            rollup = county_rollup(county, as_of)
            mine = [r for r in open_items if r.division_id.startswith(county.prefix)]
            units.append(
                {
                    "code": county.code,
                    "name": county.name,
                    "shortfalls": rollup.shortfalls,
                    "short": sorted(rollup.short_by_norm),
                    "overdue_steps": overdue.get(county.prefix, 0),
                    "open_rectifications": len(mine),
                    **_with_rates(voice[county.prefix]),
                }
            )
    else:
        raise NotFound("月通报按县（区）、市或自治区生成")
    for unit in units:
        unit["score"] = _score(unit["shortfalls"], unit["overdue_steps"], unit["open_rectifications"])
    ranked = sorted(units, key=lambda u: (-u["score"], u["code"]))
    for rank, unit in enumerate(ranked, 1):
        unit["rank"] = rank
    praised = [u["name"] for u in ranked if u["score"] >= 90][:3]
    criticised = [u["name"] for u in ranked if u["score"] < 60]
    return {
        "division": {"code": division.code, "name": division.name},
        "month": month.replace(day=1).isoformat()[:7],
        "as_of": as_of.isoformat(),
        # Since the public's voice and the warnings joined the bulletin; older frozen ones lack them.
        "has_voice": True,
        "ranking": ranked,
        "praised": praised,
        "criticised": criticised,
        "open_rectifications": [
            {
                "division": r.division.name,
                "issue": r.issue,
                "opened_on": r.opened_on.isoformat(),
                "due_on": r.due_on.isoformat(),
                "age_days": (as_of - r.opened_on).days,
                "overdue": r.due_on < as_of,
            }
            for r in open_items
        ],
    }


# --- Offices, training, purchased services and supervision: what the forms work on ------------------


@dataclass
class Office:
    """One township's or village's resources as recorded: population by year, people and their
    posts, funding by year, facility checks with their evidence."""

    division: Division
    population: list[PopulationRecord]
    workers: list[Worker]
    funding: list[FundingRecord]
    checks: list[FacilityCheck]
    facility_items: list[tuple[str, str]]  # (code, label) of the applicable checklist


def office(*, actor: Staff, code: str) -> Office:
    require(actor, Perm.OVERSIGHT_VIEW)
    division = _in_scope_division(actor, code)
    if division.level not in (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE):
        raise NotFound("只有县（区）、乡镇（街道）和村（社区）登记人员、经费和设施")
    norm_set = applicable_norm_set(division.code, timezone.localdate())
    return Office(
        division=division,
        population=list(PopulationRecord.objects.filter(division=division).order_by("-year")),
        workers=list(
            Worker.objects.filter(Q(division=division) | Q(assignments__division=division))
            .distinct()
            .select_related("staff")
            .prefetch_related("assignments", "assignments__division", "qualifications")
            .order_by("full_name", "pk")
        ),
        funding=list(FundingRecord.objects.filter(division=division).order_by("-year")),
        checks=list(
            FacilityCheck.objects.filter(division=division)
            .prefetch_related("items", "evidence")
            .order_by("-checked_on", "-pk")[:20]
        ),
        facility_items=[(f.code, f.label) for f in norm_set.facility_items.all()] if norm_set else [],
    )


def providers(*, actor: Staff) -> QuerySet[ServiceProvider]:
    require(actor, Perm.OVERSIGHT_VIEW)
    return scoped(ServiceProvider.objects.select_related("county"), actor, field="county__code").order_by(
        "name", "pk"
    )


def training_plans(*, actor: Staff, year: int | None = None) -> QuerySet[TrainingPlan]:
    require(actor, Perm.OVERSIGHT_VIEW)
    qs = scoped(TrainingPlan.objects.select_related("division"), actor)
    if year:
        qs = qs.filter(year=year)
    return qs.annotate(held=Count("events", distinct=True)).order_by("-year", "division_id", "pk")


@dataclass
class PersonDays:
    worker: Worker
    post: str
    days: Decimal
    required: Decimal | None
    pre_job: bool

    @property
    def short(self) -> bool:
        return self.required is not None and self.days < self.required


def training_days_per_person(*, actor: Staff, year: int) -> list[PersonDays]:
    """Each person holding a post in the actor's jurisdiction at the year's end (today for this
    year): the days of training they attended that year against the norm of their county's set
    (人均培训时间), and whether their pre-job training is recorded."""
    require(actor, Perm.OVERSIGHT_VIEW)
    today = timezone.localdate()
    on = today if year >= today.year else date(year, 12, 31)
    posts = list(
        scoped(StaffAssignment.objects.filter(_active(on)), actor)
        .select_related("worker", "worker__division")
        .order_by("division_id", "worker__full_name", "pk")
    )
    ids = {a.worker_id for a in posts}
    days = dict(
        TrainingAttendance.objects.filter(worker_id__in=ids, event__start_on__year=year)
        .values("worker_id")
        .annotate(d=Sum("days_attended"))
        .values_list("worker_id", "d")
    )
    trained = set(
        TrainingAttendance.objects.filter(
            worker_id__in=ids, event__kind=TrainingKind.PRE_JOB, passed=True, event__start_on__lte=on
        ).values_list("worker_id", flat=True)
    )
    norms: dict[str, Decimal | None] = {}
    rows: list[PersonDays] = []
    seen: set[int] = set()
    for assignment in posts:
        if assignment.worker_id in seen:
            continue
        seen.add(assignment.worker_id)
        county = assignment.division_id[:6]
        if county not in norms:
            norm_set = applicable_norm_set(county, on)
            bands = list(norm_set.bands.all()) if norm_set else []
            norms[county] = band_value(bands, Metric.TRAINING_DAYS, 0)
        rows.append(
            PersonDays(
                assignment.worker,
                assignment.get_post_display(),
                (days.get(assignment.worker_id) or Decimal(0)).quantize(Decimal("0.1")),
                norms[county],
                assignment.worker_id in trained,
            )
        )
    return rows


def sample_get(*, actor: Staff, sample_id: int) -> SampledCase:
    require(actor, Perm.OVERSIGHT_VIEW)
    found = (
        scoped(SampledCase.objects.select_related("spot_check", "case"), actor).filter(pk=sample_id).first()
    )
    if found is None:
        raise NotFound("没有该抽查案件")
    return found


def rectification_get(*, actor: Staff, rectification_id: int) -> Rectification:
    found = rectifications(actor=actor).filter(pk=rectification_id).first()
    if found is None:
        raise NotFound("没有该整改事项")
    return found


def supervision_task_get(*, actor: Staff, task_id: int) -> SupervisionTask:
    found = supervision_tasks(actor=actor).filter(pk=task_id).first()
    if found is None:
        raise NotFound("没有该督导事项")
    return found


def assignment_get(*, actor: Staff, assignment_id: int) -> StaffAssignment:
    require(actor, Perm.OVERSIGHT_VIEW)
    found = scoped(StaffAssignment.objects.select_related("worker"), actor).filter(pk=assignment_id).first()
    if found is None:
        raise NotFound("没有该岗位记录")
    return found


def worker_get(*, actor: Staff, worker_id: int) -> Worker:
    found = workers(actor=actor).filter(pk=worker_id).first()
    if found is None:
        raise NotFound("没有该工作人员")
    return found


def as_dict(row: UnitRow) -> dict[str, Any]:
    data = asdict(row)
    data["shortfalls"] = row.shortfalls
    return data
