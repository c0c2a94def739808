"""Progress against the target and the traffic light (红绿灯), one rule for every indicator.

Every indicator of the plan is "higher is better". For a value V in year Y of a plan running from its
baseline year B (value B₀; 0 when the plan gives none, "—") to its target year T (target G):

- green  已达标  V meets the target: V ≥ G (V > G for a target written ">G"; for a relative target,
                 V ≥ the year's comparison statistic).
- amber  进度正常 not met yet, but on the straight path from the baseline to the target:
                 V ≥ B₀ + (G − B₀) × (Y − B) ÷ (T − B). Not for the target year or later (the target
                 is met or it is not), and not for a relative target (an annual target, met or not).
- red    滞后    otherwise.
- grey   暂无数据 no value for the year (or, for a relative target, no comparison statistic).

Progress (完成进度) is (V − B₀) ÷ (G − B₀) × 100, one decimal, ROUND_HALF_UP; none for a relative target.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from minzheng.plans.models import Comparison, Indicator

ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class Light:
    code: str  # green, amber, red, grey
    label: str | Promise


GREEN = Light("green", _("已达标"))
AMBER = Light("amber", _("进度正常"))
RED = Light("red", _("滞后"))
GREY = Light("grey", _("暂无数据"))


def expected_on_path(indicator: Indicator, year: int) -> Decimal | None:
    """Where the straight path from the baseline to the target stands in `year`."""
    if indicator.target_value is None:
        return None
    plan = indicator.plan
    base = indicator.baseline_value if indicator.baseline_value is not None else Decimal(0)
    share = Decimal(min(max(year - plan.baseline_year, 0), plan.target_year - plan.baseline_year))
    span = Decimal(plan.target_year - plan.baseline_year)
    return base + (indicator.target_value - base) * share / span


def met(indicator: Indicator, value: Decimal, benchmark: Decimal | None) -> bool | None:
    if indicator.target_comparison == Comparison.RELATIVE:
        return None if benchmark is None else value >= benchmark
    assert indicator.target_value is not None  # noqa: S101 (a CHECK constraint in the database)
    if indicator.target_comparison == Comparison.MORE_THAN:
        return value > indicator.target_value
    return value >= indicator.target_value


def light(indicator: Indicator, year: int, value: Decimal | None, benchmark: Decimal | None = None) -> Light:
    if value is None:
        return GREY
    reached = met(indicator, value, benchmark)
    if reached is None:
        return GREY
    if reached:
        return GREEN
    if indicator.target_comparison == Comparison.RELATIVE or year >= indicator.plan.target_year:
        return RED
    expected = expected_on_path(indicator, year)
    return AMBER if expected is not None and value >= expected else RED


def progress(indicator: Indicator, value: Decimal | None) -> Decimal | None:
    if value is None or indicator.target_value is None or indicator.target_comparison == Comparison.RELATIVE:
        return None
    base = indicator.baseline_value if indicator.baseline_value is not None else Decimal(0)
    if indicator.target_value == base:
        return None
    share = (value - base) * 100 / (indicator.target_value - base)
    return share.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
