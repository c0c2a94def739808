"""Test support: one small service item without the YAML files (tests of the loader use the files)."""

from __future__ import annotations

from minzheng.catalogue.models import MaterialRequirement, ServiceItem

# The items shipped in minzheng/catalogue/items/: the codes the cases and rules apps refer to.
SHIPPED_CODES = {
    "dibao",
    "extreme_poverty",
    "temporary_emergency",
    "temporary_expense",
    "disability_living",
    "disability_care",
    "orphan",
    "unsupported_child",
    "elderly_allowance",
    "medical_assistance",
    "education_aid",
    "medical_insurance_subsidy",
    "housing_assistance",
    "employment_assistance",
    "petition",
}


def make_service_item(code: str = "dibao", name: str = "最低生活保障") -> ServiceItem:
    item = ServiceItem.objects.create(
        code=code,
        name=name,
        summary=f"{name}（测试）",
        department="civil_affairs",
        handled_by="county",
        intake_mode="handle",
        legal_basis="《社会救助暂行办法》",
        conditions="测试条件",
        steps=[{"name": "申请受理", "who": "乡镇（街道）", "days": None, "calendar_days": None, "note": ""}],
        time_limit_working_days=30,
        commitment="限时办结",
    )
    MaterialRequirement.objects.create(item=item, order=1, name=f"{name}申请书")
    return item
