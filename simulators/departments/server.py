"""The simulated departments' HTTP server: DCI-style search with callback, status queries, batch files,
and an admin interface for faults, delays and the clock.

Routes (every department under /dept/{code}/):
  GET  /.well-known/keys                     each department's public key, mode and base path
  POST /dept/{code}/registry/search          signed "search" → signed ACK now, "on-search" callback later
  POST /dept/{code}/registry/txn/status      signed "txn-status" → signed "on-txn-status" (with the answer)
  POST /dept/{code}/batch                    CSV request file (X-Signature: detached) → {batch_id, rows, sha256}
  GET  /dept/{code}/batch/{id}/manifest      202 while pending; {status, rows, sha256, …} once ready
  GET  /dept/{code}/batch/{id}/result        the result CSV
  GET  /dept/{code}/batch/{id}/result.sig    its detached Ed25519 signature (base64)
  POST /admin/faults  {dept, mode, delay_seconds, delay_days}    (mode "none" clears; dept "*" = all)
  POST /admin/config  {dept, answer_days, delay_seconds}
  POST /admin/clock   {advance_working_days}
  GET  /admin/state   POST /admin/reset   GET /admin/health

Answers are due a number of working days after a request on the simulator's own clock (a counter of
working days passed; 0 by default, i.e. at once) and at least `delay_seconds` after it; advancing the
clock releases what has fallen due. Callbacks that fail (unreachable, 404, 5xx) are retried three
times with back-off, as a real department would; a 401 is final.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from http.server import ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from minzheng.exchange import envelope
from simulators import harness
from simulators.departments.data import DEPARTMENTS, Department, old_number, parse, records_for

log = logging.getLogger("simulators.departments")

FAULTS = frozenset(
    {
        "none",
        "refuse",
        "timeout",
        "duplicate_callback",
        "late_callback",
        "bad_signature",
        "unknown_person",
        "old_id_number",
        "wrong_row_count",
        "wrong_digest",
    }
)
RETRY_DELAYS = (0.5, 1.0, 2.0)
MAX_QUERIES = 1000


def department_key(seed: int, code: str) -> Ed25519PrivateKey:
    """Each department's key, derived from the seed: a restarted simulator keeps its keys, so the
    counterparties registered in Minzheng stay valid."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"sim-key:{seed}:{code}".encode()).digest())


@dataclass
class Fault:
    mode: str = "none"
    delay_seconds: float = 0.0
    delay_days: int = 3


@dataclass
class Txn:
    dept: str
    transaction_id: str
    correlation_id: str
    callback_url: str
    receiver_id: str
    items: list[dict[str, Any]]
    fault: Fault
    due_workday: int
    not_before: float
    status: str = "pdng"
    response: dict[str, Any] | None = None
    callbacks: list[int | str] = field(default_factory=list)
    delivering: bool = False


@dataclass
class Batch:
    id: str
    dept: str
    transaction_id: str
    rows: list[dict[str, str]]
    fault: Fault
    due_workday: int
    not_before: float
    status: str = "pdng"
    result: bytes | None = None
    signature: str = ""
    manifest: dict[str, Any] | None = None


class Simulator:
    """The departments' shared state: keys, faults, clock, transactions and batches."""

    def __init__(
        self,
        *,
        seed: int,
        callback_base: str,
        answer_days: int = 0,
        delay_seconds: float = 0.0,
        client_key_url: str = "",
    ) -> None:
        self.seed = seed
        self.callback_base = callback_base.rstrip("/")
        self.client_key_url = client_key_url or f"{self.callback_base}/api/v1/exchange/public-key"
        self.keys = {code: department_key(seed, code) for code in DEPARTMENTS}
        self.default_answer_days = answer_days
        self.default_delay = delay_seconds
        self.lock = threading.RLock()
        self.wake = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.workday = 0
            self.faults: dict[str, Fault] = {}
            self.answer_days = dict.fromkeys(DEPARTMENTS, self.default_answer_days)
            self.delays = dict.fromkeys(DEPARTMENTS, self.default_delay)
            self.txns: dict[tuple[str, str], Txn] = {}
            self.batches: dict[str, Batch] = {}
            self.requests = 0
            self.client_key: Ed25519PublicKey | None = None
            self.client_id = ""
            self.interrupt = threading.Event()  # cuts short the sleeps of "timeout" faults
            self.wake.notify_all()

    # --- clock ---------------------------------------------------------------------------------

    def today(self) -> date:
        """The simulator's date: today moved on by the working days the clock was advanced."""
        return harness.workday_date(date.today(), self.workday)

    def advance(self, days: int) -> None:
        with self.lock:
            self.workday += days
            self.wake.notify_all()

    # --- keys ----------------------------------------------------------------------------------

    def signing_key(self, code: str, fault: Fault) -> Ed25519PrivateKey:
        # A bad signature: signed, but with a key nobody registered.
        return Ed25519PrivateKey.generate() if fault.mode == "bad_signature" else self.keys[code]

    def fetch_client_key(self, *, refresh: bool = False) -> Ed25519PublicKey:
        with self.lock:
            if self.client_key is not None and not refresh:
                return self.client_key
        request = urllib.request.Request(self.client_key_url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (configured URL)
            body = json.loads(response.read())
        key = envelope.load_public_key(body["public_key_pem"])
        with self.lock:
            self.client_key, self.client_id = key, str(body.get("sender_id", ""))
        return key

    def verify_client(self, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            return envelope.verify(raw, self.fetch_client_key())
        except envelope.BadSignature as exc:
            if exc.code != "err.signature.invalid":
                raise
            return envelope.verify(raw, self.fetch_client_key(refresh=True))  # the key may have changed

    def verify_client_bytes(self, data: bytes, signature: str) -> None:
        try:
            envelope.verify_bytes(data, signature, self.fetch_client_key())
        except envelope.BadSignature:
            envelope.verify_bytes(data, signature, self.fetch_client_key(refresh=True))

    def fault(self, code: str) -> Fault:
        with self.lock:
            return self.faults.get(code) or self.faults.get("*") or Fault()

    # --- answers -------------------------------------------------------------------------------

    def answer_item(self, code: str, item: dict[str, Any], fault: Fault, as_of: date) -> dict[str, Any]:
        criteria = item.get("search_criteria") or {}
        query = criteria.get("query") or {}
        number = str(query.get("value", "")) if isinstance(query, dict) else ""
        base = {"reference_id": str(item.get("reference_id", "")), "timestamp": envelope.now_ts()}
        rid = parse(number, as_of)
        if rid is None:
            return {
                **base,
                "status": "rjct",
                "status_reason_code": "rjct.search_criteria.invalid",
                "status_reason_message": "证件号码无效",
            }
        if fault.mode == "unknown_person":
            return {
                **base,
                "status": "rjct",
                "status_reason_code": "rjct.person.not_found",
                "status_reason_message": "本部门无此人记录",
            }
        shown = old_number(rid) if fault.mode == "old_id_number" else rid.number
        return {
            **base,
            "status": "succ",
            "data": {
                "version": envelope.VERSION,
                "person": {"identifier_type": "resident_id", "identifier_value": shown},
                "as_of": as_of.isoformat(),
                "reg_records": records_for(code, rid, seed=self.seed, as_of=as_of),
            },
        }

    def search_response(self, txn: Txn) -> dict[str, Any]:
        as_of = self.today()
        return {
            "transaction_id": txn.transaction_id,
            "correlation_id": txn.correlation_id,
            "search_response": [self.answer_item(txn.dept, item, txn.fault, as_of) for item in txn.items],
        }

    def result_file(self, batch: Batch) -> bytes:
        as_of = self.today()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(envelope.RESULT_COLUMNS)
        for row in batch.rows:
            reference, number = row.get("reference_id", ""), row.get("id_number", "")
            rid = parse(number, as_of)
            if rid is None:
                writer.writerow([reference, number, "invalid"] + [""] * 9)
                continue
            if batch.fault.mode == "unknown_person":
                writer.writerow([reference, number, "not_found"] + [""] * 9)
                continue
            shown = old_number(rid) if batch.fault.mode == "old_id_number" else rid.number
            records = records_for(batch.dept, rid, seed=self.seed, as_of=as_of)
            if not records:
                writer.writerow([reference, shown, "none"] + [""] * 9)
            for r in records:
                writer.writerow(
                    [reference, shown, "found"] + [r[c] or "" for c in envelope.RESULT_COLUMNS[3:]]
                )
        return buffer.getvalue().encode("utf-8")

    # --- the release loop ----------------------------------------------------------------------

    def run(self) -> None:
        """Release answers that have fallen due; runs in its own thread until `stopping` is set."""
        while not self.stopping.is_set():
            with self.lock:
                now = time.monotonic()
                due_txns = [
                    t
                    for t in self.txns.values()
                    if t.status == "pdng"
                    and not t.delivering
                    and t.due_workday <= self.workday
                    and t.not_before <= now
                ]
                due_batches = [
                    b
                    for b in self.batches.values()
                    if b.status == "pdng" and b.due_workday <= self.workday and b.not_before <= now
                ]
                for txn in due_txns:
                    txn.delivering = True
                for batch in due_batches:
                    self.complete_batch(batch)
                if not due_txns:
                    self.wake.wait(timeout=0.05)
            for txn in due_txns:
                threading.Thread(target=self.deliver, args=(txn,), daemon=True).start()

    def complete_batch(self, batch: Batch) -> None:
        data = self.result_file(batch)
        rows = data.count(b"\n") - 1
        sha = hashlib.sha256(data).hexdigest()
        if batch.fault.mode == "wrong_row_count":
            rows += 1
        if batch.fault.mode == "wrong_digest":
            sha = hashlib.sha256(data + b"\n").hexdigest()
        batch.result = data
        batch.signature = envelope.sign_bytes(data, self.signing_key(batch.dept, batch.fault))
        batch.manifest = {
            "batch_id": batch.id,
            "transaction_id": batch.transaction_id,
            "department": batch.dept,
            "status": "succ",
            "rows": rows,
            "sha256": sha,
            "created_on": self.today().isoformat(),
        }
        batch.status = "succ"

    def deliver(self, txn: Txn) -> None:
        response = self.search_response(txn)
        header = envelope.make_header(
            action="on-search",
            status="succ",
            sender_id=txn.dept,
            receiver_id=txn.receiver_id,
            total_count=len(txn.items),
            completed_count=len(txn.items),
        )
        body = envelope.canonical_json(envelope.sign(header, response, self.signing_key(txn.dept, txn.fault)))
        with self.lock:
            txn.response, txn.status = response, "succ"
        times = 2 if txn.fault.mode == "duplicate_callback" else 1
        for _ in range(times):
            self.post_callback(txn, body)

    def post_callback(self, txn: Txn, body: bytes) -> None:
        for attempt, pause in enumerate((0.0, *RETRY_DELAYS)):
            if pause and self.stopping.wait(pause):
                return
            request = urllib.request.Request(  # noqa: S310 (below the configured callback base)
                txn.callback_url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    result: int | str = response.status
            except urllib.error.HTTPError as exc:
                result = exc.code
            except (OSError, urllib.error.URLError) as exc:
                result = f"error: {type(exc).__name__}"
            with self.lock:
                txn.callbacks.append(result)
            log.info("callback %s %s attempt %d → %s", txn.dept, txn.correlation_id, attempt + 1, result)
            if isinstance(result, int) and (result < 300 or result in (400, 401, 403, 422)):
                return

    # --- state ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seed": self.seed,
                "clock": {"workdays_advanced": self.workday, "date": self.today().isoformat()},
                "requests": self.requests,
                "faults": {k: vars(v) for k, v in self.faults.items()},
                "answer_days": dict(self.answer_days),
                "delay_seconds": dict(self.delays),
                "transactions": [
                    {
                        "department": t.dept,
                        "transaction_id": t.transaction_id,
                        "correlation_id": t.correlation_id,
                        "status": t.status,
                        "persons": len(t.items),
                        "due_workday": t.due_workday,
                        "fault": t.fault.mode,
                        "callbacks": list(t.callbacks),
                    }
                    for t in self.txns.values()
                ],
                "batches": [
                    {
                        "department": b.dept,
                        "batch_id": b.id,
                        "transaction_id": b.transaction_id,
                        "status": b.status,
                        "rows": len(b.rows),
                        "due_workday": b.due_workday,
                        "fault": b.fault.mode,
                    }
                    for b in self.batches.values()
                ],
            }


HttpProblem = harness.HttpProblem


class Handler(harness.JsonHandler):
    server_version = "MinzhengDepartmentSimulator/1.0"
    sim: Simulator  # set on the subclass made by make_server
    logger = log

    def dispatch(self, method: str, parts: list[str]) -> None:
        sim = self.sim
        if parts == [".well-known", "keys"] and method == "GET":
            return self.send_json(
                200,
                {
                    "departments": [
                        {
                            "code": d.code,
                            "name": d.name,
                            "mode": d.mode,
                            "holds": d.holds,
                            "sender_id": d.code,
                            "base_path": f"/dept/{d.code}",
                            "key_id": envelope.key_id(sim.keys[d.code]),
                            "public_key_pem": envelope.public_key_pem(sim.keys[d.code]),
                        }
                        for d in DEPARTMENTS.values()
                    ]
                },
            )
        if parts and parts[0] == "admin":
            return self.admin(method, parts[1:])
        if len(parts) >= 3 and parts[0] == "dept":
            dept = DEPARTMENTS.get(parts[1])
            if dept is None:
                raise HttpProblem(404, "err.receiver_id.invalid", "没有这个部门")
            with sim.lock:
                sim.requests += 1
            rest = parts[2:]
            if method == "POST" and rest == ["registry", "search"]:
                return self.search(dept)
            if method == "POST" and rest == ["registry", "txn", "status"]:
                return self.txn_status(dept)
            if method == "POST" and rest == ["batch"]:
                return self.batch_create(dept)
            if method == "GET" and len(rest) == 3 and rest[0] == "batch":
                return self.batch_get(dept, rest[1], rest[2])
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")

    # --- DCI search ----------------------------------------------------------------------------

    def signed(
        self,
        dept: Department,
        fault: Fault,
        *,
        action: str,
        status: str,
        receiver: str,
        message: dict[str, Any],
        total: int = 0,
        **extra: Any,
    ) -> None:
        header = envelope.make_header(
            action=action,
            status=status,
            sender_id=dept.code,
            receiver_id=receiver or "unknown",
            total_count=total,
            **extra,
        )
        self.send(
            200,
            envelope.canonical_json(envelope.sign(header, message, self.sim.signing_key(dept.code, fault))),
        )

    def client_envelope(self, action: str, dept: Department) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            header, message = self.sim.verify_client(envelope.parse(self.body()))
        except envelope.BadSignature as exc:
            raise HttpProblem(
                401 if exc.code.startswith("err.signature") else 400, exc.code, exc.message
            ) from None
        except (OSError, ValueError, KeyError):
            raise HttpProblem(503, "err.sender_key.unavailable", "无法取得请求方的公钥") from None
        if header["action"] != action:
            raise HttpProblem(400, "rjct.action.invalid", f"此接口只受理 {action}")
        if header["receiver_id"] != dept.code:
            raise HttpProblem(400, "err.receiver_id.invalid", "消息的接收方不是本部门")
        if self.sim.client_id and header["sender_id"] != self.sim.client_id:
            raise HttpProblem(403, "err.sender_id.invalid", "未登记的请求方")
        return header, message

    def search(self, dept: Department) -> None:
        sim = self.sim
        header, message = self.client_envelope("search", dept)
        fault = sim.fault(dept.code)
        ack = {"timestamp": envelope.now_ts(), "correlation_id": ""}

        def refuse(code: str, text: str) -> None:
            self.signed(
                dept,
                fault,
                action="search",
                status="rjct",
                receiver=header["sender_id"],
                message={**ack, "ack_status": "ERR", "error": {"code": code, "message": text}},
            )

        if fault.mode == "timeout":
            sim.interrupt.wait(fault.delay_seconds or 30.0)
            return refuse("err.request.timeout", "处理超时")
        if dept.mode != "api":
            return refuse("rjct.action.not_supported", "本部门只以批量文件交换数据")
        if fault.mode == "refuse":
            return self.signed(
                dept,
                fault,
                action="search",
                status="rjct",
                receiver=header["sender_id"],
                message={
                    **ack,
                    "ack_status": "NACK",
                    "error": {"code": "rjct.department.refused", "message": "本部门暂停受理核对查询"},
                },
            )
        transaction_id = str(message.get("transaction_id") or "")
        items = message.get("search_request")
        callback_url = str(
            header.get("sender_uri") or f"{sim.callback_base}/api/v1/exchange/{dept.code}/callback"
        )
        if not transaction_id or len(transaction_id) > 200:
            return refuse("rjct.transaction_id.invalid", "缺少事务编号")
        if not isinstance(items, list) or not items or len(items) > MAX_QUERIES:
            return refuse("rjct.search_criteria.invalid", f"查询对象应为1至{MAX_QUERIES}人")
        if not callback_url.startswith(sim.callback_base + "/"):
            return refuse("rjct.sender_uri.invalid", "回调地址不在允许范围内")
        with sim.lock:
            txn = sim.txns.get((dept.code, transaction_id))
            if (
                txn is None
            ):  # a repeated request for the same transaction is acknowledged again, once processed
                late = fault.mode == "late_callback"
                txn = Txn(
                    dept=dept.code,
                    transaction_id=transaction_id,
                    correlation_id=uuid.uuid4().hex,
                    callback_url=callback_url,
                    receiver_id=header["sender_id"],
                    items=[i for i in items if isinstance(i, dict)],
                    fault=Fault(fault.mode, fault.delay_seconds, fault.delay_days),
                    due_workday=sim.workday + sim.answer_days[dept.code] + (fault.delay_days if late else 0),
                    not_before=time.monotonic()
                    + sim.delays[dept.code]
                    + (fault.delay_seconds if late else 0),
                )
                sim.txns[(dept.code, transaction_id)] = txn
                sim.wake.notify_all()
        self.signed(
            dept,
            fault,
            action="search",
            status="rcvd",
            receiver=header["sender_id"],
            total=len(items),
            message={**ack, "ack_status": "ACK", "correlation_id": txn.correlation_id},
        )

    def txn_status(self, dept: Department) -> None:
        sim = self.sim
        header, message = self.client_envelope("txn-status", dept)
        fault = sim.fault(dept.code)
        transaction_id = str(message.get("transaction_id") or "")
        with sim.lock:
            txn = sim.txns.get((dept.code, transaction_id))
            if fault.mode == "refuse" or txn is None:
                reason = "本部门暂停受理核对查询" if txn is not None else "本部门没有这个事务"
                return self.signed(
                    dept,
                    fault,
                    action="on-txn-status",
                    status="rjct",
                    receiver=header["sender_id"],
                    message={
                        "transaction_id": transaction_id,
                        "correlation_id": "",
                        "error": {"code": "rjct.transaction_id.invalid", "message": reason},
                    },
                    status_reason_code="rjct.transaction_id.invalid",
                    status_reason_message=reason,
                )
            response: dict[str, Any] = {
                "txn_type": "search",
                "txn_status": txn.status,
                "due_workday": txn.due_workday,
                "workday": sim.workday,
            }
            if txn.response is not None:
                response["search_response"] = txn.response["search_response"]
            self.signed(
                dept,
                txn.fault,
                action="on-txn-status",
                status="succ",
                receiver=header["sender_id"],
                total=1,
                message={
                    "transaction_id": transaction_id,
                    "correlation_id": txn.correlation_id,
                    "txnstatus_response": response,
                },
            )

    # --- batch files ---------------------------------------------------------------------------

    def batch_create(self, dept: Department) -> None:
        sim = self.sim
        data = self.body()
        try:
            sim.verify_client_bytes(data, self.headers.get("X-Signature", ""))
        except envelope.BadSignature as exc:
            raise HttpProblem(401, exc.code, exc.message) from None
        except (OSError, ValueError, KeyError):
            raise HttpProblem(503, "err.sender_key.unavailable", "无法取得请求方的公钥") from None
        fault = sim.fault(dept.code)
        # Every department takes the monthly bulk file of recipients (批量核对); those that answer
        # single cases over the API do so too.
        if fault.mode == "refuse":
            raise HttpProblem(403, "rjct.department.refused", "本部门暂停受理核对查询")
        if fault.mode == "timeout":
            sim.interrupt.wait(fault.delay_seconds or 30.0)
            raise HttpProblem(504, "err.request.timeout", "处理超时")
        try:
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        except (UnicodeDecodeError, csv.Error):
            raise HttpProblem(400, "err.request.bad", "请求文件不是 UTF-8 CSV") from None
        if not rows or len(rows) > MAX_QUERIES or any(set(envelope.BATCH_COLUMNS) - set(r) for r in rows[:1]):
            raise HttpProblem(
                400,
                "rjct.search_criteria.invalid",
                "请求文件应有列 " + ",".join(envelope.BATCH_COLUMNS) + f"，1至{MAX_QUERIES}行",
            )
        late = fault.mode == "late_callback"
        with sim.lock:
            batch = Batch(
                id=uuid.uuid4().hex[:16],
                dept=dept.code,
                transaction_id=self.headers.get("X-Transaction-Id", "")[:200],
                rows=rows,
                fault=Fault(fault.mode, fault.delay_seconds, fault.delay_days),
                due_workday=sim.workday + sim.answer_days[dept.code] + (fault.delay_days if late else 0),
                not_before=time.monotonic() + sim.delays[dept.code] + (fault.delay_seconds if late else 0),
            )
            sim.batches[batch.id] = batch
            sim.wake.notify_all()
        self.send_json(
            200,
            {
                "batch_id": batch.id,
                "rows": len(rows),
                "sha256": hashlib.sha256(data).hexdigest(),
                "due_workday": batch.due_workday,
            },
        )

    def batch_get(self, dept: Department, batch_id: str, what: str) -> None:
        with self.sim.lock:
            batch = self.sim.batches.get(batch_id)
            if batch is None or batch.dept != dept.code:
                raise HttpProblem(404, "rjct.batch_id.invalid", "没有这个批次")
            if what == "manifest":
                if batch.manifest is None:
                    return self.send_json(
                        202, {"batch_id": batch.id, "status": "pdng", "due_workday": batch.due_workday}
                    )
                return self.send_json(200, batch.manifest)
            if batch.result is None:
                raise HttpProblem(409, "pdng", "结果文件尚未生成")
            if what == "result":
                return self.send(200, batch.result, "text/csv; charset=utf-8")
            if what == "result.sig":
                return self.send(200, batch.signature.encode(), "text/plain; charset=utf-8")
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")

    # --- admin ---------------------------------------------------------------------------------

    def admin(self, method: str, parts: list[str]) -> None:
        sim = self.sim
        if method == "GET" and parts == ["health"]:
            return self.send_json(200, {"ok": True})
        if method == "GET" and parts == ["state"]:
            return self.send_json(200, sim.state())
        if method == "POST" and parts == ["reset"]:
            sim.interrupt.set()
            sim.reset()
            return self.send_json(200, sim.state())
        if method == "POST" and parts == ["clock"]:
            days = harness.check_int(self.json_body().get("advance_working_days"), "advance_working_days")
            sim.advance(days)
            return self.send_json(200, sim.state()["clock"])
        if method == "POST" and parts in (["faults"], ["config"]):
            body = self.json_body()
            dept = str(body.get("dept", ""))
            if dept != "*" and dept not in DEPARTMENTS:
                raise HttpProblem(400, "err.request.bad", "dept 应为部门代码或 *")
            delay = body.get("delay_seconds", 0)
            if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= 600:
                raise HttpProblem(400, "err.request.bad", "delay_seconds 应为0至600的数")
            targets = list(DEPARTMENTS) if dept == "*" else [dept]
            with sim.lock:
                if parts == ["faults"]:
                    mode = str(body.get("mode", ""))
                    days = body.get("delay_days", 3)
                    if mode not in FAULTS:
                        raise HttpProblem(400, "err.request.bad", "mode 应为 " + "|".join(sorted(FAULTS)))
                    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
                        raise HttpProblem(400, "err.request.bad", "delay_days 应为0至366的整数")
                    if mode == "none":
                        sim.faults.pop(dept, None)
                    else:
                        sim.faults[dept] = Fault(mode, float(delay), days)
                else:
                    answer_days = body.get("answer_days", 0)
                    if (
                        not isinstance(answer_days, int)
                        or isinstance(answer_days, bool)
                        or not 0 <= answer_days <= 366
                    ):
                        raise HttpProblem(400, "err.request.bad", "answer_days 应为0至366的整数")
                    for code in targets:
                        sim.answer_days[code] = answer_days
                        sim.delays[code] = float(delay)
                sim.interrupt = threading.Event()
            return self.send_json(200, sim.state())
        raise HttpProblem(404, "err.request.not_found", "没有这个接口")


def make_server(sim: Simulator, host: str, port: int) -> ThreadingHTTPServer:
    return harness.make_server(Handler, {"sim": sim}, host, port)


def serve(
    *,
    host: str,
    port: int,
    seed: int,
    callback_base: str,
    answer_days: int = 0,
    delay_seconds: float = 0.0,
    client_key_url: str = "",
) -> None:
    sim = Simulator(
        seed=seed,
        callback_base=callback_base,
        answer_days=answer_days,
        delay_seconds=delay_seconds,
        client_key_url=client_key_url,
    )
    server = make_server(sim, host, port)
    releaser = threading.Thread(target=sim.run, name="release", daemon=True)
    releaser.start()
    print(
        f"部门模拟服务 listening on http://{host}:{server.server_port} "
        f"(seed {seed}, callbacks to {sim.callback_base})",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        sim.stopping.set()
        sim.interrupt.set()
        server.server_close()
