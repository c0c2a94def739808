"""Large reads through ADBC (core/arrowdb.py) give the rows psycopg gives, typed as asked, with the
parameters quoted; inside a transaction they are not used (they would not see its rows)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from django.db import transaction
from polars.testing import assert_frame_equal

from minzheng.core import arrowdb
from minzheng.core.connections import others_see_the_same

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

SQL = """SELECT n, %(text)s || n::text, %(day)s::date + n, CAST(ROUND((n * 1.25)::numeric * 100) AS BIGINT),
    CASE WHEN n %% 2 = 0 THEN NULL ELSE n::smallint END
    FROM generate_series(1, %(count)s) AS n"""
SCHEMA: dict[str, pl.DataType] = {
    "n": pl.Int64(),
    "label": pl.String(),
    "day": pl.Date(),
    "fen": pl.Int64(),
    "odd": pl.Int64(),
}


def test_a_read_gives_the_rows_typed_as_asked() -> None:
    assert others_see_the_same()
    params = {"text": "王's \\ 第", "day": date(2027, 1, 31), "count": 3}
    frame = arrowdb.read(SQL, params, SCHEMA)
    expected = pl.DataFrame(
        {
            "n": [1, 2, 3],
            "label": ["王's \\ 第1", "王's \\ 第2", "王's \\ 第3"],
            "day": [date(2027, 2, 1), date(2027, 2, 2), date(2027, 2, 3)],
            "fen": [125, 250, 375],
            "odd": [1, None, 3],
        },
        schema=SCHEMA,
    )
    assert_frame_equal(frame, expected)
    empty = arrowdb.read(SQL, {**params, "count": 0}, SCHEMA)
    assert empty.height == 0
    assert empty.schema == pl.Schema(SCHEMA)


def test_a_read_with_the_wrong_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="5 columns read, 2 expected"):
        arrowdb.read(
            SQL, {"text": "", "day": date(2027, 1, 1), "count": 1}, {"a": pl.Int64(), "b": pl.Int64()}
        )


def test_another_connection_is_not_used_inside_a_transaction() -> None:
    with transaction.atomic():
        assert not others_see_the_same()
