"""Reads of the plans: which plans an account sees (a county's plan by its county and by the city,
region and province above it; nobody below the county), each indicator's latest value with its
progress and traffic light, an indicator's history, and the comparison of counties side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from minzheng.core.errors import NotFound
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require
from minzheng.plans import progress
from minzheng.plans.models import (
    EntryKind,
    EntryStatus,
    Indicator,
    IndicatorEntry,
    IndicatorValue,
    Plan,
)

COUNTY_PREFIX = 6


def plans(*, actor: Staff) -> QuerySet[Plan]:
    require(actor, Perm.REPORT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    if not actor.is_active or len(prefix) > COUNTY_PREFIX:
        return Plan.objects.none()
    return Plan.objects.filter(region__startswith=prefix).order_by("region", "code")


def plan_get(*, actor: Staff, plan_id: int) -> Plan:
    found = plans(actor=actor).filter(pk=plan_id).first()
    if found is None:
        raise NotFound("没有该规划或不在您的管辖范围内")
    return found


def indicator_get(*, actor: Staff, indicator_id: int) -> Indicator:
    found = (
        Indicator.objects.filter(pk=indicator_id, plan__in=plans(actor=actor)).select_related("plan").first()
    )
    if found is None:
        raise NotFound("没有该指标或不在您的管辖范围内")
    return found


def entry_get(*, actor: Staff, entry_id: int) -> IndicatorEntry:
    found = (
        IndicatorEntry.objects.filter(pk=entry_id, indicator__plan__in=plans(actor=actor))
        .select_related("indicator__plan", "entered_by", "decided_by")
        .first()
    )
    if found is None:
        raise NotFound("没有该填报记录或不在您的管辖范围内")
    return found


def benchmark_of(value: IndicatorValue | None) -> Decimal | None:
    """The comparison statistic a relative target was judged against (kept in the value's inputs)."""
    if value is None:
        return None
    found = (value.inputs or {}).get("benchmark")
    return Decimal(found["value"]) if found else None


@dataclass
class Row:
    indicator: Indicator
    latest: IndicatorValue | None
    light: progress.Light
    progress: Decimal | None
    benchmark: Decimal | None
    entry: IndicatorEntry | None  # the approved entry behind the latest value (who entered, evidence)
    pending: int
    history: list[IndicatorValue] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return self.latest.year if self.latest else None


def _latest_with_value(values: list[IndicatorValue]) -> IndicatorValue | None:
    with_value = [v for v in values if v.value is not None]
    if with_value:
        return max(with_value, key=lambda v: v.year)
    return max(values, key=lambda v: v.year) if values else None


def _entry_behind(value: IndicatorValue | None, entries: dict[int, IndicatorEntry]) -> IndicatorEntry | None:
    if value is None:
        return None
    inputs = value.inputs or {}
    for key in ("entry", "denominator", "benchmark"):
        found = inputs.get(key)
        if isinstance(found, dict) and found.get("entry") in entries:
            return entries[found["entry"]]
    return None


def row_for(indicator: Indicator, values: list[IndicatorValue], entries: list[IndicatorEntry]) -> Row:
    latest = _latest_with_value(values)
    benchmark = benchmark_of(latest)
    value = latest.value if latest else None
    by_pk = {e.pk: e for e in entries}
    return Row(
        indicator=indicator,
        latest=latest,
        light=progress.light(indicator, latest.year, value, benchmark) if latest else progress.GREY,
        progress=progress.progress(indicator, value),
        benchmark=benchmark,
        entry=_entry_behind(latest, by_pk),
        pending=sum(1 for e in entries if e.status == EntryStatus.PENDING),
        history=sorted(values, key=lambda v: v.year, reverse=True),
    )


def plan_rows(*, actor: Staff, plan: Plan) -> list[Row]:
    """Every indicator of the plan with its latest value, light, progress, source and entry."""
    plan_get(actor=actor, plan_id=plan.pk)
    indicators = (
        Indicator.objects.filter(plan=plan)
        .select_related("plan")
        .prefetch_related(
            Prefetch("values", queryset=IndicatorValue.objects.select_related("published_by")),
            Prefetch(
                "entries",
                queryset=IndicatorEntry.objects.select_related("entered_by", "decided_by").defer(
                    "evidence_content"
                ),
            ),
        )
        .order_by("number")
    )
    return [row_for(i, list(i.values.all()), list(i.entries.all())) for i in indicators]


@dataclass
class SideBySide:
    counties: list[tuple[Plan, str]]  # a plan and its county's name
    rows: list[tuple[int, str, str, list[Row | None]]]  # number, name, unit, one cell per county


def comparison(*, actor: Staff) -> SideBySide:
    """The counties' plans side by side: one row per indicator (by number), one column per county."""
    found = list(plans(actor=actor))
    names = dict(
        Division.objects.filter(code__in=[p.region.ljust(12, "0") for p in found]).values_list("code", "name")
    )
    counties = [(p, names.get(p.region.ljust(12, "0"), p.region)) for p in found]
    cells: dict[int, dict[int, Row]] = {}
    labels: dict[int, tuple[str, str]] = {}
    for plan in found:
        for row in plan_rows(actor=actor, plan=plan):
            cells.setdefault(row.indicator.number, {})[plan.pk] = row
            labels.setdefault(row.indicator.number, (row.indicator.name, row.indicator.unit))
    rows = [
        (number, labels[number][0], labels[number][1], [cells[number].get(p.pk) for p in found])
        for number in sorted(cells)
    ]
    return SideBySide(counties, rows)


def indicator_detail(*, actor: Staff, indicator_id: int) -> tuple[Row, list[IndicatorEntry]]:
    """An indicator with its history (every year's value) and every entry made for it."""
    indicator = indicator_get(actor=actor, indicator_id=indicator_id)
    values = list(IndicatorValue.objects.filter(indicator=indicator).select_related("published_by"))
    entries = list(
        IndicatorEntry.objects.filter(indicator=indicator)
        .select_related("entered_by", "decided_by")
        .defer("evidence_content")
    )
    return row_for(indicator, values, entries), entries


def entry_kinds(indicator: Indicator) -> list[str]:
    """What may be entered for an indicator: its value when it is not computed; a coverage rate's
    denominator; the comparison statistic of a relative target."""
    if not indicator.computation:
        return [EntryKind.VALUE]
    if indicator.computation.startswith("disability_"):
        return [EntryKind.DENOMINATOR]
    if indicator.target_comparison == "relative":
        return [EntryKind.BENCHMARK]
    return []


def light_counts(rows: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {"green": 0, "amber": 0, "red": 0, "grey": 0}
    for row in rows:
        counts[row.light.code] += 1
    return counts


def as_dict(row: Row) -> dict[str, Any]:
    ind = row.indicator
    latest = row.latest
    return {
        "id": ind.pk,
        "number": ind.number,
        "name": ind.name,
        "unit": ind.unit,
        "attribute": ind.attribute,
        "method": "computed" if ind.computation else "manual",
        "computation": ind.computation,
        "baseline_year": ind.plan.baseline_year,
        "baseline_value": ind.baseline_value,
        "baseline_text": ind.baseline_text,
        "target_year": ind.plan.target_year,
        "target_value": ind.target_value,
        "target_comparison": ind.target_comparison,
        "target_text": ind.target_text,
        "source": ind.source,
        "latest_year": latest.year if latest else None,
        "latest_value": latest.value if latest else None,
        "missing": latest.missing if latest else "",
        "computed_at": latest.computed_at if latest else None,
        "frozen": latest.frozen if latest else False,
        "benchmark": row.benchmark,
        "progress": row.progress,
        "light": row.light.code,
        "entered_by": row.entry.entered_by.full_name if row.entry else None,
        "approved_by": row.entry.decided_by.full_name if row.entry and row.entry.decided_by else None,
        "evidence_entry_id": row.entry.pk if row.entry else None,
        "pending_entries": row.pending,
    }
