"""Tampering with the audit tables as someone holding the audit owner's rights would (a DBA, a
restore of an edited dump): what the checks must find. Tests only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_OWNER = """
SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'core_auditevent'
"""


def audit_owner() -> str:
    with connection.cursor() as cursor:
        cursor.execute(_OWNER)
        row = cursor.fetchone()
    return str(row[0]) if row else ""


@contextmanager
def as_audit_owner(*, trigger_off: bool = True) -> Iterator[Any]:
    """A cursor with the audit owner's rights (PostgreSQL: the test role joins the owner role for
    this block; it needs CREATEROLE, which .ci/run grants) and the append-only trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            yield cursor
            return
        # Deferred foreign-key checks of this transaction must run before the table is altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        owner = audit_owner()
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
        joined = owner != me
        if joined:
            cursor.execute(f'GRANT "{owner}" TO "{me}"')
        if trigger_off:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
        try:
            yield cursor
        finally:
            if trigger_off:
                cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")
            if joined:
                cursor.execute(f'REVOKE "{owner}" FROM "{me}"')


def tamper(sql: str, params: list[Any]) -> None:
    with as_audit_owner() as cursor:
        cursor.execute(sql, params)
