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

from collections.abc import Mapping
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
    connection = connections[using]
    connection.ensure_connection()
    # The columns named as the schema's (a query's own names may repeat, "?column?").
    names = ", ".join(psycopg.sql.Identifier(name).as_string(connection.connection) for name in schema)
    wrapped = f"SELECT * FROM ({sql}) AS q ({names})"  # noqa: S608 (the caller's SQL; quoted names)
    text = psycopg.ClientCursor(connection.connection).mogrify(wrapped, params)
    with adbc.connect(conninfo(using)) as reader, reader.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(text)
        frame = pl.DataFrame(cursor.fetch_arrow())
    if frame.width != len(schema):
        raise ValueError(f"{frame.width} columns read, {len(schema)} expected")
    return frame.cast(pl.Schema(schema))
