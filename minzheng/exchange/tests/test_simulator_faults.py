"""The fault matrix, against the department simulator running as its own process: each fault is seen
through the exchange services as a user of them would see it (an error, a log entry, an answer)."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from minzheng.core.errors import InvalidInput
from minzheng.core.models import AuditEvent
from minzheng.exchange import services
from minzheng.exchange.envelope import BadSignature
from minzheng.exchange.matching import person_key
from minzheng.exchange.models import Counterparty, Message
from minzheng.exchange.services import ExchangeError
from minzheng.exchange.testing import DepartmentSimulator, handling, wait_for

# Born 1949 (has an old 15-digit number), 1985 and 2012.
PEOPLE = ["11010519491231002X", "640202198503150019", "640202201206010022"]

pytestmark = pytest.mark.usefixtures("department_simulator")


@pytest.fixture
def answers() -> Iterator[list[dict[str, Any]]]:
    """The on-search answers the exchange hands on (as the verification app's handler would take them)."""
    taken: list[dict[str, Any]] = []
    lock = threading.Lock()

    def handle(*, record: Message, header: dict[str, Any], message: dict[str, Any]) -> None:
        with lock:
            taken.append(message)

    with handling("on-search", handle):
        yield taken


def queries(people: list[str] = PEOPLE) -> list[dict[str, Any]]:
    return [{"reference_id": f"m{i}", "id_number": n, "name": f"成员{i}"} for i, n in enumerate(people)]


def search(sim: DepartmentSimulator, dept: str = "tax") -> tuple[str, dict[str, Any]]:
    transaction_id = f"T-{uuid.uuid4().hex[:12]}"
    ack = services.send_search(
        counterparty_code=dept,
        transaction_id=transaction_id,
        queries=queries(),
        callback_url=sim.callback_url(dept),
    )
    return transaction_id, ack


def delivered(sim: DepartmentSimulator, dept: str, transaction_id: str, count: int = 1) -> list[Any]:
    """Wait (on the simulator, not the database) until `count` callbacks were answered."""

    def done() -> list[Any]:
        txn = sim.transaction(dept, transaction_id)
        calls = txn["callbacks"] if txn else []
        return calls if len([c for c in calls if isinstance(c, int)]) >= count else []

    return wait_for(done)


def test_a_search_is_acknowledged_then_answered_by_callback(
    department_simulator: DepartmentSimulator, answers: list[dict[str, Any]]
) -> None:
    transaction_id, ack = search(department_simulator, "social_insurance")
    assert ack["message"]["ack_status"] == "ACK"
    assert ack["header"]["status"] == "rcvd"
    correlation = ack["message"]["correlation_id"]
    assert delivered(department_simulator, "social_insurance", transaction_id) == [200]
    (answer,) = answers
    assert answer["transaction_id"] == transaction_id
    assert answer["correlation_id"] == correlation
    by_reference = {item["reference_id"]: item for item in answer["search_response"]}
    assert set(by_reference) == {"m0", "m1", "m2"}
    for i, number in enumerate(PEOPLE):
        item = by_reference[f"m{i}"]
        assert item["status"] == "succ"
        assert person_key(item["data"]["person"]["identifier_value"]) == person_key(number)
    # The log: our request, the acknowledgement and the answer, each with its digest; audited.
    out = Message.objects.get(direction="out", transaction_id=transaction_id)
    assert (out.action, out.accepted, out.http_status, out.signature_ok) == ("search", True, 200, None)
    ack_row = Message.objects.get(direction="in", action="search", transaction_id=transaction_id)
    assert (ack_row.correlation_id, ack_row.signature_ok, ack_row.status) == (correlation, True, "rcvd")
    callback = Message.objects.get(direction="in", action="on-search")
    assert (callback.transaction_id, callback.accepted, callback.signature_ok) == (transaction_id, True, True)
    audit = AuditEvent.objects.filter(action__startswith="exchange.").values_list("after", "reason")
    assert all(number not in str(row) for row in audit for number in PEOPLE)
    # The same data for the same people every time (seeded from the ID number).
    again, _ = search(department_simulator, "social_insurance")
    delivered(department_simulator, "social_insurance", again)
    second = {i["reference_id"]: i["data"]["reg_records"] for i in answers[1]["search_response"]}
    assert second == {i["reference_id"]: i["data"]["reg_records"] for i in answer["search_response"]}


def test_the_status_query_returns_the_answer(
    department_simulator: DepartmentSimulator, answers: list[dict[str, Any]]
) -> None:
    transaction_id, _ = search(department_simulator, "real_estate")
    delivered(department_simulator, "real_estate", transaction_id)
    status = services.txn_status(counterparty_code="real_estate", transaction_id=transaction_id)
    response = status["message"]["txnstatus_response"]
    assert response["txn_status"] == "succ"
    assert response["search_response"] == answers[0]["search_response"]
    with pytest.raises(ExchangeError) as unknown:
        services.txn_status(counterparty_code="real_estate", transaction_id="T-never-sent")
    assert unknown.value.code == "exchange.refused"


def test_refuse(department_simulator: DepartmentSimulator, answers: list[Any]) -> None:
    department_simulator.fault("tax", "refuse")
    with pytest.raises(ExchangeError) as error:
        search(department_simulator)
    assert error.value.code == "exchange.refused"
    assert "暂停受理" in error.value.message
    out = Message.objects.get(direction="out")
    assert out.accepted is False
    assert "暂停受理" in out.error
    refusal = Message.objects.get(direction="in")
    assert (refusal.status, refusal.signature_ok, refusal.accepted) == ("rjct", True, False)
    assert AuditEvent.objects.filter(action="exchange.send_failed").exists()


def test_timeout(department_simulator: DepartmentSimulator, answers: list[Any], settings: Any) -> None:
    settings.MINZHENG_EXCHANGE_TIMEOUT = 0.5
    department_simulator.fault("tax", "timeout", delay_seconds=2)
    with pytest.raises(ExchangeError) as error:
        search(department_simulator)
    assert error.value.code == "exchange.timeout"
    out = Message.objects.get(direction="out")
    assert "超时" in out.error
    assert out.http_status is None
    assert not Message.objects.filter(direction="in").exists()


def test_duplicate_callback(department_simulator: DepartmentSimulator, answers: list[Any]) -> None:
    department_simulator.fault("tax", "duplicate_callback")
    transaction_id, _ = search(department_simulator)
    assert delivered(department_simulator, "tax", transaction_id, count=2) == [200, 200]
    assert len(answers) == 1  # handed on once
    callbacks = Message.objects.filter(direction="in", action="on-search")
    assert callbacks.count() == 2
    assert callbacks.filter(accepted=True).count() == 1
    assert "重复" in callbacks.get(accepted=False).error
    assert AuditEvent.objects.filter(action="exchange.duplicate").count() == 1


def test_late_callback_waits_for_the_clock(
    department_simulator: DepartmentSimulator, answers: list[Any]
) -> None:
    department_simulator.fault("tax", "late_callback", delay_days=2)
    transaction_id, _ = search(department_simulator)
    status = services.txn_status(counterparty_code="tax", transaction_id=transaction_id)
    assert status["message"]["txnstatus_response"]["txn_status"] == "pdng"
    department_simulator.advance(1)
    assert department_simulator.transaction("tax", transaction_id)["status"] == "pdng"  # type: ignore[index]
    assert answers == []
    department_simulator.advance(1)
    assert delivered(department_simulator, "tax", transaction_id) == [200]
    assert len(answers) == 1
    status = services.txn_status(counterparty_code="tax", transaction_id=transaction_id)
    assert status["message"]["txnstatus_response"]["txn_status"] == "succ"


def test_answers_due_in_working_days_are_released_by_the_clock(
    department_simulator: DepartmentSimulator, answers: list[Any]
) -> None:
    department_simulator.configure("vehicles", answer_days=3)
    transaction_id, _ = search(department_simulator, "vehicles")
    department_simulator.advance(2)
    assert department_simulator.transaction("vehicles", transaction_id)["status"] == "pdng"  # type: ignore[index]
    department_simulator.advance(1)
    delivered(department_simulator, "vehicles", transaction_id)
    assert len(answers) == 1


def test_bad_signature(department_simulator: DepartmentSimulator, answers: list[Any]) -> None:
    department_simulator.fault("tax", "bad_signature")
    with pytest.raises(ExchangeError) as error:
        search(department_simulator)
    assert error.value.code == "exchange.bad_signature"
    ack = Message.objects.get(direction="in", action="search")
    assert ack.signature_ok is False
    # The department took the request all the same: its callback, badly signed, is refused and logged.
    transaction_id = Message.objects.get(direction="out").transaction_id
    assert delivered(department_simulator, "tax", transaction_id) == [401]  # 401 is final: no retry
    assert answers == []
    callback = Message.objects.get(direction="in", action="on-search")
    assert (callback.signature_ok, callback.accepted, callback.http_status) == (False, False, 401)
    assert AuditEvent.objects.filter(action="exchange.bad_signature").count() == 2


def test_unknown_person(department_simulator: DepartmentSimulator, answers: list[Any]) -> None:
    department_simulator.fault("tax", "unknown_person")
    transaction_id, _ = search(department_simulator)
    delivered(department_simulator, "tax", transaction_id)
    items = answers[0]["search_response"]
    assert {i["status"] for i in items} == {"rjct"}
    assert {i["status_reason_code"] for i in items} == {"rjct.person.not_found"}
    assert all("data" not in i for i in items)


def test_old_id_number(department_simulator: DepartmentSimulator, answers: list[Any]) -> None:
    department_simulator.fault("tax", "old_id_number")
    transaction_id, _ = search(department_simulator)
    delivered(department_simulator, "tax", transaction_id)
    shown = {
        i["reference_id"]: i["data"]["person"]["identifier_value"] for i in answers[0]["search_response"]
    }
    assert shown["m0"] == "110105491231002"  # the 1949 person's old number
    assert shown["m2"] == PEOPLE[2]  # born 2012: never had one
    assert person_key(shown["m0"]) == person_key(PEOPLE[0])


def test_a_file_department_is_not_searched(department_simulator: DepartmentSimulator) -> None:
    with pytest.raises(InvalidInput) as error:
        search(department_simulator, "bank")
    assert error.value.code == "exchange.wrong_mode"


# --- Batch files ---------------------------------------------------------------------------------------


def send_batch(dept: str = "bank") -> str:
    receipt = services.send_batch(
        counterparty_code=dept, transaction_id=f"B-{uuid.uuid4().hex[:12]}", queries=queries()
    )
    assert receipt["rows"] == len(PEOPLE)
    return str(receipt["batch_id"])


def test_batch_file_result_with_detached_signature(department_simulator: DepartmentSimulator) -> None:
    department_simulator.configure("bank", answer_days=1)
    batch_id = send_batch()
    assert services.fetch_batch_result(counterparty_code="bank", batch_id=batch_id) is None  # not due yet
    department_simulator.advance(1)
    result = wait_for(lambda: services.fetch_batch_result(counterparty_code="bank", batch_id=batch_id))
    assert {row["reference_id"] for row in result.rows} == {"m0", "m1", "m2"}
    assert {row["status"] for row in result.rows} <= {"found", "none"}
    assert result.record.accepted is True
    assert result.record.signature_ok is True
    again = services.fetch_batch_result(counterparty_code="bank", batch_id=batch_id)
    assert again is not None
    assert again.duplicate is True
    assert again.rows == result.rows
    out = Message.objects.get(direction="out", action="batch")
    assert out.accepted is True
    assert out.correlation_id == batch_id


@pytest.mark.parametrize(("mode", "problem"), [("wrong_row_count", "行数"), ("wrong_digest", "摘要")])
def test_a_result_file_that_does_not_match_its_manifest_is_refused(
    department_simulator: DepartmentSimulator, mode: str, problem: str
) -> None:
    department_simulator.fault("bank", mode)
    batch_id = send_batch()
    wait_for(lambda: department_simulator.state()["batches"][0]["status"] == "succ")
    with pytest.raises(ExchangeError) as error:
        services.fetch_batch_result(counterparty_code="bank", batch_id=batch_id)
    assert error.value.code == "exchange.bad_response"
    assert problem in error.value.message
    logged = Message.objects.get(direction="in", action="batch-result")
    assert logged.accepted is False
    assert problem in logged.error


def test_a_result_file_with_a_bad_signature_is_refused(department_simulator: DepartmentSimulator) -> None:
    department_simulator.fault("bank", "bad_signature")
    batch_id = send_batch()
    wait_for(lambda: department_simulator.state()["batches"][0]["status"] == "succ")
    with pytest.raises(BadSignature):
        services.fetch_batch_result(counterparty_code="bank", batch_id=batch_id)
    logged = Message.objects.get(direction="in", action="batch-result")
    assert logged.signature_ok is False
    assert logged.accepted is False


def test_a_refused_batch(department_simulator: DepartmentSimulator) -> None:
    department_simulator.fault("bank", "refuse")
    with pytest.raises(ExchangeError) as error:
        send_batch()
    assert error.value.code == "exchange.refused"
    assert "暂停受理" in Message.objects.get(direction="out").error


def test_load_counterparties_is_idempotent(department_simulator: DepartmentSimulator) -> None:
    before = AuditEvent.objects.filter(action="exchange.counterparty_register").count()
    assert before == 8
    out = io.StringIO()
    call_command("load_counterparties", "--url", department_simulator.url, stdout=out)
    assert "已登记 8 个交换部门" in out.getvalue()
    assert AuditEvent.objects.filter(action="exchange.counterparty_register").count() == before
    bank = Counterparty.objects.get(code="bank")
    assert (bank.mode, bank.base_url) == ("file", f"{department_simulator.url}/dept/bank")
