"""The national default warning rules, brought into the database on every migrate (and every test
database flush), as the rules app does with its policy packs. Rows already there are kept; a county
tunes a rule with its own dated version."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

ALL = ["dibao", "extreme_poverty", "near_poor", "rigid_expense", "return_risk", "other"]
RECIPIENTS = ["dibao", "extreme_poverty"]
BASIS = "国办发〔2023〕39号：跨部门信息比对，实时监测发现低收入人口的困难风险"
VALID_FROM = date(2023, 1, 1)
# code, name, event type, threshold, cohorts, outside the cohorts, direction, severity, window, basis
RULES: list[tuple[str, str, str, Decimal | None, list[str], bool, str, int, int, str]] = [
    ("medical_self_pay", "医疗费用个人自付较高", "medical_self_pay", Decimal("10000.00"), ALL, True,
     "needs_help", 2, 90, BASIS + "；自付合计1万元以上（各地自定）"),
    ("hospitalisation", "住院治疗", "hospitalisation", None,
     ["dibao", "extreme_poverty", "near_poor", "rigid_expense", "return_risk"], False, "needs_help", 1, 90, BASIS),
    ("disability_grading", "新评定残疾", "disability_grading", None, ALL, True, "needs_help", 2, 365,
     "国发〔2015〕52号：困难残疾人生活补贴和重度残疾人护理补贴"),
    ("unemployment", "登记失业", "unemployment", None, ["near_poor", "rigid_expense", "return_risk"], False,
     "needs_help", 1, 180, BASIS),
    ("recipient_death", "在保人员死亡、火化", "death", None, RECIPIENTS, False, "may_not_qualify", 2, 366,
     "民发〔2021〕57号：家庭人口变化应及时复核（不直接停发）"),
    ("disaster", "受灾", "disaster", None, ALL, True, "needs_help", 3, 30, "“救急难”：急难情形快速响应，当日处置"),
    ("school_enrolment", "子女入学", "school_enrolment", None,
     ["dibao", "extreme_poverty", "near_poor", "return_risk"], False, "needs_help", 1, 180,
     "教育资助、教育救助的衔接"),
    ("vehicle_purchase", "在保家庭购买机动车", "vehicle_purchase", Decimal("50000.00"), RECIPIENTS, False,
     "may_not_qualify", 2, 180, "民发〔2021〕57号：家庭财产状况变化应复核（不直接停发）"),
    ("property_purchase", "在保家庭购买房产", "property_purchase", None,
     ["dibao", "extreme_poverty", "near_poor"], False, "may_not_qualify", 2, 366,
     "民发〔2021〕57号：家庭财产状况变化应复核（不直接停发）"),
]  # fmt: skip


def load_default_rules(model: Any) -> int:
    """Create the national defaults that are missing (by code, nationwide, from VALID_FROM)."""
    made = 0
    for code, name, event, threshold, cohorts, outside, direction, severity, dedupe, reference in RULES:
        _, created = model.objects.get_or_create(
            code=code,
            region="",
            valid_from=VALID_FROM,
            defaults={
                "name": name,
                "event_type": event,
                "threshold": threshold,
                "cohorts": cohorts,
                "outside_cohorts": outside,
                "direction": direction,
                "severity": severity,
                "dedupe_days": dedupe,
                "active": True,
                "reference": reference,
            },
        )
        made += int(created)
    return made
