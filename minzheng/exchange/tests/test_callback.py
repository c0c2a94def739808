"""The callback endpoint: a signed answer is taken once, a repeat changes nothing, a bad signature is
refused and logged, an answer for an unknown transaction is refused, logged and may come again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from minzheng.core.errors import NotFound
from minzheng.core.models import AuditEvent
from minzheng.exchange import envelope, keys
from minzheng.exchange.models import Counterparty, Message
from minzheng.exchange.services import counterparty_register, registered_handler
from minzheng.exchange.testing import handling
from minzheng.org.models import Division
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

ID_NUMBER = "11010519491231002X"
URL = "/api/v1/exchange/tax/callback"


@pytest.fixture
def tax_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def tax(db: None, tax_key: Ed25519PrivateKey) -> Counterparty:
    return counterparty_register(
        code="tax",
        name="税务局",
        base_url="http://127.0.0.1:9/dept/tax",
        public_key_pem=envelope.public_key_pem(tax_key),
    )


@pytest.fixture
def handled() -> Iterator[list[dict[str, Any]]]:
    """The on-search answers handed on; transaction "unknown" is refused as the verification app would."""
    calls: list[dict[str, Any]] = []
    known = {"T1"}

    def handle(*, record: Message, header: dict[str, Any], message: dict[str, Any]) -> None:
        if message.get("transaction_id") not in known:
            raise NotFound("没有这个核对事务")
        calls.append(message)

    handle.known = known  # type: ignore[attr-defined]
    with handling("on-search", handle):
        yield calls


def answer(key: Ed25519PrivateKey, *, transaction_id: str = "T1", message_id: str | None = None) -> bytes:
    header = envelope.make_header(
        action="on-search",
        sender_id="tax",
        receiver_id=keys.sender_id(),
        total_count=1,
        message_id=message_id,
    )
    message = {
        "transaction_id": transaction_id,
        "correlation_id": "C1",
        "search_response": [
            {
                "reference_id": "r1",
                "status": "succ",
                "data": {
                    "person": {"identifier_type": "resident_id", "identifier_value": ID_NUMBER},
                    "reg_records": [{"category": "tax_income", "item_type": "wage", "amount": "3200.00"}],
                },
            }
        ],
    }
    return envelope.canonical_json(envelope.sign(header, message, key))


def post(body: bytes, url: str = URL) -> Any:
    return Client(enforce_csrf_checks=True).post(url, data=body, content_type="application/json")


def exchange_audit() -> str:
    return json.dumps(
        list(AuditEvent.objects.filter(action__startswith="exchange.").values("action", "reason", "after")),
        ensure_ascii=False,
    )


def test_a_signed_answer_is_taken_and_handed_on(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[dict[str, Any]]
) -> None:
    body = answer(tax_key, message_id="M1")
    response = post(body)
    assert response.status_code == 200, response.content
    assert response.json()["message"]["ack_status"] == "ACK"
    assert response.json()["message"]["duplicate"] is False
    assert [m["transaction_id"] for m in handled] == ["T1"]
    record = Message.objects.get()
    assert (record.direction, record.action, record.message_id) == ("in", "on-search", "M1")
    assert (record.transaction_id, record.correlation_id, record.counterparty_id) == ("T1", "C1", "tax")
    assert record.signature_ok is True
    assert record.accepted is True
    assert record.http_status == 200
    assert record.payload_sha256 == envelope.digest(body)
    assert ID_NUMBER not in record.payload_sealed  # sealed, not in clear
    assert AuditEvent.objects.filter(action="exchange.received", object_id=str(record.pk)).exists()
    assert ID_NUMBER not in exchange_audit()


def test_a_repeated_answer_is_acknowledged_and_changes_nothing(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[dict[str, Any]]
) -> None:
    body = answer(tax_key, message_id="M1")
    first = post(body)
    second = post(body)
    assert first.status_code == second.status_code == 200
    assert second.json()["message"]["duplicate"] is True
    assert len(handled) == 1  # the handler ran once
    assert Message.objects.filter(accepted=True).count() == 1
    repeat = Message.objects.get(accepted=False)
    assert "重复" in repeat.error
    assert repeat.signature_ok is True
    assert AuditEvent.objects.filter(action="exchange.duplicate").count() == 1


def test_a_bad_signature_is_refused_and_logged(tax: Counterparty, handled: list[dict[str, Any]]) -> None:
    forged = answer(Ed25519PrivateKey.generate(), message_id="M1")
    response = post(forged)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert set(response.json()) == {"code", "message", "field_errors"}
    assert handled == []
    record = Message.objects.get()
    assert record.signature_ok is False
    assert record.accepted is False
    assert record.http_status == 401
    assert record.message_id == "M1"
    assert "err.signature.invalid" in record.error
    assert AuditEvent.objects.filter(action="exchange.bad_signature").count() == 1
    english = Client().post(URL, data=forged, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["message"] == "The message's signature is invalid: it was refused and logged"


def test_a_tampered_answer_is_refused(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[Any]
) -> None:
    env = json.loads(answer(tax_key))
    env["message"]["search_response"][0]["data"]["reg_records"][0]["amount"] = "32.00"
    assert post(json.dumps(env).encode()).status_code == 401
    assert handled == []


def test_a_forged_answer_does_not_block_the_real_one(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[Any]
) -> None:
    assert post(answer(Ed25519PrivateKey.generate(), message_id="M1")).status_code == 401
    assert post(answer(tax_key, message_id="M1")).status_code == 200
    assert len(handled) == 1


@pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"header": {}, "message": {}}'])
def test_a_body_that_is_no_signed_envelope_is_refused(
    tax: Counterparty, handled: list[Any], body: bytes
) -> None:
    response = post(body)
    assert response.status_code == 401
    assert Message.objects.get().signature_ok is False
    assert handled == []


def test_an_answer_for_someone_else_is_refused(tax: Counterparty, tax_key: Ed25519PrivateKey) -> None:
    header = envelope.make_header(action="on-search", sender_id="tax", receiver_id="another-system")
    body = envelope.canonical_json(envelope.sign(header, {"transaction_id": "T1"}, tax_key))
    assert post(body).status_code == 401
    assert "err.receiver_id.invalid" in Message.objects.get().error


def test_an_answer_for_an_unknown_transaction_is_refused_logged_and_may_come_again(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[Any]
) -> None:
    body = answer(tax_key, transaction_id="T2", message_id="M2")
    response = post(body)
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "field_errors"}
    assert handled == []
    refused = Message.objects.get()
    assert refused.signature_ok is True
    assert refused.accepted is False
    assert refused.http_status == 404
    assert refused.error == "没有这个核对事务"
    assert AuditEvent.objects.filter(action="exchange.rejected").count() == 1
    # The transaction is known now (the request committed later): the department's retry is taken.
    registered_handler("on-search").known.add("T2")  # type: ignore[union-attr]
    assert post(body).status_code == 200
    assert [m["transaction_id"] for m in handled] == ["T2"]


def test_an_unknown_or_inactive_department_is_refused(tax: Counterparty, tax_key: Ed25519PrivateKey) -> None:
    assert post(answer(tax_key), "/api/v1/exchange/bank/callback").status_code == 404
    Counterparty.objects.filter(code="tax").update(active=False)
    assert post(answer(tax_key)).status_code == 404
    assert not Message.objects.exists()
    assert AuditEvent.objects.filter(action="exchange.unknown_counterparty").count() == 2


def test_an_action_nobody_handles_is_refused(tax: Counterparty, tax_key: Ed25519PrivateKey) -> None:
    header = envelope.make_header(action="search", sender_id="tax", receiver_id=keys.sender_id())
    body = envelope.canonical_json(envelope.sign(header, {"transaction_id": "T1"}, tax_key))
    response = post(body)
    assert response.status_code == 422
    assert Message.objects.get().accepted is False


def test_callbacks_are_limited_per_address(
    tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[Any], settings: Any
) -> None:
    settings.MINZHENG_PUBLIC_LIMITS = {"exchange_callback": (2, 60)}
    assert post(answer(tax_key)).status_code == 200
    assert post(answer(tax_key)).status_code == 200
    assert post(answer(tax_key)).status_code == 429


def test_our_public_key_is_offered(client: Client, db: None) -> None:
    response = client.get("/api/v1/exchange/public-key")
    assert response.status_code == 200
    body = response.json()
    assert body["sender_id"] == keys.sender_id()
    assert body["algorithm"] == "ed25519"
    public = envelope.load_public_key(body["public_key_pem"])
    signed = envelope.sign(
        envelope.make_header(action="search", sender_id="minzheng", receiver_id="tax"), {}, keys.private_key()
    )
    envelope.verify(signed, public)
    assert body["key_id"] == envelope.key_id(public)
    assert "PRIVATE" not in response.content.decode()


def test_the_message_log_is_for_auditors_and_shows_digests_only(
    tree: dict[str, Division], tax: Counterparty, tax_key: Ed25519PrivateKey, handled: list[Any]
) -> None:
    post(answer(tax_key, message_id="M1"))
    post(answer(Ed25519PrivateKey.generate(), message_id="M9"))
    auditor = make_staff("auditor", "640202000000", [Role.AUDITOR])
    admin = make_staff("sysadmin", "640202000000", [Role.SYSTEM_ADMIN])
    assistant = make_staff("assistant", "640202001001", [Role.VILLAGE_ASSISTANT])
    client = Client()
    client.force_login(auditor)
    listing = client.get("/api/v1/exchange/messages")
    assert listing.status_code == 200
    assert listing.json()["count"] == 2
    item = listing.json()["items"][0]
    assert "payload_sealed" not in item
    assert len(item["payload_sha256"]) == 64
    assert ID_NUMBER not in listing.content.decode()
    bad = client.get("/api/v1/exchange/messages", {"signature_ok": "false"}).json()
    assert [m["message_id"] for m in bad["items"]] == ["M9"]
    client.force_login(admin)
    assert client.get("/api/v1/exchange/messages").status_code == 200
    client.force_login(assistant)
    assert client.get("/api/v1/exchange/messages").status_code == 403
