"""API authentication: the browser session (with CSRF) or a bearer token issued to a staff account."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from minzheng.org.backends import demo_account_blocked
from minzheng.org.models import ApiToken
from minzheng.org.services import token_digest


class StaffSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active and not demo_account_blocked(user):
            return user
        return None


class StaffToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        now = timezone.now()
        found = (
            ApiToken.objects.select_related("staff__office__division")
            .filter(digest=token_digest(token), revoked_at__isnull=True, staff__is_active=True)
            .first()
        )
        if found is None or (found.expires_at is not None and found.expires_at <= now):
            return None
        if demo_account_blocked(found.staff):
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.staff
        return found.staff
