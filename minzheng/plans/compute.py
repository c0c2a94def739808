"""The indicators the system can compute from what it holds, for a county and a year.

Rounding (stated once): a computed percentage is rounded to one decimal place, half away from zero
(ROUND_HALF_UP: 70.75 -> 70.8), after exact Decimal division; nothing is rounded before that.

The day a year is read on is its last day (31 December), or today for the year in progress.

- 2 农村低保标准占城市低保标准比例 = rural annual standard ÷ 12 ÷ urban monthly standard. The
  rules keep the rural standard per person and month (5,520 元/年 is stored as 460 元/月, the
  parameter's own reference says so), so the annual figure is that × 12 and the ratio is
  460 × 12 ÷ 12 ÷ 650 = 70.769… % -> 70.8 %.
- 1 城乡低保标准年度增速 = the lower of the urban and the rural standard's growth from the end of the
  previous year to the end of this one (both have to keep up with consumption, so the weaker one
  decides); its target is the residents' per-capita consumption growth of the previous year, a
  statistic entered with evidence and approved (EntryKind.BENCHMARK), kept in the value's inputs.
- 13/14 困难残疾人生活补贴 / 重度残疾人护理补贴覆盖率 = persons receiving the subsidy ÷ the target
  population given by the disabled persons' federation (区残联), × 100. Receiving: a line of that
  subsidy (living_subsidy / care_subsidy) for the person in the decision of a 残疾人两项补贴
  enrolment (programme disability_subsidy) in force on the day in the county: from the month before
  its start month (the month it was decided in, as rules.standing dates a status) and not ended by
  the day (a suspended enrolment still counts: suspension does not end the status).
  The denominator is an approved entry (EntryKind.DENOMINATOR).

Indicators 6 (community service facility area per 100 households) and 8 (social-work professionals)
are entered, not computed: minzheng.oversight records the civil-affairs offices' own rooms (办公用房)
and the qualifications of grassroots civil-affairs workers only, not the communities' whole service
facilities nor the district's social workers in organisations and agencies, so a figure from it would
understate both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from minzheng.payments.models import Enrolment
from minzheng.plans.models import Computation, EntryKind, EntryStatus, Indicator, IndicatorEntry
from minzheng.rules.policy import PolicyError, PolicyTable
from minzheng.rules.selectors import policy_table

ONE_DECIMAL = Decimal("0.1")
DISABILITY_PROGRAMME = "disability_subsidy"  # 残疾人两项补贴 (minzheng/cases/workflows.py DISABILITY)
SUBSIDY_LINES = {
    Computation.DISABILITY_LIVING: "living_subsidy",  # 困难残疾人生活补贴
    Computation.DISABILITY_CARE: "care_subsidy",  # 重度残疾人护理补贴
}


@dataclass
class Computed:
    value: Decimal | None
    missing: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


def round_percent(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator * 100 / denominator).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def day_of(year: int, today: date | None = None) -> date:
    today = today or timezone.localdate()
    return min(date(year, 12, 31), today)


def approved_entry(indicator: Indicator, year: int, kind: str) -> IndicatorEntry | None:
    return IndicatorEntry.objects.filter(
        indicator=indicator, year=year, kind=kind, status=EntryStatus.APPROVED
    ).first()


def entry_input(entry: IndicatorEntry) -> dict[str, Any]:
    return {
        "entry": entry.pk,
        "value": str(entry.value),
        "source": entry.source,
        "evidence_sha256": entry.evidence_sha256,
        "entered_by": entry.entered_by_id,
        "approved_by": entry.decided_by_id,
    }


def _standard(table: PolicyTable, day: date, region: str, area: str) -> tuple[Decimal, dict[str, Any]]:
    found = table.lookup("dibao.standard", day, region, area)
    return found.value, {
        "value": str(found.value),
        "region": found.region,
        "effective_from": found.effective_from.isoformat(),
        "reference": found.reference,
    }


def dibao_ratio(
    region: str, year: int, *, table: PolicyTable | None = None, today: date | None = None
) -> Computed:
    table = table or policy_table()
    day = day_of(year, today)
    try:
        urban, urban_in = _standard(table, day, region, "urban")
        rural, rural_in = _standard(table, day, region, "rural")
    except PolicyError as exc:
        return Computed(None, str(exc), {"day": day.isoformat()})
    rural_annual = rural * 12
    inputs = {
        "day": day.isoformat(),
        "urban_monthly": urban_in,
        "rural_monthly": rural_in,
        "rural_annual": str(rural_annual),
        "formula": "rural_annual / 12 / urban_monthly × 100, ROUND_HALF_UP to 0.1",
    }
    if urban <= 0:
        return Computed(None, "城市低保标准为零，无法计算", inputs)
    return Computed(round_percent(rural_annual / 12, urban), "", inputs)


def dibao_growth(
    indicator: Indicator, year: int, *, table: PolicyTable | None = None, today: date | None = None
) -> Computed:
    table = table or policy_table()
    region = indicator.plan.region
    day, before = day_of(year, today), date(year - 1, 12, 31)
    inputs: dict[str, Any] = {"day": day.isoformat(), "previous_day": before.isoformat()}
    benchmark = approved_entry(indicator, year, EntryKind.BENCHMARK)
    if benchmark is not None:
        inputs["benchmark"] = entry_input(benchmark)
    growth: dict[str, Decimal] = {}
    try:
        for area in ("urban", "rural"):
            now, now_in = _standard(table, day, region, area)
            then, then_in = _standard(table, before, region, area)
            inputs[area] = {"this_year": now_in, "previous_year": then_in}
            if then <= 0:
                return Computed(None, "上年末低保标准为零，无法计算增速", inputs)
            growth[area] = round_percent(now - then, then)
            inputs[area]["growth"] = str(growth[area])
    except PolicyError:
        return Computed(None, f"{before.year}年末或{day.year}年没有低保标准参数，无法计算增速", inputs)
    inputs["formula"] = (
        "min(urban, rural) of (end of year / end of previous year − 1) × 100, ROUND_HALF_UP to 0.1"
    )
    return Computed(min(growth.values()), "", inputs)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def subsidy_recipients(region: str, line: str, day: date) -> int:
    """Distinct persons with a `line` in the decision of a disability-subsidy enrolment in force."""
    rows = (
        Enrolment.objects.filter(
            programme=DISABILITY_PROGRAMME,
            division__code__startswith=region,
            start_month__lte=next_month(day),
        )
        .filter(Q(end_month__isnull=True) | Q(end_month__gt=day))
        .values_list("household_id", "case__decision__calculation__result")
    )
    persons: set[tuple[int, str]] = set()
    for household_id, result in rows.iterator(chunk_size=2000):
        for item in (result or {}).get("lines", []):
            if item.get("code") == line:
                persons.add((household_id, str(item.get("member") or "")))
    return len(persons)


def disability_coverage(indicator: Indicator, year: int, *, today: date | None = None) -> Computed:
    day = day_of(year, today)
    line = SUBSIDY_LINES[Computation(indicator.computation)]
    receiving = subsidy_recipients(indicator.plan.region, line, day)
    inputs: dict[str, Any] = {
        "day": day.isoformat(),
        "programme": DISABILITY_PROGRAMME,
        "line": line,
        "numerator": receiving,
        "formula": "numerator / denominator × 100, ROUND_HALF_UP to 0.1",
    }
    denominator = approved_entry(indicator, year, EntryKind.DENOMINATOR)
    if denominator is None:
        return Computed(None, "区残联提供的目标人数（分母）尚未填报或审核", inputs)
    inputs["denominator"] = entry_input(denominator)
    return Computed(round_percent(Decimal(receiving), denominator.value), "", inputs)


def manual(indicator: Indicator, year: int) -> Computed:
    entry = approved_entry(indicator, year, EntryKind.VALUE)
    if entry is None:
        return Computed(None, "尚未填报或审核", {})
    return Computed(entry.value, "", {"entry": entry_input(entry)})


def compute(
    indicator: Indicator, year: int, *, table: PolicyTable | None = None, today: date | None = None
) -> Computed:
    """The indicator's value for `year` from what the database holds now."""
    kind = indicator.computation
    if kind == Computation.DIBAO_RATIO:
        return dibao_ratio(indicator.plan.region, year, table=table, today=today)
    if kind == Computation.DIBAO_GROWTH:
        return dibao_growth(indicator, year, table=table, today=today)
    if kind in SUBSIDY_LINES:
        return disability_coverage(indicator, year, today=today)
    return manual(indicator, year)
