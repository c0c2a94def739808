"""Excel import of households, writing: the checked file's households, people and memberships
inserted set-based, chunk by chunk, inside the caller's one transaction.

The file is read again (excel_rows.SheetRows) rather than kept: each chunk of rows becomes one
insert of its households (at their first row), one of its people and one of their memberships,
never one ORM save per row; the chunk's keys are read back by their unique fields. Memory stays
that of one chunk whatever the size of the file; nothing is committed before the caller's
transaction is, so an error in the last chunk leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import F, Max
from django.utils import timezone

from minzheng.core import protect
from minzheng.core.errors import Conflict
from minzheng.core.identifiers import mask_resident_id
from minzheng.org.models import Division
from minzheng.registry import excel_rows
from minzheng.registry.excel_rows import (
    ADDRESS,
    AREA,
    DIVISION,
    LOOKUP_CHUNK,
    PHONE,
    CheckedFile,
    Progress,
    SheetRows,
    chunked,
    group_key,
    parse_member,
)
from minzheng.registry.models import Household, Membership, Person, Relationship

INSERT_CHUNK = 5_000


def _insert(model: Any, fields: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT `rows` set-based: COPY on PostgreSQL, executemany elsewhere. The values are prepared
    here once, not by the ORM per object."""
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    # Table and column names come from the model's metadata, quoted; values are parameters, or
    # rows handed to COPY, which escapes them itself.
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with (
            connection.wrap_database_errors,  # psycopg's errors as django.db's (IntegrityError …)
            connection.connection.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            cursor.executemany(sql, rows[start : start + INSERT_CHUNK])


def _set_heads(heads: Sequence[tuple[int, int]]) -> None:
    """Set each new household's head from (household id, person id) pairs."""
    quote = connection.ops.quote_name
    table = quote(Household._meta.db_table)
    pk = quote(Household._meta.pk.column)  # type: ignore[union-attr]
    head = quote(Household._meta.get_field("head").column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement joining two arrays: no per-row round trip and no plan that depends on
            # statistics the freshly inserted rows do not have yet.
            cursor.execute(
                f"UPDATE {table} SET {head} = v.person FROM unnest(%s::bigint[], %s::bigint[]) "  # noqa: S608
                f"AS v(household, person) WHERE {table}.{pk} = v.household",
                [[h for h, _ in heads], [p for _, p in heads]],
            )
            return
        sql = f"UPDATE {table} SET {head} = %s WHERE {pk} = %s"  # noqa: S608
        for start in range(0, len(heads), INSERT_CHUNK):
            cursor.executemany(sql, [(p, h) for h, p in heads[start : start + INSERT_CHUNK]])


def _keys(model: Any, field_name: str, values: Sequence[str]) -> dict[str, int]:
    """Primary keys of the rows just inserted, found by a unique field (number, ID digest)."""
    found: dict[str, int] = {}
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        found.update(model.objects.filter(**{f"{field_name}__in": chunk}).values_list(field_name, "pk"))
    return found


def write_households(
    *, content: bytes, checked: CheckedFile, joined_on: date, progress: Progress | None = None
) -> tuple[int, int]:
    """Insert the households of `checked` that have no error, with their people and memberships,
    reading `content` (the file checked) again. Runs inside the caller's transaction, with the
    villages involved locked so that numbers are not handed out twice (household_create takes the
    same lock). Returns the numbers of households and people written.

    Rows go in through COPY or executemany and their keys are read back by their unique fields,
    rather than through bulk_create: on the reference machine the ORM's per-object preparation made
    bulk_create 5-6 times slower for 100,000 people, and no RETURNING is needed this way."""
    groups = checked.valid_groups()
    codes = sorted({g.value(DIVISION) for g in groups})
    list(Division.objects.select_for_update().filter(code__in=codes).values_list("code", flat=True))
    last = dict(
        Household.objects.filter(division_id__in=codes, number__startswith=F("division_id"))
        .order_by()
        .values("division_id")
        .annotate(last=Max("number"))
        .values_list("division_id", "last")
    )
    next_seq = {code: int(last[code][12:]) + 1 if code in last else 1 for code in codes}
    for group in groups:  # numbered in the order of their first row in the file
        code = group.value(DIVISION)
        group.number = f"{code}{next_seq[code]:06d}"
        next_seq[code] += 1
    expected = sum(g.persons for g in groups)
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    joined = ops.adapt_datefield_value(joined_on)
    households = persons = done = 0
    for rows in chunked(SheetRows(content), excel_rows.CHUNK_ROWS):
        household_rows: list[tuple[Any, ...]] = []
        person_rows: list[tuple[Any, ...]] = []
        members: list[tuple[str, str, str]] = []  # (ID digest, household number, relationship)
        for row, values in rows:
            found = checked.groups.get(group_key(values))
            if found is None or found.bad:
                continue
            group = found
            if row == group.first:
                household_rows.append(
                    (
                        group.number,
                        group.value(DIVISION),
                        group.value(ADDRESS),
                        group.value(AREA),
                        group.value(PHONE),
                        True,
                        now,
                        now,
                    )
                )
            member = parse_member(values)
            digest = protect.lookup_digest(member.rid.number)
            person_rows.append(
                (
                    member.name,
                    member.rid.sex,
                    ops.adapt_datefield_value(member.rid.birth_date),
                    digest,
                    protect.encrypt(member.rid.number),
                    mask_resident_id(member.rid.number),
                    group.value(DIVISION),
                    "",
                    now,
                )
            )
            members.append((digest, group.number, member.relationship))
        done += len(rows)
        if members:
            _write_chunk(household_rows, person_rows, members, joined)
        households += len(household_rows)
        persons += len(members)
        if progress is not None:
            progress(done)
    if (households, persons) != (len(groups), expected):
        raise RuntimeError("the file read again did not give the rows checked")
    return households, persons


def _write_chunk(
    household_rows: list[tuple[Any, ...]],
    person_rows: list[tuple[Any, ...]],
    members: list[tuple[str, str, str]],
    joined: Any,
) -> None:
    try:
        _insert(
            Household,
            ("number", "division", "address", "area", "phone", "is_active", "created_at", "updated_at"),
            household_rows,
        )
        _insert(
            Person,
            (
                "name",
                "sex",
                "birth_date",
                "id_digest",
                "id_encrypted",
                "id_masked",
                "division",
                "phone",
                "created_at",
            ),
            person_rows,
        )
    except IntegrityError as exc:
        # The unique ID digest: someone registered one of these people after the file was checked.
        raise Conflict("校验之后有人员已被登记，未导入任何数据，请重新导入以获得最新的错误报告") from exc
    # A household's members may be in later chunks than its first row: found by number each time.
    numbers = sorted({number for _, number, _ in members})
    household_ids = _keys(Household, "number", numbers)
    person_ids = _keys(Person, "id_digest", [digest for digest, _, _ in members])
    if len(household_ids) != len(numbers) or len(person_ids) != len(members):
        raise RuntimeError("inserted rows were not found again by their unique keys")
    membership_rows: list[tuple[Any, ...]] = []
    heads: list[tuple[int, int]] = []
    for digest, number, relationship in members:
        person_id, household_id = person_ids[digest], household_ids[number]
        membership_rows.append((person_id, household_id, relationship, joined, ""))
        if relationship == Relationship.HEAD:
            heads.append((household_id, person_id))
    _insert(Membership, ("person", "household", "relationship", "start_date", "end_reason"), membership_rows)
    if heads:
        _set_heads(heads)
