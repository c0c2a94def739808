"""Shared by migrations: storage settings that exist on PostgreSQL only (index methods, sequence
caches, page fill), as operations that do nothing on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import migrations


def on_postgres(forward: Sequence[str], backward: Sequence[str]) -> migrations.RunPython:
    """Run the `forward` statements on PostgreSQL (`backward` to undo them); nothing elsewhere."""

    def execute(statements: Sequence[str]) -> Callable[[Any, Any], None]:
        def operation(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                for statement in statements:
                    schema_editor.execute(statement)

        return operation

    return migrations.RunPython(execute(forward), execute(backward), elidable=False)
