"""Reads of verification (核对), always within the actor's jurisdiction (minzheng.org.scope).

A request, its queries, findings and report belong to the case's village: a village assistant sees
its own village's, a township its villages', a county all of its own. Records outside come back as
NotFound, never as "forbidden", so their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from minzheng.cases import selectors as case_selectors
from minzheng.cases.models import Case
from minzheng.core.errors import NotFound
from minzheng.core.permissions import Perm
from minzheng.exchange.models import Counterparty
from minzheng.org.models import Staff
from minzheng.org.scope import require, scoped
from minzheng.registry.models import Person
from minzheng.verification.models import (
    Authorisation,
    DepartmentQuery,
    Disposition,
    Finding,
    QueryStatus,
    RecheckBatch,
    RecheckHit,
    Report,
    RequestStatus,
    VerificationRequest,
)
from minzheng.verification.services import FINAL, ITEM_LABELS, members_on, verifiable

# States in which a department is still to answer.
WAITING = (QueryStatus.QUEUED, QueryStatus.ACKNOWLEDGED, QueryStatus.FAILED)
IN_PROGRESS = (RequestStatus.OPEN, RequestStatus.ANSWERED)


def department_names() -> dict[str, str]:
    """Department code -> name (核对协作单位), for showing queries."""
    return dict(Counterparty.objects.values_list("code", "name"))


def item_label(item: str) -> str:
    return ITEM_LABELS.get(item, item)


def _requests(actor: Staff) -> QuerySet[VerificationRequest]:
    require(actor, Perm.CASE_VIEW)
    return scoped(VerificationRequest.objects.all(), actor, field="case__division__code")


@dataclass(frozen=True)
class MemberAuthorisation:
    """A current member of the case's household and their authorisation, if signed."""

    person: Person
    authorisation: Authorisation | None


@dataclass(frozen=True)
class CaseVerification:
    case: Case
    members: list[MemberAuthorisation]
    supporters: list[Authorisation]  # persons with a duty of support who signed
    missing: list[Person]
    requests: list[VerificationRequest]
    verifiable: bool  # under way, or its benefit still paid (re-checked on re-review)

    @property
    def complete(self) -> bool:
        return bool(self.members) and not self.missing

    @property
    def current(self) -> VerificationRequest | None:
        """The request in progress (at most one per case), if any."""
        return next((r for r in self.requests if r.status in IN_PROGRESS), None)


def case_verification(*, actor: Staff, case_id: int) -> CaseVerification:
    """A case's authorisations (each current member signed or missing, and supporters) and its
    verification requests, newest first."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    signed = {a.person_id: a for a in Authorisation.objects.filter(case=case).select_related("person")}
    members = members_on(case)
    member_ids = {p.pk for p in members}
    requests = list(
        _requests(actor)
        .filter(case=case)
        .prefetch_related(Prefetch("queries", queryset=DepartmentQuery.objects.order_by("counterparty")))
        .select_related("report", "requested_by")
    )
    return CaseVerification(
        case=case,
        members=[MemberAuthorisation(p, signed.get(p.pk)) for p in members],
        supporters=[a for pid, a in signed.items() if pid not in member_ids],
        missing=[p for p in members if p.pk not in signed],
        requests=requests,
        verifiable=case.household_id is not None and verifiable(case),
    )


def request_list(
    *, actor: Staff, status: str = "", in_progress: bool = False
) -> QuerySet[VerificationRequest]:
    """Requests in the actor's jurisdiction, newest first, each with its departments' queries and
    the earliest due date of those still to answer (`next_due`)."""
    qs = _requests(actor).select_related("case", "case__item", "case__division", "report")
    if in_progress:
        qs = qs.filter(status__in=IN_PROGRESS)
    elif status:
        qs = qs.filter(status=status)
    return (
        qs.prefetch_related(Prefetch("queries", queryset=DepartmentQuery.objects.order_by("counterparty")))
        .annotate(
            next_due=Min("queries__due_on", filter=Q(queries__status__in=WAITING)),
            waiting=Count("queries", filter=Q(queries__status__in=WAITING), distinct=True),
        )
        .order_by("-requested_at", "-pk")
    )


def request_get(*, actor: Staff, request_id: int) -> VerificationRequest:
    """One request with its queries, findings (with member and department) and report."""
    found = (
        _requests(actor)
        .select_related("case", "case__item", "case__division", "household", "requested_by", "report")
        .prefetch_related(
            Prefetch("queries", queryset=DepartmentQuery.objects.order_by("counterparty")),
            Prefetch(
                "findings",
                queryset=Finding.objects.select_related("person", "query", "disposed_by").order_by(
                    "person_id", "item", "pk"
                ),
            ),
        )
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        raise NotFound("没有找到该核对请求")
    return found


def finding_get(*, actor: Staff, finding_id: int) -> Finding:
    require(actor, Perm.CASE_VIEW)
    found = (
        scoped(Finding.objects.all(), actor, field="request__case__division__code")
        .select_related("request", "person", "query")
        .filter(pk=finding_id)
        .first()
    )
    if found is None:
        raise NotFound("没有找到该核对发现")
    return found


def report_get(*, actor: Staff, report_id: int) -> Report:
    require(actor, Perm.CASE_VIEW)
    found = (
        scoped(Report.objects.all(), actor, field="request__case__division__code")
        .select_related("request", "request__case", "request__case__division", "issued_by")
        .filter(pk=report_id)
        .first()
    )
    if found is None:
        raise NotFound("没有找到该核对报告")
    return found


@dataclass(frozen=True)
class QueryRow:
    query: DepartmentQuery
    name: str
    overdue: bool  # still to answer after its due date (the time-out job will mark it)


def query_rows(
    request: VerificationRequest | RecheckBatch, names: dict[str, str], today: date | None = None
) -> list[QueryRow]:
    day = today or timezone.localdate()
    return [
        QueryRow(q, names.get(q.counterparty, q.counterparty), q.status not in FINAL and q.due_on < day)
        for q in request.queries.all()
    ]


def pending_dispositions(request: VerificationRequest) -> int:
    """Discrepancies still to be accepted or explained before the report (prefetched findings)."""
    return sum(1 for f in request.findings.all() if f.discrepancy and f.disposition == Disposition.PENDING)


# --- The monthly re-check of recipients --------------------------------------------------------


def recheck_batches(*, actor: Staff) -> QuerySet[RecheckBatch]:
    """The re-check batches of the counties in the actor's jurisdiction (county staff and above),
    newest month first, with the number of hits each."""
    require(actor, Perm.CASE_VIEW)
    return (
        scoped(RecheckBatch.objects.all(), actor, field="county")
        .select_related("requested_by")
        .prefetch_related(Prefetch("queries", queryset=DepartmentQuery.objects.order_by("counterparty")))
        .annotate(hit_count=Count("hits", distinct=True))
        .order_by("-month", "county")
    )


def recheck_batch_get(*, actor: Staff, batch_id: int) -> RecheckBatch:
    found = recheck_batches(actor=actor).filter(pk=batch_id).first()
    if found is None:
        raise NotFound("没有找到该定期核对批次")
    return found


def recheck_hits(
    *, actor: Staff, batch_id: int | None = None, household_id: int | None = None
) -> QuerySet[RecheckHit]:
    """Hits of a batch, or of one household across batches, within the actor's jurisdiction (by
    the household's village: a township sees its own households' hits)."""
    require(actor, Perm.CASE_VIEW)
    qs = scoped(RecheckHit.objects.all(), actor, field="subject__household__division__code")
    if batch_id is not None:
        qs = qs.filter(batch_id=batch_id)
    if household_id is not None:
        qs = qs.filter(subject__household_id=household_id)
    return qs.select_related(
        "batch", "query", "subject__person", "subject__household", "subject__household__division"
    ).order_by("-batch__month", "subject__household_id", "subject_id", "item")
