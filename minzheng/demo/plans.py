"""Demo data for the plan's indicators (规划指标) of 大武口区: figures the system does not hold, entered
by the county's business administrator with a (demo) evidence file and approved by the county
approver — some for 2024 to show a year on track, most for 2025, the plan's target year — one entry
left waiting for approval, the comparison statistic of indicator 1 and the disabled persons'
federation's figures of 13 and 14; then this year's and last year's values computed, so the table
opens with every indicator lit. All figures are demo values, not the district's published ones."""

from __future__ import annotations

from django.utils import timezone

from minzheng.core.uploads import Upload
from minzheng.org.models import Staff
from minzheng.plans import services
from minzheng.plans.models import Indicator, IndicatorEntry, Plan

# number, year, kind, value, source
ENTRIES: tuple[tuple[int, int, str, str, str], ...] = (
    (3, 2025, "value", "61.5", "区民政局养老机构床位统计（演示）"),
    (4, 2024, "value", "50", "区民政局养老服务机构统计（演示）"),
    (5, 2025, "value", "1", "区民政局特困供养服务设施验收材料（演示）"),
    (6, 2025, "value", "31.2", "区民政局社区综合服务设施面积统计（演示）"),
    (7, 2024, "value", "1350", "区民政局社会组织年检报告（演示）"),
    (8, 2025, "value", "286", "区社会工作协会持证社工统计（演示）"),
    (9, 2025, "value", "100", "区民政局志愿服务站点统计（演示）"),
    (10, 2025, "value", "100", "区民政局未成年人保护工作站统计（演示）"),
    (11, 2025, "value", "100", "区婚姻登记处“跨省通办”实施情况（演示）"),
    (12, 2024, "value", "95", "市救助管理站接送返回统计（演示）"),
)
PENDING = (12, 2025, "value", "100", "市救助管理站接送返回统计（演示）")


def _pdf(title: str) -> Upload:
    body = f"%PDF-1.4\n% {title}\n%%EOF\n".encode()
    return Upload(f"{title}.pdf", "application/pdf", body)


def build_demo_plans() -> int:
    """Returns the number of entries made (0 when the demo has them already)."""
    plan = Plan.objects.filter(region="640202").order_by("pk").first()
    if plan is None or IndicatorEntry.objects.filter(indicator__plan=plan).exists():
        return 0
    admin = Staff.objects.get(username="dwk_county_admin")
    approver = Staff.objects.get(username="dwk_county_approver")
    numbers = dict(Indicator.objects.filter(plan=plan).values_list("number", "pk"))
    this_year = timezone.localdate().year
    approved = [
        *ENTRIES,
        (1, this_year, "benchmark", "5.2", "宁夏统计年鉴：居民人均消费支出增速（演示）"),
        (13, this_year, "denominator", "1260", "区残联困难残疾人统计（演示）"),
        (14, this_year, "denominator", "980", "区残联重度残疾人统计（演示）"),
    ]
    made = 0
    for number, year, kind, value, source in approved:
        entry = services.entry_submit(
            actor=admin, indicator_id=numbers[number], year=year, kind=kind, value=value, source=source,
            evidence=_pdf(source),
        )  # fmt: skip
        services.entry_approve(actor=approver, entry_id=entry.pk, note="核对佐证材料无误（演示）")
        made += 1
    number, year, kind, value, source = PENDING
    services.entry_submit(
        actor=admin, indicator_id=numbers[number], year=year, kind=kind, value=value, source=source,
        evidence=_pdf(source),
    )  # fmt: skip
    for year in (this_year - 1, this_year):
        services.values_refresh(actor=admin, plan_id=plan.pk, year=year)
    return made + 1
