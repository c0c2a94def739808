"""Cells written into workbooks the system hands out can never run as formulas (CSV/formula
injection, OWASP): a text value beginning with = + - @, a tab or a carriage return is prefixed
with an apostrophe, so Excel and WPS show it as the text it was, including when someone edits the
cell later. Numbers, dates and empty cells pass unchanged; only text is touched.

Every workbook writer calls `neutralise` on each value it did not write itself (what came from a
user, an uploaded file or the database): registry exports, the import's error report, payments
rosters, the streaming writer (registry.xlsx).
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def neutralise(value: T) -> T | str:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
