from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from minzheng.org.scope import jurisdiction_of
from minzheng.web.menu import menu_for


def shell(request: HttpRequest) -> dict[str, object]:
    context: dict[str, object] = {"demo_mode": settings.DEMO_MODE}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["menu"] = menu_for(user, request.path)  # type: ignore[arg-type]
        context["jurisdiction"] = jurisdiction_of(user)  # type: ignore[arg-type]
    return context
