"""The home page as each role's workbench: the worklists the account acts on, each with its count,
how many are overdue and the few due soonest, read through the domain selectors (so scoped exactly
as the list they open). Which lists show follows the account's permissions, not its role's name:

- village assistant: care visits due, warnings to visit, the applications they brought in (代办), the
  grid events they reported that are still open;
- window clerk: applications waiting for the applicant's missing materials (一次性告知), tickets to sign;
- reviewers: the case steps waiting for them, payment re-reviews, warnings, verification requests;
- approver: payroll runs and decisions waiting for approval, parameters proposed;
- administrators: locked accounts, initial passwords, staff changes to confirm, stuck or failed runs,
  failed imports;
- anyone holding the statistics (supervisors above all): this month's key figures of their
  jurisdiction and where to open the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from minzheng.cases import care, departments
from minzheng.cases import selectors as case_selectors
from minzheng.core.permissions import Perm
from minzheng.feedback import grid as grid_selectors
from minzheng.feedback import selectors as feedback_selectors
from minzheng.feedback.models import OPEN_STATES as TICKET_OPEN_STATES
from minzheng.monitoring import selectors as monitoring_selectors
from minzheng.org import selectors as org_selectors
from minzheng.org.models import Staff
from minzheng.payments import selectors as payment_selectors
from minzheng.payments.models import RunStatus
from minzheng.registry import selectors as registry_selectors
from minzheng.registry.models import ImportJob, ImportStatus
from minzheng.reports import selectors as report_selectors
from minzheng.verification import selectors as verification_selectors

SHOWN = 5  # items listed under each worklist, soonest due first


@dataclass(frozen=True)
class Due:
    """One thing to act on: what it is, by when, where to do it."""

    label: str
    due: date | None
    url: str

    @property
    def tone(self) -> str:
        today = timezone.localdate()
        if self.due is None:
            return "secondary"
        if self.due < today:
            return "danger"
        return "warning" if self.due <= today + timedelta(days=2) else "secondary"


@dataclass(frozen=True)
class WorkItem:
    label: str | Promise
    count: int
    url: str
    tone: str = "primary"
    overdue: int = 0
    items: tuple[Due, ...] = field(default_factory=tuple)


def _url(name: str, *args: Any, query: str = "") -> str:
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:  # an optional page not installed
        return ""


def _list(
    label: str | Promise,
    qs: QuerySet[Any],
    url: str,
    *,
    due: str | None,
    item: Callable[[Any], Due],
    tone: str = "primary",
) -> WorkItem:
    """A worklist from a scoped queryset: its count, how many are past `due` (a date field or
    annotation), and the first few in the queryset's own order (soonest due first)."""
    today = timezone.localdate()
    overdue = qs.filter(**{f"{due}__lt": today}).count() if due else 0
    return WorkItem(
        label,
        qs.count(),
        url,
        "danger" if overdue else tone,
        overdue,
        tuple(item(row) for row in qs[:SHOWN]),
    )


def _case_due(case: Any) -> Due:
    return Due(
        f"{case.number} {case.applicant_name} · {case.item.name}", case.open_due, _url("web:case", case.pk)
    )


def _assistant_and_case_work(staff: Staff) -> Iterable[WorkItem]:
    if not staff.can(Perm.CASE_VIEW):
        return
    worklist = case_selectors.worklist(actor=staff)
    if worklist.exists() or staff.can(Perm.CASE_INVESTIGATE) or staff.can(Perm.CASE_REVIEW_TOWNSHIP):
        yield _list(
            _("待我办理的申请环节"), worklist, _url("web:case_worklist"), due="open_due", item=_case_due
        )
    if staff.can(Perm.CASE_INTAKE):
        incomplete = case_selectors.case_list(actor=staff, open_only=True, state="incomplete").order_by(
            "open_due", "pk"
        )
        yield _list(
            _("一次性告知后待补齐材料的申请"),
            incomplete,
            _url("web:cases", query="state=incomplete"),
            due="open_due",
            item=_case_due,
            tone="warning",
        )
        mine = (
            case_selectors.case_list(actor=staff, open_only=True)
            .filter(created_by=staff)
            .exclude(proxy_name="")
            .order_by("open_due", "pk")
        )
        if mine.exists():
            yield _list(_("我代办的申请"), mine, _url("web:cases"), due="open_due", item=_case_due)
    if staff.can(Perm.CASE_INVESTIGATE):
        visits = care.care_plan_list(actor=staff, due_only=True)
        yield _list(
            _("到期的探访照料"),
            visits,
            _url("web:care_worklist"),
            due="next_due",
            item=lambda p: Due(
                f"{p.person.name} · {p.division.name}", p.next_due, _url("web:care_plan", p.pk)
            ),
        )


def _monitoring_and_feedback_work(staff: Staff) -> Iterable[WorkItem]:
    if staff.can(Perm.MONITORING_HANDLE):
        warnings = monitoring_selectors.warnings(actor=staff, open_only=True)
        yield _list(
            _("待处置的监测预警"),
            warnings,
            _url("web:monitoring"),
            due="due_on",
            item=lambda w: Due(
                f"{w.number} {w.person.name} · {w.get_state_display()}",
                w.due_on,
                _url("web:monitoring_warning", w.pk),
            ),
        )
    if staff.can(Perm.FEEDBACK_HANDLE) or staff.can(Perm.FEEDBACK_DISPATCH):
        tickets = (
            feedback_selectors.tickets(actor=staff, state="open")
            .filter(state__in=TICKET_OPEN_STATES)
            .order_by("due_date", "pk")
        )
        yield _list(
            _("待办理的群众诉求"),
            tickets,
            _url("web:feedback_tickets"),
            due="due_date",
            item=lambda t: Due(f"{t.number} {t.title}", t.due_date, _url("web:feedback_ticket", t.pk)),
        )
    if staff.can(Perm.FEEDBACK_INTAKE) and not staff.can(Perm.FEEDBACK_HANDLE):
        reported = (
            grid_selectors.grid_events(actor=staff, open_only=True)
            .filter(reported_by=staff)
            .order_by("due_date", "pk")
        )
        yield _list(
            _("我上报未结案的网格事件"),
            reported,
            _url("web:grid_events"),
            due="due_date",
            item=lambda e: Due(f"{e.number} {e.description[:20]}", e.due_date, _url("web:grid_event", e.pk)),
        )


def _review_and_approval_work(staff: Staff) -> Iterable[WorkItem]:
    if staff.can(Perm.CASE_REVIEW_TOWNSHIP):
        tasks = payment_selectors.review_tasks(actor=staff).order_by("due_date", "pk")
        yield _list(
            _("待办的在保复核"),
            tasks,
            _url("web:payment_reviews"),
            due="due_date",
            item=lambda t: Due(
                f"{t.get_kind_display()} · {t.enrolment}", t.due_date, _url("web:payment_review", t.pk)
            ),
        )
    if staff.can(Perm.CASE_REVIEW_COUNTY):
        requests = verification_selectors.request_list(actor=staff, in_progress=True).order_by(
            "next_due", "pk"
        )
        yield _list(
            _("进行中的家庭经济状况核对"),
            requests,
            _url("web:verifications"),
            due="next_due",
            item=lambda r: Due(
                f"{r.case.number} {r.case.applicant_name}", r.next_due, _url("web:verification", r.pk)
            ),
        )
    if staff.can(Perm.PAYROLL_APPROVE) or staff.can(Perm.PAYROLL_RUN):
        runs = payment_selectors.run_list(actor=staff)
        waiting = runs.filter(status=RunStatus.COMPUTED) if staff.can(Perm.PAYROLL_APPROVE) else runs.none()
        if staff.can(Perm.PAYROLL_APPROVE):
            yield _list(
                _("待审批的发放名册"),
                waiting,
                _url("web:payroll_runs"),
                due=None,
                item=lambda r: Due(
                    f"{r.month:%Y-%m} {r.get_kind_display()}", None, _url("web:payroll_run", r.pk)
                ),
                tone="warning",
            )
        failed = [
            r for r in runs.filter(status__in=(RunStatus.FAILED, RunStatus.COMPUTING)) if _failed_or_stuck(r)
        ]
        yield WorkItem(
            _("计算失败或中断的发放批次"),
            len(failed),
            _url("web:payroll_runs"),
            "danger" if failed else "secondary",
            len(failed),
            tuple(
                Due(f"{r.month:%Y-%m} {r.get_status_display()}", None, _url("web:payroll_run", r.pk))
                for r in failed[:SHOWN]
            ),
        )


def _failed_or_stuck(run: Any) -> bool:
    return run.status == RunStatus.FAILED or payment_selectors.run_stuck(run)


def _administration_work(staff: Staff) -> Iterable[WorkItem]:
    if staff.can(Perm.STAFF_MANAGE):
        changes = org_selectors.staff_change_request_list(actor=staff)
        yield _list(
            _("待确认的账号变更"),
            changes,
            _url("web:staff"),
            due=None,
            item=lambda c: Due(
                f"{c.staff.full_name} · {c.get_kind_display()}", None, _url("web:staff_detail", c.staff_id)
            ),
            tone="warning",
        )
    if staff.can(Perm.SECURITY_MANAGE):
        in_scope = org_selectors.staff_list(actor=staff).values_list("username", flat=True)
        locked = AccessAttempt.objects.filter(
            username__in=in_scope, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).count()
        yield WorkItem(
            _("被锁定的账号"),
            locked,
            _url("web:staff", query="locked=1"),
            "danger" if locked else "secondary",
        )
        must_change = org_selectors.staff_list(actor=staff).filter(must_change_password=True).count()
        yield WorkItem(_("尚未修改初始密码的账号"), must_change, _url("web:staff"), "secondary")
    if staff.can(Perm.HOUSEHOLD_CHANGE) and staff.can(Perm.EXPORT):
        failed = ImportJob.objects.filter(
            uploaded_by=staff, status=ImportStatus.FAILED, created_at__gte=timezone.now() - timedelta(days=7)
        )
        if failed.exists():
            yield WorkItem(
                _("近7天未导入的Excel文件"), failed.count(), _url("web:household_import"), "warning"
            )
    if staff.can(Perm.AUDIT_VIEW):
        yield WorkItem(
            _("管辖范围内审计记录"),
            org_selectors.audit_event_search(actor=staff, query=org_selectors.AuditQuery()).count(),
            _url("web:audit"),
            "secondary",
        )


def pending_work(staff: Staff) -> list[WorkItem]:
    """The account's worklists, most pressing kinds first."""
    items: list[WorkItem] = []
    if staff.must_change_password:
        items.append(WorkItem(_("请修改初始密码"), 1, reverse("web:password_change"), "danger"))
    if staff.can(Perm.DEPARTMENT_FEEDBACK):
        transfers = departments.department_transfers(actor=staff)
        items.append(
            WorkItem(_("待反馈的转办事项"), transfers.count(), reverse("web:department_transfers"), "warning")
        )
    items.extend(_assistant_and_case_work(staff))
    items.extend(_monitoring_and_feedback_work(staff))
    items.extend(_review_and_approval_work(staff))
    items.extend(_administration_work(staff))
    if staff.can(Perm.HOUSEHOLD_VIEW):
        items.append(
            WorkItem(
                _("管辖范围内登记家庭"),
                registry_selectors.household_count(actor=staff),
                reverse("web:households"),
                "secondary",
            )
        )
    return items


def dashboard_link(staff: Staff) -> str:
    """Where a supervisor (or anyone holding the statistics) opens their dashboard."""
    return _url("web:reports") if staff.can(Perm.REPORT_VIEW) else ""


@dataclass(frozen=True)
class Headline:
    label: str
    value: Decimal | None


def headline(staff: Staff) -> list[Headline]:
    """This month's key figures of the account's jurisdiction, as its dashboard totals them (read from
    the statistics the worker keeps current); empty without the statistics permission."""
    if not staff.can(Perm.REPORT_VIEW):
        return []
    board = report_selectors.dashboard(actor=staff, month=timezone.localdate().replace(day=1))
    return [
        Headline(report_selectors.metric_label(m), board.totals.get(m)) for m in report_selectors.KEY_METRICS
    ]
