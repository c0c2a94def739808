"""Sending requests to other departments and receiving their answers.

Asynchronous search with callback, as in the DCI registry interfaces: `send_search` posts a signed
"search" envelope to ``{base_url}/registry/search`` and returns the department's signed
acknowledgement (ACK with a correlation id); the answer arrives later as a signed "on-search"
envelope at ``POST /api/v1/exchange/{code}/callback``, which calls `receive`, which hands it to the
handler a higher app registered with `register_handler("on-search", fn)`. `txn_status` asks where a
transaction stands (and returns the answer when the department has one: a lost callback is recovered
that way). Departments that exchange files only get a CSV request file (`send_batch`) and give back a
result file with a detached signature and a manifest (`fetch_batch_result`).

Every message in and out is stored (`Message`: digest in clear, payload sealed, signature check,
HTTP status, error) and audited without ID numbers. The network calls are made outside any
transaction of ours: each log entry commits on its own, so a refusal or a time-out stays logged.
A caller that wraps these calls in its own transaction takes that on itself (a rollback removes the
log with the rest), and should not hold a transaction open across them (the answer may arrive before
it commits: the department then retries, see `receive`).

The search answer (message of an "on-search" envelope):
``{"transaction_id", "correlation_id", "search_response": [{"reference_id", "timestamp",
"status": "succ"|"rjct", "status_reason_code", "status_reason_message", "data": {"person":
{"identifier_type": "resident_id", "identifier_value"}, "as_of", "reg_records": [{"category",
"item_type", "description", "amount", "quantity", "unit", "period_start", "period_end",
"source_ref"}]}}]}``. Match people with `matching.person_key(identifier_value)` (old 15-digit
numbers included), never by the number itself.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

import polars as pl
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import DomainError, InvalidInput, NotFound
from minzheng.exchange import envelope, keys
from minzheng.exchange.envelope import BATCH_COLUMNS, BadSignature
from minzheng.exchange.models import Counterparty, Direction, Message, MessageAction, Mode

logger = logging.getLogger("minzheng.exchange")

MAX_QUERIES = 1000
MAX_RESPONSE_BYTES = 50 * 1024 * 1024


class ExchangeAudit(StrEnum):
    """The audit actions of the exchange (one vocabulary, for reports and auditors)."""

    COUNTERPARTY_REGISTER = "exchange.counterparty_register"
    SENT = "exchange.sent"
    ACKNOWLEDGED = "exchange.acknowledged"
    SEND_FAILED = "exchange.send_failed"
    RECEIVED = "exchange.received"
    DUPLICATE = "exchange.duplicate"
    BAD_SIGNATURE = "exchange.bad_signature"
    REJECTED = "exchange.rejected"
    UNKNOWN_COUNTERPARTY = "exchange.unknown_counterparty"


class ExchangeError(DomainError):
    """A department refused, did not answer in time, could not be reached, or answered with something
    that is not a valid signed message. `code` says which: exchange.refused, exchange.timeout,
    exchange.unreachable, exchange.http_error, exchange.bad_signature, exchange.bad_response."""

    code = "exchange.failed"
    status = 502
    default_message = "与对方部门的数据交换失败"


class Handler(Protocol):
    def __call__(self, *, record: Message, header: dict[str, Any], message: dict[str, Any]) -> None: ...


_HANDLERS: dict[str, Handler] = {}


def register_handler(action: str, fn: Handler) -> None:
    """Have `fn` take every accepted incoming message of `action` ("on-search", "on-txn-status").

    Called once per message id and counterparty, inside the transaction that marks the message
    accepted: what it writes commits with it. Raising a DomainError (NotFound for an unknown
    transaction) refuses the message: it is logged with the error, nothing it wrote is kept, and the
    same message may be sent again later.
    """
    if action not in envelope.ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    _HANDLERS[action] = fn


def unregister_handler(action: str) -> None:
    _HANDLERS.pop(action, None)


def registered_handler(action: str) -> Handler | None:
    return _HANDLERS.get(action)


# --- Counterparties ------------------------------------------------------------------------------


@transaction.atomic
def counterparty_register(
    *,
    code: str,
    name: str,
    base_url: str,
    public_key_pem: str,
    mode: str = Mode.API,
    active: bool = True,
    actor: Any = None,
) -> Counterparty:
    """Register a department or update its address and key (idempotent: unchanged → no audit)."""
    envelope.load_public_key(public_key_pem)  # refuse a key that is not an Ed25519 public key
    if mode not in Mode.values:
        raise InvalidInput(f"交换方式无效：{mode}")
    wanted = {
        "name": name,
        "base_url": base_url.rstrip("/"),
        "public_key_pem": public_key_pem.strip() + "\n",
        "mode": mode,
        "active": active,
    }
    found = Counterparty.objects.select_for_update().filter(code=code).first()
    before = None
    if found is not None:
        before = {k: getattr(found, k) for k in wanted}
        if before == wanted:
            return found
        for field, value in wanted.items():
            setattr(found, field, value)
        found.updated_at = timezone.now()
        found.save()
    else:
        found = Counterparty.objects.create(code=code, **wanted)
    after = {k: v for k, v in wanted.items() if k != "public_key_pem"}
    after["key_id"] = envelope.key_id(envelope.load_public_key(found.public_key_pem))
    audit_record(
        actor=actor,
        action=ExchangeAudit.COUNTERPARTY_REGISTER,
        object_type="exchange.counterparty",
        object_id=found.code,
        before={k: v for k, v in before.items() if k != "public_key_pem"} if before else None,
        after=after,
    )
    return found


def _counterparty(code: str, *, mode: str | None = None) -> Counterparty:
    found = Counterparty.objects.filter(code=code, active=True).first()
    if found is None:
        raise NotFound(f"未登记或已停用的交换部门：{code[:40]}")
    if mode is not None and found.mode != mode:
        raise InvalidInput(
            f"{found.name}的交换方式为“{found.get_mode_display()}”，不能使用此方式",
            code="exchange.wrong_mode",
        )
    return found


# --- The log -------------------------------------------------------------------------------------


def _seal(data: bytes) -> str:
    return protect.encrypt(data.decode("utf-8", errors="replace"))


def _audit_message(record: Message, action: ExchangeAudit, reason: str = "") -> None:
    audit_record(
        actor=None,
        action=action,
        object_type="exchange.message",
        object_id=record.pk,
        reason=reason[:500],
        after={
            "counterparty": record.counterparty_id,
            "direction": record.direction,
            "action": record.action,
            "status": record.status,
            "message_id": record.message_id,
            "transaction_id": record.transaction_id,
            "correlation_id": record.correlation_id,
            "payload_sha256": record.payload_sha256,
            "signature_ok": record.signature_ok,
            "accepted": record.accepted,
            "http_status": record.http_status,
        },
    )


def _log(
    *,
    counterparty: Counterparty,
    direction: str,
    action: str,
    data: bytes,
    audit: ExchangeAudit | None,
    header: Mapping[str, Any] | None = None,
    message: Mapping[str, Any] | None = None,
    transaction_id: str = "",
    correlation_id: str = "",
    **fields: Any,
) -> Message:
    """Store one message (and audit it, unless `audit` is None: the caller audits the outcome)."""
    header = header or {}
    message = message or {}
    record = Message(
        counterparty=counterparty,
        direction=direction,
        action=action if action in MessageAction.values else MessageAction.UNKNOWN,
        status=str(header.get("status", ""))[:8],
        message_id=str(header.get("message_id", ""))[:200],
        transaction_id=str(message.get("transaction_id") or transaction_id)[:200],
        correlation_id=str(message.get("correlation_id") or correlation_id)[:200],
        payload_sha256=envelope.digest(data),
        payload_sealed=_seal(data),
        **fields,
    )
    with transaction.atomic():
        record.save(force_insert=True)
        if audit is not None:
            _audit_message(record, audit, reason=record.error)
    return record


def _update(record: Message, audit: ExchangeAudit, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    with transaction.atomic():
        record.save(update_fields=list(fields))
        _audit_message(record, audit, reason=record.error)


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str


def _http(
    url: str,
    *,
    data: bytes | None = None,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> _Reply:
    """One request with the configured time-out. Raises ExchangeError (timeout, unreachable)."""
    if not url.startswith(("http://", "https://")):
        raise ExchangeError("对方部门的接口地址无效", code="exchange.unreachable")
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")  # noqa: S310
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    timeout = float(settings.MINZHENG_EXCHANGE_TIMEOUT)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
            return _Reply(
                response.status, response.read(MAX_RESPONSE_BYTES), response.headers.get_content_type()
            )
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE_BYTES) if exc.fp is not None else b""
        return _Reply(exc.code, body, exc.headers.get_content_type() if exc.headers else "")
    except TimeoutError:
        raise ExchangeError(f"对方部门在{timeout:g}秒内未应答（超时）", code="exchange.timeout") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ExchangeError(f"对方部门在{timeout:g}秒内未应答（超时）", code="exchange.timeout") from None
        raise ExchangeError("无法连接对方部门的接口", code="exchange.unreachable") from None
    except (ConnectionError, OSError):
        raise ExchangeError("无法连接对方部门的接口", code="exchange.unreachable") from None


def _reply_error(reply: _Reply) -> str:
    """The department's own error text, if its error body says one (cut short)."""
    try:
        body = json.loads(reply.body)
    except ValueError:
        return ""
    if isinstance(body, dict):
        error = body.get("error") or body.get("message") or ""
        if isinstance(error, dict):
            error = error.get("message") or error.get("code") or ""
        return str(error)[:200]
    return ""


def _signed_exchange(
    *,
    counterparty: Counterparty,
    url: str,
    header: dict[str, Any],
    message: dict[str, Any],
    reply_action: str,
) -> tuple[Message, dict[str, Any], dict[str, Any]]:
    """Sign and post one envelope, log it and the department's signed reply; the reply's (header,
    message) when it verifies and is not a refusal, else ExchangeError (logged)."""
    signed = envelope.sign(header, message, keys.private_key())
    data = envelope.canonical_json(signed)
    out = _log(
        counterparty=counterparty,
        direction=Direction.OUT,
        action=header["action"],
        data=data,
        audit=ExchangeAudit.SENT,
        header=header,
        message=message,
        signature_ok=None,
    )
    try:
        reply = _http(url, data=data)
    except ExchangeError as exc:
        _update(out, ExchangeAudit.SEND_FAILED, error=exc.message)
        raise
    if reply.status != 200:
        detail = _reply_error(reply)
        text = f"对方部门返回错误（HTTP {reply.status}）" + (f"：{detail}" if detail else "")
        _update(out, ExchangeAudit.SEND_FAILED, http_status=reply.status, error=text)
        _log(
            counterparty=counterparty,
            direction=Direction.IN,
            action=reply_action,
            data=reply.body,
            audit=ExchangeAudit.SEND_FAILED,
            transaction_id=out.transaction_id,
            http_status=reply.status,
            error=text,
        )
        code = "exchange.refused" if reply.status in (400, 401, 403, 409, 422) else "exchange.http_error"
        raise ExchangeError(text, code=code)
    try:
        reply_header, reply_message = envelope.verify(
            envelope.parse(reply.body), envelope.load_public_key(counterparty.public_key_pem)
        )
        if reply_header["sender_id"] != counterparty.code:
            raise BadSignature("err.sender_id.invalid", "应答的发送方与对方部门不符")
    except BadSignature as exc:
        text = f"对方部门的应答未通过签名验证（{exc.message}）"
        _update(out, ExchangeAudit.SEND_FAILED, http_status=reply.status, error=text)
        _log(
            counterparty=counterparty,
            direction=Direction.IN,
            action=reply_action,
            data=reply.body,
            audit=ExchangeAudit.BAD_SIGNATURE,
            transaction_id=out.transaction_id,
            http_status=reply.status,
            signature_ok=False,
            error=f"{exc.code}: {exc.message}",
        )
        raise ExchangeError(text, code="exchange.bad_signature") from None
    ack_status = reply_message.get("ack_status")
    refused = reply_header.get("status") == "rjct" or ack_status in ("NACK", "ERR")
    error = reply_message.get("error") or {}
    detail = (error.get("message") or error.get("code") or "") if isinstance(error, dict) else str(error)
    text = f"对方部门拒绝了请求：{str(detail)[:200] or '未说明原因'}" if refused else ""
    _update(
        out,
        ExchangeAudit.SEND_FAILED if refused else ExchangeAudit.ACKNOWLEDGED,
        http_status=reply.status,
        accepted=not refused,
        error=text,
    )
    _log(
        counterparty=counterparty,
        direction=Direction.IN,
        action=reply_header["action"],
        data=reply.body,
        audit=ExchangeAudit.SEND_FAILED if refused else ExchangeAudit.RECEIVED,
        header=reply_header,
        message=reply_message,
        transaction_id=out.transaction_id,
        http_status=reply.status,
        signature_ok=True,
        accepted=not refused,
        error=text,
    )
    if refused:
        raise ExchangeError(text, code="exchange.refused")
    return out, reply_header, reply_message


# --- Search, status --------------------------------------------------------------------------------


def _search_request(queries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not queries:
        raise InvalidInput("至少需要一个查询对象")
    if len(queries) > MAX_QUERIES:
        raise InvalidInput(f"一次最多查询{MAX_QUERIES}人")
    seen: set[str] = set()
    items = []
    stamp = envelope.now_ts()
    for index, query in enumerate(queries, start=1):
        reference = str(query.get("reference_id") or "")
        number = str(query.get("id_number") or "")
        if not reference or not number:
            raise InvalidInput(f"第{index}个查询对象缺少 reference_id 或 id_number")
        if reference in seen:
            raise InvalidInput(f"查询对象编号重复：{reference[:40]}")
        seen.add(reference)
        items.append(
            {
                "reference_id": reference,
                "timestamp": stamp,
                "search_criteria": {
                    "version": envelope.VERSION,
                    "query_type": "idtype-value",
                    "query": {"type": str(query.get("id_type") or "resident_id"), "value": number},
                    "name": str(query.get("name") or ""),
                    "items": list(query.get("items") or []),
                    "as_of": str(query.get("as_of") or ""),
                    "consent": str(query.get("consent") or ""),
                },
                "locale": "zh-CN",
            }
        )
    return items


def send_search(
    *, counterparty_code: str, transaction_id: str, queries: list[dict[str, Any]], callback_url: str
) -> dict[str, Any]:
    """Ask a department what it holds on each person of `queries`; its acknowledgement.

    Each query: ``reference_id`` (ours, unique in the request), ``id_number``, optionally ``id_type``
    (default resident_id), ``name``, ``items`` (what to check), ``as_of`` (核对时点), ``consent``
    (the authorisation's number). The answer comes later to `callback_url` (see `receive`).
    Returns ``{"header", "message", "message_id"}``: the acknowledgement's header and message
    (``ack_status``, ``correlation_id``, ``timestamp``) and the id of the request we sent.
    Raises ExchangeError on refusal, HTTP error, time-out or a bad signature, logged either way.
    """
    if not transaction_id or len(transaction_id) > 200:
        raise InvalidInput("事务编号不能为空且不超过200个字符")
    counterparty = _counterparty(counterparty_code, mode=Mode.API)
    items = _search_request(queries)
    header = envelope.make_header(
        action="search",
        status="pdng",
        sender_id=keys.sender_id(),
        receiver_id=counterparty.code,
        total_count=len(items),
        sender_uri=callback_url,
    )
    out, reply_header, reply_message = _signed_exchange(
        counterparty=counterparty,
        url=f"{counterparty.base_url}/registry/search",
        header=header,
        message={"transaction_id": transaction_id, "search_request": items},
        reply_action="search",
    )
    return {"header": reply_header, "message": reply_message, "message_id": out.message_id}


def txn_status(*, counterparty_code: str, transaction_id: str) -> dict[str, Any]:
    """Where a search transaction stands at the department: ``{"header", "message"}`` of its signed
    on-txn-status answer; ``message["txnstatus_response"]["txn_status"]`` is rcvd/pdng/succ/rjct, and
    once answered ``message["txnstatus_response"]["search_response"]`` is the answer itself."""
    counterparty = _counterparty(counterparty_code, mode=Mode.API)
    header = envelope.make_header(
        action="txn-status",
        status="pdng",
        sender_id=keys.sender_id(),
        receiver_id=counterparty.code,
        total_count=1,
    )
    message = {
        "transaction_id": transaction_id,
        "txnstatus_request": {
            "reference_id": transaction_id,
            "txn_type": "search",
            "attribute_type": "transaction_id",
            "attribute_value": transaction_id,
        },
    }
    _, reply_header, reply_message = _signed_exchange(
        counterparty=counterparty,
        url=f"{counterparty.base_url}/registry/txn/status",
        header=header,
        message=message,
        reply_action="on-txn-status",
    )
    return {"header": reply_header, "message": reply_message}


# --- Callbacks ------------------------------------------------------------------------------------


def receive(*, counterparty_code: str, body: bytes) -> Message:
    """Take a signed message a department posted to our callback, and hand it to its handler.

    A bad or missing signature: logged (signature_ok False, HTTP 401) and BadSignature raised. A
    message id already accepted from this department: the repeat is logged, no handler runs again,
    and the first Message is returned with ``duplicate`` set. A handler's refusal (NotFound for an
    unknown transaction): logged with the error and raised; the department may send it again.
    """
    counterparty = Counterparty.objects.filter(code=counterparty_code, active=True).first()
    if counterparty is None:
        with transaction.atomic():
            audit_record(
                actor=None,
                action=ExchangeAudit.UNKNOWN_COUNTERPARTY,
                object_type="exchange.counterparty",
                object_id=counterparty_code[:64],
                after={"payload_sha256": envelope.digest(body), "bytes": len(body)},
            )
        raise NotFound("未登记或已停用的交换部门")
    raw: dict[str, Any] = {}
    try:
        raw = envelope.parse(body)
        header, message = envelope.verify(raw, envelope.load_public_key(counterparty.public_key_pem))
        if header["sender_id"] != counterparty.code:
            raise BadSignature("err.sender_id.invalid", "消息的发送方与回调地址的部门不符")
        if header["receiver_id"] != keys.sender_id():
            raise BadSignature("err.receiver_id.invalid", "消息的接收方不是本系统")
    except BadSignature as exc:
        claimed: dict[str, Any] = raw["header"] if isinstance(raw.get("header"), dict) else {}
        claimed_message: dict[str, Any] = raw["message"] if isinstance(raw.get("message"), dict) else {}
        _log(
            counterparty=counterparty,
            direction=Direction.IN,
            action=str(claimed.get("action", "unknown")),
            data=body,
            audit=ExchangeAudit.BAD_SIGNATURE,
            header=claimed,
            message=claimed_message,
            signature_ok=False,
            http_status=401,
            error=f"{exc.code}: {exc.message}",
        )
        raise
    failure: DomainError | None = None
    with transaction.atomic():
        first = (
            Message.objects.select_for_update()
            .filter(
                direction=Direction.IN,
                counterparty=counterparty,
                message_id=header["message_id"],
                accepted=True,
            )
            .first()
        )
        if first is not None:
            _log(
                counterparty=counterparty,
                direction=Direction.IN,
                action=header["action"],
                data=body,
                audit=ExchangeAudit.DUPLICATE,
                header=header,
                message=message,
                signature_ok=True,
                http_status=200,
                error="重复的消息，已于先前受理，本次不再处理",
            )
            first.duplicate = True
            return first
        record = _log(
            counterparty=counterparty,
            direction=Direction.IN,
            action=header["action"],
            data=body,
            audit=None,
            header=header,
            message=message,
            signature_ok=True,
        )
        handler = _HANDLERS.get(header["action"])
        if handler is None:
            failure = InvalidInput(
                f"本系统不受理此类消息：{header['action']}", code="exchange.action_not_supported"
            )
        else:
            try:
                with transaction.atomic():
                    handler(record=record, header=header, message=message)
                    record.accepted = True
                    record.http_status = 200
                    record.save(update_fields=["accepted", "http_status"])
            except DomainError as exc:
                failure = exc
            except IntegrityError:  # the same message accepted at this instant by another request
                record.duplicate = True
                record.error = "重复的消息，已由并发请求受理，本次不再处理"
                record.http_status = 200
                record.save(update_fields=["error", "http_status"])
                _audit_message(record, ExchangeAudit.DUPLICATE, reason=record.error)
                return record
        if failure is not None:
            _update(record, ExchangeAudit.REJECTED, http_status=failure.status, error=failure.message)
        else:
            _audit_message(record, ExchangeAudit.RECEIVED)
    if failure is not None:
        raise failure
    return record


# --- Batch files ----------------------------------------------------------------------------------


def _csv(rows: Sequence[Sequence[str]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def send_batch(
    *,
    counterparty_code: str,
    transaction_id: str,
    queries: list[dict[str, Any]],
    any_mode: bool = False,
) -> dict[str, Any]:
    """Send a request file (CSV, one row per person: 证件类型、证件号码、姓名、核对内容、核对时点) to a
    department that exchanges files, signed with a detached signature. Returns the department's
    receipt ``{"batch_id", "rows", "sha256"}``; a receipt that does not count our rows or digest our
    file as sent raises ExchangeError (logged). `any_mode`: a department that answers searches one by
    one takes a file too (the monthly re-check of every recipient is a file for every department)."""
    counterparty = _counterparty(counterparty_code, mode=None if any_mode else Mode.FILE)
    _search_request(queries)  # the same checks as for a search
    rows = [
        (
            str(q["reference_id"]),
            str(q.get("id_type") or "resident_id"),
            str(q["id_number"]),
            str(q.get("name") or ""),
            ";".join(q.get("items") or []),
            str(q.get("as_of") or ""),
        )
        for q in queries
    ]
    data = _csv(rows, BATCH_COLUMNS)
    sha = envelope.digest(data)
    out = _log(
        counterparty=counterparty,
        direction=Direction.OUT,
        action=MessageAction.BATCH,
        data=data,
        audit=ExchangeAudit.SENT,
        header={"message_id": f"batch:{transaction_id}:{sha[:16]}"},
        transaction_id=transaction_id,
    )
    try:
        reply = _http(
            f"{counterparty.base_url}/batch",
            data=data,
            content_type="text/csv; charset=utf-8",
            headers={
                "X-Signature": envelope.sign_bytes(data, keys.private_key()),
                "X-Sender-Id": keys.sender_id(),
                "X-Transaction-Id": quote(transaction_id),
            },
        )
    except ExchangeError as exc:
        _update(out, ExchangeAudit.SEND_FAILED, error=exc.message)
        raise
    receipt: Any = None
    try:
        receipt = json.loads(reply.body)
    except ValueError:
        receipt = None
    problem = ""
    if reply.status != 200:
        detail = _reply_error(reply)
        problem = f"对方部门拒收请求文件（HTTP {reply.status}）" + (f"：{detail}" if detail else "")
    elif not isinstance(receipt, dict) or not receipt.get("batch_id"):
        problem = "对方部门的回执格式不正确"
    elif receipt.get("rows") != len(rows) or receipt.get("sha256") != sha:
        problem = "对方部门回执中的行数或摘要与发送的请求文件不符"
    if problem:
        _update(out, ExchangeAudit.SEND_FAILED, http_status=reply.status, error=problem)
        code = "exchange.refused" if reply.status in (400, 401, 403, 409, 422) else "exchange.bad_response"
        raise ExchangeError(problem, code=code)
    _update(
        out,
        ExchangeAudit.ACKNOWLEDGED,
        http_status=reply.status,
        accepted=True,
        correlation_id=str(receipt["batch_id"])[:200],
    )
    return {"batch_id": str(receipt["batch_id"]), "rows": len(rows), "sha256": sha}


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    frame: pl.DataFrame  # every column text, an empty field an empty string
    sha256: str
    record: Message
    duplicate: bool

    @property
    def rows(self) -> list[dict[str, str]]:
        return self.frame.to_dicts()


def _read_result(data: bytes) -> pl.DataFrame | None:
    """A result file as text columns (None: not a UTF-8 CSV file with the result columns)."""
    if not data.strip():
        return None
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, empty_string_is_null=False)
    except pl.exceptions.PolarsError:
        return None
    return frame if set(envelope.RESULT_COLUMNS) <= set(frame.columns) else None


def fetch_batch_result(
    *, counterparty_code: str, batch_id: str, any_mode: bool = False
) -> BatchResult | None:
    """The department's result file for `batch_id`, verified, or None while it is not ready.

    The manifest states the row count and SHA-256 of the result file; the file carries a detached
    Ed25519 signature. A bad signature raises BadSignature, a wrong row count or digest
    ExchangeError (exchange.bad_response); both are logged and nothing is returned.
    """
    counterparty = _counterparty(counterparty_code, mode=None if any_mode else Mode.FILE)
    base = f"{counterparty.base_url}/batch/{quote(batch_id, safe='')}"
    manifest_reply = _http(f"{base}/manifest")
    if manifest_reply.status == 202:
        return None
    try:
        manifest = json.loads(manifest_reply.body) if manifest_reply.status == 200 else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise ExchangeError(
            f"无法取得结果文件清单（HTTP {manifest_reply.status}）", code="exchange.http_error"
        )
    if manifest.get("status") != "succ":
        return None
    result = _http(f"{base}/result")
    signature = _http(f"{base}/result.sig")
    if result.status != 200 or signature.status != 200:
        raise ExchangeError("无法下载结果文件或其签名", code="exchange.http_error")
    data = result.body
    message_id = f"batch-result:{batch_id}"
    common: dict[str, Any] = {
        "counterparty": counterparty,
        "direction": Direction.IN,
        "action": MessageAction.BATCH_RESULT,
        "data": data,
        "header": {"message_id": message_id, "status": "succ"},
        "transaction_id": str(manifest.get("transaction_id", ""))[:200],
        "correlation_id": batch_id[:200],
        "http_status": result.status,
    }
    try:
        envelope.verify_bytes(
            data,
            signature.body.decode("ascii", errors="replace"),
            envelope.load_public_key(counterparty.public_key_pem),
        )
    except BadSignature as exc:
        _log(
            **common,
            audit=ExchangeAudit.BAD_SIGNATURE,
            signature_ok=False,
            error=f"{exc.code}: {exc.message}",
        )
        raise
    parsed = _read_result(data)
    sha = envelope.digest(data)
    problem = ""
    if parsed is None:
        problem = "结果文件不是有效的 UTF-8 CSV 文件"
    elif manifest.get("sha256") != sha:
        problem = "结果文件的摘要与清单不符：文件不完整或被更改"
    elif manifest.get("rows") != parsed.height:
        problem = f"结果文件行数（{parsed.height}）与清单（{manifest.get('rows')}）不符"
    if problem or parsed is None:
        _log(**common, audit=ExchangeAudit.REJECTED, signature_ok=True, error=problem)
        raise ExchangeError(problem, code="exchange.bad_response")
    with transaction.atomic():
        first = Message.objects.filter(
            direction=Direction.IN, counterparty=counterparty, message_id=message_id, accepted=True
        ).first()
        if first is not None:
            _log(**common, audit=ExchangeAudit.DUPLICATE, signature_ok=True, error="结果文件已于先前取回")
            return BatchResult(batch_id, parsed, sha, first, True)
        record = _log(**common, audit=ExchangeAudit.RECEIVED, signature_ok=True, accepted=True)
    return BatchResult(batch_id, parsed, sha, record, False)


# --- Registering the departments of a directory ------------------------------------------------------


def counterparties_load(*, url: str, actor: Any = None) -> list[Counterparty]:
    """Register every department a key directory lists (``GET {url}/.well-known/keys``: code, name,
    mode, base_path, public_key_pem), e.g. the department simulator's. Idempotent: an unchanged
    department is left as it is, a changed key or address is updated and audited."""
    base = url.rstrip("/")
    reply = _http(f"{base}/.well-known/keys")
    try:
        listed = json.loads(reply.body)["departments"] if reply.status == 200 else None
    except (ValueError, KeyError, TypeError):
        listed = None
    if not isinstance(listed, list):
        raise ExchangeError(f"无法读取部门目录（HTTP {reply.status}）", code="exchange.bad_response")
    registered = []
    for entry in listed:
        if not isinstance(entry, dict):
            continue
        registered.append(
            counterparty_register(
                code=str(entry["code"]),
                name=str(entry["name"]),
                base_url=base + str(entry.get("base_path") or f"/dept/{entry['code']}"),
                public_key_pem=str(entry["public_key_pem"]),
                mode=str(entry.get("mode") or Mode.API),
                actor=actor,
            )
        )
    return registered
