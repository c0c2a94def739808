"""Reads of the status-inquiry log: a department account sees its own inquiries; an auditor those
asked within its jurisdiction."""

from __future__ import annotations

from django.db.models import QuerySet

from minzheng.core.errors import PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.inquiries.models import StatusInquiry
from minzheng.org.models import Staff
from minzheng.org.scope import scoped


def status_inquiries(*, actor: Staff) -> QuerySet[StatusInquiry]:
    if actor.can(Perm.AUDIT_VIEW):
        return scoped(StatusInquiry.objects.all(), actor, field="scope_code").select_related("asked_by")
    if actor.can(Perm.STATUS_INQUIRY):
        return StatusInquiry.objects.filter(asked_by=actor).select_related("asked_by")
    raise PermissionDenied()
