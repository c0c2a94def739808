"""The programmes (救助项目) the engine calculates, by code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.policy import ParameterView
from minzheng.rules.programmes import child, dibao, disability, elderly, extreme_poverty, medical, temporary
from minzheng.rules.results import Result


@dataclass(frozen=True)
class Programme:
    code: str
    label: str
    period: str
    calculate: Callable[[HouseholdFacts, ParameterView], Result]


PROGRAMMES: dict[str, Programme] = {
    p.code: p
    for p in (
        Programme("dibao", "最低生活保障", "month", dibao.calculate),
        Programme("extreme_poverty", "特困人员救助供养", "month", extreme_poverty.calculate),
        Programme("temporary_assistance", "临时救助", "once", temporary.calculate),
        Programme("disability_subsidy", "残疾人两项补贴", "month", disability.calculate),
        Programme("elderly_allowance", "高龄津贴", "month", elderly.calculate),
        Programme("child_allowance", "孤儿和事实无人抚养儿童保障", "month", child.calculate),
        Programme("medical_assistance", "医疗救助", "once", medical.calculate),
    )
}
