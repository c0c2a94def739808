"""Shared by the benchmark scripts: start each run from an empty database."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse


def fresh_database(url: str) -> None:
    """Delete the SQLite file, or drop and recreate the PostgreSQL database (its name must contain
    "bench", so a benchmark can never drop a real database)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{parsed.path}{suffix}").unlink(missing_ok=True)
        return
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"unsupported database URL scheme: {parsed.scheme}")
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"refusing to drop database {name!r}: a benchmark database name must contain 'bench'"
        )
    import psycopg
    from psycopg import sql

    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
