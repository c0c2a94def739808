from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from minzheng.core.spreadsheets import neutralise


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86 139", "'+86 139"),
        ("-5", "'-5"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("张三", "张三"),
        (" =1", " =1"),
        ("", ""),
        (-5, -5),
        (Decimal("-1.50"), Decimal("-1.50")),
        (date(2026, 1, 1), date(2026, 1, 1)),
        (None, None),
    ],
)
def test_only_text_that_would_start_a_formula_is_prefixed(value: object, written: object) -> None:
    assert neutralise(value) == written
