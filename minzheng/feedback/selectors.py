"""Reads of the public's voice, always within the actor's jurisdiction (the place a ticket concerns or
the office responsible for it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from minzheng.core.errors import NotFound, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.feedback.models import (
    OPEN_STATES,
    Dispatch,
    HotlinePlatform,
    ServiceReceipt,
    Ticket,
    TicketEvent,
    TicketKind,
)
from minzheng.feedback.services import in_jurisdiction
from minzheng.org.models import Office, Staff
from minzheng.org.scope import jurisdiction_of, scoped


def _may_view(actor: Staff) -> None:
    if not actor.is_active or not actor.can(Perm.FEEDBACK_VIEW):
        raise PermissionDenied()


def tickets(
    *, actor: Staff, state: str = "", overdue: bool = False, search: str = "", today: date | None = None
) -> QuerySet[Ticket]:
    _may_view(actor)
    qs = Ticket.objects.filter(in_jurisdiction(actor)).select_related("division", "office")
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state and state != "all":
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state__in=OPEN_STATES, due_date__lt=today or timezone.localdate())
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(title__icontains=search) | Q(external_ref=search))
    return qs.order_by("-created_at", "-pk")


def ticket_get(*, actor: Staff, ticket_id: int) -> Ticket:
    _may_view(actor)
    ticket = (
        Ticket.objects.filter(in_jurisdiction(actor), pk=ticket_id)
        .select_related("division", "office", "about_case", "about_office", "about_staff", "merged_into")
        .first()
    )
    if ticket is None:
        raise NotFound("没有找到该诉求")
    return ticket


def ticket_events(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.all())


def ticket_dispatches(ticket: Ticket) -> list[Dispatch]:
    return list(ticket.dispatches.select_related("office", "dispatched_by"))


def dispatch_offices(*, actor: Staff) -> QuerySet[Office]:
    """Offices the actor may dispatch to: the active offices within its jurisdiction."""
    return scoped(Office.objects.filter(is_active=True), actor, field="division__code").order_by(
        "division_id"
    )


def merge_candidates(*, actor: Staff, ticket: Ticket) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(in_jurisdiction(actor), state__in=OPEN_STATES, merged_into__isnull=True)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:50]
    )


def platform() -> HotlinePlatform | None:
    return HotlinePlatform.objects.filter(active=True).order_by("pk").first()


def receipts(*, actor: Staff) -> QuerySet[ServiceReceipt]:
    _may_view(actor)
    return scoped(
        ServiceReceipt.objects.select_related("office", "ticket"), actor, field="office__division__code"
    )


def receipt_get(*, actor: Staff, receipt_id: int) -> ServiceReceipt:
    found = receipts(actor=actor).select_related("case").filter(pk=receipt_id).first()
    if found is None:
        raise NotFound("没有找到该回执")
    return found


def receipt_for_case(*, actor: Staff, case_id: int) -> ServiceReceipt | None:
    """The receipt a finished case issued (shown on the case's page), if the actor may see it."""
    if not actor.is_active or not actor.can(Perm.FEEDBACK_VIEW):
        return None
    return receipts(actor=actor).filter(case_id=case_id).first()


@dataclass(frozen=True)
class OfficeRates:
    office: str
    receipts: int
    rated: int
    poor: int
    called_back_in_time: int
    rectified: int

    @property
    def callback_rate(self) -> float | None:
        return self.called_back_in_time / self.poor if self.poor else None

    @property
    def rectification_rate(self) -> float | None:
        return self.rectified / self.poor if self.poor else None

    @property
    def satisfaction_rate(self) -> float | None:
        return (self.rated - self.poor) / self.rated if self.rated else None


def office_rates(*, actor: Staff) -> list[OfficeRates]:
    """Per office: receipts issued, rated, poor ratings, poor ratings called back within their limit
    (回访率) and rectified (整改率). One grouped query."""
    rows = (
        receipts(actor=actor)
        .values("office__name", "office__division_id")
        .annotate(
            issued=Count("pk"),
            rated=Count("pk", filter=Q(rating__isnull=False)),
            poor=Count("pk", filter=Q(rating__lte=2)),
            called=Count(
                "pk",
                filter=Q(rating__lte=2, ticket__called_back_at__isnull=False)
                & Q(ticket__called_back_at__date__lte=F("ticket__callback_due")),
            ),
            rectified=Count("pk", filter=Q(rating__lte=2, ticket__rectified_at__isnull=False)),
        )
        .order_by("office__division_id")
    )
    return [
        OfficeRates(r["office__name"], r["issued"], r["rated"], r["poor"], r["called"], r["rectified"])
        for r in rows
    ]


def bad_reviews_open(*, actor: Staff) -> QuerySet[Ticket]:
    return tickets(actor=actor, state="open").filter(kind=TicketKind.BAD_REVIEW)


def jurisdiction_name(actor: Staff) -> str:
    return jurisdiction_of(actor).name
