"""Medical assistance share (医疗救助, 国办发〔2021〕42号): a rate of the eligible out-of-pocket costs
by the member's standing, within the yearly limit."""

from __future__ import annotations

from minzheng.core.errors import InvalidInput
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.money import ZERO, fen, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.results import Result

STANDING_LABELS = {"extreme_poverty": "特困人员", "dibao": "低保对象", "near_poor": "低保边缘家庭成员"}


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    if facts.medical is None:
        raise InvalidInput(
            "医疗救助测算需要提供 medical（就医成员与费用）", field_errors={"medical": ["必填"]}
        )
    m = facts.medical
    member = facts.member(m.member)
    result = Result("medical_assistance", "医疗救助", "once")
    standing = "extreme_poverty" if member.extreme_poverty_supported else facts.household_status
    if not result.reason(
        "standing",
        f"成员{member.id}为{STANDING_LABELS[standing]}"
        if standing in STANDING_LABELS
        else f"成员{member.id}不属于医疗救助对象",
        standing in STANDING_LABELS,
        member.id,
    ):
        result.status = "not_eligible"
        return result
    rate = params.rate(f"medical.rate.{standing}")
    cap = params.money("medical.annual_cap")
    share = fen(m.eligible_costs * rate)
    result.line(
        "share", "按比例救助", share, f"政策范围内自付费用{yuan(m.eligible_costs)}元 × {rate}", member.id
    )
    room = max(ZERO, cap - m.assisted_this_year)
    amount = min(share, room)
    if amount < share:
        result.line(
            "annual_cap",
            "减：超出年度限额部分",
            amount - share,
            f"年度限额{yuan(cap)}元，本年已救助{yuan(m.assisted_this_year)}元",
            member.id,
        )
    result.eligible = result.reason("has_amount", f"核定救助金额{yuan(amount)}元", amount > 0)
    result.amount = amount if result.eligible else ZERO
    result.status = "eligible" if result.eligible else "not_eligible"
    return result
