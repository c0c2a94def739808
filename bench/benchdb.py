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


def check_char(body17: str) -> str:
    """The GB 11643 check character of the first 17 characters of a resident ID number."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def valid_id_number(person_id: int) -> str:
    """A valid resident ID number of 大武口区, one per bench person id (a birth day per thousand ids):
    the bench registries hold placeholders where a benchmark needs numbers that match by digest."""
    from datetime import date

    born = date.fromordinal(date(1950, 1, 1).toordinal() + person_id // 1000)
    body = f"640202{born:%Y%m%d}{person_id % 1000:03d}"
    return body + check_char(body)
