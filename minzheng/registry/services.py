"""Writes for the household registry. Every write is atomic, scope-checked and audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, OutOfScope
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import require, require_in_scope
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
            rid = parse_resident_id(m.id_number)
        except InvalidIdentifier as exc:
            errors.setdefault(f"{key}.id_number", []).append(exc.message)
            continue
        if rid.number in seen:
            errors.setdefault(f"{key}.id_number", []).append("身份证号在本户中重复")
        seen.add(rid.number)
    return errors


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
        phone=phone,
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
                phone=m.phone,
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
    if not address.strip():
        raise InvalidInput(field_errors={"address": ["请填写住址"]})
    before = _household_snapshot(household)
    household.address = address.strip()
    household.phone = phone
    household.updated_at = timezone.now()
    household.save(update_fields=["address", "phone", "updated_at"])
    audit_record(
        actor=actor,
        action="household.update",
        object_type="registry.household",
        object_id=household.pk,
        scope_code=household.division_id,
        reason=reason,
        before=before,
        after=_household_snapshot(household),
    )
    return household


@transaction.atomic
def person_reveal_id_number(*, actor: Staff, person: Person, reason: str) -> str:
    """Show a full ID number to a role that needs it; every display is audited."""
    require(actor, Perm.ID_NUMBER_VIEW_FULL)
    if person.division_id is None:
        raise OutOfScope()
    require_in_scope(actor, person.division_id)
    if not reason.strip():
        raise InvalidInput("查看完整身份证号须说明事由", field_errors={"reason": ["请填写查看事由"]})
    audit_record(
        actor=actor,
        action="person.reveal_id_number",
        object_type="registry.person",
        object_id=person.pk,
        scope_code=person.division_id,
        reason=reason,
    )
    return protect.decrypt(person.id_encrypted)
