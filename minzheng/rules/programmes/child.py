"""Orphan allowance (孤儿基本生活费, 国办发〔2010〕54号) and de-facto unsupported child allowance
(事实无人抚养儿童基本生活补贴, 民发〔2019〕62号): the standard minus other payments of the same kind
(top-up), for children under the age limit."""

from __future__ import annotations

from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.money import ZERO, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.results import Result


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    result = Result("child_allowance", "孤儿和事实无人抚养儿童保障", "month")
    for member in facts.members:
        if member.child_status is None:
            continue
        max_age = params.integer("child.max_age")
        age = member.age_on(facts.date)
        if not result.reason(
            "under_age_limit",
            f"成员{member.id}：{age}周岁，" + ("未满" if age < max_age else "已满") + f"{max_age}周岁",
            age < max_age,
            member.id,
        ):
            continue
        if member.child_status == "orphan":
            name = (
                "child.orphan_institutional"
                if member.child_care == "institutional"
                else "child.orphan_scattered"
            )
            label = "机构集中养育孤儿" if member.child_care == "institutional" else "社会散居孤儿"
        else:
            name, label = "child.unsupported", "事实无人抚养儿童"
        standard = params.money(name)
        amount = max(ZERO, standard - member.other_child_payments)
        if result.reason(
            "top_up",
            f"成员{member.id}：{label}标准{yuan(standard)}元，已领取其他同类保障{yuan(member.other_child_payments)}元",
            amount > 0,
            member.id,
        ):
            result.eligible = True
            result.amount += result.line(
                "child_allowance",
                f"{label}基本生活保障",
                amount,
                f"标准{yuan(standard)}元 − 其他同类保障{yuan(member.other_child_payments)}元（补差）",
                member.id,
            )
    if not any(m.child_status for m in facts.members):
        result.reason("no_child", "家庭成员中没有孤儿或事实无人抚养儿童", False)
    result.status = "eligible" if result.eligible else "not_eligible"
    return result
