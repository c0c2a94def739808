"""Extreme-poverty support after the decision (特困人员救助供养, 民发〔2021〕43号): the support mode the
person chose (集中供养 in an institution or 分散供养 at home), the county's sampled visits before it
approves, and the visiting plan (探访照料) of home-supported people with its visit records.

Writes are typed, keyword-only services in one transaction with their audit row; reads are scoped to
the actor's jurisdiction like every other selector. This module must not import cases.services
(which calls `care_plan_for_case` from the approval effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.utils import timezone

from minzheng.cases.models import CareVisit, CareVisitPlan, Case, CaseEvent, Outcome, SupportMode, Visit
from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.i18n import as_stored
from minzheng.core.inputs import InputRuleError, check_text
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import require, require_in_scope, scoped

WORKFLOW = "extreme_poverty"
# Home-supported people are visited regularly (探访照料, 民发〔2021〕43号 and the provincial rules that
# carry it out); once a month is the common provincial frequency. A plan keeps the interval it was
# made with, so changing this affects new plans only.
VISIT_INTERVAL_DAYS = 30
DUE_SOON_DAYS = 7  # the worklist shows visits due within a week, and every overdue one
# 特困: the county visits at least 30% of the cases it reviews (民发〔2021〕43号). The same share
# cases.services uses when it samples a case for a county visit.
COUNTY_SAMPLE_SHARE = Decimal("0.30")
# Cases counted in the year's share: as counted by the sampling when a case reaches county review.
REVIEWED_STATES = ("county_review", "approved", "refusal_notice", "refused")
INSTITUTION_MAX = 100
COMPANIONS_MAX = 10


class CareAction(StrEnum):
    """The audit actions of this module."""

    SUPPORT_MODE_SET = "cases.support_mode_set"
    PLAN_CREATED = "cases.care_plan_created"
    VISIT_RECORDED = "cases.care_visit_recorded"


def _today() -> date:
    return timezone.localdate()


def _text(value: str, field: str, errors: dict[str, list[str]], *, required: bool, limit: int) -> str:
    value = value.strip()
    if required and not value:
        errors[field] = ["必填"]
        return ""
    if len(value) > limit:
        errors[field] = [f"最多 {limit} 个字符"]
        return value
    try:
        return check_text(value)
    except InputRuleError as exc:
        errors[field] = [str(exc)]
        return value


# --- Support mode (供养方式) -------------------------------------------------------------------------


@transaction.atomic
def case_support_mode_set(*, actor: Staff, case_id: int, mode: str, institution: str = "") -> Case:
    """Record the support mode the person chose: "home" (分散供养) or "institutional" (集中供养, with
    the institution's name). Only on an open extreme-poverty case; the calculation reads it."""
    require(actor, Perm.CASE_INVESTIGATE)
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("没有找到该申请")
    require_in_scope(actor, case.division_id)
    if case.workflow != WORKFLOW:
        raise InvalidInput("只有特困人员救助供养申请需要登记供养方式", field_errors={"mode": ["不适用"]})
    if not case.is_open:
        raise TransitionNotAllowed("已办结的申请不能再修改供养方式")
    errors: dict[str, list[str]] = {}
    if mode not in SupportMode.values:
        errors["mode"] = ["请选择集中供养或分散供养"]
    name = _text(institution, "institution", errors, required=False, limit=INSTITUTION_MAX)
    if mode == SupportMode.INSTITUTIONAL and not name:
        errors["institution"] = ["集中供养须填写供养服务机构名称"]
    if errors:
        raise InvalidInput("供养方式登记不完整", field_errors=errors)
    before = {k: case.details[k] for k in ("support_mode", "institution") if k in case.details}
    details = {k: v for k, v in case.details.items() if k not in ("support_mode", "institution")}
    details["support_mode"] = mode
    if mode == SupportMode.INSTITUTIONAL:
        details["institution"] = name
    after = {k: details[k] for k in ("support_mode", "institution") if k in details}
    case.details = details
    case.save(update_fields=["details"])
    label = as_stored(SupportMode(mode).label)
    CaseEvent.objects.create(
        case=case,
        actor=actor,
        actor_name=actor.full_name,
        action="support_mode",
        label="登记供养方式",
        from_state=case.state,
        to_state=case.state,
        note=f"{label}（{name}）" if mode == SupportMode.INSTITUTIONAL else str(label),
        data=after,
    )
    audit_record(
        actor=actor,
        action=CareAction.SUPPORT_MODE_SET,
        object_type="cases.Case",
        object_id=case.pk,
        scope_code=case.division_id,
        before={"number": case.number, **before},
        after={"number": case.number, **after},
    )
    return case


# --- County sampled visits (县级入户抽查) ------------------------------------------------------------


def county_visit_missing(case: Case) -> bool:
    """A case sampled for a county visit that has no visit recorded by county staff yet: the county
    may not approve it (guard `county_visit_if_sampled` of the county's approval)."""
    return case.sampled_for_county_visit and not case.visits.filter(by_county=True).exists()


@dataclass(frozen=True)
class CountySampling:
    """One county's extreme-poverty cases of a year that reached county review, and how many of them
    were sampled for a county visit and visited."""

    code: str
    name: str
    reviewed: int
    sampled: int
    visited: int

    @property
    def share(self) -> Decimal:
        return (
            (Decimal(self.sampled) / self.reviewed).quantize(Decimal("0.001"))
            if self.reviewed
            else Decimal(0)
        )

    @property
    def meets_target(self) -> bool:
        return self.reviewed == 0 or Decimal(self.sampled) / self.reviewed >= COUNTY_SAMPLE_SHARE

    @property
    def pending(self) -> int:
        return self.sampled - self.visited


def _county_visited() -> Exists:
    return Exists(Visit.objects.filter(case=OuterRef("pk"), by_county=True))


def county_sampling(*, actor: Staff, year: int) -> list[CountySampling]:
    """Per county in scope: the year's reviewed cases, the share sampled (at least 30%) and visited."""
    require(actor, Perm.CASE_VIEW)
    grouped = (
        scoped(Case.objects.all(), actor)
        .filter(workflow=WORKFLOW, accepted_on__year=year, state__in=REVIEWED_STATES)
        .annotate(county=Substr("division_id", 1, 6), county_visited=_county_visited())
        .values("county")
        .annotate(
            reviewed=Count("pk"),
            sampled=Count("pk", filter=Q(sampled_for_county_visit=True)),
            visited=Count("pk", filter=Q(sampled_for_county_visit=True, county_visited=True)),
        )
        .order_by("county")
    )
    rows = list(grouped)
    names = dict(
        Division.objects.filter(code__in=[f"{r['county']}000000" for r in rows]).values_list("code", "name")
    )
    return [
        CountySampling(
            code=r["county"],
            name=names.get(f"{r['county']}000000", r["county"]),
            reviewed=r["reviewed"],
            sampled=r["sampled"],
            visited=r["visited"],
        )
        for r in rows
    ]


def sampled_cases(*, actor: Staff, year: int, pending_only: bool = False) -> QuerySet[Case]:
    """The year's cases sampled for a county visit, in scope, with the date of the latest county visit
    (`county_visit_on`, None while not visited); not yet visited first."""
    require(actor, Perm.CASE_VIEW)
    latest = (
        Visit.objects.filter(case=OuterRef("pk"), by_county=True)
        .order_by("-visited_on")
        .values("visited_on")[:1]
    )
    qs = (
        scoped(Case.objects.all(), actor)
        .filter(workflow=WORKFLOW, sampled_for_county_visit=True, accepted_on__year=year)
        .select_related("division", "item")
        .annotate(county_visit_on=Subquery(latest))
    )
    if pending_only:
        qs = qs.filter(county_visit_on__isnull=True)
    return qs.order_by(F("county_visit_on").asc(nulls_first=True), "accepted_on", "pk")  # not visited first


# --- Visiting plans (探访照料) -----------------------------------------------------------------------


def _plan_wanted(case: Case) -> bool:
    approved = case.state == "approved" or case.outcome == Outcome.APPROVED
    return (
        case.workflow == WORKFLOW
        and approved
        and case.details.get("support_mode") == SupportMode.HOME
        and case.applicant_id is not None
    )


@transaction.atomic
def care_plan_for_case(
    case: Case, *, actor: Staff | None = None, on: date | None = None
) -> CareVisitPlan | None:
    """The visiting plan of an approved, home-supported extreme-poverty case: made once, the first
    visit due one interval after `on` (the approval day). Called by the approval effect; nothing
    (None) for other cases. Idempotent: the case's plan, or the person's active plan, is returned."""
    if not _plan_wanted(case):
        return None
    return _plan_make(case, actor, (on or _today()) + timedelta(days=VISIT_INTERVAL_DAYS))


def _plan_make(case: Case, actor: Staff | None, first_due: date) -> CareVisitPlan:
    person_id = case.applicant_id
    assert person_id is not None  # noqa: S101 - checked by _plan_wanted and by the bring-in query
    existing = CareVisitPlan.objects.filter(Q(case=case) | Q(person_id=person_id, active=True)).first()
    if existing is not None:
        return existing
    plan = CareVisitPlan.objects.create(
        case=case,
        person_id=person_id,
        division_id=case.division_id,
        interval_days=VISIT_INTERVAL_DAYS,
        next_due=first_due,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=CareAction.PLAN_CREATED,
        object_type="cases.CareVisitPlan",
        object_id=plan.pk,
        scope_code=plan.division_id,
        after={
            "case": case.number,
            "person": case.applicant_id,
            "interval_days": plan.interval_days,
            "next_due": plan.next_due,
        },
    )
    return plan


@transaction.atomic
def care_plans_bring_in(*, actor: Staff) -> list[CareVisitPlan]:
    """Plans for home-supported extreme-poverty cases approved before plans existed (or whose plan
    was not made), within the actor's jurisdiction. Running it again makes nothing new. The first
    visit is due one interval after the decision; when that day has passed, today (nobody was asked
    to visit before the plan existed, so it is not shown as overdue)."""
    if not (actor.can(Perm.CASE_REVIEW_TOWNSHIP) or actor.can(Perm.CASE_REVIEW_COUNTY)):
        raise PermissionDenied()
    today = _today()
    cases = (
        scoped(Case.objects.select_for_update(of=("self",)), actor)
        .filter(
            workflow=WORKFLOW,
            outcome=Outcome.APPROVED,
            details__support_mode=SupportMode.HOME,
            applicant__isnull=False,
            care_plan__isnull=True,
        )
        .exclude(applicant__care_plans__active=True)
        .select_related("decision")
        .order_by("pk")
    )
    made = []
    for case in cases:
        decision = getattr(case, "decision", None)
        decided = timezone.localdate(decision.decided_at) if decision is not None else today
        plan = _plan_make(case, actor, max(decided + timedelta(days=VISIT_INTERVAL_DAYS), today))
        if plan.case_id == case.pk:
            made.append(plan)
    return made


def _plan_locked(actor: Staff, plan_id: int) -> CareVisitPlan:
    plan = CareVisitPlan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("没有找到该探访计划")
    require_in_scope(actor, plan.division_id)
    return plan


@transaction.atomic
def care_visit_record(
    *,
    actor: Staff,
    plan_id: int,
    visited_on: date,
    living_conditions: str,
    health: str,
    needs: str = "",
    companions: list[str] | None = None,
    follow_up_needed: bool = False,
) -> CareVisit:
    """Record a visit to a home-supported person; the next visit falls due one interval after the
    latest visit recorded."""
    require(actor, Perm.CASE_INVESTIGATE)
    plan = _plan_locked(actor, plan_id)
    if not plan.active:
        raise TransitionNotAllowed("该探访计划已停止，不能再录入探访记录")
    errors: dict[str, list[str]] = {}
    conditions = _text(living_conditions, "living_conditions", errors, required=True, limit=5000)
    health_text = _text(health, "health", errors, required=True, limit=5000)
    needs_text = _text(needs, "needs", errors, required=False, limit=5000)
    names = [n.strip() for n in companions or [] if n.strip()]
    if len(names) > COMPANIONS_MAX or any(len(n) > 60 for n in names):
        errors["companions"] = [f"同行人员最多 {COMPANIONS_MAX} 人，每人姓名不超过60个字符"]
    if visited_on > _today():
        errors["visited_on"] = ["探访日期不能晚于今天"]
    if errors:
        raise InvalidInput("探访记录不完整", field_errors=errors)
    visit = CareVisit.objects.create(
        plan=plan,
        visited_on=visited_on,
        visitor=actor,
        companions=names,
        living_conditions=conditions,
        health=health_text,
        needs=needs_text,
        follow_up_needed=follow_up_needed,
    )
    before = plan.next_due
    latest = plan.visits.aggregate(latest=Max("visited_on"))["latest"] or visited_on
    plan.next_due = latest + timedelta(days=plan.interval_days)
    plan.save(update_fields=["next_due"])
    audit_record(
        actor=actor,
        action=CareAction.VISIT_RECORDED,
        object_type="cases.CareVisitPlan",
        object_id=plan.pk,
        scope_code=plan.division_id,
        before={"next_due": before},
        after={
            "visit": visit.pk,
            "visited_on": visited_on,
            "companions": names,
            "follow_up_needed": follow_up_needed,
            "next_due": plan.next_due,
        },
    )
    return visit


# --- Reads ----------------------------------------------------------------------------------------


def care_plan_list(
    *, actor: Staff, due_only: bool = False, on: date | None = None, village: str = ""
) -> QuerySet[CareVisitPlan]:
    """Active plans in scope, soonest due first, with the latest visit (`last_visit_on`). `due_only`:
    overdue ones and those due within DUE_SOON_DAYS."""
    require(actor, Perm.CASE_VIEW)
    qs = (
        scoped(CareVisitPlan.objects.filter(active=True), actor)
        .select_related("person", "division", "case")
        .annotate(last_visit_on=Max("visits__visited_on"))
    )
    if due_only:
        qs = qs.filter(next_due__lte=(on or _today()) + timedelta(days=DUE_SOON_DAYS))
    if village:
        qs = qs.filter(division_id=village)
    return qs.order_by("next_due", "pk")


def care_plan_get(*, actor: Staff, plan_id: int) -> CareVisitPlan:
    require(actor, Perm.CASE_VIEW)
    plan = (
        scoped(CareVisitPlan.objects.all(), actor)
        .select_related("person", "division", "case")
        .annotate(last_visit_on=Max("visits__visited_on"))
        .prefetch_related("visits__visitor")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise NotFound("没有找到该探访计划")
    return plan


def care_plan_of_case(*, actor: Staff, case: Case) -> CareVisitPlan | None:
    """The case's plan, if any (the case was read in scope already)."""
    require(actor, Perm.CASE_VIEW)
    return scoped(CareVisitPlan.objects.filter(case=case), actor).first()


def visit_tone(next_due: date, on: date) -> str:
    """'overdue' (past its day), 'due' (within DUE_SOON_DAYS) or ''."""
    if next_due < on:
        return "overdue"
    return "due" if next_due <= on + timedelta(days=DUE_SOON_DAYS) else ""


def support_mode_of(case: Case) -> dict[str, Any]:
    """The recorded support mode of a case, for display: {mode, label, institution}."""
    mode = case.details.get("support_mode", "")
    label = str(SupportMode(mode).label) if mode in SupportMode.values else ""
    return {"mode": mode, "label": label, "institution": case.details.get("institution", "")}
