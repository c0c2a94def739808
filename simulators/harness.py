"""What every simulator shares: the JSON-over-HTTP plumbing of its server, its working-day clock, and
(for the demo and the tests) starting it as a real process on a free port, waiting for its health
check, calling its admin interface and stopping it.

Standard library only: the simulators run without Django, and the test fixtures in Minzheng
(minzheng.exchange.testing, minzheng.feedback.testing) start them through `start_process`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_BODY = 20 * 1024 * 1024


# --- Server side -------------------------------------------------------------------------------


def workday_date(start: date, working_days: int) -> date:
    """`start` moved on by `working_days` Monday-to-Friday days: a simulator's clock (it knows no
    holidays; Minzheng's own calendar is the one that counts)."""
    day, left = start, working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def check_int(value: Any, name: str, *, low: int = 0, high: int = 366) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HttpProblem(400, "err.request.bad", f"{name} 应为{low}至{high}的整数")
    return value


class HttpProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class JsonHandler(BaseHTTPRequestHandler):
    """Routes GET and POST to `dispatch(method, path parts)`; an HttpProblem becomes a JSON error
    ``{"error": {"code", "message"}}`` with its status."""

    logger = logging.getLogger("simulators")

    def log_message(self, format: str, *args: Any) -> None:
        self.logger.info("%s %s", self.address_string(), format % args)

    def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), headers=headers)

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise HttpProblem(413, "err.request.too_large", "请求过大")
        return self.rfile.read(length) if length else b""

    def json_body(self, raw: bytes | None = None) -> dict[str, Any]:
        try:
            value = json.loads((self.body() if raw is None else raw) or b"{}")
        except ValueError:
            raise HttpProblem(400, "err.request.bad", "请求不是有效的 JSON") from None
        if not isinstance(value, dict):
            raise HttpProblem(400, "err.request.bad", "请求应为 JSON 对象")
        return value

    def route(self, method: str) -> None:
        try:
            parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
            self.dispatch(method, parts)
        except HttpProblem as exc:
            self.send_json(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        except BrokenPipeError:
            pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def dispatch(self, method: str, parts: list[str]) -> None:
        raise NotImplementedError


def make_server(
    handler: type[JsonHandler], attrs: dict[str, Any], host: str, port: int
) -> ThreadingHTTPServer:
    """A threading server whose handler class carries `attrs` (e.g. the simulator's state)."""
    bound = type("BoundHandler", (handler,), attrs)
    server = ThreadingHTTPServer((host, port), bound)
    server.daemon_threads = True
    return server


# --- Process side (demo and tests) ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(method: str, url: str, body: dict[str, Any] | None = None, *, timeout: float = 10) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (a local simulator)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (a local simulator)
        return json.loads(response.read())


@dataclass
class SimulatorProcess:
    """A simulator running as its own process; its admin interface (health, state, reset, clock)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return http_json(method, f"{self.url}{path}", body)

    def advance(self, working_days: int) -> None:
        self.call("POST", "/admin/clock", {"advance_working_days": working_days})

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/admin/state")  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.call("POST", "/admin/reset", {})

    def stop(self) -> None:
        stop_process(self.process)


def start_process(
    name: str, module: str, args: list[str], log: Path, *, port: int | None = None, timeout: float = 20
) -> tuple[subprocess.Popen[bytes], str]:
    """Run ``python -m module --port N args…`` from the repository root, its output into `log`, and
    wait until ``GET /admin/health`` answers. Returns the process and its base URL."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
            [sys.executable, "-m", module, "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited ({process.returncode}): {log.read_text()}")
        try:
            http_json("GET", f"{url}/admin/health", timeout=2)
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the {name} did not start: {log.read_text()}") from None
            time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
