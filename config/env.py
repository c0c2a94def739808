"""Typed environment settings. Fail fast: a production start without a secret is refused.

The embedded default (SQLite file, secrets generated into var/) exists only for the one-command
demo and for tests, and says so at start-up.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class Mode(StrEnum):
    PRODUCTION = "production"
    DEMO = "demo"
    TEST = "test"


class Env(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINZHENG_", extra="ignore")

    mode: Mode = Mode.PRODUCTION
    debug: bool = False
    secret_key: str = Field(default="", min_length=0)
    # Key for protected personal data (resident ID numbers): 32 random bytes, urlsafe base64.
    pii_key: str = ""
    # Key signing the daily audit checkpoints; empty: derived from the secret key (core.audit_checkpoint).
    audit_key: str = ""
    # Hours an import's uploaded file (full ID numbers) is kept at most, whatever became of the job.
    import_keep_hours: int = Field(default=24, ge=1, le=24 * 30)
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    allowed_hosts: list[str] = ["127.0.0.1", "localhost"]
    csrf_trusted_origins: list[str] = []
    static_root: Path = BASE_DIR / "staticfiles"
    media_root: Path = VAR_DIR / "media"
    session_idle_minutes: int = Field(default=30, ge=5, le=480)
    login_failure_limit: int = Field(default=5, ge=3, le=20)
    lockout_minutes: int = Field(default=30, ge=1)
    # Lifetime of an API token, and the longest a token may be issued for (MINZHENG_API_TOKEN_DAYS).
    api_token_days: int = Field(default=90, ge=1, le=366)
    secure_cookies: bool = False
    # How often a background worker sweeps for work whose process died (core.recovery), seconds.
    recovery_seconds: float = Field(default=60.0, ge=0.2, le=3600.0)
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed, as a JSON list.
    trusted_proxies: list[str] = []
    # Full ID-number reveals one account may make per window (MINZHENG_ID_REVEAL_LIMIT per
    # MINZHENG_ID_REVEAL_WINDOW_MINUTES); more are refused and audited.
    id_reveal_limit: int = Field(default=30, ge=1, le=10000)
    id_reveal_window_minutes: int = Field(default=60, ge=1, le=1440)
    # Input windows and limits (minzheng.core.inputs).
    earliest_date: date = date(1900, 1, 1)
    future_years: int = Field(default=10, ge=1, le=100)
    earliest_month: date = date(2000, 1, 1)
    future_months: int = Field(default=24, ge=1, le=240)
    money_max: Decimal = Field(default=Decimal("100000000.00"), gt=0)
    monthly_money_max: Decimal = Field(default=Decimal("1000000.00"), gt=0)
    benefit_monthly_max: Decimal = Field(default=Decimal("50000.00"), gt=0)
    # Largest request body apart from file uploads, and largest upload (bytes).
    max_body_bytes: int = Field(default=2_621_440, ge=65_536)
    max_upload_bytes: int = Field(default=21 * 1024 * 1024, ge=1_048_576)
    # Data exchange with other departments (minzheng.exchange): our Ed25519 signing key (PEM, PKCS#8;
    # generated into var/exchange_key.pem for demo and test runs), the sender id other departments
    # know us by, and how long to wait for a department's acknowledgement (seconds).
    exchange_key: str = ""
    exchange_sender_id: str = Field(default="minzheng", min_length=1, max_length=100)
    exchange_timeout: float = Field(default=10.0, gt=0, le=300)
    # The absolute base URL departments call back (…/api/v1/exchange/{code}/callback); empty: the
    # address the request that sent the query came in on.
    exchange_callback_base: str = Field(default="", max_length=300)
    # Text messages to online applicants (cases.notifications): the SMS gateway's URL (HTTP POST of
    # {to, text, ref}); empty: no texts, the notices are only shown on the status page.
    sms_gateway_url: str = Field(default="", max_length=300)
    sms_timeout: float = Field(default=5.0, gt=0, le=60)
    # What an online applicant may upload for missing materials (网上补交): files per case, MB each;
    # and how long the status page remembers who they are (minutes).
    applicant_upload_max_files: int = Field(default=10, ge=1, le=100)
    applicant_upload_max_mb: int = Field(default=5, ge=1, le=20)
    applicant_session_minutes: int = Field(default=30, ge=5, le=240)

    @model_validator(mode="after")
    def _secrets_in_production(self) -> Self:
        if self.mode is Mode.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("MINZHENG_SECRET_KEY", self.secret_key),
                    ("MINZHENG_PII_KEY", self.pii_key),
                    ("DATABASE_URL", self.database_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    "production mode needs " + ", ".join(missing) + " (set MINZHENG_MODE=demo for the demo)"
                )
            if len(self.secret_key) < 50:
                raise ValueError("MINZHENG_SECRET_KEY must be at least 50 characters")
        return self

    @property
    def is_demo(self) -> bool:
        return self.mode is Mode.DEMO


def _local_secret(name: str, make: type[str] | None = None) -> str:
    """A secret generated once into var/ for demo and test runs; never used in production."""
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(48)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _local_exchange_key() -> str:
    """An Ed25519 key generated once into var/exchange_key.pem for demo and test runs."""
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "exchange_key.pem"
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()


def load_env() -> Env:
    env = Env()
    if env.mode is not Mode.PRODUCTION:
        if not env.secret_key:
            env.secret_key = _local_secret("secret_key")
        if not env.pii_key:
            env.pii_key = _local_secret("pii_key")
        if not env.exchange_key:
            env.exchange_key = _local_exchange_key()
        if not env.database_url:
            VAR_DIR.mkdir(exist_ok=True)
            env.database_url = f"sqlite:///{VAR_DIR / 'minzheng.sqlite3'}"
    return env
