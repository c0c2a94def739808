"""Test support: valid resident ID numbers and households created through the service."""

from __future__ import annotations

import io
import itertools
from datetime import date
from typing import Any

from openpyxl import Workbook

from minzheng.core.identifiers import resident_id_check_char
from minzheng.org.models import Staff
from minzheng.registry import excel
from minzheng.registry.models import Household
from minzheng.registry.services import MemberInput, household_create

_sequence = itertools.count(11)


def resident_id(area: str = "640202", born: date = date(1980, 5, 17), *, male: bool = True) -> str:
    seq = next(_sequence) % 500 * 2 + (1 if male else 0)
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + resident_id_check_char(body)


def make_household(actor: Staff, village: str, head_name: str, *, members: int = 2) -> Household:
    people = [MemberInput(name=head_name, id_number=resident_id(village[:6]), relationship="head")]
    for i in range(1, members):
        people.append(
            MemberInput(
                name=f"{head_name}家{i}",
                id_number=resident_id(village[:6], date(2005 + i, 1, 9), male=False),
                relationship="child",
            )
        )
    area = "rural" if village.endswith(("201",)) else "urban"
    return household_create(
        actor=actor, division_code=village, address=f"{head_name}住址1号", area=area, members=people
    )


def import_workbook(rows: list[list[Any]], headers: tuple[str, ...] | list[str] | None = None) -> bytes:
    """An import workbook as a user would upload it: the data sheet with a header row and rows."""
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = excel.DATA_SHEET
    ws.append(list(headers if headers is not None else excel.HEADERS))
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def import_row(
    group: str, village: str, name: str, id_number: object, relationship: str, **kw: str
) -> list[Any]:
    """One member row in the import template's column order."""
    return [
        group,
        village,
        kw.get("address", f"{village}住址{group}号"),
        kw.get("area", "城市"),
        kw.get("phone", ""),
        name,
        id_number,
        relationship,
    ]
