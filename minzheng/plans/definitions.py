"""The plan's indicators as data: 大武口区民政事业“十四五”时期主要发展指标 (石大政发〔2022〕69号, the
district's 14th five-year plan for civil affairs; seed 003), each with its unit, 2020 value, 2025
target and attribute, and how the system obtains its value (computed from what it holds, or entered
with evidence and approved by a second person). Loaded after every migrate (apps.py), as the
monitoring app loads its default rules; rows already there are kept."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class IndicatorDef:
    number: int
    name: str
    unit: str
    baseline: Decimal | None
    baseline_text: str
    target: Decimal | None
    comparison: str  # gte, gt or relative (models.Comparison)
    target_text: str
    attribute: str  # binding (约束性) or expected (预期性)
    computation: str  # "" when entered (models.Computation)
    decimals: int
    source: str


@dataclass(frozen=True)
class PlanDef:
    code: str
    name: str
    region: str  # the county's GB/T 2260 code
    basis: str
    baseline_year: int
    target_year: int
    indicators: tuple[IndicatorDef, ...]


def _d(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _i(*row: Any) -> IndicatorDef:
    number, name, unit, base, base_text, target, comparison, target_text, attribute, comp, dec, source = row
    return IndicatorDef(
        number,
        name,
        unit,
        _d(base),
        base_text,
        _d(target),
        comparison,
        target_text,
        attribute,
        comp,
        dec,
        source,
    )


DIBAO_STANDARDS = "低保标准参数（标准参数，按生效日期）"
MANUAL = "区民政局填报（附佐证材料，经第二人审核）"
DPF = "在保对象（分子）；区残联提供的目标人数（分母，附佐证材料，经第二人审核）"

DAWUKOU_14TH = PlanDef(
    code="dawukou_14th",
    name="大武口区民政事业“十四五”时期主要发展指标",
    region="640202",
    basis="石大政发〔2022〕69号《大武口区民政事业发展“十四五”规划》",
    baseline_year=2020,
    target_year=2025,
    indicators=(
        _i(1, "城乡低保标准年度增速", "%", None, "—", None, "relative", "不低于居民上年度人均消费支出增速",
           "expected", "dibao_growth", 1, DIBAO_STANDARDS + "；居民上年度人均消费支出增速（统计部门，填报）"),
        _i(2, "农村低保标准占城市低保标准比例", "%", "63.3", "63.3", "75", "gte", "75",
           "expected", "dibao_ratio", 1, DIBAO_STANDARDS),
        _i(3, "养老机构护理型床位占比", "%", "38", "38", "60", "gte", "60", "binding", "", 1, MANUAL),
        _i(4, "街道(镇)范围具备综合功能的养老服务机构覆盖率", "%", None, "—", "60", "gte", "60",
           "expected", "", 1, MANUAL),
        _i(5, "具备失能、部分失能特困人员照护能力的区级特困供养服务设施(敬老院)", "个", None, "—", "1", "gte", "1",
           "binding", "", 0, MANUAL),
        _i(6, "每百户居民拥有的城乡社区综合服务设施面积", "平方米", None, "—", "30", "gt", ">30",
           "expected", "", 1, MANUAL),
        _i(7, "社会组织专职工作人员数量", "人", "1100", "1100", "1400", "gte", "1400", "expected", "", 0, MANUAL),
        _i(8, "社会工作专业人才总量", "人", "160", "160", "300", "gte", "300", "expected", "", 0, MANUAL),
        _i(9, "志愿服务站点在社区综合服务设施中的覆盖率", "%", "95", "95", "100", "gte", "100",
           "expected", "", 1, MANUAL),
        _i(10, "街道(镇)未成年人保护工作站覆盖率", "%", None, "—", "100", "gte", "100", "expected", "", 1, MANUAL),
        _i(11, "婚姻登记“跨省通办”实施率", "%", None, "—", "100", "gte", "100", "binding", "", 1, MANUAL),
        _i(12, "查明身份信息流浪乞讨受助人员接送返回率", "%", "90", "90", "100", "gte", "100",
           "binding", "", 1, MANUAL),
        _i(13, "困难残疾人生活补贴覆盖率", "%", "96", ">96", "100", "gte", "100",
           "binding", "disability_living_coverage", 1, DPF),
        _i(14, "重度残疾人护理补贴覆盖率", "%", "96", ">96", "100", "gte", "100",
           "binding", "disability_care_coverage", 1, DPF),
    ),
)  # fmt: skip

PLANS: tuple[PlanDef, ...] = (DAWUKOU_14TH,)


def load_plan(plan_model: Any, indicator_model: Any, definition: PlanDef, *, region: str = "") -> int:
    """Create the plan (for `region`, by default its own) and its missing indicators; returns how many
    indicators were made. Existing rows are kept as they are."""
    region = region or definition.region
    code = definition.code if region == definition.region else f"{definition.code}_{region}"
    plan, _ = plan_model.objects.get_or_create(
        code=code,
        defaults={
            "name": definition.name,
            "region": region,
            "basis": definition.basis,
            "baseline_year": definition.baseline_year,
            "target_year": definition.target_year,
        },
    )
    made = 0
    for ind in definition.indicators:
        _, created = indicator_model.objects.get_or_create(
            plan=plan,
            number=ind.number,
            defaults={
                "name": ind.name,
                "unit": ind.unit,
                "baseline_value": ind.baseline,
                "baseline_text": ind.baseline_text,
                "target_value": ind.target,
                "target_comparison": ind.comparison,
                "target_text": ind.target_text,
                "attribute": ind.attribute,
                "computation": ind.computation,
                "decimals": ind.decimals,
                "source": ind.source,
            },
        )
        made += int(created)
    return made


def load_plans(plan_model: Any, indicator_model: Any) -> int:
    return sum(load_plan(plan_model, indicator_model, d) for d in PLANS)
