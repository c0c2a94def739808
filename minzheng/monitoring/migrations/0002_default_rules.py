"""The national default warning rules (counties tune them with their own dated versions). Thresholds
and windows are proposals where no national figure exists (RESEARCH-next.md §2.5); each names its
basis."""

from datetime import date
from decimal import Decimal

from django.db import migrations

ALL = ["dibao", "extreme_poverty", "near_poor", "rigid_expense", "return_risk", "other"]
RECIPIENTS = ["dibao", "extreme_poverty"]
BASIS = "国办发〔2023〕39号：跨部门信息比对，实时监测发现低收入人口的困难风险"
RULES = [
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
    ("disaster", "受灾", "disaster", None, ALL, True, "needs_help", 3, 30,
     "“救急难”：急难情形快速响应，当日处置"),
    ("school_enrolment", "子女入学", "school_enrolment", None,
     ["dibao", "extreme_poverty", "near_poor", "return_risk"], False, "needs_help", 1, 180,
     "教育资助、教育救助的衔接"),
    ("vehicle_purchase", "在保家庭购买机动车", "vehicle_purchase", Decimal("50000.00"), RECIPIENTS, False,
     "may_not_qualify", 2, 180, "民发〔2021〕57号：家庭财产状况变化应复核（不直接停发）"),
    ("property_purchase", "在保家庭购买房产", "property_purchase", None,
     ["dibao", "extreme_poverty", "near_poor"], False, "may_not_qualify", 2, 366,
     "民发〔2021〕57号：家庭财产状况变化应复核（不直接停发）"),
]


def load(apps, schema_editor):  # noqa: ANN001, ARG001
    WarningRule = apps.get_model("monitoring", "WarningRule")
    for code, name, event, threshold, cohorts, outside, direction, severity, dedupe, reference in RULES:
        WarningRule.objects.get_or_create(
            code=code,
            region="",
            valid_from=date(2023, 1, 1),
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


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
