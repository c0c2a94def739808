"""A simulated SMS gateway (短信网关) for the demo and the tests: it accepts text messages and keeps
them for inspection instead of sending them.

Routes:
  POST /sms                {to, text, ref}: accepted → 200 {id, status: "accepted"}; the same ref twice
                           is accepted once (the second answer names the first message)
  POST /admin/faults       {mode: none|fail}: fail answers every /sms with 503
  GET  /admin/state        {messages: [...], fault}
  POST /admin/reset        POST /admin/clock (accepted, no clock)    GET /admin/health
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from simulators import harness
from simulators.harness import HttpProblem

log = logging.getLogger("simulators.sms")

FAULTS = frozenset({"none", "fail"})
_MOBILE = re.compile(r"1\d{10}")


@dataclass
class Gateway:
    messages: list[dict[str, Any]] = field(default_factory=list)
    fault: str = "none"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.fault = "none"

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"messages": [dict(m) for m in self.messages], "fault": self.fault}

    def accept(self, body: dict[str, Any]) -> dict[str, Any]:
        to, text, ref = str(body.get("to", "")), str(body.get("text", "")), str(body.get("ref", ""))
        if not _MOBILE.fullmatch(to):
            raise HttpProblem(400, "err.sms.bad_number", "to 应为11位手机号")
        if not text or len(text) > 500:
            raise HttpProblem(400, "err.sms.bad_text", "text 应为1至500字")
        with self.lock:
            if self.fault == "fail":
                raise HttpProblem(503, "err.sms.unavailable", "网关暂不可用")
            for message in self.messages:
                if ref and message["ref"] == ref:
                    return {"id": message["id"], "status": "duplicate"}
            message = {"id": f"S{len(self.messages) + 1}", "to": to, "text": text, "ref": ref}
            self.messages.append(message)
            return {"id": message["id"], "status": "accepted"}


class Handler(harness.JsonHandler):
    gateway: Gateway

    def dispatch(self, method: str, parts: list[str]) -> None:
        g = self.gateway
        if method == "POST" and parts == ["sms"]:
            return self.send_json(200, g.accept(self.json_body()))
        if parts[:1] != ["admin"]:
            raise HttpProblem(404, "err.request.not_found", "没有这个接口")
        rest = parts[1:]
        if method == "GET" and rest == ["health"]:
            return self.send_json(200, {"ok": True})
        if method == "GET" and rest == ["state"]:
            return self.send_json(200, g.state())
        if method == "POST" and rest == ["reset"]:
            g.reset()
            return self.send_json(200, g.state())
        if method == "POST" and rest == ["clock"]:
            return self.send_json(200, {"ok": True})
        if method == "POST" and rest == ["faults"]:
            mode = str(self.json_body().get("mode", ""))
            if mode not in FAULTS:
                raise HttpProblem(400, "err.request.bad", "mode 应为 " + "|".join(sorted(FAULTS)))
            with g.lock:
                g.fault = mode
            return self.send_json(200, g.state())
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")


def serve(*, host: str, port: int) -> None:
    server = harness.make_server(Handler, {"gateway": Gateway()}, host, port)
    print(f"短信网关模拟服务 listening on http://{host}:{server.server_port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
