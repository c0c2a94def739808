"""Protection of personal identifiers at rest.

A resident ID number is stored twice, never in clear: encrypted with AES-GCM (so the full number
can be shown to roles that need it, each display audited) and as a keyed HMAC-SHA256 digest (so an
exact lookup and a UNIQUE constraint work without decrypting). Both keys are derived with HKDF from
MINZHENG_PII_KEY; the ciphertext carries a key version so keys can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

KEY_VERSION = "v1"


def _derive(info: bytes) -> bytes:
    material = settings.MINZHENG_PII_KEY.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"minzheng-pii", info=info).derive(material)


@cache
def _keys(material: str) -> tuple[AESGCM, bytes]:
    return AESGCM(_derive(b"encrypt")), _derive(b"lookup")


def _current() -> tuple[AESGCM, bytes]:
    return _keys(settings.MINZHENG_PII_KEY)


def lookup_digest(value: str) -> str:
    """Keyed digest for exact lookup; hex, 64 characters."""
    return hmac.new(_current()[1], value.encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = _current()[0].encrypt(nonce, value.encode(), None)
    return f"{KEY_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    version, _, payload = token.partition(":")
    if version != KEY_VERSION:
        raise ValueError(f"unknown key version {version!r}")
    raw = base64.urlsafe_b64decode(payload)
    return _current()[0].decrypt(raw[:12], raw[12:], None).decode()
