"""Authentication backend: Django's model backend, with permissions from roles (not Django groups)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class RolePermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        if not getattr(user_obj, "is_active", False):
            return set()
        return {str(p) for p in getattr(user_obj, "permissions", ())}

    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)
