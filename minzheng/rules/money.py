"""Money and rounding, stated once for the whole system.

Amounts are `Decimal` yuan with two places (fen). Every rounding in a calculation is to the fen,
half away from zero (ROUND_HALF_UP: 0.005 -> 0.01), applied to the figures the rules name: the
per-capita top-up (人均补差金额) is such a figure, so it is rounded before a category top-up is taken
as a share of it; the household top-up itself is never rebuilt from a rounded per-capita figure. The bulk engine works in integer fen and
uses `half_up_div` with the same rule, so both paths agree to the fen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# Rates (percentages, multiples) carry at most this many decimal places, so integer arithmetic in the
# bulk engine is exact: a rate r is held there as round(r * RATE_SCALE).
RATE_PLACES = 6
RATE_SCALE = 10**RATE_PLACES


def fen(value: Decimal) -> Decimal:
    """Round to the fen, half up."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_money(text: object) -> Decimal:
    """A non-negative amount in yuan with at most two decimal places."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("金额格式不正确") from exc
    if not value.is_finite():
        raise ValueError("金额格式不正确")
    if value < 0:
        raise ValueError("金额不能为负数")
    if value != value.quantize(FEN):
        raise ValueError("金额最多保留两位小数（分）")
    return value.quantize(FEN)


def parse_rate(text: object) -> Decimal:
    """A non-negative rate or multiple (0.10 = 10%, 1.5 = one and a half times)."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("比例格式不正确") from exc
    if not value.is_finite() or value < 0:
        raise ValueError("比例必须是非负数")
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ValueError(f"比例最多保留{RATE_PLACES}位小数")
    return value.normalize() if value == value.to_integral() else value


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fen(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(FEN)


def rate_units(rate: Decimal) -> int:
    return int(rate * RATE_SCALE)


def half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half up, for non-negative numerator and positive denominator."""
    return (2 * numerator + denominator) // (2 * denominator)


def yuan(value: Decimal) -> str:
    """Display form: 1,234.50 元."""
    return f"{value:,.2f}"
