"""Talking to the 12345 hotline platform (政务服务便民热线): HTTP and JSON, each body signed.

Signatures: the same Ed25519 keys as the departmental exchange (minzheng.exchange.keys: Minzheng's
key, published at /api/v1/exchange/public-key), as a detached signature of the exact body bytes
(`envelope.sign_bytes`) in the header ``X-Signature``, with ``X-Sender`` naming the signer. The DCI
envelope itself is not used: its action vocabulary is that of registry search, not of work orders.
The platform's own answers are signed the same way with the key its directory publishes.

Routes of the platform (see simulators/hotline/server.py):
  GET  /.well-known/keys                 {code, name, public_key_pem}
  POST /orders/fetch                     signed {} → signed {orders: [...], evaluations: [...]}
  POST /orders/ack                       signed {taken: [no], refused: {no: reason}, evaluations: [id]}
  POST /orders/{no}/status               signed {status, …} → signed {ok: true}
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from minzheng.core.errors import DomainError
from minzheng.exchange import envelope, keys
from minzheng.feedback.models import HotlinePlatform

TIMEOUT = 10


class HotlineError(DomainError):
    """The platform could not be reached, refused, or answered with a bad signature."""

    code = "hotline_unavailable"
    status = 502
    default_message = "12345热线平台暂时无法连接"


@dataclass(frozen=True)
class Directory:
    code: str
    name: str
    public_key_pem: str


@dataclass(frozen=True)
class Batch:
    orders: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]


def _open(request: urllib.request.Request) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured URL)
            return response.status, response.read(), response.headers.get("X-Signature", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""
    except (OSError, ValueError) as exc:
        raise HotlineError(f"12345热线平台无法连接：{exc}") from exc


def directory(url: str) -> Directory:
    if not url.startswith(("http://", "https://")):
        raise HotlineError("平台地址应以 http:// 或 https:// 开头")
    status, body, _ = _open(urllib.request.Request(f"{url.rstrip('/')}/.well-known/keys"))  # noqa: S310
    try:
        value = json.loads(body)
        return Directory(str(value["code"]), str(value["name"]), str(value["public_key_pem"]))
    except (ValueError, KeyError, TypeError):
        raise HotlineError(f"无法读取平台的密钥目录（HTTP {status}）") from None


def _call(platform: HotlinePlatform, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = envelope.canonical_json(payload)
    request = urllib.request.Request(  # noqa: S310 (configured URL)
        f"{platform.base_url}{path}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Sender": keys.sender_id(),
            "X-Signature": envelope.sign_bytes(body, keys.private_key()),
        },
    )
    status, answer, signature = _open(request)
    if status != 200:
        raise HotlineError(
            f"12345热线平台拒绝了请求（HTTP {status}）：{answer[:200].decode(errors='replace')}"
        )
    try:
        envelope.verify_bytes(answer, signature, envelope.load_public_key(platform.public_key_pem))
    except envelope.BadSignature as exc:
        raise HotlineError(f"12345热线平台的应答签名无效：{exc.message}") from exc
    try:
        value = json.loads(answer)
    except ValueError:
        raise HotlineError("12345热线平台的应答不是有效的 JSON") from None
    if not isinstance(value, dict):
        raise HotlineError("12345热线平台的应答格式不正确")
    return value


def fetch(platform: HotlinePlatform) -> Batch:
    value = _call(platform, "/orders/fetch", {})
    orders = [o for o in value.get("orders", []) if isinstance(o, dict)]
    evaluations = [e for e in value.get("evaluations", []) if isinstance(e, dict)]
    return Batch(orders, evaluations)


def acknowledge(
    platform: HotlinePlatform, *, taken: list[str], refused: dict[str, str], evaluations: list[str]
) -> None:
    _call(platform, "/orders/ack", {"taken": taken, "refused": refused, "evaluations": evaluations})


def report(platform: HotlinePlatform, *, order_no: str, status: str, payload: dict[str, Any]) -> None:
    _call(platform, f"/orders/{urllib.parse.quote(order_no, safe='')}/status", {"status": status, **payload})
