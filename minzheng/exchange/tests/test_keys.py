"""Our signing key: from MINZHENG_EXCHANGE_KEY, or generated once into var/ for demo and test runs."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env as config_env
from minzheng.exchange import envelope, keys


def test_demo_and_test_runs_generate_the_key_once_into_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_env, "VAR_DIR", tmp_path)
    monkeypatch.setenv("MINZHENG_MODE", "demo")
    monkeypatch.delenv("MINZHENG_EXCHANGE_KEY", raising=False)
    first = config_env.load_env().exchange_key
    path = tmp_path / "exchange_key.pem"
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config_env.load_env().exchange_key == first  # kept, not regenerated
    envelope.load_private_key(first)


def test_the_key_from_the_environment_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pem = envelope.generate_private_key_pem()
    monkeypatch.setattr(config_env, "VAR_DIR", tmp_path)
    monkeypatch.setenv("MINZHENG_MODE", "demo")
    monkeypatch.setenv("MINZHENG_EXCHANGE_KEY", pem)
    assert config_env.load_env().exchange_key == pem
    assert not (tmp_path / "exchange_key.pem").exists()


def test_the_public_key_matches_the_private_one(settings: object) -> None:
    pem = envelope.generate_private_key_pem()
    settings.MINZHENG_EXCHANGE_KEY = pem  # type: ignore[attr-defined]
    assert keys.public_key_pem() == envelope.public_key_pem(envelope.load_private_key(pem))


def test_without_a_key_nothing_can_be_signed(settings: object) -> None:
    settings.MINZHENG_EXCHANGE_KEY = ""  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured):
        keys.private_key()
