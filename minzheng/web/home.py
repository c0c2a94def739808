"""What the home page lists as the account's pending work, from what the system holds today."""

from __future__ import annotations

from dataclasses import dataclass

from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from minzheng.cases import departments
from minzheng.core.permissions import Perm
from minzheng.org import selectors as org_selectors
from minzheng.org.models import Staff
from minzheng.registry import selectors as registry_selectors


@dataclass(frozen=True)
class WorkItem:
    label: str
    count: int
    url: str
    tone: str = "primary"


def pending_work(staff: Staff) -> list[WorkItem]:
    items: list[WorkItem] = []
    if staff.must_change_password:
        items.append(WorkItem("请修改初始密码", 1, reverse("web:password_change"), "danger"))
    if staff.can(Perm.HOUSEHOLD_VIEW):
        items.append(
            WorkItem(
                "管辖范围内登记家庭",
                registry_selectors.household_count(actor=staff),
                reverse("web:households"),
            )
        )
    if staff.can(Perm.DEPARTMENT_FEEDBACK):
        items.append(
            WorkItem(
                "待反馈的转办事项",
                departments.department_transfers(actor=staff).count(),
                reverse("web:department_transfers"),
                "warning",
            )
        )
    if staff.can(Perm.SECURITY_MANAGE):
        in_scope = org_selectors.staff_list(actor=staff).values_list("username", flat=True)
        locked = AccessAttempt.objects.filter(
            username__in=in_scope, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).count()
        items.append(WorkItem("被锁定的账号", locked, reverse("web:staff") + "?locked=1", "warning"))
        must_change = org_selectors.staff_list(actor=staff).filter(must_change_password=True).count()
        items.append(WorkItem("尚未修改初始密码的账号", must_change, reverse("web:staff"), "secondary"))
    if staff.can(Perm.AUDIT_VIEW):
        items.append(
            WorkItem(
                "管辖范围内审计记录",
                org_selectors.audit_event_search(actor=staff, query=org_selectors.AuditQuery()).count(),
                reverse("web:audit"),
                "secondary",
            )
        )
    return items
