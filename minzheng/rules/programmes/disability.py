"""Disability "two subsidies" (残疾人两项补贴, 国发〔2015〕52号).

Living subsidy: disabled members of dibao households (or also near-poor ones, by parameter), not
for people in extreme-poverty support (that support covers the same need), nor for children
protected as orphans or unsupported children (their basic living allowance covers it), and not beside
a higher or equal elderly allowance: both are welfare living allowances and a person takes the higher
one (就高, 国发〔2015〕52号). Care subsidy: grade 1-2, and by parameter grade 3-4 intellectual/mental at
a lower amount; not for people whose extreme-poverty support already includes a care standard.
"""

from __future__ import annotations

from typing import Any

from minzheng.rules.facts import HouseholdFacts, Member
from minzheng.rules.money import yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.results import Result

COVERAGE = {"dibao": ("dibao",), "dibao_or_near_poor": ("dibao", "near_poor")}


def elderly_band(member: Member, facts: HouseholdFacts, params: ParameterView) -> dict[str, Any] | None:
    """The elderly allowance band the member has reached on the day (the highest), if any."""
    bands = sorted(params.table_rows("elderly.bands"), key=lambda b: b["from_age"])
    age = member.age_on(facts.date)
    return next((b for b in reversed(bands) if age >= b["from_age"]), None)


def living_basis(member: Member, facts: HouseholdFacts, params: ParameterView) -> bool:
    """A disabled member of a covered household, not in extreme-poverty support and not protected as
    an orphan or unsupported child: who the living subsidy is for, before the higher-of rule."""
    in_extreme = member.extreme_poverty_supported or facts.household_status == "extreme_poverty"
    covered = COVERAGE[params.choice("disability.living.coverage")]
    return (
        member.disability is not None
        and facts.household_status in covered
        and not in_extreme
        and member.child_status is None
    )


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    result = Result("disability_subsidy", "残疾人两项补贴", "month")
    for member in facts.members:
        disability = member.disability
        if disability is None:
            continue
        in_extreme = member.extreme_poverty_supported or facts.household_status == "extreme_poverty"
        amount = params.money("disability.living.amount")
        basis = living_basis(member, facts, params)
        band = elderly_band(member, facts, params)
        elderly_higher = band is not None and band["amount"] >= amount
        living_ok = basis and not elderly_higher
        if in_extreme:
            why = "已纳入特困供养，生活补贴不重复享受"
        elif member.child_status is not None:
            why = "已享受孤儿、事实无人抚养儿童基本生活保障，不享受困难残疾人生活补贴"
        elif not basis:
            why = "家庭不属于困难残疾人生活补贴覆盖范围"
        elif elderly_higher and band is not None:
            why = (
                f"年满{band['from_age']}周岁，高龄津贴每月{yuan(band['amount'])}元不低于生活补贴"
                f"{yuan(amount)}元，按就高原则享受高龄津贴，生活补贴不重复享受"
            )
        else:
            why = "家庭属于生活补贴覆盖范围"
        result.reason("living_subsidy", f"成员{member.id}：{why}", living_ok, member.id)
        if living_ok:
            result.amount += result.line(
                "living_subsidy",
                "困难残疾人生活补贴",
                amount,
                f"成员{member.id}，每月{yuan(amount)}元",
                member.id,
            )
        care_amount = None
        if disability.grade <= 2:
            care_amount = params.money("disability.care.severe_amount")
            how = f"{disability.grade}级重度残疾"
        elif disability.category in ("intellectual", "mental") and params.flag(
            "disability.care.covers_grade34_intellectual_mental"
        ):
            care_amount = params.money("disability.care.nonsevere_amount")
            how = f"{disability.grade}级智力、精神残疾（非重度）"
        has_ep_care = in_extreme and member.self_care in ("partly_lost", "fully_lost")
        care_ok = care_amount is not None and care_amount > 0 and not has_ep_care
        result.reason(
            "care_subsidy",
            f"成员{member.id}："
            + (
                "已享受特困供养照料护理标准，护理补贴不重复享受"
                if has_ep_care and care_amount
                else (f"{how}，享受护理补贴" if care_ok else "残疾等级不属于护理补贴范围")
            ),
            care_ok,
            member.id,
        )
        if care_ok and care_amount is not None:
            result.amount += result.line(
                "care_subsidy",
                "重度残疾人护理补贴",
                care_amount,
                f"成员{member.id}，{how}，每月{yuan(care_amount)}元",
                member.id,
            )
        result.eligible = result.eligible or living_ok or care_ok
    if not any(m.disability for m in facts.members):
        result.reason("no_disability", "家庭成员中没有持证残疾人", False)
    result.status = "eligible" if result.eligible else "not_eligible"
    return result
