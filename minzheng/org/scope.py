"""Data scope: which records an account may see or change.

A jurisdiction is the division prefix of the account's office. Every scoped model carries the
12-digit code of the division it belongs to (for a household, its village); a record is in scope
when that code starts with the prefix. Selectors apply `scoped()`; nothing else decides visibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, QuerySet

from minzheng.core.errors import OutOfScope, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Jurisdiction:
    prefix: str
    division_code: str
    name: str

    def contains(self, code: str) -> bool:
        return bool(code) and code.startswith(self.prefix)


def jurisdiction_of(actor: Staff) -> Jurisdiction:
    division = actor.office.division
    return Jurisdiction(prefix=division.prefix, division_code=division.code, name=division.name)


def scoped(queryset: QuerySet[M], actor: Staff, *, field: str = "division__code") -> QuerySet[M]:
    """Restrict `queryset` to the actor's jurisdiction through the division code in `field`."""
    if not actor.is_active:
        return queryset.none()
    return queryset.filter(**{f"{field}__startswith": jurisdiction_of(actor).prefix})


def require(actor: Staff, perm: Perm) -> None:
    if not actor.can(perm):
        raise PermissionDenied()


def require_in_scope(actor: Staff, code: str) -> None:
    if not jurisdiction_of(actor).contains(code):
        raise OutOfScope()
