"""Writes to the parameter store: loading the shipped packs, proposing, approving and rejecting values.

Maker-checker (双人复核): the person who proposes a value cannot approve it. Approval of a value for a
key that already has one in force (same name, region, area and effective date) supersedes the old row;
nothing is overwritten or deleted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require
from minzheng.org.services import require_independent_checker
from minzheng.registry.models import Household
from minzheng.rules.engine import calculate
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.models import Calculation, ParameterValue, ValueStatus
from minzheng.rules.policy import ALL_AREAS, AREAS, PolicyError, shipped_packs, spec_for
from minzheng.rules.selectors import policy_table


@dataclass
class PackLoadReport:
    added: int = 0
    unchanged: int = 0
    kept_database: list[str] = field(default_factory=list)


def _key(name: str, region: str, area: str, effective_from: date) -> tuple[str, str, str, date]:
    return (name, region, area, effective_from)


@transaction.atomic
def policy_packs_load(*, actor: Staff | None = None, audit: bool = True) -> PackLoadReport:
    """Insert the shipped pack values that the database lacks. A value already in force for the same
    key is kept, even if the pack differs (an approved local correction wins); the report lists those.
    `audit=False` only for the load that comes with `migrate`: shipped values arrive like the schema
    (unaudited, reproducible from the repository); every later load is audited."""
    current = {
        _key(v.name, v.region, v.area, v.effective_from): v
        for v in ParameterValue.objects.filter(status=ValueStatus.APPROVED, superseded_by__isnull=True)
    }
    report = PackLoadReport()
    new: list[ParameterValue] = []
    now = timezone.now()
    for pack in shipped_packs():
        for value in pack.values:
            key = _key(value.name, value.region, value.area, value.effective_from)
            existing = current.get(key)
            if existing is None:
                new.append(
                    ParameterValue(
                        name=value.name,
                        region=value.region,
                        area=value.area,
                        effective_from=value.effective_from,
                        value=value.value_text,
                        reference=value.reference,
                        provisional=value.provisional,
                        source=value.source,
                        status=ValueStatus.APPROVED,
                        proposed_at=now,
                        decided_at=now,
                    )
                )
            elif existing.value == value.value_text:
                report.unchanged += 1
            else:
                report.kept_database.append(
                    f"{value.name} {value.region or '全国'} {value.area} {value.effective_from}"
                )
    ParameterValue.objects.bulk_create(new)
    report.added = len(new)
    if new and audit:
        audit_record(
            actor=actor,
            action="rules.packs_loaded",
            object_type="rules.ParameterValue",
            after={
                "added": report.added,
                "unchanged": report.unchanged,
                "kept_database": report.kept_database,
            },
        )
    return report


def _check_region(actor: Staff, region: str) -> None:
    if region and not (region.isdigit() and len(region) in (2, 4, 6)):
        raise InvalidInput(
            "地区代码必须为空（全国）或2、4、6位区划代码", field_errors={"region": ["格式不正确"]}
        )
    prefix = jurisdiction_of(actor).prefix
    if not region.startswith(prefix):
        raise PermissionDenied("只能为本机构管辖范围内的地区调整标准")


@transaction.atomic
def parameter_propose(
    *,
    actor: Staff,
    name: str,
    region: str,
    area: str,
    effective_from: date,
    value: Any,
    reference: str,
    reason: str,
) -> ParameterValue:
    require(actor, Perm.PARAMETER_PROPOSE)
    errors: dict[str, list[str]] = {}
    try:
        spec = spec_for(name)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field_errors={"name": [str(exc)]}) from exc
    if spec.by_area and area not in AREAS:
        errors["area"] = ["该参数分城乡设定，请选择城市或农村"]
    if not spec.by_area and area != ALL_AREAS:
        errors["area"] = ["该参数不分城乡，城乡应为“all”"]
    try:
        text = spec.dump(spec.parse(value))
    except PolicyError as exc:
        errors["value"] = [str(exc).split("：", 1)[-1]]
        text = ""
    if not reference.strip():
        errors["reference"] = ["请填写依据文件（文号）"]
    if not reason.strip():
        errors["reason"] = ["请填写调整理由"]
    if errors:
        raise InvalidInput("参数调整内容有误", field_errors=errors)
    _check_region(actor, region)
    proposal = ParameterValue.objects.create(
        name=name,
        region=region,
        area=area,
        effective_from=effective_from,
        value=text,
        reference=reference.strip(),
        source="proposal",
        status=ValueStatus.PROPOSED,
        reason=reason.strip(),
        proposed_by=actor,
    )
    audit_record(
        actor=actor,
        action="rules.parameter_proposed",
        object_type="rules.ParameterValue",
        object_id=proposal.pk,
        scope_code=region,
        reason=reason,
        after=_snapshot(proposal),
    )
    return proposal


def _pending(actor: Staff, value_id: int) -> ParameterValue:
    proposal = ParameterValue.objects.select_for_update().filter(pk=value_id).first()
    if proposal is None or not proposal.region.startswith(jurisdiction_of(actor).prefix):
        raise NotFound("没有找到该参数调整申请")
    if proposal.status != ValueStatus.PROPOSED:
        raise Conflict(f"该参数调整已{proposal.get_status_display()}，不能重复处理")
    if proposal.proposed_by_id == actor.pk:
        raise PermissionDenied("提出人不能批准或驳回自己提出的参数调整（双人复核）")
    if proposal.proposed_by is not None:
        require_independent_checker(maker=proposal.proposed_by, checker=actor)
    return proposal


@transaction.atomic
def parameter_approve(*, actor: Staff, value_id: int, note: str = "") -> ParameterValue:
    require(actor, Perm.PARAMETER_APPROVE)
    proposal = _pending(actor, value_id)
    previous = (
        ParameterValue.objects.select_for_update()
        .filter(
            name=proposal.name,
            region=proposal.region,
            area=proposal.area,
            effective_from=proposal.effective_from,
            status=ValueStatus.APPROVED,
            superseded_by__isnull=True,
        )
        .first()
    )
    proposal.status = ValueStatus.APPROVED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_note = note.strip()
    if previous is not None:
        # The old row leaves the "one in force" slot before the new one takes it.
        previous.superseded_by = proposal
        previous.save(update_fields=["superseded_by"])
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="rules.parameter_approved",
        object_type="rules.ParameterValue",
        object_id=proposal.pk,
        scope_code=proposal.region,
        reason=note,
        before=_snapshot(previous) if previous else None,
        after=_snapshot(proposal),
    )
    return proposal


@transaction.atomic
def parameter_reject(*, actor: Staff, value_id: int, note: str) -> ParameterValue:
    require(actor, Perm.PARAMETER_APPROVE)
    if not note.strip():
        raise InvalidInput("驳回须说明理由", field_errors={"note": ["请填写驳回理由"]})
    proposal = _pending(actor, value_id)
    proposal.status = ValueStatus.REJECTED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_note = note.strip()
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="rules.parameter_rejected",
        object_type="rules.ParameterValue",
        object_id=proposal.pk,
        scope_code=proposal.region,
        reason=note,
        after=_snapshot(proposal),
    )
    return proposal


def _snapshot(value: ParameterValue) -> dict[str, Any]:
    return {
        "name": value.name,
        "region": value.region,
        "area": value.area,
        "effective_from": value.effective_from,
        "value": value.value,
        "reference": value.reference,
        "status": value.status,
    }


@transaction.atomic
def calculation_record(
    *,
    actor: Staff,
    programme: str,
    facts: HouseholdFacts,
    household: Household | None = None,
    overrides: dict[str, Any] | None = None,
) -> Calculation:
    """Calculate with the standards in force and keep the whole explanation as evidence."""
    require(actor, Perm.CASE_VIEW)
    scope = household.division_id if household is not None else facts.region
    prefix = jurisdiction_of(actor).prefix
    if not (scope.startswith(prefix) or (household is None and prefix.startswith(scope))):
        raise NotFound()
    result = calculate(programme, facts, policy_table(), overrides=overrides).as_dict()
    canonical = json.dumps(result, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    record = Calculation.objects.create(
        programme=programme,
        household=household,
        division_code=scope,
        on_date=facts.date,
        eligible=result["eligible"],
        amount=Decimal(result["amount"]),
        result=result,
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="rules.calculation_recorded",
        object_type="rules.Calculation",
        object_id=record.pk,
        scope_code=scope,
        after={
            "programme": programme,
            "eligible": record.eligible,
            "amount": record.amount,
            "digest": record.digest,
        },
    )
    return record
