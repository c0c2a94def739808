"""Writes of the plan's indicators.

- `entry_submit`: a figure for a year with its evidence file (PDF, JPEG or PNG, stored in the
  database): an indicator's value, a coverage rate's denominator or a relative target's comparison
  statistic. Refused without evidence, for a year in the future or outside the plan, for a value
  that is not a number, for a published year, or while another entry of the same figure waits.
- `entry_approve` / `entry_reject`: a second person decides (maker-checker: never the one who
  entered it, nor an account they created or empowered; also a CHECK in the database). An approved
  entry replaces the earlier approved one and the year's value is recomputed at once.
- `values_refresh`: the year's values recomputed from what the database holds (published ones stay).
- `values_publish`: the year's values recomputed one last time and frozen; they never change again.
Every write is audited in its transaction.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput
from minzheng.core.permissions import Perm
from minzheng.core.uploads import Upload
from minzheng.org.models import Staff
from minzheng.org.scope import require
from minzheng.org.services import require_independent_checker
from minzheng.plans import compute, selectors
from minzheng.plans.evidence import check_evidence
from minzheng.plans.models import EntryKind, EntryStatus, Indicator, IndicatorEntry, IndicatorValue, Plan
from minzheng.rules.policy import PolicyTable
from minzheng.rules.selectors import policy_table

LIMITS: dict[str, tuple[Decimal, Decimal]] = {
    "%": (Decimal(0), Decimal(100)),
    "benchmark": (Decimal(-100), Decimal(1000)),
}
LARGEST = Decimal("999999999")


class PlanAudit(StrEnum):
    ENTRY_SUBMIT = "plans.entry_submit"
    ENTRY_APPROVE = "plans.entry_approve"
    ENTRY_REJECT = "plans.entry_reject"
    EVIDENCE_DOWNLOAD = "plans.evidence_download"
    VALUES_REFRESH = "plans.values_refresh"
    VALUES_PUBLISH = "plans.values_publish"


def _bad(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, field_errors={field: [message]})


def _check_year(plan: Plan, year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        try:
            year = int(str(year).strip())
        except ValueError:
            raise _bad("year", "年度应为四位数字") from None
    if year > timezone.localdate().year:
        raise _bad("year", "不能填报或计算未来年度", code="future_period")
    # After the target year the plan is still followed (its final evaluation, then the years until
    # the next plan); before it there is nothing to measure against the baseline.
    if year <= plan.baseline_year:
        raise _bad("year", "年度应晚于规划基期", code="outside_plan")
    return year


def _parse_value(indicator: Indicator, kind: str, raw: Any) -> Decimal:
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    text = text.removesuffix("%").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _bad("value", "数值应为数字", code="not_a_number") from None
    if not value.is_finite():
        raise _bad("value", "数值应为数字", code="not_a_number")
    if value != value.quantize(Decimal("0.01")):
        raise _bad("value", "数值最多两位小数")
    if kind == EntryKind.BENCHMARK:
        if not LIMITS["benchmark"][0] <= value <= LIMITS["benchmark"][1]:
            raise _bad("value", "对比数据（增速，%）应在-100至1000之间")
    elif kind == EntryKind.DENOMINATOR:
        if value <= 0 or value != value.to_integral_value() or value > LARGEST:
            raise _bad("value", "目标人数应为正整数")
    elif indicator.unit == "%":
        if not LIMITS["%"][0] <= value <= LIMITS["%"][1]:
            raise _bad("value", "百分比应在0至100之间")
    elif value < 0 or value > LARGEST:
        raise _bad("value", "数值不能为负数或过大")
    elif indicator.decimals == 0 and value != value.to_integral_value():
        raise _bad("value", "该指标应为整数")
    return value


def _value_for(indicator: Indicator, year: int) -> IndicatorValue | None:
    return IndicatorValue.objects.filter(indicator=indicator, year=year).first()


@transaction.atomic
def entry_submit(
    *,
    actor: Staff,
    indicator_id: int,
    year: Any,
    kind: str,
    value: Any,
    source: str,
    evidence: Upload | None,
    note: str = "",
) -> IndicatorEntry:
    require(actor, Perm.PLAN_ENTER)
    indicator = selectors.indicator_get(actor=actor, indicator_id=indicator_id)
    allowed = selectors.entry_kinds(indicator)
    if kind not in allowed:
        raise _bad("kind", "该指标不能填报此项内容（系统计算的指标只填报其分母或对比数据）")
    year = _check_year(indicator.plan, year)
    parsed = _parse_value(indicator, kind, value)
    source = (source or "").strip()
    if not source:
        raise _bad("source", "请注明数据来源")
    if evidence is None:
        raise _bad("evidence", "请上传佐证材料（PDF、JPG或PNG）", code="evidence_required")
    problem = check_evidence(evidence)
    if problem:
        raise _bad("evidence", problem)
    existing = _value_for(indicator, year)
    if existing is not None and existing.frozen:
        raise Conflict("该年度指标已发布，不能再填报", code="published")
    if IndicatorEntry.objects.filter(
        indicator=indicator, year=year, kind=kind, status=EntryStatus.PENDING
    ).exists():
        raise Conflict("该年度已有待审核的填报，请先审核或退回", code="pending_exists")
    entry = IndicatorEntry.objects.create(
        indicator=indicator,
        year=year,
        kind=kind,
        value=parsed,
        source=source[:200],
        note=(note or "").strip()[:300],
        evidence_name=(evidence.file_name or "evidence").replace("\x00", "")[-200:],
        evidence_type=evidence.content_type,
        evidence_size=len(evidence.content),
        evidence_sha256=hashlib.sha256(evidence.content).hexdigest(),
        evidence_content=evidence.content,
        entered_by=actor,
    )
    audit_record(
        actor=actor,
        action=PlanAudit.ENTRY_SUBMIT,
        object_type="plans.indicatorentry",
        object_id=entry.pk,
        scope_code=indicator.plan.region,
        after={
            "indicator": indicator.number,
            "plan": indicator.plan.code,
            "year": year,
            "kind": kind,
            "value": parsed,
            "source": entry.source,
            "evidence_sha256": entry.evidence_sha256,
        },
    )
    return entry


def _pending(actor: Staff, entry_id: int) -> IndicatorEntry:
    entry = selectors.entry_get(actor=actor, entry_id=entry_id)
    entry = (
        IndicatorEntry.objects.select_for_update()
        .select_related("indicator__plan", "entered_by")
        .get(pk=entry.pk)
    )
    if entry.status != EntryStatus.PENDING:
        raise Conflict("该填报已审核或退回", code="already_decided")
    require_independent_checker(maker=entry.entered_by, checker=actor)
    existing = _value_for(entry.indicator, entry.year)
    if existing is not None and existing.frozen:
        raise Conflict("该年度指标已发布，不能再审核", code="published")
    return entry


@transaction.atomic
def entry_approve(*, actor: Staff, entry_id: int, note: str = "") -> IndicatorEntry:
    require(actor, Perm.PLAN_APPROVE)
    entry = _pending(actor, entry_id)
    replaced = list(
        IndicatorEntry.objects.filter(
            indicator=entry.indicator, year=entry.year, kind=entry.kind, status=EntryStatus.APPROVED
        ).values_list("pk", flat=True)
    )
    IndicatorEntry.objects.filter(pk__in=replaced).update(status=EntryStatus.SUPERSEDED)
    entry.status = EntryStatus.APPROVED
    entry.decided_by = actor
    entry.decided_at = timezone.now()
    entry.decision_note = (note or "").strip()[:300]
    entry.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    value = _store(entry.indicator, entry.year, policy_table())
    audit_record(
        actor=actor,
        action=PlanAudit.ENTRY_APPROVE,
        object_type="plans.indicatorentry",
        object_id=entry.pk,
        scope_code=entry.indicator.plan.region,
        reason=entry.decision_note,
        before={"status": EntryStatus.PENDING, "replaces": replaced},
        after={"status": EntryStatus.APPROVED, "value": entry.value, "indicator_value": value.value},
    )
    return entry


@transaction.atomic
def entry_reject(*, actor: Staff, entry_id: int, note: str) -> IndicatorEntry:
    require(actor, Perm.PLAN_APPROVE)
    note = (note or "").strip()
    if not note:
        raise _bad("note", "请填写退回理由")
    entry = _pending(actor, entry_id)
    entry.status = EntryStatus.REJECTED
    entry.decided_by = actor
    entry.decided_at = timezone.now()
    entry.decision_note = note[:300]
    entry.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action=PlanAudit.ENTRY_REJECT,
        object_type="plans.indicatorentry",
        object_id=entry.pk,
        scope_code=entry.indicator.plan.region,
        reason=entry.decision_note,
        before={"status": EntryStatus.PENDING},
        after={"status": EntryStatus.REJECTED},
    )
    return entry


@transaction.atomic
def evidence_download(*, actor: Staff, entry_id: int) -> IndicatorEntry:
    entry = selectors.entry_get(actor=actor, entry_id=entry_id)
    audit_record(
        actor=actor,
        action=PlanAudit.EVIDENCE_DOWNLOAD,
        object_type="plans.indicatorentry",
        object_id=entry.pk,
        scope_code=entry.indicator.plan.region,
        after={"file": entry.evidence_name, "sha256": entry.evidence_sha256},
    )
    return IndicatorEntry.objects.get(pk=entry.pk)


def _digest(inputs: dict[str, Any], value: Decimal | None) -> str:
    body = json.dumps(
        {"value": str(value), "inputs": inputs}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _store(indicator: Indicator, year: int, table: PolicyTable) -> IndicatorValue:
    """The year's value recomputed and stored, unless it is published (then it is returned as it is)."""
    existing = IndicatorValue.objects.select_for_update().filter(indicator=indicator, year=year).first()
    if existing is not None and existing.frozen:
        return existing
    found = compute.compute(indicator, year, table=table)
    fields = {
        "value": found.value,
        "missing": found.missing[:200],
        "inputs": found.inputs,
        "inputs_sha256": _digest(found.inputs, found.value),
        "computed_at": timezone.now(),
    }
    if existing is None:
        return IndicatorValue.objects.create(indicator=indicator, year=year, **fields)
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save(update_fields=list(fields))
    return existing


def _refresh(plan: Plan, year: int) -> list[IndicatorValue]:
    table = policy_table()
    return [_store(i, year, table) for i in Indicator.objects.filter(plan=plan).select_related("plan")]


@transaction.atomic
def values_refresh(*, actor: Staff, plan_id: int, year: Any) -> list[IndicatorValue]:
    """Recompute every indicator of the plan for the year (computed ones from the data, entered ones
    from their approved entry); published values are left as they are."""
    if not (actor.can(Perm.PLAN_ENTER) or actor.can(Perm.PLAN_APPROVE)):
        require(actor, Perm.PLAN_ENTER)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    year = _check_year(plan, year)
    values = _refresh(plan, year)
    audit_record(
        actor=actor,
        action=PlanAudit.VALUES_REFRESH,
        object_type="plans.plan",
        object_id=plan.pk,
        scope_code=plan.region,
        after={"year": year, "values": {v.indicator.number: v.value for v in values}},
    )
    return values


@transaction.atomic
def values_publish(*, actor: Staff, plan_id: int, year: Any) -> list[IndicatorValue]:
    """Freeze the year's values (a completed year only): what is published never changes."""
    require(actor, Perm.PLAN_APPROVE)
    plan = selectors.plan_get(actor=actor, plan_id=plan_id)
    year = _check_year(plan, year)
    if year >= timezone.localdate().year:
        raise _bad("year", "年度尚未结束，不能发布", code="year_not_ended")
    if IndicatorValue.objects.filter(indicator__plan=plan, year=year, frozen=True).exists():
        raise Conflict("该年度指标已发布", code="published")
    values = _refresh(plan, year)
    now = timezone.now()
    IndicatorValue.objects.filter(pk__in=[v.pk for v in values]).update(
        frozen=True, published_at=now, published_by=actor
    )
    audit_record(
        actor=actor,
        action=PlanAudit.VALUES_PUBLISH,
        object_type="plans.plan",
        object_id=plan.pk,
        scope_code=plan.region,
        after={"year": year, "values": {v.indicator.number: [v.value, v.inputs_sha256] for v in values}},
    )
    return list(IndicatorValue.objects.filter(pk__in=[v.pk for v in values]))
