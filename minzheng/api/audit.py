"""Audit trail endpoints for auditors."""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.audit_checkpoint import checkpoint_check, checkpoint_export, checkpoint_parse
from minzheng.core.errors import PermissionDenied
from minzheng.org.models import Staff
from minzheng.org.roles import Role
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
@paginate(BoundedPageNumberPagination, page_size=50)
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


# --- Checkpoints of the audit chain (安全审计员) --------------------------------------------------


class CheckpointIn(Schema):
    day: date | None = Field(default=None, description="截至该日结束；不填为当前")


class CheckpointOut(Schema):
    day: date
    last_seq: int
    last_hash: str
    count: int
    issued_at: str
    signature: str
    text: str


class CheckpointVerifyIn(Schema):
    text: str = Field(max_length=16_384)


class CheckpointFindingOut(Schema):
    kind: str
    detail: str


class CheckpointReportOut(Schema):
    ok: bool
    checked: int
    findings: list[CheckpointFindingOut]


def _audit_admin(request: HttpRequest) -> Staff:
    staff = actor(request)
    if Role.AUDIT_ADMIN not in staff.roles:
        raise PermissionDenied("审计链检查点仅由安全审计员导出和核验")
    return staff


@router.post(
    "/checkpoints",
    response={200: CheckpointOut, 403: ErrorOut, 422: ErrorOut},
    summary="导出审计链签名检查点",
)
def checkpoint_create(request: HttpRequest, payload: CheckpointIn) -> CheckpointOut:
    checkpoint = checkpoint_export(actor=_audit_admin(request), day=payload.day)
    return CheckpointOut(
        day=checkpoint.day,
        last_seq=checkpoint.last_seq,
        last_hash=checkpoint.last_hash,
        count=checkpoint.count,
        issued_at=checkpoint.issued_at,
        signature=checkpoint.signature,
        text=checkpoint.text(),
    )


@router.post(
    "/checkpoints/verify",
    response={200: CheckpointReportOut, 403: ErrorOut, 422: ErrorOut},
    summary="用保存的检查点核验审计链",
)
def checkpoint_verify(request: HttpRequest, payload: CheckpointVerifyIn) -> CheckpointReportOut:
    staff = _audit_admin(request)
    report = checkpoint_check(actor=staff, checkpoint=checkpoint_parse(payload.text))
    return CheckpointReportOut(
        ok=report.ok,
        checked=report.checked,
        findings=[CheckpointFindingOut(kind=f.kind, detail=f.detail) for f in report.findings],
    )
