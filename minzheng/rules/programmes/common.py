"""Steps shared by several programmes: counting income, the rigid-spending deduction, the asset test."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from minzheng.rules.facts import HouseholdFacts, Member
from minzheng.rules.money import ZERO, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.results import Result


def counted_income(members: Sequence[Member], result: Result, *, explain: bool = True) -> Decimal:
    """Counted monthly income of `members` (民发〔2021〕57号); excluded items are listed at 0."""
    total = ZERO
    for member in members:
        for item in member.incomes:
            if item.counted:
                total += item.monthly_amount
                if explain:
                    result.line(
                        "income",
                        f"减：{item.label}",
                        -item.monthly_amount,
                        f"成员{member.id}的{item.label}{yuan(item.monthly_amount)}元/月，计入家庭收入",
                        member.id,
                    )
            elif explain:
                result.line(
                    "income_excluded",
                    f"不计入：{item.label}",
                    ZERO,
                    f"成员{member.id}的{item.label}{yuan(item.monthly_amount)}元/月，按规定不计入家庭收入",
                    member.id,
                )
    return total


def rigid_deduction(facts: HouseholdFacts, income: Decimal, params: ParameterView, result: Result) -> Decimal:
    """Rigid spending deducted from counted income, never below zero income (param: mode and cap)."""
    if facts.rigid_expenses == 0:
        return ZERO
    mode = params.choice("dibao.rigid_expense_deduction")
    if mode == "none":
        return ZERO
    deduction = min(facts.rigid_expenses, income)
    explanation = f"刚性支出{yuan(facts.rigid_expenses)}元/月，扣减不超过家庭收入{yuan(income)}元"
    if mode == "capped":
        cap = params.money("dibao.rigid_expense_cap")
        deduction = min(deduction, cap)
        explanation += f"及每户每月限额{yuan(cap)}元"
    if deduction:
        result.line("rigid_deduction", "加：刚性支出扣减", deduction, explanation)
    return deduction


def assets_within_limit(
    facts: HouseholdFacts, standard: Decimal, size: int, params: ParameterView, result: Result
) -> bool:
    months = params.integer("dibao.asset_limit_months")
    limit = standard * size * months
    return result.reason(
        "assets_within_limit",
        f"家庭金融资产{yuan(facts.financial_assets)}元，上限为低保标准{yuan(standard)}元×{size}人×{months}个月"
        f"＝{yuan(limit)}元",
        facts.financial_assets <= limit,
    )
