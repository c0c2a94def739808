"""Reads of cases, always within the actor's jurisdiction: lists, worklists, the case page,
time-limit warnings and statistics, village notices, and the applicant's status lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from minzheng.cases.models import Case, CaseStep, ConflictRegistration, Document, PublicNotice, Transfer
from minzheng.cases.workflows import WORKFLOWS, Transition
from minzheng.core import protect
from minzheng.core.errors import NotFound
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.workdays.selectors import add_working_days

WARN_WORKING_DAYS = 2  # warn when a step is due within two working days


def case_list(
    *, actor: Staff, state: str = "", item: str = "", search: str = "", open_only: bool = False
) -> QuerySet[Case]:
    require(actor, Perm.CASE_VIEW)
    qs = scoped(Case.objects.all(), actor).select_related("item", "division")
    if state:
        qs = qs.filter(state=state)
    if item:
        qs = qs.filter(item__code=item)
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(applicant_name__icontains=search))
    return qs.annotate(
        open_due=CaseStep.objects.filter(case=OuterRef("pk"), completed_on__isnull=True).values("due_date")[
            :1
        ]
    ).order_by("-submitted_at", "-pk")


def case_get(*, actor: Staff, case_id: int) -> Case:
    require(actor, Perm.CASE_VIEW)
    case = (
        scoped(Case.objects.all(), actor)
        .select_related("item", "division", "household", "applicant")
        .prefetch_related(
            "events",
            Prefetch("steps", queryset=CaseStep.objects.order_by("pk")),
            "materials__requirement",
            "visits",
            "notices__objections",
            Prefetch("documents", queryset=Document.objects.defer("content")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound("没有找到该申请")
    return case


def available_actions(*, actor: Staff, case: Case) -> list[Transition]:
    """The actions of the case's current state that this actor holds the permission for."""
    if not case.is_open:
        return []
    return [t for t in WORKFLOWS[case.workflow].actions_from(case.state) if actor.can(t.perm)]


def worklist(*, actor: Staff) -> QuerySet[Case]:
    """Open cases in scope whose current state has an action this actor may take, soonest due first."""
    require(actor, Perm.CASE_VIEW)
    wanted: list[Q] = []
    for workflow in WORKFLOWS.values():
        states = {t.source for t in workflow.transitions if actor.can(t.perm) and t.action != "withdraw"}
        if states:
            wanted.append(Q(workflow=workflow.code, state__in=states))
    if not wanted:
        return Case.objects.none()
    condition = wanted[0]
    for q in wanted[1:]:
        condition |= q
    return case_list(actor=actor, open_only=True).filter(condition).order_by("open_due", "pk")


def overdue_steps(*, actor: Staff, on: date | None = None) -> QuerySet[CaseStep]:
    require(actor, Perm.CASE_VIEW)
    on = on or timezone.localdate()
    return (
        scoped(CaseStep.objects.all(), actor, field="case__division__code")
        .filter(completed_on__isnull=True, due_date__lt=on)
        .select_related("case", "case__item", "case__division")
        .order_by("due_date", "pk")
    )


def due_soon_steps(*, actor: Staff, on: date | None = None) -> QuerySet[CaseStep]:
    require(actor, Perm.CASE_VIEW)
    on = on or timezone.localdate()
    return (
        scoped(CaseStep.objects.all(), actor, field="case__division__code")
        .filter(
            completed_on__isnull=True, due_date__gte=on, due_date__lte=add_working_days(on, WARN_WORKING_DAYS)
        )
        .select_related("case", "case__item", "case__division")
        .order_by("due_date", "pk")
    )


@dataclass(frozen=True)
class TownshipTimeStats:
    code: str
    name: str
    open_cases: int
    open_overdue: int
    closed: int
    closed_late: int

    @property
    def on_time_rate(self) -> str:
        if not self.closed:
            return "—"
        return f"{(self.closed - self.closed_late) * 100 / self.closed:.1f}%"


def time_limit_stats(*, actor: Staff, on: date | None = None) -> list[TownshipTimeStats]:
    """Per township in scope: open cases, open cases with an overdue step, closed cases and those
    closed after their statutory date."""
    require(actor, Perm.CASE_VIEW)
    on = on or timezone.localdate()
    overdue = CaseStep.objects.filter(case=OuterRef("pk"), completed_on__isnull=True, due_date__lt=on)
    rows = (
        scoped(Case.objects.all(), actor)
        .annotate(is_overdue=Exists(overdue))
        .values("division__parent__code", "division__parent__name")
        .annotate(
            open_cases=Count("pk", filter=Q(closed_at__isnull=True)),
            open_overdue=Count("pk", filter=Q(closed_at__isnull=True, is_overdue=True)),
            closed=Count("pk", filter=Q(closed_at__isnull=False)),
            closed_late=Count("pk", filter=Q(closed_at__date__gt=F("due_date"))),
        )
        .order_by("division__parent__code")
    )
    return [
        TownshipTimeStats(
            code=r["division__parent__code"],
            name=r["division__parent__name"],
            open_cases=r["open_cases"],
            open_overdue=r["open_overdue"],
            closed=r["closed"],
            closed_late=r["closed_late"],
        )
        for r in rows
    ]


def notices_for_village(
    *, division: Division, on: date | None = None, current_only: bool = True
) -> QuerySet[PublicNotice]:
    """The notices posted in one village (public: shown without login, masked by construction)."""
    qs = (
        PublicNotice.objects.filter(division=division)
        .select_related("case__item")
        .prefetch_related("objections")
    )
    if current_only:
        on = on or timezone.localdate()
        qs = qs.filter(starts_on__lte=on, ends_on__gte=on)
    return qs.order_by("-starts_on", "pk")


def notices_in_scope(*, actor: Staff) -> QuerySet[PublicNotice]:
    require(actor, Perm.CASE_VIEW)
    return (
        scoped(PublicNotice.objects.all(), actor)
        .select_related("case", "case__item", "division")
        .prefetch_related("objections")
        .order_by("-starts_on", "pk")
    )


def transfers_overdue(*, actor: Staff, on: date | None = None) -> QuerySet[Transfer]:
    require(actor, Perm.CASE_VIEW)
    on = on or timezone.localdate()
    return (
        scoped(Transfer.objects.all(), actor, field="case__division__code")
        .filter(feedback_on__isnull=True, feedback_due__lt=on)
        .select_related("case", "case__item")
        .order_by("feedback_due")
    )


def public_notices(*, village_code: str, on: date | None = None) -> QuerySet[PublicNotice]:
    """The current notices of one village, for anyone (no login); NotFound for an unknown village."""
    division = Division.objects.filter(code=village_code, level=DivisionLevel.VILLAGE).first()
    if division is None:
        raise NotFound("没有该村（社区）")
    return notices_for_village(division=division, on=on)


def document_get(*, actor: Staff, case_id: int, document_id: int) -> Document:
    """One uploaded document of a case in scope, with its content."""
    require(actor, Perm.CASE_VIEW)
    document = (
        scoped(Document.objects.all(), actor, field="case__division__code")
        .filter(pk=document_id, case_id=case_id)
        .first()
    )
    if document is None:
        raise NotFound("没有找到该材料")
    return document


def conflict_registrations(*, actor: Staff) -> QuerySet[ConflictRegistration]:
    """Registered case workers and village cadres in scope (近亲属备案)."""
    require(actor, Perm.CASE_VIEW)
    return (
        scoped(ConflictRegistration.objects.all(), actor)
        .select_related("division")
        .order_by("-registered_at", "-pk")
    )


def public_status(*, number: str, id_number: str) -> Case:
    """The applicant follows their case with its number and their ID number (both must match)."""
    try:
        rid = parse_resident_id(id_number)
    except InvalidIdentifier as exc:
        raise NotFound("受理编号或身份证号不正确") from exc
    case = (
        Case.objects.select_related("item")
        .prefetch_related(Prefetch("steps", queryset=CaseStep.objects.order_by("pk")))
        .filter(number=number.strip(), applicant_id_digest=protect.lookup_digest(rid.number))
        .first()
    )
    if case is None:
        raise NotFound("受理编号或身份证号不正确")
    return case


def jurisdiction_villages(*, actor: Staff) -> QuerySet[Division]:
    prefix = jurisdiction_of(actor).prefix
    return Division.objects.filter(code__startswith=prefix, level=5).order_by("code")
