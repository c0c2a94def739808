"""Writing and verifying the audit trail.

`audit_record` must be called inside the transaction of the change it records, so the event and
the change commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from minzheng.core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


class AuthAction(StrEnum):
    """The audit actions of sign-in and API access (等保三级: 身份鉴别 and 安全审计)."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    LOCKOUT = "auth.lockout"
    TOKEN_USE = "auth.token_use"  # noqa: S105 (an action name, not a secret)


class Actor(Protocol):
    pk: Any
    username: str

    @property
    def office_code(self) -> str: ...


def to_json(value: Any) -> Any:
    """Plain JSON types only (Decimal and dates become strings), so what is hashed is what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent) -> str:
    fields = {
        "seq": event.seq,
        "at": _at_text(event.at),
        "actor": event.actor_id,
        "actor_username": event.actor_username,
        "office_code": event.office_code,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "scope_code": event.scope_code,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(_canonical(fields)).hexdigest()


def _genesis_head() -> AuditChainHead:
    """The head row is created by a migration; it is missing only in an emptied database (a test
    flush, a fresh restore). Starting a new chain is safe only when there are no events at all."""
    if AuditEvent.objects.exists():
        raise RuntimeError("audit chain head is missing while events exist: run verify_audit_chain")
    return AuditChainHead.objects.create(pk=1, last_seq=0, last_hash=GENESIS_HASH)


def audit_record(
    *,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: object = "",
    scope_code: str = "",
    reason: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first() or _genesis_head()
    event = AuditEvent(
        seq=head.last_seq + 1,
        # Truncated to microseconds in UTC so the stored value hashes the same on every database.
        at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        actor_username=actor.username if actor is not None else "system",
        office_code=actor.office_code if actor is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        scope_code=scope_code,
        reason=reason,
        before=to_json(before),
        after=to_json(after),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "altered" | "deleted" | "inserted" | "head"
    detail: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events(batch: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=batch)


def verify_chain(*, batch: int = 5000) -> ChainReport:
    """Walk the whole chain and report the first row that was altered, inserted or deleted."""
    prev_hash, prev_seq, checked = GENESIS_HASH, 0, 0
    for event in _events(batch):
        checked += 1
        if event_hash(event) != event.hash:
            return ChainReport(checked, ChainProblem(event.seq, "altered", "记录内容与其哈希不符（被修改）"))
        if event.prev_hash != prev_hash:
            if event.seq > prev_seq + 1:
                detail = f"第{prev_seq + 1}至{event.seq - 1}号记录缺失（被删除）"
                return ChainReport(checked, ChainProblem(prev_seq + 1, "deleted", detail))
            return ChainReport(
                checked, ChainProblem(event.seq, "inserted", "记录不在哈希链上（被插入或替换）")
            )
        if event.seq != prev_seq + 1:
            return ChainReport(checked, ChainProblem(event.seq, "inserted", "序号不连续"))
        prev_hash, prev_seq = event.hash, event.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if checked == 0:
            return ChainReport(0, None)
        return ChainReport(checked, ChainProblem(prev_seq, "head", "链头记录缺失"))
    if head.last_seq != prev_seq or head.last_hash != prev_hash:
        detail = f"链头记录为第{head.last_seq}号，实际最后一条为第{prev_seq}号（末尾记录被删除）"
        return ChainReport(checked, ChainProblem(prev_seq + 1, "deleted", detail))
    return ChainReport(checked, None)


# --- Sign-ins and API access ---------------------------------------------------------------------
# Called from the authentication code (org.backends, the API token check). Each opens its own
# transaction: a failed sign-in changes nothing else, yet must be kept.


def _client(address: str) -> dict[str, str]:
    return {"address": address[:64]} if address else {}


def audit_sign_in(*, actor: Actor, address: str = "", channel: str = "web") -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuthAction.SIGN_IN,
            object_type="org.staff",
            object_id=actor.pk,
            scope_code=actor.office_code,
            after={**_client(address), "channel": channel},
        )


def audit_sign_in_failed(*, username: str, actor: Actor | None = None, address: str = "") -> AuditEvent:
    """A refused sign-in; `actor` is the account when the username names one (the attempt is then
    filed under it), None for an unknown username (kept as typed, cut to 150 characters)."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuthAction.SIGN_IN_FAILED,
            object_type="org.staff",
            object_id=actor.pk if actor is not None else "",
            scope_code=actor.office_code if actor is not None else "",
            after={**_client(address), "username": username[:150]},
        )


def audit_lockout(*, username: str, actor: Actor | None = None, address: str = "") -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuthAction.LOCKOUT,
            object_type="org.staff",
            object_id=actor.pk if actor is not None else "",
            scope_code=actor.office_code if actor is not None else "",
            after={**_client(address), "username": username[:150]},
        )


def audit_token_use(
    *, actor: Actor, token_id: object, method: str, path: str, address: str = ""
) -> AuditEvent:
    """One use of an API token (call it once per request the token authenticates). Joins the
    caller's transaction when there is one, else opens its own."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuthAction.TOKEN_USE,
            object_type="org.apitoken",
            object_id=token_id,
            scope_code=actor.office_code,
            after={**_client(address), "method": method[:10], "path": path[:200]},
        )
