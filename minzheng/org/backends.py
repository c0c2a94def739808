"""Authentication backend: Django's model backend, with permissions from roles (not Django groups)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.dispatch import receiver

from config.env import Mode
from minzheng.org.services import api_tokens_revoke_on_lockout


def demo_account_blocked(user: Any) -> bool:
    """Demo accounts have public passwords: outside demo (and test) mode they cannot sign in."""
    return bool(getattr(user, "is_demo", False)) and settings.MODE is Mode.PRODUCTION


class RolePermissionBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and not demo_account_blocked(user)

    def get_all_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        if not getattr(user_obj, "is_active", False):
            return set()
        return {str(p) for p in getattr(user_obj, "permissions", ())}

    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)


@receiver(user_locked_out, dispatch_uid="minzheng.org.revoke_tokens_on_lockout")
def revoke_tokens_on_lockout(sender: object, *, username: str | None = None, **kwargs: Any) -> None:
    """A lockout (repeated failed sign-ins: the password may be being guessed) revokes the
    account's API tokens too; the owner issues new ones after signing in again."""
    if username:
        api_tokens_revoke_on_lockout(username=username)
