"""Extreme-poverty support (特困人员救助供养, 民发〔2021〕43号), person by person.

A member qualifies when all three hold: no capacity to work (elderly, minor, disability per 第八条, or
assessed as having none), no means of support (own counted income below the local dibao standard and
household assets within the limit), and nobody obliged and able to support them. Support = basic
living standard + care standard by self-care level (institutional or home support).
"""

from __future__ import annotations

from decimal import Decimal

from minzheng.rules.facts import HouseholdFacts, Member
from minzheng.rules.money import fen, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.programmes.common import assets_within_limit
from minzheng.rules.results import Result

SELF_CARE_LABELS = {"partly_lost": "部分丧失生活自理能力", "fully_lost": "完全丧失生活自理能力"}


def no_labour_capacity(member: Member, facts: HouseholdFacts, params: ParameterView) -> str | None:
    age = member.age_on(facts.date)
    if age >= params.integer("extreme_poverty.elderly_age"):
        return f"年满{params.integer('extreme_poverty.elderly_age')}周岁"
    if age < params.integer("extreme_poverty.minor_age"):
        return f"未满{params.integer('extreme_poverty.minor_age')}周岁"
    if member.extreme_poverty_supported:
        # 民发〔2021〕43号: a supported minor keeps support to 18, and beyond while in full-time school.
        continued = params.integer("extreme_poverty.continued_age")
        if age < continued:
            return f"已纳入供养的未成年人，继续供养至{continued}周岁"
        if member.in_school_full_time:
            return f"年满{continued}周岁仍在校就读，继续供养"
    if member.disability is not None and member.disability.means_no_labour_capacity:
        return f"{member.disability.grade}级残疾（属无劳动能力情形）"
    if member.labour_capacity == "none":
        return "经评估无劳动能力"
    return None


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    result = Result("extreme_poverty", "特困人员救助供养", "month")
    standard = params.money("dibao.standard")
    assets_ok = assets_within_limit(facts, standard, len(facts.members), params, result)
    for member in facts.members:
        capacity = no_labour_capacity(member, facts, params)
        c1 = result.reason(
            "no_labour_capacity",
            f"成员{member.id}：{capacity}"
            if capacity
            else f"成员{member.id}：具有劳动能力，不属于特困供养范围",
            capacity is not None,
            member.id,
        )
        income = member.counted_income
        c2 = result.reason(
            "no_means_of_support",
            f"成员{member.id}：本人月收入{yuan(income)}元"
            + ("低于" if income < standard else "不低于")
            + f"当地低保标准{yuan(standard)}元",
            income < standard and assets_ok,
            member.id,
        )
        c3 = result.reason(
            "no_able_supporter",
            f"成员{member.id}："
            + ("有法定义务人且有履行能力" if member.has_able_supporter else "无法定义务人或义务人无履行能力"),
            not member.has_able_supporter,
            member.id,
        )
        if c1 and c2 and c3:
            result.eligible = True
            result.amount += _support(member, facts, standard, params, result)
    result.status = "eligible" if result.eligible else "not_eligible"
    return result


def _support(
    member: Member, facts: HouseholdFacts, standard: Decimal, params: ParameterView, result: Result
) -> Decimal:
    if params.choice("extreme_poverty.basic.mode") == "fixed":
        basic = params.money("extreme_poverty.basic.amount")
        how = f"{'城市' if facts.area == 'urban' else '农村'}特困供养基本生活标准"
    else:
        multiple = params.rate("extreme_poverty.basic.multiple")
        basic = fen(standard * multiple)
        how = f"低保标准{yuan(standard)}元 × {multiple}倍"
    total = result.line("basic", "基本生活标准", basic, f"成员{member.id}：{how}", member.id)
    if member.self_care in SELF_CARE_LABELS:
        mode = "institutional" if member.support_mode == "institutional" else "home"
        rate = params.rate(f"extreme_poverty.care.{mode}.{member.self_care}_rate")
        wage = params.money("minimum_wage.monthly")
        care = fen(wage * rate)
        total += result.line(
            "care",
            "照料护理标准",
            care,
            f"成员{member.id}{SELF_CARE_LABELS[member.self_care]}，"
            f"{'集中' if mode == 'institutional' else '分散'}供养，最低月工资{yuan(wage)}元 × {rate}",
            member.id,
        )
    return total
