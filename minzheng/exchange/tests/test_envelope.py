"""The signed envelope: what is signed verifies, anything changed does not."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from minzheng.exchange import envelope
from minzheng.exchange.envelope import BadSignature


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def signed(key: Ed25519PrivateKey) -> dict:
    header = envelope.make_header(action="on-search", sender_id="tax", receiver_id="minzheng", total_count=1)
    message = {
        "transaction_id": "T1",
        "search_response": [{"reference_id": "r1", "amount": "3200.00", "名": "张三"}],
    }
    return envelope.sign(header, message, key)


def test_header_has_the_dci_fields(key: Ed25519PrivateKey) -> None:
    header = signed(key)["header"]
    assert set(header) == {
        "version", "message_id", "message_ts", "action", "status", "sender_id", "receiver_id", "total_count",
        "is_msg_encrypted",
    }  # fmt: skip
    assert header["is_msg_encrypted"] is False
    assert header["message_ts"].endswith("Z")


def test_signature_is_ed25519_over_canonical_header_and_message(key: Ed25519PrivateKey) -> None:
    env = signed(key)
    canonical = json.dumps(
        {"header": env["header"], "message": env["message"]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    key.public_key().verify(base64.b64decode(env["signature"]), canonical)  # raises if not
    header, message = envelope.verify(env, key.public_key())
    assert header == env["header"]
    assert message["search_response"][0]["名"] == "张三"


def test_a_round_trip_through_json_still_verifies(key: Ed25519PrivateKey) -> None:
    body = json.dumps(signed(key), indent=2, ensure_ascii=True)  # other spacing, escaped Chinese
    envelope.verify(envelope.parse(body.encode()), key.public_key())


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("message", lambda m: m["search_response"][0].update(amount="320.00")),
        ("message", lambda m: m.update(extra=1)),
        ("header", lambda h: h.update(sender_id="bank")),
        ("header", lambda h: h.update(message_id="another")),
        ("header", lambda h: h.update(total_count=2)),
    ],
)
def test_tampering_fails(key: Ed25519PrivateKey, part: str, change) -> None:
    env = copy.deepcopy(signed(key))
    change(env[part])
    with pytest.raises(BadSignature) as error:
        envelope.verify(env, key.public_key())
    assert error.value.code == "err.signature.invalid"


def test_another_key_fails(key: Ed25519PrivateKey) -> None:
    with pytest.raises(BadSignature):
        envelope.verify(signed(key), Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda e: e.pop("signature"), "err.signature.missing"),
        (lambda e: e.update(signature="not base64!"), "err.signature.invalid"),
        (lambda e: e.update(signature=base64.b64encode(b"short").decode()), "err.signature.invalid"),
        (lambda e: e.pop("message"), "err.request.bad"),
        (lambda e: e["header"].pop("message_id"), "err.request.bad"),
        (lambda e: e["header"].update(action="delete"), "err.request.bad"),
        (lambda e: e["header"].update(status="done"), "err.request.bad"),
        (lambda e: e["header"].update(is_msg_encrypted=True), "err.request.bad"),
    ],
)
def test_malformed_envelopes_are_refused(key: Ed25519PrivateKey, mutate, code: str) -> None:
    env = copy.deepcopy(signed(key))
    mutate(env)
    with pytest.raises(BadSignature) as error:
        envelope.verify(env, key.public_key())
    assert error.value.code == code


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_no_envelope_is_refused(body: bytes) -> None:
    with pytest.raises(BadSignature) as error:
        envelope.parse(body)
    assert error.value.code == "err.request.bad"


def test_keys_round_trip_through_pem(key: Ed25519PrivateKey) -> None:
    pem = envelope.generate_private_key_pem()
    private = envelope.load_private_key(pem)
    public = envelope.load_public_key(envelope.public_key_pem(private))
    env = envelope.sign(
        envelope.make_header(action="search", sender_id="a", receiver_id="b"), {"x": 1}, private
    )
    envelope.verify(env, public)
    assert envelope.key_id(private) == envelope.key_id(public)
    with pytest.raises(BadSignature):
        envelope.load_public_key("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")


def test_detached_file_signature(key: Ed25519PrivateKey) -> None:
    data = b"reference_id,amount\nr1,3200.00\n"
    signature = envelope.sign_bytes(data, key)
    envelope.verify_bytes(data, signature, key.public_key())
    with pytest.raises(BadSignature):
        envelope.verify_bytes(data + b"r2,1.00\n", signature, key.public_key())
    with pytest.raises(BadSignature):
        envelope.verify_bytes(data, "garbage", key.public_key())
