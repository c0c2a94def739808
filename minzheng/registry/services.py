"""Writes for the household registry. Every write is atomic, scope-checked and audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minzheng.core import protect, throttle
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, OutOfScope, TooManyRequests
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_resident_id
from minzheng.core.inputs import InputRuleError, check_fields, check_phone, clean_model
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import require, require_in_scope
from minzheng.registry.circumstances import (
    ALL_KINDS,
    EXCLUDED_INCOME,
    PERSON_KINDS,
    SINGLE_VALUED,
    DatedRecord,
    IncomeItem,
    SelfCareAssessment,
    self_care_level,
)
from minzheng.registry.models import Area, Household, Membership, Person, Relationship


@dataclass(frozen=True)
class MemberInput:
    name: str
    id_number: str
    relationship: str
    phone: str = ""


def _household_snapshot(household: Household) -> dict[str, object]:
    return {
        "number": household.number,
        "division": household.division_id,
        "address": household.address,
        "area": household.area,
        "head": household.head_id,
        "members": [
            {"person": m.person_id, "relationship": m.relationship}
            for m in household.memberships.filter(end_date__isnull=True).order_by("pk")
        ],
    }


def _audit_household_change(
    *, actor: Staff, action: str, household: Household, reason: str, before: dict[str, object]
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="registry.household",
        object_id=household.pk,
        scope_code=household.division_id,
        reason=reason,
        before=before,
        after=_household_snapshot(household),
    )


def _next_household_number(division: Division) -> str:
    last = (
        Household.objects.filter(division=division, number__startswith=division.code)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[12:]) + 1 if last else 1
    return f"{division.code}{seq:06d}"


def _validate_members(members: Sequence[MemberInput]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not members:
        errors["members"] = ["至少登记一名家庭成员"]
    heads = [m for m in members if m.relationship == Relationship.HEAD]
    if members and len(heads) != 1:
        errors["members"] = ["须有且只有一名户主"]
    seen: set[str] = set()
    for i, m in enumerate(members):
        key = f"members[{i}]"
        if not m.name.strip():
            errors.setdefault(f"{key}.name", []).append("请填写姓名")
        if m.relationship not in Relationship.values:
            errors.setdefault(f"{key}.relationship", []).append("与户主关系无效")
        try:
            check_phone(m.phone)
        except InputRuleError as exc:
            errors.setdefault(f"{key}.phone", []).append(exc.message)
        try:
            rid = parse_resident_id(m.id_number)
        except InvalidIdentifier as exc:
            errors.setdefault(f"{key}.id_number", []).append(exc.message)
            continue
        if rid.number in seen:
            errors.setdefault(f"{key}.id_number", []).append("身份证号在本户中重复")
        seen.add(rid.number)
    return errors


def _phone_errors(phone: str) -> dict[str, list[str]]:
    try:
        check_phone(phone)
    except InputRuleError as exc:
        return {"phone": [exc.message]}
    return {}


@transaction.atomic
def household_create(
    *,
    actor: Staff,
    division_code: str,
    address: str,
    area: str,
    members: Sequence[MemberInput],
    phone: str = "",
    joined_on: date | None = None,
    reason: str = "",
) -> Household:
    require(actor, Perm.HOUSEHOLD_CHANGE)
    errors = _validate_members(members)
    if not address.strip():
        errors["address"] = ["请填写住址"]
    if area not in Area.values:
        errors["area"] = ["城乡类别无效"]
    errors.update(_phone_errors(phone))
    errors.update(check_fields({"address": address, "reason": reason}))
    division = Division.objects.select_for_update().filter(code=division_code).first()
    if division is None or division.level != DivisionLevel.VILLAGE:
        errors["division_code"] = ["须选择一个村（社区）"]
    if errors or division is None:
        raise InvalidInput(field_errors=errors)
    require_in_scope(actor, division.code)

    parsed = [(m, parse_resident_id(m.id_number)) for m in members]
    digests = {protect.lookup_digest(rid.number): m for m, rid in parsed}
    taken = Person.objects.filter(id_digest__in=digests).values_list("id_digest", flat=True)
    if taken:
        names = "、".join(digests[d].name for d in taken)
        raise Conflict(f"以下人员已在系统中登记，请通过迁入办理：{names}", code="person_exists")

    now = timezone.now()
    joined_on = joined_on or timezone.localdate()
    household = Household.objects.create(
        number=_next_household_number(division),
        division=division,
        address=address.strip(),
        area=area,
        phone=check_phone(phone),
        created_at=now,
        updated_at=now,
    )
    people = Person.objects.bulk_create(
        [
            Person(
                name=m.name.strip(),
                sex=rid.sex,
                birth_date=rid.birth_date,
                id_digest=protect.lookup_digest(rid.number),
                id_encrypted=protect.encrypt(rid.number),
                id_masked=rid.masked,
                division=division,
                phone=check_phone(m.phone),
            )
            for m, rid in parsed
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(person=p, household=household, relationship=m.relationship, start_date=joined_on)
            for p, (m, _) in zip(people, parsed, strict=True)
        ]
    )
    household.head = next(
        p for p, (m, _) in zip(people, parsed, strict=True) if m.relationship == Relationship.HEAD
    )
    household.save(update_fields=["head"])
    audit_record(
        actor=actor,
        action="household.create",
        object_type="registry.household",
        object_id=household.pk,
        scope_code=division.code,
        reason=reason,
        after=_household_snapshot(household),
    )
    return household


@transaction.atomic
def household_update(
    *, actor: Staff, household: Household, address: str, phone: str, reason: str
) -> Household:
    require(actor, Perm.HOUSEHOLD_CHANGE)
    require_in_scope(actor, household.division_id)
    errors = {**_phone_errors(phone), **check_fields({"address": address, "reason": reason})}
    if not address.strip():
        errors["address"] = ["请填写住址"]
    if errors:
        raise InvalidInput(field_errors=errors)
    before = _household_snapshot(household)
    household.address = address.strip()
    household.phone = check_phone(phone)
    household.updated_at = timezone.now()
    household.save(update_fields=["address", "phone", "updated_at"])
    _audit_household_change(
        actor=actor, action="household.update", household=household, reason=reason, before=before
    )
    return household


def person_reveal_id_number(*, actor: Staff, person: Person, reason: str) -> str:
    """Show a full ID number to a role that needs it; every display is audited. One account may
    reveal at most MINZHENG_ID_REVEAL_LIMIT numbers per window (a loop over the registry is not a
    need any role has): the next is refused with TooManyRequests, and the refusal is audited too,
    in a transaction of its own so that it stays when the refusal is returned."""
    require(actor, Perm.ID_NUMBER_VIEW_FULL)
    if person.division_id is None:
        raise OutOfScope()
    require_in_scope(actor, person.division_id)
    if not reason.strip():
        raise InvalidInput("查看完整身份证号须说明事由", field_errors={"reason": ["请填写查看事由"]})
    limit, window = settings.MINZHENG_ID_REVEAL_LIMIT
    try:
        throttle.check_account("id_reveal", actor.pk, limit, window)
    except TooManyRequests:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="person.reveal_id_number.refused",
                object_type="registry.person",
                object_id=person.pk,
                scope_code=person.division_id,
                reason=reason,
                after={"limit": limit, "window_seconds": window},
            )
        raise
    return _reveal_id_number(actor=actor, person=person, reason=reason)


@transaction.atomic
def _reveal_id_number(*, actor: Staff, person: Person, reason: str) -> str:
    audit_record(
        actor=actor,
        action="person.reveal_id_number",
        object_type="registry.person",
        object_id=person.pk,
        scope_code=person.division_id or "",
        reason=reason,
    )
    return protect.decrypt(person.id_encrypted)


# ----------------------------------------------------------------------------------------------
# Circumstances over time
# ----------------------------------------------------------------------------------------------

_BASE_FIELDS = {
    "id",
    "person",
    "household",
    "valid_from",
    "valid_until",
    "recorded_by",
    "recorded_at",
    "note",
    "source",
}
# Derived by the service, never entered: the self-care level from the six activities, and whether
# an income item counts towards household income from its category.
_DERIVED = {"self_care": {"level"}, "income": {"counted"}}


def circumstance_fields(kind: str) -> list[str]:
    """The fields a user fills in for a kind of circumstance (besides the period, note and source)."""
    model = ALL_KINDS[kind]
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in _BASE_FIELDS and f.name not in _DERIVED.get(kind, set())
    ]


# What each database constraint of a circumstance means to the person entering it.
CONSTRAINT_MESSAGES: dict[str, tuple[str, str]] = {
    "disability_grade_1_4": ("grade", "残疾等级为1至4级"),
    "income_not_negative": ("monthly_amount", "月收入不能为负数"),
    "asset_not_negative": ("value", "财产价值不能为负数"),
    "rigid_expense_not_negative": ("monthly_amount", "月均金额不能为负数"),
    "child_status_payments_not_negative": ("other_payments", "其他同类保障金额不能为负数"),
    **{
        f"{kind}_period_ordered": ("valid_until", "截止日期不能早于起始日期")
        for kind in (
            "disability",
            "selfcare",
            "illness",
            "labour",
            "employment",
            "schooling",
            "income",
            "asset",
            "rigid_expense",
            "child_status",
        )
    },
}


def _subject_scope(kind: str, subject: Person | Household) -> str:
    if kind in PERSON_KINDS:
        if not isinstance(subject, Person):
            raise InvalidInput(f"{kind} 须登记在人员上")
        if subject.division_id is None:
            raise OutOfScope()
        return subject.division_id
    if not isinstance(subject, Household):
        raise InvalidInput(f"{kind} 须登记在家庭上")
    return subject.division_id


def _record_snapshot(record: DatedRecord, kind: str) -> dict[str, object]:
    data: dict[str, object] = {"kind": kind}
    for f in record._meta.concrete_fields:
        if f.name not in ("recorded_by", "recorded_at"):
            data[f.attname] = getattr(record, f.attname)
    return data


@transaction.atomic
def circumstance_record(
    *,
    actor: Staff,
    kind: str,
    subject: Person | Household,
    valid_from: date,
    values: Mapping[str, object],
    valid_until: date | None = None,
    note: str = "",
    source: str = "",
    reason: str = "",
) -> DatedRecord:
    """Record a dated circumstance. For single-valued kinds (self-care, labour capacity,
    employment, schooling) the record in force until then is ended the day before."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    if kind not in ALL_KINDS:
        raise InvalidInput(f"未知的状况类别：{kind}", field_errors={"kind": ["未知类别"]})
    scope_code = _subject_scope(kind, subject)
    require_in_scope(actor, scope_code)
    model = ALL_KINDS[kind]
    allowed = set(circumstance_fields(kind))
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidInput(field_errors={k: ["不是该类别的字段"] for k in unknown})
    owner = {"person": subject} if kind in PERSON_KINDS else {"household": subject}
    record = model(
        **owner,
        **values,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
        source=source,
        recorded_by=actor,
    )
    if isinstance(record, SelfCareAssessment):
        record.level = self_care_level(record.not_achieved)
    if isinstance(record, IncomeItem):
        record.counted = record.category not in EXCLUDED_INCOME
    clean_model(record, exclude=[*owner, "recorded_by"], constraints=CONSTRAINT_MESSAGES)

    if kind in SINGLE_VALUED:
        open_records = model.objects.filter(**owner, valid_until__isnull=True)  # type: ignore[attr-defined]
        if open_records.filter(valid_from__gte=valid_from).exists():
            raise Conflict(
                "已有同日或更晚开始的同类记录，请先结束该记录", field_errors={"valid_from": ["日期冲突"]}
            )
        for previous in open_records:
            before = _record_snapshot(previous, kind)
            previous.valid_until = valid_from - timedelta(days=1)
            previous.save(update_fields=["valid_until"])
            audit_record(
                actor=actor,
                action=f"circumstance.end.{kind}",
                object_type=f"registry.{model.__name__.lower()}",
                object_id=previous.pk,
                scope_code=scope_code,
                reason=reason or "由新记录接替",
                before=before,
                after=_record_snapshot(previous, kind),
            )
    record.save()
    audit_record(
        actor=actor,
        action=f"circumstance.record.{kind}",
        object_type=f"registry.{model.__name__.lower()}",
        object_id=record.pk,
        scope_code=scope_code,
        reason=reason,
        after=_record_snapshot(record, kind),
    )
    return record


@transaction.atomic
def circumstance_end(
    *, actor: Staff, kind: str, record: DatedRecord, valid_until: date, reason: str
) -> DatedRecord:
    require(actor, Perm.HOUSEHOLD_CHANGE)
    subject = record.person if kind in PERSON_KINDS else record.household  # type: ignore[attr-defined]
    scope_code = _subject_scope(kind, subject)
    require_in_scope(actor, scope_code)
    if not reason.strip():
        raise InvalidInput(field_errors={"reason": ["请填写原因"]})
    if record.valid_until is not None:
        raise Conflict("该记录已经结束")
    if valid_until < record.valid_from:
        raise InvalidInput(field_errors={"valid_until": ["截止日期不能早于起始日期"]})
    before = _record_snapshot(record, kind)
    record.valid_until = valid_until
    record.save(update_fields=["valid_until"])
    audit_record(
        actor=actor,
        action=f"circumstance.end.{kind}",
        object_type=f"registry.{type(record).__name__.lower()}",
        object_id=record.pk,
        scope_code=scope_code,
        reason=reason,
        before=before,
        after=_record_snapshot(record, kind),
    )
    return record


# ----------------------------------------------------------------------------------------------
# Household changes over time: move, split, merge (history kept in Membership)
# ----------------------------------------------------------------------------------------------


def _open_membership(person: Person) -> Membership:
    membership = Membership.objects.select_for_update().filter(person=person, end_date__isnull=True).first()
    if membership is None:
        raise Conflict(f"{person.name} 当前不属于任何家庭")
    return membership


def _check_change_date(membership: Membership, on: date) -> None:
    if on < membership.start_date:
        raise InvalidInput(field_errors={"on": [f"变动日期不能早于加入现家庭的日期 {membership.start_date}"]})


def _end_and_join(
    *, membership: Membership, target: Household, relationship: str, on: date, reason: str
) -> Membership:
    membership.end_date = on - timedelta(days=1) if on > membership.start_date else on
    membership.end_reason = reason
    membership.save(update_fields=["end_date", "end_reason"])
    Person.objects.filter(pk=membership.person_id).update(division=target.division_id)
    return Membership.objects.create(
        person_id=membership.person_id, household=target, relationship=relationship, start_date=on
    )


def _after_members_left(household: Household, on: date) -> None:
    """A household whose head left gets no head until one is set; an empty household is closed."""
    remaining = Membership.objects.filter(household=household, end_date__isnull=True)
    if not remaining.exists():
        household.is_active = False
    elif household.head_id is not None and not remaining.filter(person_id=household.head_id).exists():
        household.head = None
    household.updated_at = timezone.now()
    household.save(update_fields=["is_active", "head", "updated_at"])


@transaction.atomic
def person_move(
    *, actor: Staff, person: Person, target: Household, relationship: str, on: date, reason: str
) -> Membership:
    """Move a person from their household to another (迁移): the old membership ends the day before."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    membership = _open_membership(person)
    source = Household.objects.select_for_update().get(pk=membership.household_id)
    require_in_scope(actor, source.division_id)
    require_in_scope(actor, target.division_id)
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = ["请填写变动原因"]
    if relationship not in Relationship.values or relationship == Relationship.HEAD:
        errors["relationship"] = ["请选择与新户主的关系（如需担任户主，请先迁入再设为户主）"]
    if target.pk == source.pk:
        errors["target"] = ["已在该家庭中"]
    if not target.is_active:
        errors["target"] = ["目标家庭已注销"]
    if errors:
        raise InvalidInput(field_errors=errors)
    _check_change_date(membership, on)
    before = {"household": source.pk, "relationship": membership.relationship}
    joined = _end_and_join(
        membership=membership, target=target, relationship=relationship, on=on, reason=reason
    )
    _after_members_left(source, on)
    audit_record(
        actor=actor,
        action="person.move",
        object_type="registry.person",
        object_id=person.pk,
        scope_code=target.division_id,
        reason=reason,
        before=before,
        after={"household": target.pk, "relationship": relationship, "on": on},
    )
    return joined


@transaction.atomic
def household_split(
    *,
    actor: Staff,
    household: Household,
    members: Mapping[int, str],
    new_head: int,
    address: str,
    on: date,
    reason: str,
) -> Household:
    """Split members off into a new household (分户) in the same village. `members` maps person id
    to their relationship with the new head; `new_head` is one of them."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    require_in_scope(actor, household.division_id)
    current = {
        m.person_id: m
        for m in Membership.objects.select_for_update().filter(household=household, end_date__isnull=True)
    }
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = ["请填写分户原因"]
    if not address.strip():
        errors["address"] = ["请填写新家庭住址"]
    if not members or any(pid not in current for pid in members):
        errors["members"] = ["分出的成员须是本户现有成员"]
    elif len(members) == len(current):
        errors["members"] = ["不能把全部成员分出（请改为修改家庭信息）"]
    if new_head not in members:
        errors["new_head"] = ["新户主须在分出的成员中"]
    if any(r not in Relationship.values for r in members.values()):
        errors["members"] = ["与户主关系无效"]
    if errors:
        raise InvalidInput(field_errors=errors)
    for pid in members:
        _check_change_date(current[pid], on)
    division = Division.objects.select_for_update().get(code=household.division_id)
    now = timezone.now()
    new = Household.objects.create(
        number=_next_household_number(division),
        division=division,
        address=address.strip(),
        area=household.area,
        created_at=now,
        updated_at=now,
    )
    for pid, relationship in members.items():
        role = Relationship.HEAD if pid == new_head else relationship
        _end_and_join(membership=current[pid], target=new, relationship=role, on=on, reason=reason)
    new.head_id = new_head
    new.save(update_fields=["head"])
    _after_members_left(household, on)
    audit_record(
        actor=actor,
        action="household.split",
        object_type="registry.household",
        object_id=household.pk,
        scope_code=household.division_id,
        reason=reason,
        after={"new_household": new.pk, "number": new.number, "members": sorted(members), "on": on},
    )
    return new


@transaction.atomic
def household_merge(
    *,
    actor: Staff,
    source: Household,
    target: Household,
    relationships: Mapping[int, str],
    on: date,
    reason: str,
) -> Household:
    """Merge every member of `source` into `target` (合户); `source` is closed, its history kept."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    require_in_scope(actor, source.division_id)
    require_in_scope(actor, target.division_id)
    current = {
        m.person_id: m
        for m in Membership.objects.select_for_update().filter(household=source, end_date__isnull=True)
    }
    errors: dict[str, list[str]] = {}
    if source.pk == target.pk:
        errors["target"] = ["不能与自身合户"]
    if not target.is_active:
        errors["target"] = ["目标家庭已注销"]
    if not reason.strip():
        errors["reason"] = ["请填写合户原因"]
    if set(relationships) != set(current):
        errors["relationships"] = ["须为原家庭每位成员填写与新户主的关系"]
    elif any(r not in Relationship.values or r == Relationship.HEAD for r in relationships.values()):
        errors["relationships"] = ["关系无效（合入成员不能担任户主）"]
    if errors:
        raise InvalidInput(field_errors=errors)
    for membership in current.values():
        _check_change_date(membership, on)
        _end_and_join(
            membership=membership,
            target=target,
            relationship=relationships[membership.person_id],
            on=on,
            reason=reason,
        )
    _after_members_left(source, on)
    audit_record(
        actor=actor,
        action="household.merge",
        object_type="registry.household",
        object_id=source.pk,
        scope_code=target.division_id,
        reason=reason,
        after={"into": target.pk, "members": sorted(current), "on": on},
    )
    return target


@transaction.atomic
def household_set_head(*, actor: Staff, household: Household, person: Person, reason: str) -> Household:
    require(actor, Perm.HOUSEHOLD_CHANGE)
    require_in_scope(actor, household.division_id)
    membership = Membership.objects.filter(household=household, person=person, end_date__isnull=True).first()
    if membership is None:
        raise InvalidInput(field_errors={"person": ["须为本户现有成员"]})
    if not reason.strip():
        raise InvalidInput(field_errors={"reason": ["请填写原因"]})
    before = _household_snapshot(household)
    Membership.objects.filter(
        household=household, end_date__isnull=True, relationship=Relationship.HEAD
    ).exclude(person=person).update(relationship=Relationship.OTHER)
    membership.relationship = Relationship.HEAD
    membership.save(update_fields=["relationship"])
    household.head = person
    household.updated_at = timezone.now()
    household.save(update_fields=["head", "updated_at"])
    _audit_household_change(
        actor=actor, action="household.set_head", household=household, reason=reason, before=before
    )
    return household
