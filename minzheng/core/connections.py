"""When work may move to connections of its own (threads beside the caller, ADBC reads)."""

from __future__ import annotations

from django.db import connections


def others_see_the_same(using: str = "default") -> bool:
    """Whether another connection to the database sees what the caller's does: PostgreSQL (SQLite
    has one writer, and a test's in-memory database is the caller's alone), not inside a
    transaction (whose uncommitted rows another connection does not see)."""
    connection = connections[using]
    return connection.vendor == "postgresql" and not connection.in_atomic_block
