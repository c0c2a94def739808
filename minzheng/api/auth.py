"""API authentication: the browser session (with CSRF) or a bearer token issued to a staff account.

A request that carries `Authorization: Bearer …` is the token's alone: the session is not looked at,
so no CSRF token is asked for (a browser on another site cannot set that header). A request without
a session cookie has no session to forge either. Anything else that relies on the session cookie
must carry the CSRF token.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from minzheng.core.errors import PermissionDenied
from minzheng.org.backends import demo_account_blocked
from minzheng.org.models import ApiToken, Staff
from minzheng.org.services import api_token_record_use, token_digest

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What an account that must change its password may still do through the API (url names).
PASSWORD_CHANGE_OPERATIONS = frozenset({"me", "change_password"})


def _bearer(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def require_password_current(request: HttpRequest, staff: Staff) -> None:
    """The forced password change (first sign-in, after a reset) holds on the API as on the pages."""
    match = request.resolver_match
    if staff.must_change_password and (match is None or match.url_name not in PASSWORD_CHANGE_OPERATIONS):
        raise PermissionDenied(
            "须先修改密码才能使用接口：请登录系统修改密码，或调用 POST /api/v1/me/password",
            code="password_change_required",
        )


class StaffSession(SessionAuth):
    def __call__(self, request: HttpRequest) -> Any:
        if _bearer(request) or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active and not demo_account_blocked(user):
            require_password_current(request, user)  # type: ignore[arg-type]
            return user
        return None


class StaffToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.select_related("staff__office__division")
            .filter(
                digest=token_digest(token),
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
                staff__is_active=True,
            )
            .first()
        )
        if found is None or demo_account_blocked(found.staff):
            return None
        if found.read_only and request.method not in READ_METHODS:
            raise PermissionDenied("该令牌为只读令牌，只能用于查询", code="token_read_only")
        require_password_current(request, found.staff)
        api_token_record_use(
            token=found,
            method=request.method or "",
            path=request.path,
            address=request.META.get("REMOTE_ADDR", ""),
        )
        request.user = found.staff
        return found.staff
