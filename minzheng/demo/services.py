"""Demo data: the divisions of 大武口区 and 惠农区, one public demo account per role, and a
synthetic household registry of any size (2,000 by default; a million for load tests).

Demo accounts share one public password, so everything here refuses to run outside demo or test
mode. Households are written set-based: PostgreSQL through COPY, SQLite through executemany, with
primary keys assigned here under a table lock so that memberships and household heads are written
without reading anything back. The whole household build is one transaction with one audit event.
"""

from __future__ import annotations

import csv
import itertools
import random
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from config.env import Mode
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.identifiers import DivisionLevel, mask_resident_id, resident_id_check_char
from minzheng.demo.names import given_name_pools, person_name, surname_pool
from minzheng.org.models import Division, DivisionKind, Office, PartnerDepartment, Staff
from minzheng.org.roles import Role
from minzheng.org.services import divisions_load, staff_create
from minzheng.registry.models import Household, Membership, Person, Relationship

# Public on purpose: printed at start-up and shown on the login page; refused outside demo mode.
DEMO_PASSWORD = "Demo@2026minzheng"  # noqa: S105
DEMO_COUNTY = "640202"  # 大武口区
NEIGHBOUR_COUNTY = "640205"  # 惠农区: a second jurisdiction for the city and region supervisors
DEFAULT_HOUSEHOLDS = 2000
DEFAULT_SEED = 2026
CHUNK_HOUSEHOLDS = 50_000


def demo_allowed() -> bool:
    """Demo accounts have a public password: only a demo or test installation may have them."""
    return bool(getattr(settings, "DEMO_MODE", False)) or settings.MODE == Mode.TEST


def require_demo_mode() -> None:
    if not demo_allowed():
        raise PermissionDenied(
            "演示数据只能在演示模式下生成（MINZHENG_MODE=demo）：演示账号的密码是公开的，"
            "不得出现在正式系统中。",
            code="demo_mode_only",
        )


# ----------------------------------------------------------------------------------------------
# Accounts
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    # Office division; None means the first township of the neighbouring county.
    division_code: str | None
    department: str = ""  # a partner department's account (协作部门)


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("dwk_village_assistant", "马秀兰", Role.VILLAGE_ASSISTANT, "640202001001"),
    DemoAccount("dwk_township_clerk", "李娜", Role.TOWNSHIP_CLERK, "640202001000"),
    DemoAccount("dwk_township_reviewer", "王建军", Role.TOWNSHIP_REVIEWER, "640202001000"),
    DemoAccount("dwk_township_head", "张志强", Role.TOWNSHIP_HEAD, "640202001000"),
    DemoAccount("dwk_county_reviewer", "刘海燕", Role.COUNTY_REVIEWER, "640202000000"),
    DemoAccount("dwk_county_approver", "杨文斌", Role.COUNTY_APPROVER, "640202000000"),
    DemoAccount("dwk_county_admin", "陈晓东", Role.COUNTY_ADMIN, "640202000000"),
    DemoAccount("dwk_auditor", "赵丽萍", Role.AUDITOR, "640202000000"),
    DemoAccount("dwk_system_admin", "孙浩", Role.SYSTEM_ADMIN, "640202000000"),
    DemoAccount("dwk_security_admin", "周敏", Role.SECURITY_ADMIN, "640202000000"),
    DemoAccount("dwk_audit_admin", "吴桂芳", Role.AUDIT_ADMIN, "640202000000"),
    DemoAccount("szs_supervisor", "何永刚", Role.SUPERVISOR, "640200000000"),
    DemoAccount("nx_supervisor", "郭淑珍", Role.SUPERVISOR, "640000000000"),
    DemoAccount("hn_township_clerk", "丁雪梅", Role.TOWNSHIP_CLERK, None),
    DemoAccount(
        "dwk_disability_federation",
        "马建国",
        Role.DEPARTMENT_STAFF,
        "640202000000",
        PartnerDepartment.DISABILITY_FEDERATION,
    ),
)


def _account_division(account: DemoAccount) -> str:
    if account.division_code is not None:
        return account.division_code
    first = (
        Division.objects.filter(parent_id=NEIGHBOUR_COUNTY.ljust(12, "0"), level=DivisionLevel.TOWNSHIP)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    if first is None:
        raise InvalidInput(f"区划 {NEIGHBOUR_COUNTY} 下没有乡镇（街道），请先载入区划")
    return first


def ensure_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created."""
    require_demo_mode()
    have = set(
        Staff.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).values_list(
            "username", flat=True
        )
    )
    created: list[str] = []
    for account in DEMO_ACCOUNTS:
        if account.username in have:
            continue
        office = Office.objects.filter(division_id=_account_division(account)).first()
        if office is None:
            raise InvalidInput(f"区划 {account.division_code} 没有民政机构，请先载入区划")
        staff_create(
            actor=None,
            username=account.username,
            full_name=account.full_name,
            office=office,
            password=DEMO_PASSWORD,
            roles=[account.role],
            department=account.department,
            must_change_password=False,
            is_demo=True,
            reason="演示数据",
        )
        created.append(account.username)
    return created


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role_label: str
    office_name: str


def demo_logins() -> list[DemoLogin]:
    """The demo accounts that exist, in the order of DEMO_ACCOUNTS."""
    order = {a.username: i for i, a in enumerate(DEMO_ACCOUNTS)}
    staff = (
        Staff.objects.filter(username__in=order, is_demo=True)
        .select_related("office__division")
        .prefetch_related("role_grants")
    )
    rows = [
        DemoLogin(
            username=s.username,
            full_name=s.full_name,
            role_label="、".join(str(Role(g.role).label) for g in s.role_grants.all()),
            # A partner department's account works in the county bureau's jurisdiction as its own department.
            office_name=f"{s.office.division.name}{s.get_department_display()}"
            if s.department
            else s.office.name,
        )
        for s in staff
    ]
    return sorted(rows, key=lambda r: order[r.username])


# ----------------------------------------------------------------------------------------------
# Households
# ----------------------------------------------------------------------------------------------

_SIZE_POOL = (1,) * 22 + (2,) * 30 + (3,) * 25 + (4,) * 15 + (5,) * 8  # mean 2.57 persons
_BASE_ORD = date(1900, 1, 1).toordinal()
_EARLIEST_JOIN = date(2012, 1, 1).toordinal()
_YEAR = 365
# Sequence codes are dealt out per (area, birth date, sex) in a scrambled but collision-free order:
# index = (counter * stride + offset) mod n is a bijection on 0..n-1 when stride is prime to n.
_STRIDE = 137
_MALE_SLOTS = 500  # odd 001..999
_FEMALE_SLOTS = 499  # even 002..998


@dataclass
class _Village:
    code: str
    address_prefix: str  # "长胜街道骏马社区"
    urban: bool
    next_seq: int


def _short_village_name(name: str) -> str:
    for suffix, replacement in (
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", "社区"),
        ("居委会", "社区"),
        ("村民委员会", "村"),
        ("村委会", "村"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + replacement
    return name


def _ningxia_area_codes(county: str) -> list[str]:
    """County codes of the demo county's province, from the division source data."""
    codes: list[str] = []
    path = Path(settings.MINZHENG_DIVISION_DATA) / "areas.csv"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            codes = [row["code"] for row in csv.DictReader(fh) if row["code"].startswith(county[:2])]
    return sorted(set(codes) | {county})


@dataclass(frozen=True)
class _Columns:
    table: str
    columns: tuple[str, ...]


def _columns(model: Any, names: Sequence[str]) -> _Columns:
    meta = model._meta
    return _Columns(meta.db_table, tuple(meta.get_field(n).column for n in names))


HOUSEHOLD_COLUMNS = (
    "id",
    "number",
    "division",
    "address",
    "area",
    "head",
    "phone",
    "is_active",
    "created_at",
    "updated_at",
)
PERSON_COLUMNS = (
    "id",
    "name",
    "sex",
    "birth_date",
    "id_digest",
    "id_encrypted",
    "id_masked",
    "division",
    "phone",
    "created_at",
)
MEMBERSHIP_COLUMNS = ("id", "person", "household", "relationship", "start_date", "end_date", "end_reason")


class _Generator:
    """Synthetic households with consistent members. Deterministic for a given seed and start."""

    def __init__(
        self,
        *,
        rng: random.Random,
        today: date,
        villages: list[_Village],
        weights: list[float],
        area_codes: list[str],
        home_area: str,
        taken: set[int] | None,
        now_text: str,
        next_ids: tuple[int, int, int],
    ) -> None:
        self.rng = rng
        self.today_ord = today.toordinal()
        self.villages = villages
        self.cum_weights = list(itertools.accumulate(weights))
        self.areas = area_codes
        self.taken = taken
        self.now = now_text
        self.household_id, self.person_id, self.membership_id = next_ids
        self.surnames = surname_pool()
        self.given = given_name_pools()
        home = area_codes.index(home_area)
        others = [i for i in range(len(area_codes)) if i != home]
        neighbour = area_codes.index(NEIGHBOUR_COUNTY) if NEIGHBOUR_COUNTY in area_codes else home
        # Adults were often born elsewhere in the region; children mostly where they live.
        self.adult_areas = [home] * 62 + [neighbour] * 8 + others * max(1, 30 // max(1, len(others)))
        self.child_areas = [home] * 85 + [neighbour] * 5 + others[:10]
        days = self.today_ord - _BASE_ORD + 1
        self.days = days
        self.counters = array("H", bytes(2 * len(area_codes) * days * 2))
        self.dates: dict[int, tuple[str, str]] = {}

    def _date(self, ordinal: int) -> tuple[str, str]:
        got = self.dates.get(ordinal)
        if got is None:
            d = date.fromordinal(ordinal)
            got = (f"{d.year:04d}{d.month:02d}{d.day:02d}", d.isoformat())
            self.dates[ordinal] = got
        return got

    def _resident_id(self, birth_ord: int, male: bool, child: bool) -> tuple[str, int]:
        """A new valid ID number, unique in this build and against `taken`; returns (number, birth).

        When all sequence codes of a day are used up the birth date moves one day earlier."""
        rng, counters = self.rng, self.counters
        pool = self.child_areas if child else self.adult_areas
        slots = _MALE_SLOTS if male else _FEMALE_SLOTS
        while True:
            area = rng.choice(pool)
            key = ((area * self.days) + (birth_ord - _BASE_ORD)) * 2 + male
            used = counters[key]
            if used >= slots:
                birth_ord -= 1
                continue
            counters[key] = used + 1
            index = (used * _STRIDE + key * 7919) % slots
            seq = 2 * index + 1 if male else 2 * index + 2
            first17 = f"{self.areas[area]}{self._date(birth_ord)[0]}{seq:03d}"
            if self.taken is not None and int(first17) in self.taken:
                continue
            return first17 + resident_id_check_char(first17), birth_ord

    def _members(self) -> list[tuple[str, bool, int, str]]:
        """(surname, male, birth ordinal, relationship) for one household, head first."""
        rng, today = self.rng, self.today_ord
        size = rng.choice(_SIZE_POOL)
        if size == 1:
            head_age = rng.triangular(20, 92, 68)
            head_male = rng.random() < 0.55
        else:
            head_age = rng.triangular(23, 88, 48)
            head_male = rng.random() < 0.72
        head_birth = today - int(head_age * 365.25) - rng.randrange(365)
        surname = rng.choice(self.surnames)
        members = [(surname, head_male, head_birth, Relationship.HEAD.value)]
        slots = size - 1
        spouse: tuple[str, bool, int, str] | None = None
        if slots and rng.random() < 0.85:
            # Husbands are usually a little older than their wives.
            gap = rng.randint(-1, 5) * _YEAR + rng.randrange(-150, 150)
            spouse_birth = min(head_birth + (gap if head_male else -gap), today - 21 * _YEAR)
            spouse = (rng.choice(self.surnames), not head_male, spouse_birth, Relationship.SPOUSE.value)
            members.append(spouse)
            slots -= 1
        if slots and head_age <= 62 and rng.random() < 0.18:
            parent_birth = head_birth - rng.randint(21, 34) * _YEAR - rng.randrange(365)
            if today - parent_birth < 97 * _YEAR:
                parent_male = rng.random() < 0.4  # widowed mothers live with their children more often
                parent_surname = surname if parent_male else rng.choice(self.surnames)
                members.append((parent_surname, parent_male, parent_birth, Relationship.PARENT.value))
                slots -= 1
        if slots:
            # Children take the father's surname (or, with a single mother, usually hers).
            if head_male or spouse is None:
                child_surname = surname if head_male or rng.random() < 0.7 else rng.choice(self.surnames)
            else:
                child_surname = spouse[0]
            younger_parent = max(head_birth, spouse[2]) if spouse else head_birth
            grandchildren = head_age >= 66 and rng.random() < 0.35
            for _ in range(slots):
                if grandchildren:
                    low, high = younger_parent + 45 * _YEAR, younger_parent + 70 * _YEAR
                    relationship = Relationship.GRANDCHILD.value
                else:
                    low, high = younger_parent + 20 * _YEAR, younger_parent + 42 * _YEAR
                    relationship = Relationship.CHILD.value
                high = min(high, today - 1)
                low = min(low, high)
                members.append((child_surname, rng.random() < 0.515, rng.randint(low, high), relationship))
        return members

    def chunk(self, count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng, now = self.rng, self.now
        households: list[tuple[Any, ...]] = []
        persons: list[tuple[Any, ...]] = []
        memberships: list[tuple[Any, ...]] = []
        chosen = rng.choices(self.villages, cum_weights=self.cum_weights, k=count)
        for village in chosen:
            seq = village.next_seq
            village.next_seq = seq + 1
            if village.urban:
                address = (
                    f"{village.address_prefix}{rng.randint(1, 48)}号楼{rng.randint(1, 6)}单元"
                    f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
                )
            else:
                address = f"{village.address_prefix}{rng.randint(1, 12)}组{rng.randint(1, 160)}号"
            household_id = self.household_id
            self.household_id += 1
            joined = rng.randint(_EARLIEST_JOIN, self.today_ord - 7)
            head_id = self.person_id
            for surname, male, birth, relationship in self._members():
                number, birth = self._resident_id(birth, male, relationship in ("child", "grandchild"))
                person_id = self.person_id
                self.person_id += 1
                era_year = int(self._date(birth)[0][:4])
                persons.append(
                    (
                        person_id,
                        person_name(rng, surname, self.given, era_year, male),
                        "M" if male else "F",
                        self._date(birth)[1],
                        protect.lookup_digest(number),
                        protect.encrypt(number),
                        mask_resident_id(number),
                        village.code,
                        "",
                        now,
                    )
                )
                memberships.append(
                    (
                        self.membership_id,
                        person_id,
                        household_id,
                        relationship,
                        self._date(max(joined, birth))[1],
                        None,
                        "",
                    )
                )
                self.membership_id += 1
            households.append(
                (
                    household_id,
                    f"{village.code}{seq:06d}",
                    village.code,
                    address,
                    "urban" if village.urban else "rural",
                    head_id,
                    "",
                    True,
                    now,
                    now,
                )
            )
        return households, persons, memberships


# From this many households on, a PostgreSQL build drops and rebuilds the registry indexes.
# Measured (bench/README.md): 1,000,000 on an empty database 1,254 s maintaining the indexes row
# by row, 301 s rebuilding them; 50,000 on top of 1,000,000 takes 396 s row by row.
BULK_LOAD_MIN_HOUSEHOLDS = 50_000


class _PgBulkLoad:
    """For a big load on PostgreSQL: drop the secondary indexes and foreign keys of the registry
    tables inside the build's transaction, and recreate them from their own catalog definitions
    after the COPY, as pg_restore does. Building an index by sorting is many times faster than
    maintaining eight indexes row by row, and re-adding a foreign key checks it with one join
    instead of one trigger per row at commit. Primary keys stay (other tables reference them), as
    do unique indexes that a foreign key depends on. DDL is transactional in PostgreSQL: if
    anything fails, the indexes come back with the rollback. Readers of these tables wait until
    the build commits (ACCESS EXCLUSIVE)."""

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        self.foreign_keys: list[tuple[str, str, str]] = []
        self.indexes: list[tuple[str, str, str, str | None, str | None]] = []

    def drop(self) -> None:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conname",
                [self.tables],
            )
            self.foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text,"
                " pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid)"
                " FROM pg_index i LEFT JOIN pg_constraint c"
                " ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('u', 'x')"
                " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'"
                " AND f.conindid = i.indexrelid) ORDER BY 1",
                [self.tables],
            )
            self.indexes = cursor.fetchall()
            # Rows written earlier in this transaction leave deferred checks that would block
            # ALTER TABLE ("pending trigger events"): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, _ in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            for index, table, _, constraint, _ in self.indexes:
                if constraint:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(constraint)}")
                else:
                    cursor.execute(f"DROP INDEX {index}")

    def restore(self) -> None:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _, table, index_def, constraint, constraint_def in self.indexes:
                if constraint:
                    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint)} {constraint_def}")
                else:
                    cursor.execute(index_def)
            for table, name, definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys: INITIALLY DEFERRED


class _Writer:
    """Set-based inserts with explicit primary keys."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.tables = {
            "household": _columns(Household, HOUSEHOLD_COLUMNS),
            "person": _columns(Person, PERSON_COLUMNS),
            "membership": _columns(Membership, MEMBERSHIP_COLUMNS),
        }
        quote = connection.ops.quote_name
        self.insert_sql: dict[str, str] = {}
        for name, spec in self.tables.items():
            target = f"{quote(spec.table)} ({', '.join(quote(c) for c in spec.columns)})"
            # Table and column names come from the models' metadata, quoted; no input reaches SQL.
            if self.postgres:
                self.insert_sql[name] = f"COPY {target} FROM STDIN"
            else:
                values = ", ".join(["%s"] * len(spec.columns))
                self.insert_sql[name] = f"INSERT INTO {target} VALUES ({values})"  # noqa: S608
        self.raw: Any = None

    def lock(self) -> None:
        """Serialise concurrent builds and registry writes while keys are handed out here.
        (SQLite already holds the write lock: the project opens transactions IMMEDIATE.)"""
        if self.postgres:
            tables = ", ".join(connection.ops.quote_name(t.table) for t in self.tables.values())
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            self.raw = connection.connection

    def next_ids(self) -> tuple[int, int, int]:
        ids = []
        with connection.cursor() as cursor:
            for name in ("household", "person", "membership"):
                table = connection.ops.quote_name(self.tables[name].table)
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                ids.append(int(cursor.fetchone()[0]) + 1)
        return ids[0], ids[1], ids[2]

    def write_chunk(
        self,
        households: Sequence[tuple[Any, ...]],
        persons: Sequence[tuple[Any, ...]],
        memberships: Sequence[tuple[Any, ...]],
    ) -> None:
        # Foreign keys are deferred to commit, so the order of the tables does not matter.
        self._write("person", persons)
        self._write("household", households)
        self._write("membership", memberships)

    def _write(self, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            # Runs in the writer thread on the raw psycopg connection of the main thread (Django's
            # connections are per thread), which is idle meanwhile: the main thread only generates
            # while a chunk is being written. Text COPY: the values are generated here and contain
            # no tab, newline or backslash.
            with self.raw.cursor() as cursor, cursor.copy(self.insert_sql[name]) as copy:
                step = 20_000
                for start in range(0, len(rows), step):
                    copy.write(
                        "".join(
                            "\t".join("\\N" if v is None else str(v) for v in row) + "\n"
                            for row in rows[start : start + step]
                        )
                    )
        else:
            with connection.cursor() as cursor:
                cursor.executemany(self.insert_sql[name], rows)

    def finish(self) -> None:
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for spec in self.tables.values():
                table = connection.ops.quote_name(spec.table)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",  # noqa: S608
                    [spec.table],
                )

    def analyze(self) -> None:
        if self.postgres:
            tables = ", ".join(connection.ops.quote_name(t.table) for t in self.tables.values())
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")


def _villages(county: str, seed: int) -> tuple[list[_Village], list[float]]:
    rows = list(
        Division.objects.filter(code__startswith=county, level=DivisionLevel.VILLAGE, is_active=True)
        .select_related("parent")
        .order_by("code")
    )
    if not rows:
        raise InvalidInput(f"区划 {county} 下没有村（社区），请先载入区划")
    weight_rng = random.Random(f"{seed}:weights")  # noqa: S311 (demo data, not secrets)
    villages: list[_Village] = []
    weights: list[float] = []
    for d in rows:
        last = Household.objects.filter(number__startswith=d.code).aggregate(last=Max("number"))["last"]
        urban = d.kind == DivisionKind.COMMUNITY
        township = d.parent.name if d.parent is not None else ""
        villages.append(
            _Village(
                code=d.code,
                address_prefix=f"{township}{_short_village_name(d.name)}",
                urban=urban,
                next_seq=int(last[12:]) + 1 if last else 1,
            )
        )
        # Communities are larger than villages, and no two alike.
        weights.append((3.0 if urban else 1.0) * weight_rng.uniform(0.5, 1.5))
    return villages, weights


def _taken_resident_ids() -> set[int] | None:
    """First 17 digits of every registered ID number, as integers, rebuilt in SQL from the masked
    number (which keeps the area code and the sequence) and the birth date, so that a top-up never
    decrypts anything. None when nobody is registered yet."""
    if not Person.objects.exists():
        return None
    table = connection.ops.quote_name(Person._meta.db_table)
    if connection.vendor == "postgresql":
        first17 = (
            "(substr(id_masked, 1, 6) || to_char(birth_date, 'YYYYMMDD') || substr(id_masked, 15, 3))::bigint"
        )
        well_formed = "id_masked ~ '^[0-9]{6}[*]{8}[0-9]{3}[0-9X]$'"
    else:
        first17 = "CAST(substr(id_masked, 1, 6) || strftime('%Y%m%d', birth_date) || substr(id_masked, 15, 3) AS INTEGER)"
        well_formed = "id_masked GLOB '" + "[0-9]" * 6 + "[*]" * 8 + "[0-9][0-9][0-9][0-9X]'"
    sql = f"SELECT {first17} FROM {table} WHERE {well_formed}"  # noqa: S608 (no input reaches it)
    taken: set[int] = set()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(100_000):
            taken.update(row[0] for row in rows)
    return taken


@dataclass(frozen=True)
class HouseholdBuildResult:
    existing: int
    households: int
    persons: int
    memberships: int
    seconds: float
    commit_seconds: float = 0.0  # deferred foreign-key checks run at commit
    index_seconds: float = 0.0  # rebuilding indexes and foreign keys after a bulk load

    @property
    def total(self) -> int:
        return self.existing + self.households


def build_households(
    *,
    target: int,
    seed: int = DEFAULT_SEED,
    county: str = DEMO_COUNTY,
    chunk_size: int = CHUNK_HOUSEHOLDS,
    progress: Callable[[int, int], None] | None = None,
) -> HouseholdBuildResult:
    """Top the households of `county` up to `target`, in one transaction with one audit event."""
    require_demo_mode()
    if target < 0:
        raise InvalidInput("户数不能为负数")
    started = time.perf_counter()
    writer = _Writer()
    with transaction.atomic():
        writer.lock()
        existing = Household.objects.filter(division__code__startswith=county).count()
        to_add = target - existing
        if to_add <= 0:
            return HouseholdBuildResult(existing, 0, 0, 0, time.perf_counter() - started)
        villages, weights = _villages(county, seed)
        now = timezone.now()
        generator = _Generator(
            # Seeded with the number already there, so a top-up continues rather than repeats.
            rng=random.Random(f"{seed}:{existing}"),  # noqa: S311 (demo data, not secrets)
            today=timezone.localdate(),
            villages=villages,
            weights=weights,
            area_codes=_ningxia_area_codes(county),
            home_area=county,
            taken=_taken_resident_ids(),
            now_text=now.isoformat()
            if writer.postgres
            else str(connection.ops.adapt_datetimefield_value(now)),
            next_ids=writer.next_ids(),
        )
        first_person_id = generator.person_id
        bulk = None
        if writer.postgres and to_add >= BULK_LOAD_MIN_HOUSEHOLDS:
            bulk = _PgBulkLoad([t.table for t in writer.tables.values()])
            bulk.drop()
        done = persons = memberships = 0

        def report(written: int) -> None:
            if progress is not None:
                progress(written, to_add)

        # On PostgreSQL the next chunk is generated while the server indexes the previous one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[None] | None = None
            while done < to_add:
                count = min(chunk_size, to_add - done)
                chunk = generator.chunk(count)
                if pending is not None:
                    pending.result()
                    report(done)
                if writer.postgres:
                    pending = pool.submit(writer.write_chunk, *chunk)
                else:
                    writer.write_chunk(*chunk)
                    report(done + count)
                done += count
                persons += len(chunk[1])
                memberships += len(chunk[2])
                del chunk
            if pending is not None:
                pending.result()
                report(done)
        indexing = time.perf_counter()
        if bulk is not None:
            bulk.restore()
        index_seconds = time.perf_counter() - indexing
        writer.finish()
        _add_circumstances(first_person_id=first_person_id, now=now)
        audit_record(
            actor=None,
            action="demo.build",
            object_type="registry.household",
            object_id=county,
            scope_code=county.ljust(12, "0"),
            reason="生成演示数据",
            after={
                "households": done,
                "persons": persons,
                "memberships": memberships,
                "households_total": existing + done,
                "seed": seed,
            },
        )
        committing = time.perf_counter()
    commit_seconds = time.perf_counter() - committing
    writer.analyze()
    return HouseholdBuildResult(
        existing, done, persons, memberships, time.perf_counter() - started, commit_seconds, index_seconds
    )


# Circumstances for the new persons, chosen by a hash of the id so every run is the same: wages for
# about 45% (200-2,599 yuan), pensions for 10%, the residents' basic pension (not counted) for 15%,
# disability certificates for 4% and listed serious illnesses for 2%. One INSERT ... SELECT each.
_CIRCUMSTANCE_SQL = (
    """INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
       recorded_at) SELECT id, 'wages', 200 + (id * 7919) % 2400, %s, '2024-01-01', '', '演示数据', %s
       FROM registry_person WHERE id >= %s AND (id * 2654435761) % 100 < 45""",
    """INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
       recorded_at) SELECT id, 'pension', 300 + (id * 31) % 1500, %s, '2024-01-01', '', '演示数据', %s
       FROM registry_person WHERE id >= %s AND (id * 2654435761) % 100 BETWEEN 45 AND 54""",
    """INSERT INTO registry_incomeitem (person_id, category, monthly_amount, counted, valid_from, note, source,
       recorded_at) SELECT id, 'resident_basic_pension', 150, %s, '2024-01-01', '', '演示数据', %s
       FROM registry_person WHERE id >= %s AND (id * 2654435761) % 100 BETWEEN 55 AND 69""",
    """INSERT INTO registry_disability (person_id, certificate_number, category, grade, valid_from, note, source,
       recorded_at) SELECT id, 'D' || id, CASE id % 6 WHEN 0 THEN 'visual' WHEN 1 THEN 'hearing'
       WHEN 2 THEN 'physical' WHEN 3 THEN 'intellectual' WHEN 4 THEN 'mental' ELSE 'speech' END,
       1 + id % 4, '2024-01-01', %s, '演示数据', %s
       FROM registry_person WHERE id >= %s AND (id * 40503) % 100 < 4""",
    """INSERT INTO registry_illness (person_id, name, is_listed_serious, valid_from, note, source, recorded_at)
       SELECT id, '尿毒症', %s, '2024-01-01', '', '演示数据', %s
       FROM registry_person WHERE id >= %s AND (id * 40503) % 100 BETWEEN 4 AND 5""",
)
_CIRCUMSTANCE_FIRST: tuple[bool | str, ...] = (True, True, False, "", True)


def _add_circumstances(*, first_person_id: int, now: Any) -> None:
    with connection.cursor() as cursor:
        for sql, first in zip(_CIRCUMSTANCE_SQL, _CIRCUMSTANCE_FIRST, strict=True):
            cursor.execute(sql.replace("% ", "%% "), [first, now, first_person_id])


# ----------------------------------------------------------------------------------------------
# The whole demo
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    divisions_created: int
    offices_created: int
    accounts_created: list[str]
    households: HouseholdBuildResult
    timings: dict[str, float] = field(default_factory=dict)


def build_demo(
    *,
    households: int = DEFAULT_HOUSEHOLDS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int, int], None] | None = None,
    counties: Iterable[str] = (DEMO_COUNTY, NEIGHBOUR_COUNTY),
) -> DemoResult:
    """Divisions and offices, the demo accounts, then the households; each step idempotent."""
    require_demo_mode()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    divisions_created = offices_created = 0
    for county in counties:
        loaded = divisions_load(actor=None, prefix=county)
        divisions_created += loaded.created
        offices_created += loaded.offices_created
    timings["divisions"] = time.perf_counter() - started
    started = time.perf_counter()
    accounts_created = ensure_accounts()
    timings["accounts"] = time.perf_counter() - started
    built = build_households(target=households, seed=seed, progress=progress)
    timings["households"] = built.seconds
    return DemoResult(divisions_created, offices_created, accounts_created, built, timings)
