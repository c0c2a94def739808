"""Navigation per role: a menu entry shows only when the account holds its permission."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from minzheng.core.permissions import Perm
from minzheng.org.models import Staff


@dataclass(frozen=True)
class MenuItem:
    label: str | Promise
    url_name: str
    perm: Perm | None
    section: str


MENU: tuple[MenuItem, ...] = (
    MenuItem(_("首页"), "web:home", None, "home"),
    MenuItem(_("家庭档案"), "web:households", Perm.HOUSEHOLD_VIEW, "registry"),
    MenuItem(_("人员查询"), "web:persons", Perm.HOUSEHOLD_VIEW, "registry"),
    MenuItem(_("我的待办"), "web:case_worklist", Perm.CASE_VIEW, "cases"),
    MenuItem(_("受理申请"), "web:case_intake", Perm.CASE_INTAKE, "cases"),
    MenuItem(_("全部申请"), "web:cases", Perm.CASE_VIEW, "cases"),
    MenuItem(_("超期预警"), "web:case_warnings", Perm.CASE_VIEW, "cases"),
    MenuItem(_("探访照料"), "web:care_worklist", Perm.CASE_VIEW, "cases"),
    MenuItem(_("应保尽保"), "web:takeup", Perm.MONITORING_VIEW, "cases"),
    MenuItem(_("家庭经济状况核对"), "web:verifications", Perm.CASE_REVIEW_COUNTY, "cases"),
    MenuItem(_("在保对象定期核对"), "web:rechecks", Perm.CASE_REVIEW_COUNTY, "cases"),
    MenuItem(_("监测预警"), "web:monitoring", Perm.MONITORING_VIEW, "cases"),
    MenuItem(_("转办事项反馈"), "web:department_transfers", Perm.DEPARTMENT_FEEDBACK, "departments"),
    MenuItem(_("救助身份查询"), "web:status_inquiry", Perm.STATUS_INQUIRY, "departments"),
    MenuItem(_("群众诉求"), "web:feedback_tickets", Perm.FEEDBACK_VIEW, "feedback"),
    MenuItem(_("服务评价"), "web:feedback_receipts", Perm.FEEDBACK_VIEW, "feedback"),
    MenuItem(_("网格事件"), "web:grid_events", Perm.FEEDBACK_VIEW, "feedback"),
    MenuItem(_("在保对象"), "web:enrolments", Perm.PAYMENT_VIEW, "payments"),
    MenuItem(_("发放批次"), "web:payroll_runs", Perm.PAYMENT_VIEW, "payments"),
    MenuItem(_("复核任务"), "web:payment_reviews", Perm.CASE_REVIEW_TOWNSHIP, "payments"),
    MenuItem(_("基层能力建设"), "web:oversight", Perm.OVERSIGHT_VIEW, "oversight"),
    MenuItem(_("统计报表"), "web:reports", Perm.REPORT_VIEW, "reports"),
    MenuItem(_("规划指标"), "web:plans", Perm.REPORT_VIEW, "reports"),
    MenuItem(_("行政区划"), "web:divisions", Perm.ORG_VIEW, "org"),
    MenuItem(_("工作人员"), "web:staff", Perm.ORG_VIEW, "org"),
    MenuItem(_("标准参数"), "web:parameters", Perm.CASE_VIEW, "rules"),
    MenuItem(_("政策测算"), "web:whatif", Perm.REPORT_VIEW, "rules"),
    MenuItem(_("审计查询"), "web:audit", Perm.AUDIT_VIEW, "audit"),
    MenuItem(_("工作日历"), "web:workdays", Perm.SYSTEM_MANAGE, "workdays"),
)


def menu_for(staff: Staff, current_path: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for item in MENU:
        if item.perm is not None and not staff.can(item.perm):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "active": active, "section": item.section})
    return items
