"""The simulated 12345 platform's HTTP server.

Routes:
  GET  /.well-known/keys              {code, name, public_key_pem}: the platform's Ed25519 key
  POST /orders/fetch                  signed by Minzheng → signed {orders: [new ones], evaluations: [...]}
  POST /orders/ack                    signed {taken: [no], refused: {no: reason}, evaluations: [id]}
  POST /orders/{no}/status            signed {status, …}: a status of the order, kept in its history
  POST /admin/orders                  {order_no?, category_code, kind?, title, content, division_code?,
                                       citizen_name?, citizen_phone?, urgent?, repeat_of?} → the order
  POST /admin/orders/{no}/evaluate    {score 1–5, comment?}: the platform's callback (回访) of a replied order
  POST /admin/client-key              {public_key_pem}: Minzheng's key (else read from --client-key-url)
  POST /admin/faults                  {mode: none|bad_signature|refuse}
  POST /admin/clock                   {advance_working_days}
  GET  /admin/state   POST /admin/reset   GET /admin/health

Signatures: a detached Ed25519 signature of the exact body bytes in ``X-Signature`` (base64), the
signer in ``X-Sender``; requests whose signature does not verify with Minzheng's key get 401.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from minzheng.exchange import envelope
from simulators import harness
from simulators.harness import HttpProblem

log = logging.getLogger("simulators.hotline")

CODE = "hotline_12345"
NAME = "12345政务服务便民热线（模拟）"
FAULTS = frozenset({"none", "bad_signature", "refuse"})


def platform_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"hotline-key:{seed}".encode()).digest())


@dataclass
class Order:
    order_no: str
    fields: dict[str, Any]
    created_workday: int
    delivered: bool = False  # acknowledged by Minzheng (taken or refused)
    status: str = "new"
    history: list[dict[str, Any]] = field(default_factory=list)


def demo_orders(division: str) -> list[dict[str, Any]]:
    village = division[:6] + "001001"
    return [
        {
            "category_code": "100101",
            "kind": "consultation",
            "title": "咨询低保申请条件",
            "content": "来电人询问家中老人生病、收入低，能否申请最低生活保障，需要哪些材料。",
            "division_code": village,
            "citizen_name": "张女士",
            "citizen_phone": "13900000001",
        },
        {
            "category_code": "100105",
            "kind": "complaint",
            "title": "对临时救助不予批准有异议",
            "content": "来电人反映其临时救助申请被告知不予批准，认为家庭情况未被如实调查，要求复查。",
            "division_code": village,
            "citizen_name": "李先生",
            "citizen_phone": "13900000002",
        },
        {
            "category_code": "100202",
            "kind": "help",
            "title": "独居老人需要上门探访",
            "content": "邻居来电反映小区一名独居老人近日未出门，希望社区上门看看。",
            "division_code": village,
            "urgent": True,
        },
    ]


class Platform:
    def __init__(
        self, *, seed: int, client_key_url: str = "", demo: bool = False, division: str = ""
    ) -> None:
        self.seed = seed
        self.key = platform_key(seed)
        self.client_key_url = client_key_url
        self.demo = demo
        self.division = division
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.workday = 0
            self.fault = "none"
            self.orders: dict[str, Order] = {}
            self.evaluations: dict[str, dict[str, Any]] = {}
            self.serial = 0
            self.client_key: Ed25519PublicKey | None = None
            self.requests = 0
            if self.demo:
                for fields in demo_orders(self.division):
                    self.add_order(fields)

    def today(self) -> date:
        return harness.workday_date(date.today(), self.workday)

    def add_order(self, fields: dict[str, Any]) -> Order:
        with self.lock:
            self.serial += 1
            order_no = str(
                fields.get("order_no") or f"12345-{self.today():%Y%m%d}-{self.seed:02d}{self.serial:04d}"
            )
            if order_no in self.orders:
                raise HttpProblem(409, "err.order.exists", "工单号已存在")
            data = {k: v for k, v in fields.items() if k != "order_no"}
            data.setdefault("received_on", self.today().isoformat())
            order = Order(order_no, data, self.workday)
            self.orders[order_no] = order
            return order

    def client_public_key(self) -> Ed25519PublicKey:
        with self.lock:
            if self.client_key is not None:
                return self.client_key
        if not self.client_key_url:
            raise HttpProblem(401, "err.signature.unknown", "平台尚未登记民政通的公钥")
        request = urllib.request.Request(self.client_key_url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (configured URL)
                pem = json.loads(response.read())["public_key_pem"]
        except (OSError, ValueError, KeyError) as exc:
            raise HttpProblem(401, "err.signature.unknown", f"无法读取民政通的公钥：{exc}") from None
        key = envelope.load_public_key(pem)
        with self.lock:
            self.client_key = key
        return key

    def order_view(self, order: Order) -> dict[str, Any]:
        return {"order_no": order.order_no, **order.fields}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seed": self.seed,
                "clock": {"workdays_advanced": self.workday, "date": self.today().isoformat()},
                "fault": self.fault,
                "requests": self.requests,
                "orders": [
                    {
                        "order_no": o.order_no,
                        "status": o.status,
                        "delivered": o.delivered,
                        "history": list(o.history),
                        **o.fields,
                    }
                    for o in self.orders.values()
                ],
                "evaluations": list(self.evaluations.values()),
            }


class Handler(harness.JsonHandler):
    server_version = "MinzhengHotlineSimulator/1.0"
    platform: Platform  # set on the subclass made by make_server
    logger = log

    def signed_json(self, status: int, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        key = Ed25519PrivateKey.generate() if self.platform.fault == "bad_signature" else self.platform.key
        self.send(status, body, headers={"X-Signature": envelope.sign_bytes(body, key), "X-Sender": CODE})

    def verified_body(self) -> dict[str, Any]:
        raw = self.body()
        signature = self.headers.get("X-Signature", "")
        if not signature:
            raise HttpProblem(401, "err.signature.missing", "请求未签名")
        try:
            envelope.verify_bytes(raw, signature, self.platform.client_public_key())
        except envelope.BadSignature:
            raise HttpProblem(401, "err.signature.invalid", "签名验证失败") from None
        return self.json_body(raw)

    def dispatch(self, method: str, parts: list[str]) -> None:
        p = self.platform
        if method == "GET" and parts == [".well-known", "keys"]:
            return self.send_json(
                200, {"code": CODE, "name": NAME, "public_key_pem": envelope.public_key_pem(p.key)}
            )
        if parts and parts[0] == "admin":
            return self.admin(method, parts[1:])
        if method == "POST" and parts and parts[0] == "orders":
            with p.lock:
                p.requests += 1
            if p.fault == "refuse":
                raise HttpProblem(503, "err.service.unavailable", "平台维护中")
            body = self.verified_body()
            if parts == ["orders", "fetch"]:
                with p.lock:
                    orders = [p.order_view(o) for o in p.orders.values() if not o.delivered]
                    evaluations = [e for e in p.evaluations.values() if not e["delivered"]]
                return self.signed_json(
                    200,
                    {
                        "orders": orders,
                        "evaluations": [
                            {k: v for k, v in e.items() if k != "delivered"} for e in evaluations
                        ],
                    },
                )
            if parts == ["orders", "ack"]:
                with p.lock:
                    for no in body.get("taken", []) or []:
                        if str(no) in p.orders:
                            p.orders[str(no)].delivered = True
                            p.orders[str(no)].status = "accepted"
                    refused = body.get("refused", {}) or {}
                    for no, reason in refused.items() if isinstance(refused, dict) else []:
                        if str(no) in p.orders:
                            order = p.orders[str(no)]
                            order.delivered = True
                            order.status = "refused"
                            order.history.append({"status": "refused", "reason": str(reason)})
                    for eid in body.get("evaluations", []) or []:
                        if str(eid) in p.evaluations:
                            p.evaluations[str(eid)]["delivered"] = True
                return self.signed_json(200, {"ok": True})
            if len(parts) == 3 and parts[2] == "status":
                status = str(body.get("status", ""))
                if not status:
                    raise HttpProblem(400, "err.request.bad", "缺少 status")
                with p.lock:
                    found = p.orders.get(parts[1])
                    if found is None:
                        raise HttpProblem(404, "err.order.unknown", "没有这个工单")
                    found.status = status
                    found.history.append(body)
                return self.signed_json(200, {"ok": True})
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")

    def admin(self, method: str, parts: list[str]) -> None:
        p = self.platform
        if method == "GET" and parts == ["health"]:
            return self.send_json(200, {"ok": True})
        if method == "GET" and parts == ["state"]:
            return self.send_json(200, p.state())
        if method == "POST" and parts == ["reset"]:
            p.reset()
            return self.send_json(200, p.state())
        if method == "POST" and parts == ["clock"]:
            days = harness.check_int(self.json_body().get("advance_working_days"), "advance_working_days")
            with p.lock:
                p.workday += days
            return self.send_json(200, p.state()["clock"])
        if method == "POST" and parts == ["faults"]:
            mode = str(self.json_body().get("mode", ""))
            if mode not in FAULTS:
                raise HttpProblem(400, "err.request.bad", "mode 应为 " + "|".join(sorted(FAULTS)))
            with p.lock:
                p.fault = mode
            return self.send_json(200, p.state())
        if method == "POST" and parts == ["client-key"]:
            try:
                key = envelope.load_public_key(str(self.json_body().get("public_key_pem", "")))
            except envelope.BadSignature as exc:
                raise HttpProblem(400, "err.request.bad", exc.message) from None
            with p.lock:
                p.client_key = key
            return self.send_json(200, {"ok": True})
        if method == "POST" and parts == ["orders"]:
            body = self.json_body()
            return self.send_json(200, p.order_view(p.add_order(body)))
        if method == "POST" and len(parts) == 3 and parts[0] == "orders" and parts[2] == "evaluate":
            body = self.json_body()
            score = harness.check_int(body.get("score"), "score", low=1, high=5)
            with p.lock:
                order = p.orders.get(parts[1])
                if order is None:
                    raise HttpProblem(404, "err.order.unknown", "没有这个工单")
                if order.status != "reply":
                    raise HttpProblem(409, "err.order.not_replied", "工单尚未答复，不能回访")
                eid = f"E{len(p.evaluations) + 1}"
                p.evaluations[eid] = {
                    "id": eid,
                    "order_no": order.order_no,
                    "score": score,
                    "comment": str(body.get("comment", ""))[:300],
                    "delivered": False,
                }
                order.status = "evaluated"
            return self.send_json(200, p.evaluations[eid])
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")


def serve(
    *,
    host: str,
    port: int,
    seed: int,
    client_key_url: str = "",
    demo_orders: bool = False,
    division: str = "",
) -> None:
    platform = Platform(seed=seed, client_key_url=client_key_url, demo=demo_orders, division=division)
    server = harness.make_server(Handler, {"platform": platform}, host, port)
    print(
        f"12345热线平台模拟服务 listening on http://{host}:{server.server_port} (seed {seed})",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
