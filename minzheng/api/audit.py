"""Audit trail endpoints for auditors."""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from minzheng.api.org import actor
from minzheng.org.selectors import AuditQuery, audit_event_search

router = Router(tags=["审计 audit"])


class AuditEventOut(Schema):
    seq: int
    at: datetime
    actor_username: str
    office_code: str
    action: str
    object_type: str
    object_id: str
    scope_code: str
    reason: str
    before: Any = None
    after: Any = None
    hash: str


@router.get("/events", response=list[AuditEventOut], summary="检索审计记录")
@paginate(PageNumberPagination, page_size=50)
def events(
    request: HttpRequest,
    action: str = "",
    actor_username: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> object:
    query = AuditQuery(
        action=action,
        actor_username=actor_username,
        object_type=object_type,
        object_id=object_id,
        date_from=date_from,
        date_to=date_to,
    )
    return audit_event_search(actor=actor(request), query=query)
