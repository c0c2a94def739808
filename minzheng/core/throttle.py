"""A fixed-window limit on what the public may do without logging in (look up a case by number and
ID number, apply online), per client address, so that neither can be used to guess ID numbers or
flood the window with applications.

Counts live in Django's cache (`CACHES["default"]`): with the default in-process cache each server
process counts on its own, so the effective limit is the limit times the processes; a shared cache
(database or Redis) makes it exact. Limits are settings: MINZHENG_PUBLIC_LIMITS maps a scope to
(requests, window seconds).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from minzheng.core.errors import TooManyRequests

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "status_lookup": (20, 600),  # 20 look-ups per 10 minutes
    "online_application": (10, 3600),  # 10 applications per hour
}


def limit_for(scope: str) -> tuple[int, int]:
    limits = {**DEFAULT_LIMITS, **getattr(settings, "MINZHENG_PUBLIC_LIMITS", {})}
    return limits[scope]


def client_key(request: HttpRequest) -> str:
    """The client's address as the server saw it (a reverse proxy sets REMOTE_ADDR through the WSGI
    server's trusted-proxy setting; X-Forwarded-For is not trusted here)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def check(request: HttpRequest, scope: str) -> None:
    """Count one request of `scope` from this client; raise TooManyRequests over the limit."""
    limit, window = limit_for(scope)
    key = f"throttle:{scope}:{client_key(request)}:{int(time.time() // window)}"
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)
            count = 1
    if count > limit:
        minutes = max(1, window // 60)
        raise TooManyRequests(f"操作过于频繁，请{minutes}分钟后再试")
