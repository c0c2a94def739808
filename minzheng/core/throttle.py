"""Fixed-window limits: what the public may do without logging in (look up a case by number and ID
number, apply online), per client address, so that neither can be used to guess ID numbers or flood
the window with applications; and what one account may do (reveal full ID numbers), per account.

Counts live in Django's cache (`CACHES["default"]`), which outside the test suite is the database
cache (table `minzheng_cache`, created by migration core 0004): every web process on every host
counts in the same place, so a limit is one limit however many workers serve the site. (The count is
read and written in two statements, so requests arriving in the same instant may each see the same
count: the limit can be overshot by the number of requests truly simultaneous, never multiplied.)

Behind a reverse proxy every request comes from the proxy's address. MINZHENG_TRUSTED_PROXIES lists
the proxies (addresses or networks); only when the direct peer is one of them is X-Forwarded-For
read, from the right, skipping further trusted proxies: the first address that is not a trusted
proxy is the client. A client cannot forge its way past the limit by sending its own
X-Forwarded-For, because the proxy appends the real peer to the right of whatever it was sent.

Limits are settings: MINZHENG_PUBLIC_LIMITS maps a scope to (requests, window seconds).
"""

from __future__ import annotations

import ipaddress
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from minzheng.core.errors import TooManyRequests

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "status_lookup": (20, 600),  # 20 look-ups per 10 minutes
    "online_application": (10, 3600),  # 10 applications per hour
    "exchange_callback": (600, 60),  # departments' callbacks (minzheng.exchange), per address
    "receipt_rating": (30, 600),  # ratings of service-quality receipts (minzheng.feedback)
}

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def limit_for(scope: str) -> tuple[int, int]:
    limits = {**DEFAULT_LIMITS, **getattr(settings, "MINZHENG_PUBLIC_LIMITS", {})}
    return limits[scope]


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if address is None:
        return False
    networks = _networks(tuple(getattr(settings, "MINZHENG_TRUSTED_PROXIES", ())))
    return any(address in network for network in networks)


def client_key(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or, when that is a trusted proxy, the right-most address
    of X-Forwarded-For that is not itself a trusted proxy."""
    peer = str(request.META.get("REMOTE_ADDR") or "unknown")
    if not _trusted(_address(peer)):
        return peer
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop for hop in (h.strip() for h in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # a malformed header: count the proxy, not whatever was written there
        if not _trusted(address):
            return str(address)
    return str(_address(hops[0])) if hops else peer


def hit(key: str, window: int) -> int:
    """Count one event under `key` in the current window; the count so far, this one included."""
    bucket = f"throttle:{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, timeout=window):
        return 1
    try:
        return int(cache.incr(bucket))
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window)
        return 1


def _refusal(window: int) -> TooManyRequests:
    minutes = max(1, window // 60)
    return TooManyRequests(_("操作过于频繁，请%(minutes)s分钟后再试") % {"minutes": minutes})


def check(request: HttpRequest, scope: str) -> None:
    """Count one request of `scope` from this client; raise TooManyRequests over the limit."""
    limit, window = limit_for(scope)
    if hit(f"{scope}:{client_key(request)}", window) > limit:
        raise _refusal(window)


def check_account(scope: str, account_id: object, limit: int, window: int) -> None:
    """Count one use of `scope` by an account; raise TooManyRequests over `limit` per `window` s."""
    if hit(f"{scope}:account:{account_id}", window) > limit:
        raise _refusal(window)
