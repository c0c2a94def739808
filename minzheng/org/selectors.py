"""Reads for the organisation and the audit trail, always within the actor's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from minzheng.core.errors import OutOfScope
from minzheng.core.models import AuditEvent
from minzheng.core.permissions import Perm
from minzheng.org.models import ApiToken, ChangeStatus, Division, Office, Staff, StaffChangeRequest
from minzheng.org.scope import jurisdiction_of, require, scoped


def division_list(
    *, actor: Staff, parent_code: str | None = None, level: int | None = None
) -> QuerySet[Division]:
    require(actor, Perm.ORG_VIEW)
    qs = scoped(Division.objects.all(), actor, field="code")
    if parent_code:
        qs = qs.filter(parent_id=parent_code)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def division_get(*, actor: Staff, code: str) -> Division:
    require(actor, Perm.ORG_VIEW)
    division = scoped(Division.objects.all(), actor, field="code").filter(code=code).first()
    if division is None:
        raise OutOfScope()
    return division


def office_list(*, actor: Staff) -> QuerySet[Office]:
    require(actor, Perm.ORG_VIEW)
    return scoped(Office.objects.select_related("division"), actor).order_by("division_id")


def staff_list(*, actor: Staff, search: str = "", office_code: str = "") -> QuerySet[Staff]:
    require(actor, Perm.ORG_VIEW)
    qs = scoped(
        Staff.objects.select_related(
            "office__division", "created_by", "roles_granted_by", "roles_confirmed_by"
        ),
        actor,
        field="office__division__code",
    )
    if office_code:
        qs = qs.filter(office__division_id=office_code)
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(full_name__icontains=search))
    return qs.prefetch_related("role_grants").order_by("office__division_id", "username")


def staff_get(*, actor: Staff, pk: int) -> Staff:
    staff = staff_list(actor=actor).filter(pk=pk).first()
    if staff is None:
        raise OutOfScope()
    return staff


def api_token_list(*, actor: Staff) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(staff=actor).order_by("-created_at")


def staff_change_request_list(
    *, actor: Staff, status: str = ChangeStatus.PENDING, staff_id: int | None = None
) -> QuerySet[StaffChangeRequest]:
    """Changes waiting for (or given) a second administrator's confirmation, for accounts in scope."""
    require(actor, Perm.ORG_VIEW)
    qs = scoped(
        StaffChangeRequest.objects.select_related("staff__office", "requested_by", "decided_by"),
        actor,
        field="staff__office__division__code",
    )
    if status:
        qs = qs.filter(status=status)
    if staff_id is not None:
        qs = qs.filter(staff_id=staff_id)
    return qs.order_by("-requested_at", "-pk")


def staff_change_request_get(*, actor: Staff, pk: int) -> StaffChangeRequest:
    request = staff_change_request_list(actor=actor, status="").filter(pk=pk).first()
    if request is None:
        raise OutOfScope()
    return request


@dataclass(frozen=True)
class AuditQuery:
    action: str = ""
    actor_username: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_event_search(*, actor: Staff, query: AuditQuery) -> QuerySet[AuditEvent]:
    """Auditors search events whose object or acting office lies in their jurisdiction."""
    require(actor, Perm.AUDIT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    qs = AuditEvent.objects.filter(Q(scope_code__startswith=prefix) | Q(office_code__startswith=prefix))
    if query.action:
        qs = qs.filter(action__startswith=query.action)
    if query.actor_username:
        qs = qs.filter(actor_username=query.actor_username)
    if query.object_type:
        qs = qs.filter(object_type=query.object_type)
    if query.object_id:
        qs = qs.filter(object_id=query.object_id)
    tz = timezone.get_current_timezone()
    if query.date_from:
        qs = qs.filter(at__gte=datetime.combine(query.date_from, time.min, tzinfo=tz))
    if query.date_to:
        qs = qs.filter(at__lte=datetime.combine(query.date_to, time.max, tzinfo=tz))
    return qs.order_by("-seq")


def audit_action_counts(*, actor: Staff) -> list[dict[str, object]]:
    return list(
        audit_event_search(actor=actor, query=AuditQuery())
        .values("action")
        .annotate(n=Count("seq"))
        .order_by("action")
    )
