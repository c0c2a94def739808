"""Minimum living guarantee (最低生活保障, 民发〔2021〕57号): a household-level top-up.

top-up = standard x members - (counted income - rigid-spending deduction), computed for the household
as a whole (not per capita rounded and multiplied). With tiered payment (分档) each member gets a share
of the standard chosen by the per-capita gap. Category top-ups (分类施保) go to elderly, minor,
severely disabled and seriously ill members: one per member, the highest that applies.
"""

from __future__ import annotations

from decimal import Decimal

from minzheng.rules.facts import HouseholdFacts, Member
from minzheng.rules.money import ZERO, fen, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.programmes.common import assets_within_limit, counted_income, rigid_deduction
from minzheng.rules.results import Result

CATEGORIES = (
    ("elderly", "老年人"),
    ("minor", "未成年人"),
    ("disabled", "重度残疾人"),
    ("ill", "重病患者"),
)


def member_categories(member: Member, day: object, params: ParameterView) -> list[str]:
    age = member.age_on(day)  # type: ignore[arg-type]
    found = []
    if age >= params.integer("dibao.elderly_age"):
        found.append("elderly")
    if age < params.integer("dibao.minor_age"):
        found.append("minor")
    if member.disability is not None and member.disability.is_severe:
        found.append("disabled")
    if member.serious_illness:
        found.append("ill")
    return found


def category_amount(category: str, per_capita: Decimal, standard: Decimal, params: ParameterView) -> Decimal:
    mode = params.choice(f"dibao.topup.{category}.mode")
    if mode == "none":
        return ZERO
    value = params.rate(f"dibao.topup.{category}.value")
    if mode == "per_capita_topup_percent":
        return fen(per_capita * value)
    if mode == "standard_percent":
        return fen(standard * value)
    return fen(value)


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    result = Result("dibao", "最低生活保障", "month")
    standard = params.money("dibao.standard")
    unit = facts.members
    if facts.individual_applicant is not None:
        applicant = facts.member(facts.individual_applicant)
        if not _individual_application_allowed(facts, applicant, standard, params, result):
            result.status = "not_eligible"
            return result
        unit = (applicant,)
    size = len(unit)
    threshold = standard * size
    result.line("standard", "保障标准合计", threshold, f"低保标准{yuan(standard)}元/人·月 × {size}人")
    income = counted_income(unit, result)
    # The family's rigid spending is deducted only when the family applies as a whole.
    deduction = (
        ZERO if facts.individual_applicant is not None else rigid_deduction(facts, income, params, result)
    )
    assessed = income - deduction
    income_ok = result.reason(
        "income_below_standard",
        f"核算家庭月收入{yuan(assessed)}元，低于保障标准合计{yuan(threshold)}元"
        if assessed < threshold
        else f"核算家庭月收入{yuan(assessed)}元，不低于保障标准合计{yuan(threshold)}元",
        assessed < threshold,
    )
    assets_ok = assets_within_limit(facts, standard, size, params, result)
    if not (income_ok and assets_ok):
        multiple = params.rate("dibao.near_poor_multiple")
        near_poor = assets_ok and assessed < threshold * multiple
        result.reason(
            "near_poor",
            f"人均收入低于低保标准的{multiple}倍（{yuan(threshold * multiple)}元），属于低保边缘家庭"
            if near_poor
            else f"不属于低保边缘家庭（上限{yuan(threshold * multiple)}元）",
            near_poor,
        )
        result.status = "near_poor" if near_poor else "not_eligible"
        result.lines = [li for li in result.lines if li.code == "income_excluded"]
        return result

    top_up = threshold - assessed
    if params.choice("dibao.payment_method") == "tiered":
        base = _tiered_base(top_up, standard, size, params, result)
    else:
        base = top_up
    per_capita = fen(base / size)
    topups = ZERO
    for member in unit:
        best, best_label = ZERO, ""
        for category in member_categories(member, facts.date, params):
            amount = category_amount(category, per_capita, standard, params)
            if amount > best:
                best, best_label = amount, dict(CATEGORIES)[category]
        if best:
            topups += result.line(
                "category_topup",
                f"加：分类施保（{best_label}）",
                best,
                f"成员{member.id}属于{best_label}，人均补差{yuan(per_capita)}元，按规定增发{yuan(best)}元",
                member.id,
            )
    result.eligible = True
    result.status = "eligible"
    result.amount = base + topups
    return result


def _tiered_base(
    top_up: Decimal, standard: Decimal, size: int, params: ParameterView, result: Result
) -> Decimal:
    """Replace the top-up lines with the tier's share of the standard per member."""
    threshold = standard * size
    for tier in sorted(params.table_rows("dibao.tiers"), key=lambda t: t["min_gap"], reverse=True):
        if top_up >= tier["min_gap"] * threshold:
            per_person = fen(standard * tier["pay"])
            result.lines = [li for li in result.lines if li.code == "income_excluded"]
            result.line(
                "tier",
                "分档发放",
                per_person * size,
                f"补差{yuan(top_up)}元，人均差额达标准的{tier['min_gap']}倍以上，"
                f"每人按标准的{tier['pay']}倍发放{yuan(per_person)}元 × {size}人",
            )
            return per_person * size
    result.lines = [li for li in result.lines if li.code == "income_excluded"]
    result.line("tier", "分档发放", ZERO, f"补差{yuan(top_up)}元低于最低档次，不发放")
    return ZERO


def _individual_application_allowed(
    facts: HouseholdFacts, applicant: Member, standard: Decimal, params: ParameterView, result: Result
) -> bool:
    """民发〔2021〕57号: a severely disabled or seriously ill member of a near-poor family (not itself
    eligible, income below the near-poor multiple) may apply alone, as a single-person household.
    The family test uses the same assessed income as a household application (rigid spending deducted)."""
    severe = applicant.disability is not None and applicant.disability.is_severe
    condition = result.reason(
        "individual_condition",
        "申请人为重度残疾人或重病患者，可按单人户申请"
        if severe or applicant.serious_illness
        else "申请人不属于重度残疾人或重病患者，不能按单人户申请",
        severe or applicant.serious_illness,
        applicant.id,
    )
    scratch = Result("dibao", "", "month")
    family_income = counted_income(facts.members, scratch, explain=False)
    family_income -= rigid_deduction(facts, family_income, params, scratch)
    size = len(facts.members)
    multiple = params.rate("dibao.near_poor_multiple")
    line, limit = standard * size, standard * size * multiple
    near_poor = line <= family_income < limit
    if family_income < line:
        text = f"全家核算月收入{yuan(family_income)}元低于低保标准合计{yuan(line)}元，应以全家申请"
    elif near_poor:
        text = f"全家核算月收入{yuan(family_income)}元，属于低保边缘家庭（不超过标准{multiple}倍即{yuan(limit)}元）"
    else:
        text = f"全家核算月收入{yuan(family_income)}元，超过低保边缘上限{yuan(limit)}元"
    result.reason("family_near_poor", text, near_poor)
    return condition and near_poor
