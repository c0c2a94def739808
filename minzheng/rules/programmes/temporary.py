"""Temporary assistance (临时救助, 《社会救助暂行办法》第十章, 民发〔2018〕23号).

Emergency type (急难型): the assessed need; aid first, paperwork after. Expense type (支出型): costs
beyond what the household can bear — its counted income above the dibao line over a number of months.
Capped at a multiple of the monthly urban dibao standard; the amount decides who may approve it:
quick small aid, the township within its limit, the county above.
"""

from __future__ import annotations

from minzheng.core.errors import InvalidInput
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.money import ZERO, fen, yuan
from minzheng.rules.policy import ParameterView
from minzheng.rules.programmes.common import counted_income
from minzheng.rules.results import Result

APPROVAL_LABELS = {
    "quick": "小额快速救助：乡镇（街道）3个工作日内审批发放",
    "township": "乡镇（街道）审批",
    "county": "超出乡镇审批权限，报县级民政部门审批",
}


def calculate(facts: HouseholdFacts, params: ParameterView) -> Result:
    if facts.temporary is None:
        raise InvalidInput(
            "临时救助测算需要提供 temporary（救助类型及需求）", field_errors={"temporary": ["必填"]}
        )
    t = facts.temporary
    result = Result("temporary_assistance", "临时救助", "once")
    urban = params.money("dibao.standard", area="urban")
    interval = params.integer("temporary.repeat_interval_months")
    not_repeat = result.reason(
        "not_repeated",
        f"距上次同一事由救助{t.months_since_same_cause}个月，未满{interval}个月"
        if t.months_since_same_cause is not None and t.months_since_same_cause < interval
        else "近期未因同一事由获得临时救助",
        t.months_since_same_cause is None or t.months_since_same_cause >= interval,
    )
    if t.type == "emergency":
        need = t.requested_amount
        result.line("need", "急难型救助需求", need, f"经评估的救助需求{yuan(need)}元（先行救助）")
    else:
        standard = params.money("dibao.standard")
        size = len(facts.members)
        income = counted_income(facts.members, result, explain=False)
        surplus = max(ZERO, income - standard * size)
        months = params.integer("temporary.affordability_months")
        affordable = surplus * months
        need = max(ZERO, t.expenses - affordable)
        result.line("expenses", "支出型刚性支出", t.expenses, f"医疗、教育等自付费用{yuan(t.expenses)}元")
        if affordable:
            result.line(
                "affordable",
                "减：家庭自付能力",
                -min(affordable, t.expenses),
                f"家庭月收入{yuan(income)}元超出低保标准合计{yuan(standard * size)}元的部分{yuan(surplus)}元 × {months}个月",
            )
    ceiling = fen(urban * params.rate("temporary.ceiling_multiple"))
    amount = min(need, ceiling)
    if amount < need:
        result.line(
            "ceiling",
            "减：超出单次救助上限部分",
            amount - need,
            f"单次救助上限为城市低保月标准{yuan(urban)}元的{params.rate('temporary.ceiling_multiple')}倍＝{yuan(ceiling)}元；"
            "超出部分可按“一事一议”另行研究",
        )
    has_need = result.reason("has_need", f"核定救助金额{yuan(amount)}元", amount > 0)
    result.eligible = not_repeat and has_need
    if not result.eligible:
        result.lines = []
        result.status = "not_eligible"
        return result
    result.amount = amount
    result.status = "eligible"
    if amount <= fen(urban * params.rate("temporary.quick_limit_multiple")):
        result.approval_level = "quick"
    elif amount <= fen(urban * params.rate("temporary.township_limit_multiple")):
        result.approval_level = "township"
    else:
        result.approval_level = "county"
    result.reason("approval_level", APPROVAL_LABELS[result.approval_level], True)
    return result
