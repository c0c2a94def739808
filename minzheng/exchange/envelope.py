"""The signed message envelope exchanged with other departments. Pure Python: no Django.

Modelled on the DCI social-protection registry interfaces (spdci/standards, registry_core and
social APIs v1.0.0): every message is ``{"signature", "header", "message"}``; the header carries
``version, message_id, message_ts, action, status, sender_id, receiver_id, total_count,
is_msg_encrypted`` (a callback header may add ``status_reason_code``, ``status_reason_message``,
``completed_count``; a request may add ``sender_uri``, the callback address). The signature is
Ed25519 over the canonical JSON (sorted keys, no spaces, UTF-8) of ``{"header": …, "message": …}``,
base64-encoded. DCI leaves the algorithm open and shows ``algorithm="ed25519"`` in its examples.

The acknowledgement of an asynchronous request is itself an envelope, as in the DCI samples: its
header repeats the action acknowledged ("search") with status "rcvd" (ACK) or "rjct" (NACK/ERR),
its message is ``{ack_status, timestamp, correlation_id, error}``.

Detached signatures of files (the batch-file mode) use the same key: ``sign_bytes``/``verify_bytes``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ACTIONS",
    "BATCH_COLUMNS",
    "RESULT_COLUMNS",
    "STATUSES",
    "VERSION",
    "BadSignature",
    "canonical_json",
    "digest",
    "generate_private_key_pem",
    "key_id",
    "load_private_key",
    "load_public_key",
    "make_header",
    "now_ts",
    "parse",
    "public_key_pem",
    "sign",
    "sign_bytes",
    "verify",
    "verify_bytes",
]

VERSION: Final = "1.0.0"
# search: a request; on-search: its answer (callback); txn-status / on-txn-status: a status query and
# its answer. An acknowledgement repeats the action it acknowledges.
ACTIONS: Final = frozenset({"search", "on-search", "txn-status", "on-txn-status"})
# DCI RequestStatus: received, pending, success, rejected.
STATUSES: Final = frozenset({"rcvd", "pdng", "succ", "rjct"})
_REQUIRED: Final = ("version", "message_id", "message_ts", "action", "status", "sender_id", "receiver_id")
MAX_FIELD: Final = 200


class BadSignature(Exception):
    """The envelope is malformed, unsigned, or its signature does not verify with the sender's key.

    `code` follows DCI's error codes (err.signature.invalid, err.signature.missing, err.request.bad);
    `message` is for people, in Chinese.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The file mode's columns: a request file (one row per person) and a result file (one row per record,
# or one per person without any), the same on both sides of the exchange.
BATCH_COLUMNS = ("reference_id", "id_type", "id_number", "name", "items", "as_of")
RESULT_COLUMNS = (
    "reference_id",
    "id_number",
    "status",
    "category",
    "item_type",
    "description",
    "amount",
    "quantity",
    "unit",
    "period_start",
    "period_end",
    "source_ref",
)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII-escaped): what is signed and what is digested."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _signing_input(header: Mapping[str, Any], message: Mapping[str, Any]) -> bytes:
    return canonical_json({"header": header, "message": message})


def now_ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_header(
    *,
    action: str,
    sender_id: str,
    receiver_id: str,
    status: str = "succ",
    total_count: int = 0,
    message_id: str | None = None,
    message_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A header with a fresh message id and timestamp; `extra` adds e.g. sender_uri, completed_count,
    status_reason_code, status_reason_message."""
    header: dict[str, Any] = {
        "version": VERSION,
        "message_id": message_id or str(uuid.uuid4()),
        "message_ts": message_ts or now_ts(),
        "action": action,
        "status": status,
        "sender_id": sender_id,
        "receiver_id": receiver_id,
        "total_count": total_count,
        "is_msg_encrypted": False,
    }
    header.update(extra)
    _check_header(header)
    return header


def _check_header(header: Any) -> None:
    if not isinstance(header, dict):
        raise BadSignature("err.request.bad", "消息头（header）缺失或格式不正确")
    missing = [name for name in _REQUIRED if not isinstance(header.get(name), str) or not header[name]]
    if missing:
        raise BadSignature("err.request.bad", "消息头缺少字段：" + "、".join(missing))
    too_long = [name for name in _REQUIRED if len(header[name]) > MAX_FIELD]
    if too_long:
        raise BadSignature("err.request.bad", "消息头字段过长：" + "、".join(too_long))
    if header["action"] not in ACTIONS:
        raise BadSignature("err.request.bad", f"不支持的消息类型：{header['action'][:40]}")
    if header["status"] not in STATUSES:
        raise BadSignature("err.request.bad", f"消息状态无效：{header['status'][:40]}")
    count = header.get("total_count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise BadSignature("err.request.bad", "total_count 应为非负整数")
    if header.get("is_msg_encrypted", False) is not False:
        raise BadSignature("err.request.bad", "不接受加密消息（is_msg_encrypted 应为 false）")


# --- Keys ---------------------------------------------------------------------------------------


def generate_private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the exchange key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise BadSignature("err.signature.invalid", "对方公钥格式不正确") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadSignature("err.signature.invalid", "对方公钥不是 Ed25519 公钥")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short fingerprint of the public key (first 16 hex digits of SHA-256 of its raw bytes)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- Envelopes ----------------------------------------------------------------------------------


def sign(
    header: Mapping[str, Any], message: Mapping[str, Any], private_key: Ed25519PrivateKey
) -> dict[str, Any]:
    """The envelope of `message`, signed. The header is checked first (a bad one raises BadSignature)."""
    header = dict(header)
    message = dict(message)
    _check_header(header)
    signature = private_key.sign(_signing_input(header, message))
    return {"signature": base64.b64encode(signature).decode(), "header": header, "message": message}


def parse(body: bytes | str) -> dict[str, Any]:
    """An envelope from a request body; a body that is not one raises BadSignature (err.request.bad)."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadSignature("err.request.bad", "消息不是有效的 JSON") from None
    if not isinstance(envelope, dict):
        raise BadSignature("err.request.bad", "消息应为 JSON 对象")
    return envelope


def verify(
    envelope: Mapping[str, Any], public_key: Ed25519PublicKey
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, message) of a well-formed envelope whose signature verifies with `public_key`."""
    header, message, signature = envelope.get("header"), envelope.get("message"), envelope.get("signature")
    _check_header(header)
    if not isinstance(message, dict):
        raise BadSignature("err.request.bad", "消息体（message）缺失或格式不正确")
    if not isinstance(signature, str) or not signature:
        raise BadSignature("err.signature.missing", "消息未签名")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("err.signature.invalid", "签名不是有效的 base64 编码") from None
    try:
        public_key.verify(raw, _signing_input(header, message))  # type: ignore[arg-type]
    except InvalidSignature:
        raise BadSignature("err.signature.invalid", "签名验证失败：消息被篡改或不是对方签发") from None
    return dict(header), dict(message)  # type: ignore[arg-type]


def sign_bytes(data: bytes, private_key: Ed25519PrivateKey) -> str:
    """A detached signature of a file, base64."""
    return base64.b64encode(private_key.sign(data)).decode()


def verify_bytes(data: bytes, signature: str | bytes, public_key: Ed25519PublicKey) -> None:
    """Raise BadSignature unless `signature` (base64) signs `data` with `public_key`."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        public_key.verify(raw, data)
    except (binascii.Error, ValueError, InvalidSignature):
        raise BadSignature("err.signature.invalid", "文件签名验证失败：文件被篡改或不是对方签发") from None
