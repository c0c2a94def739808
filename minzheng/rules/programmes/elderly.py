"""Elderly allowance (高龄津贴) by age band: the highest band whose age the member has reached — unless
the member qualifies for a higher disability living subsidy: both are welfare living allowances and a
person takes the higher one (就高, 国发〔2015〕52号; a tie keeps the elderly allowance)."""

from __future__ import annotations

from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.money import yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.programmes.disability import living_basis
from minzheng.rules.results import Result


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    result = Result("elderly_allowance", "高龄津贴", "month")
    bands = sorted(params.table_rows("elderly.bands"), key=lambda b: b["from_age"])
    youngest = bands[0]["from_age"]
    for member in facts.members:
        age = member.age_on(facts.date)
        band = next((b for b in reversed(bands) if age >= b["from_age"]), None)
        result.reason(
            "age_band",
            f"成员{member.id}：{age}周岁"
            + (f"，属于{band['from_age']}周岁以上档" if band else f"，未满{youngest}周岁"),
            band is not None,
            member.id,
        )
        if band is not None and member.disability is not None and living_basis(member, facts, params):
            living = params.money("disability.living.amount")
            if living > band["amount"]:
                result.reason(
                    "higher_of",
                    f"成员{member.id}：困难残疾人生活补贴每月{yuan(living)}元高于高龄津贴"
                    f"{yuan(band['amount'])}元，按就高原则享受生活补贴，高龄津贴不重复享受",
                    False,
                    member.id,
                )
                continue
        if band is not None:
            result.eligible = True
            result.amount += result.line(
                "elderly_allowance",
                f"高龄津贴（{band['from_age']}周岁以上）",
                band["amount"],
                f"成员{member.id}年满{band['from_age']}周岁，每月{yuan(band['amount'])}元",
                member.id,
            )
    result.status = "eligible" if result.eligible else "not_eligible"
    return result
