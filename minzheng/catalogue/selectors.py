"""Reads of the service catalogue. Public information: no actor and no data scope."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from minzheng.catalogue.models import Department, MaterialRequirement, ServiceItem
from minzheng.core.errors import InvalidInput, NotFound


def item_list(*, department: str | None = None, active_only: bool = True) -> QuerySet[ServiceItem]:
    """Items in display order (by `sort_order`), optionally of one department."""
    qs = ServiceItem.objects.all()
    if department:
        if department not in Department.values:
            raise InvalidInput(
                "未知的承办部门", field_errors={"department": [f"可选：{'、'.join(Department.values)}"]}
            )
        qs = qs.filter(department=department)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("sort_order", "code")


def item_get(*, code: str, active_only: bool = True) -> ServiceItem:
    """One item with its current materials prefetched (so `item.materials.all()` lists only the
    lines the guide publishes, in order); NotFound for an unknown (or retired) code."""
    qs = ServiceItem.objects.prefetch_related(
        Prefetch("materials", queryset=MaterialRequirement.objects.filter(is_active=True).order_by("order"))
    )
    if active_only:
        qs = qs.filter(is_active=True)
    item = qs.filter(code=code).first()
    if item is None:
        raise NotFound(f"没有编码为“{code}”的服务事项")
    return item


def item_materials(*, item: ServiceItem) -> list[MaterialRequirement]:
    """The item's current materials list in order (the guide's table); retired lines left out."""
    return [m for m in item.materials.all() if m.is_active]  # type: ignore[attr-defined]


def materials_checklist(*, item: ServiceItem) -> list[MaterialRequirement]:
    """What the window asks the applicant for: everything except what the office fetches itself
    (数据共享可获取，不再要求提交). The basis of the one-time written notice (一次性告知)."""
    return [m for m in item_materials(item=item) if m.asked_of_applicant]


def items_by_department(*, active_only: bool = True) -> list[tuple[str, str, list[ServiceItem]]]:
    """[(department code, department label, items)], departments in their declared order."""
    items = list(item_list(active_only=active_only))
    groups = []
    for department in Department:
        members = [i for i in items if i.department == department.value]
        if members:
            groups.append((department.value, str(department.label), members))
    return groups
