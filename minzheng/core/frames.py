"""Set-based reads and writes between the database and Polars frames, the same on both backends:
COPY on PostgreSQL, a cursor on SQLite (the embedded default). Used wherever a whole set of rows is
read or written at once (the payroll, the monthly re-check of recipients)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import polars as pl
from django.db import connection


def postgres() -> bool:
    return connection.vendor == "postgresql"


def sql_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dates and datetimes as the backend stores them (SQLite: text)."""
    ops = connection.ops
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = ops.adapt_datetimefield_value(value)
        elif isinstance(value, date):
            out[key] = ops.adapt_datefield_value(value)
        else:
            out[key] = value
    return out


def read_frame(sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The rows of one SELECT as a frame with `schema` (its columns in order): streamed out with COPY
    on PostgreSQL, read through a cursor on SQLite."""
    with connection.cursor() as cursor:
        if postgres():
            buffer = bytearray()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", sql_params(params)) as copy:
                while block := copy.read():
                    buffer += block
            if not buffer:
                return pl.DataFrame(schema=dict(schema))
            return pl.read_csv(io.BytesIO(buffer), has_header=False, schema=dict(schema))
        cursor.execute(sql, sql_params(params))
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def write_frame(table: str, frame: pl.DataFrame) -> None:
    """Append a frame to a table (its columns named as the frame's): COPY on PostgreSQL,
    executemany on SQLite."""
    if frame.is_empty():
        return
    columns = ", ".join(frame.columns)
    with connection.cursor() as cursor:
        if postgres():
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * frame.width)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (constant names)
                frame.rows(),
            )


def temp_table(name: str, columns: str, frame: pl.DataFrame) -> None:
    """A temporary table of the connection holding `frame` (dropped first if left over). `name` and
    `columns` are constants of the caller, never user input."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
    write_frame(name, frame)


def drop_tables(*names: str) -> None:
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
