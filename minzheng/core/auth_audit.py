"""Sign-ins, refused sign-ins and lockouts go into the audit trail (等保三级 8.1.4.3 安全审计).

Django and django-axes announce them as signals; these receivers only record them (through the
helpers of core.audit), they change nothing else. Connected by CoreConfig.ready. Unlocks are
recorded by org.services.staff_unlock, API token use by the token check (core.audit.audit_token_use).
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from minzheng.core.audit import audit_lockout, audit_sign_in, audit_sign_in_failed


def _address(request: HttpRequest | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


def _account(username: str) -> Any:
    """The account a username names, if it has an office (the audit files events under it)."""
    account = get_user_model()._default_manager.filter(username=username).first()
    return account if account is not None and getattr(account, "office_id", None) else None


@receiver(user_logged_in, dispatch_uid="minzheng.core.audit_sign_in")
def _signed_in(sender: object, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and getattr(user, "office_id", None):
        audit_sign_in(actor=user, address=_address(request))


@receiver(user_login_failed, dispatch_uid="minzheng.core.audit_sign_in_failed")
def _refused(
    sender: object,
    credentials: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    username = str((credentials or {}).get("username") or "")
    audit_sign_in_failed(username=username, actor=_account(username), address=_address(request))


@receiver(user_locked_out, dispatch_uid="minzheng.core.audit_lockout")
def _locked_out(
    sender: object, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    name = username or ""
    audit_lockout(username=name, actor=_account(name), address=_address(request))
