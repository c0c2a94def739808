"""Large reads from PostgreSQL straight into Polars frames through ADBC (Arrow Database
Connectivity; `adbc-driver-postgresql`, of the Apache Arrow project): the rows come as binary COPY
and are decoded into Arrow columns in C++, where psycopg's COPY hands Python one row at a time
(10,000,000 enrolments: 7 s of this process's CPU for the reading alone, then 3 s to parse the
CSV; bench/README.md).

ADBC opens a connection of its own, with the settings of Django's, so it sees what is committed,
not a caller's transaction: callers use it where that is the same thing
(`core.connections.others_see_the_same`). Parameters are bound into the text by psycopg's own quoting
(`ClientCursor.mogrify`, as Django's `compose_sql` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import polars as pl
import psycopg
from django.db import connections

# libpq's own connection keywords (psycopg's connection parameters also hold its own options).
_LIBPQ_KEYWORDS = frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


def conninfo(using: str = "default") -> str:
    """The libpq connection string of Django's connection `using`."""
    params = connections[using].get_connection_params()
    return psycopg.conninfo.make_conninfo(
        "", **{key: value for key, value in params.items() if key in _LIBPQ_KEYWORDS and value is not None}
    )


def read(
    sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType], *, using: str = "default"
) -> pl.DataFrame:
    """The rows of one SELECT as a frame with `schema` (its columns in order, cast to its types), read
    on a connection of its own; JIT compilation off (a large read is one scan: compiling costs
    more than it saves)."""
    with adbc.connect(conninfo(using)) as reader:
        return _fetch(reader, _text(sql, params, schema, using), schema)


def read_parts(
    sqls: Sequence[str],
    params: Mapping[str, Any],
    schema: Mapping[str, pl.DataType],
    *,
    using: str = "default",
) -> pl.DataFrame:
    """The rows of several SELECTs, the parts of one read (say, halves of a table's pages), as one
    frame: read at once, each on a connection of its own, so that the server reads them on as many
    cores, all in one snapshot (the first connection's, exported with `pg_export_snapshot` and
    taken by the others, as pg_dump's parallel workers do)."""
    texts = [_text(sql, params, schema, using) for sql in sqls]
    with adbc.connect(conninfo(using)) as first:  # not autocommit: in a transaction from the start
        with first.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = pl.DataFrame(cursor.fetch_arrow()).item()
        with ThreadPoolExecutor(max_workers=max(1, len(texts) - 1)) as pool:
            others = [pool.submit(_read_in_snapshot, text, schema, snapshot, using) for text in texts[1:]]
            frames = [_fetch(first, texts[0], schema), *(other.result() for other in others)]
        first.rollback()
    return pl.concat(frames)


def _read_in_snapshot(
    text: str, schema: Mapping[str, pl.DataType], snapshot: str, using: str
) -> pl.DataFrame:
    with adbc.connect(conninfo(using)) as reader:
        with reader.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the server's own identifier
        frame = _fetch(reader, text, schema)
        reader.rollback()
        return frame


def _text(sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType], using: str) -> str:
    """`sql` with its columns named as the schema's (a query's own names may repeat, "?column?") and
    its parameters bound."""
    connection = connections[using]
    connection.ensure_connection()
    names = ", ".join(psycopg.sql.Identifier(name).as_string(connection.connection) for name in schema)
    wrapped = f"SELECT * FROM ({sql}) AS q ({names})"  # noqa: S608 (the caller's SQL; quoted names)
    return psycopg.ClientCursor(connection.connection).mogrify(wrapped, params)


def _fetch(reader: Any, text: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    with reader.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(text)
        frame = pl.DataFrame(cursor.fetch_arrow())
    if frame.width != len(schema):
        raise ValueError(f"{frame.width} columns read, {len(schema)} expected")
    return frame.cast(pl.Schema(schema))
