"""Request limits: shared across processes through the database cache, aware of trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django.test import RequestFactory

from minzheng.core import throttle
from minzheng.core.errors import TooManyRequests

DATABASE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "minzheng_cache"}
}


def request(remote: str, forwarded: str | None = None) -> Any:
    if forwarded is None:
        return RequestFactory().get("/public/status", REMOTE_ADDR=remote)
    return RequestFactory().get("/public/status", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)


def test_the_cache_table_is_created_by_migrate(db: None) -> None:
    assert "minzheng_cache" in connection.introspection.table_names()


def test_the_database_cache_counts_once_for_every_process(db: None, settings: Any) -> None:
    """Two web processes are two cache objects over one table: the second sees the first's count."""
    settings.CACHES = DATABASE_CACHE
    settings.MINZHENG_PUBLIC_LIMITS = {"status_lookup": (3, 600)}
    assert isinstance(caches["default"], DatabaseCache)
    worker_a = DatabaseCache("minzheng_cache", {})
    worker_b = DatabaseCache("minzheng_cache", {})
    throttle.check(request("198.51.100.7"), "status_lookup")
    throttle.check(request("198.51.100.7"), "status_lookup")
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM minzheng_cache")
        keys = [k for (k,) in cursor.fetchall()]
    assert len(keys) == 1
    key = keys[0].split(":", 2)[-1]
    assert worker_a.get(key) == 2
    assert worker_b.get(key) == 2
    throttle.check(request("198.51.100.7"), "status_lookup")
    with pytest.raises(TooManyRequests):
        throttle.check(request("198.51.100.7"), "status_lookup")
    throttle.check(request("198.51.100.8"), "status_lookup")  # another citizen is unaffected


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings: Any) -> None:
    settings.MINZHENG_TRUSTED_PROXIES = []
    assert throttle.client_key(request("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


def test_behind_a_trusted_proxy_each_citizen_counts_alone(settings: Any) -> None:
    settings.MINZHENG_TRUSTED_PROXIES = ["10.0.0.5", "10.1.0.0/16"]
    settings.MINZHENG_PUBLIC_LIMITS = {"status_lookup": (2, 600)}
    assert throttle.client_key(request("10.0.0.5", "203.0.113.9")) == "203.0.113.9"
    # A forged header: the client wrote an address; the proxy appended the real one on the right.
    assert throttle.client_key(request("10.0.0.5", "192.0.2.1, 203.0.113.9")) == "203.0.113.9"
    # Two proxies in a row, both trusted: the first untrusted from the right is the client.
    assert throttle.client_key(request("10.0.0.5", "203.0.113.9, 10.1.2.3")) == "203.0.113.9"
    assert throttle.client_key(request("10.0.0.5", "garbage")) == "10.0.0.5"
    assert throttle.client_key(request("10.0.0.5")) == "10.0.0.5"
    for _ in range(2):
        throttle.check(request("10.0.0.5", "203.0.113.9"), "status_lookup")
        throttle.check(request("10.0.0.5", "203.0.113.10"), "status_lookup")
    with pytest.raises(TooManyRequests):
        throttle.check(request("10.0.0.5", "203.0.113.9"), "status_lookup")
    # A client that is not a proxy cannot pick its own address.
    throttle.check(request("198.51.100.1", "203.0.113.9"), "status_lookup")


def test_an_account_limit_counts_per_account() -> None:
    for _ in range(3):
        throttle.check_account("id_reveal", 1, 3, 3600)
    with pytest.raises(TooManyRequests, match="操作过于频繁"):
        throttle.check_account("id_reveal", 1, 3, 3600)
    throttle.check_account("id_reveal", 2, 3, 3600)
