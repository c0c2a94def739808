from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class SecurityHeadersMiddleware:
    """Headers Django does not set itself; and staff who must change their password do so first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(("/static/", "/api/", "/i18n/"))
            and request.path not in (reverse("web:password_change"), reverse("web:logout"))
        ):
            return redirect("web:password_change")
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if getattr(user, "is_authenticated", False):
            response.setdefault("Cache-Control", "no-store")
        return response
