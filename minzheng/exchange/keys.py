"""Our own signing key for the exchange: from MINZHENG_EXCHANGE_KEY (PEM), generated into
var/exchange_key.pem for demo and test runs (config.env)."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from minzheng.exchange import envelope


@cache
def _load(pem: str) -> Ed25519PrivateKey:
    return envelope.load_private_key(pem)


def private_key() -> Ed25519PrivateKey:
    pem = settings.MINZHENG_EXCHANGE_KEY
    if not pem:
        raise ImproperlyConfigured("MINZHENG_EXCHANGE_KEY is not set: the exchange cannot sign messages")
    return _load(pem)


def public_key_pem() -> str:
    return envelope.public_key_pem(private_key())


def key_id() -> str:
    return envelope.key_id(private_key())


def sender_id() -> str:
    """The id other departments know Minzheng by (header sender_id / receiver_id)."""
    return str(settings.MINZHENG_EXCHANGE_SENDER_ID)
