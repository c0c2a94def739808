"""Roles as named sets of permissions (see minzheng.core.permissions)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from minzheng.core.permissions import Perm


class Role(models.TextChoices):
    VILLAGE_ASSISTANT = "village_assistant", _("村（社区）民政协理员")
    TOWNSHIP_CLERK = "township_clerk", _("乡镇（街道）窗口受理员")
    TOWNSHIP_REVIEWER = "township_reviewer", _("乡镇（街道）审核员")
    TOWNSHIP_HEAD = "township_head", _("乡镇（街道）分管负责人")
    COUNTY_REVIEWER = "county_reviewer", _("县级审核员")
    COUNTY_APPROVER = "county_approver", _("县级审批人")
    COUNTY_ADMIN = "county_admin", _("县级业务管理员")
    SUPERVISOR = "supervisor", _("市/区督导（只读）")
    AUDITOR = "auditor", _("审计员")
    # An account of another department (残联, 教育局, 医保局, 住建局 …; Staff.department): answers the
    # items transferred to it and asks the assistance status of the people it serves.
    DEPARTMENT_STAFF = "department_staff", _("协作部门工作人员")
    # 三员分立: no account may hold two of these three.
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("安全审计员")


SEPARATED_ROLES: frozenset[str] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

_READ = {Perm.ORG_VIEW, Perm.HOUSEHOLD_VIEW, Perm.CASE_VIEW, Perm.FEEDBACK_VIEW}
_TICKETS = {Perm.FEEDBACK_INTAKE, Perm.FEEDBACK_HANDLE}  # register, sign for, return, reply

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.VILLAGE_ASSISTANT: frozenset(
        _READ | {Perm.HOUSEHOLD_CHANGE, Perm.CASE_INTAKE, Perm.CASE_INVESTIGATE, Perm.FEEDBACK_INTAKE}
    ),
    Role.TOWNSHIP_CLERK: frozenset(
        _READ | _TICKETS | {Perm.HOUSEHOLD_CHANGE, Perm.CASE_INTAKE, Perm.ID_NUMBER_VIEW_FULL, Perm.EXPORT}
    ),
    Role.TOWNSHIP_REVIEWER: frozenset(
        _READ
        | _TICKETS
        | {
            Perm.HOUSEHOLD_CHANGE,
            Perm.CASE_INVESTIGATE,
            Perm.CASE_REVIEW_TOWNSHIP,
            Perm.ID_NUMBER_VIEW_FULL,
            Perm.REPORT_VIEW,
            Perm.EXPORT,
            # The township's payment orders (cash from its reserve fund) and rosters.
            Perm.PAYMENT_VIEW,
        }
    ),
    Role.TOWNSHIP_HEAD: frozenset(
        _READ
        | _TICKETS
        | {
            Perm.CASE_APPROVE_TOWNSHIP,
            Perm.REPORT_VIEW,
            Perm.EXPORT,
            Perm.PAYMENT_VIEW,
            Perm.FEEDBACK_DISPATCH,  # the office head dispatches, calls back and closes
        }
    ),
    Role.COUNTY_REVIEWER: frozenset(
        _READ
        | {
            Perm.CASE_REVIEW_COUNTY,
            Perm.CASE_INVESTIGATE,  # county visits: sampling, and relatives of staff or cadres
            Perm.ID_NUMBER_VIEW_FULL,
            Perm.REPORT_VIEW,
            Perm.EXPORT,
            Perm.PAYMENT_VIEW,
        }
    ),
    Role.COUNTY_APPROVER: frozenset(
        _READ
        | {
            Perm.CASE_APPROVE_COUNTY,
            Perm.PARAMETER_APPROVE,
            Perm.PAYROLL_APPROVE,
            Perm.PAYMENT_VIEW,
            Perm.REPORT_VIEW,
            Perm.EXPORT,
        }
    ),
    Role.COUNTY_ADMIN: frozenset(
        _READ
        | {
            Perm.STAFF_MANAGE,
            Perm.PARAMETER_PROPOSE,
            Perm.PAYROLL_RUN,
            # The county's 12345 desk: takes the hotline's orders, dispatches, calls back, closes.
            Perm.FEEDBACK_INTAKE,
            Perm.FEEDBACK_DISPATCH,
            Perm.PAYMENT_VIEW,
            Perm.REPORT_VIEW,
            Perm.EXPORT,
        }
    ),
    Role.SUPERVISOR: frozenset(_READ | {Perm.PAYMENT_VIEW, Perm.REPORT_VIEW}),
    Role.DEPARTMENT_STAFF: frozenset({Perm.DEPARTMENT_FEEDBACK, Perm.STATUS_INQUIRY}),
    Role.AUDITOR: frozenset(
        {Perm.ORG_VIEW, Perm.AUDIT_VIEW, Perm.HOUSEHOLD_VIEW, Perm.CASE_VIEW, Perm.FEEDBACK_VIEW}
    ),
    Role.SYSTEM_ADMIN: frozenset(
        {Perm.ORG_VIEW, Perm.SYSTEM_MANAGE, Perm.DIVISION_MANAGE, Perm.STAFF_MANAGE}
    ),
    Role.SECURITY_ADMIN: frozenset({Perm.ORG_VIEW, Perm.SECURITY_MANAGE}),
    Role.AUDIT_ADMIN: frozenset({Perm.ORG_VIEW, Perm.AUDIT_VIEW}),
}

# Grassroots capacity (minzheng.oversight): the township office records its own resources; the
# county bureau sets norms, buys services and supervises; a city or region supervisor reads and
# supervises (spot checks, tasks, bulletins) but never touches cases or payments.
_OVERSIGHT_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.TOWNSHIP_REVIEWER: frozenset({Perm.OVERSIGHT_VIEW}),
    Role.TOWNSHIP_HEAD: frozenset({Perm.OVERSIGHT_VIEW, Perm.OVERSIGHT_RECORD}),
    Role.COUNTY_REVIEWER: frozenset({Perm.OVERSIGHT_VIEW}),
    Role.COUNTY_APPROVER: frozenset({Perm.OVERSIGHT_VIEW, Perm.OVERSIGHT_SUPERVISE}),
    Role.COUNTY_ADMIN: frozenset(
        {
            Perm.OVERSIGHT_VIEW,
            Perm.OVERSIGHT_RECORD,
            Perm.OVERSIGHT_NORMS,
            Perm.OVERSIGHT_PURCHASE,
            Perm.OVERSIGHT_SUPERVISE,
        }
    ),
    Role.SUPERVISOR: frozenset({Perm.OVERSIGHT_VIEW, Perm.OVERSIGHT_SUPERVISE}),
}
for _role, _perms in _OVERSIGHT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _perms

# Monitoring and active discovery (minzheng.monitoring): village assistants visit and report emergencies,
# township staff accept, verify and dispose of warnings, the county imports the departments' feeds,
# tunes the rules and follows what is overdue; supervisors and auditors read.
_MONITORING_VIEW_HANDLE = frozenset({Perm.MONITORING_VIEW, Perm.MONITORING_HANDLE})
_MONITORING_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.VILLAGE_ASSISTANT: _MONITORING_VIEW_HANDLE,
    Role.TOWNSHIP_CLERK: _MONITORING_VIEW_HANDLE,
    Role.TOWNSHIP_REVIEWER: _MONITORING_VIEW_HANDLE,
    Role.TOWNSHIP_HEAD: _MONITORING_VIEW_HANDLE,
    Role.COUNTY_REVIEWER: _MONITORING_VIEW_HANDLE | {Perm.MONITORING_MANAGE},
    Role.COUNTY_APPROVER: frozenset({Perm.MONITORING_VIEW}),
    Role.COUNTY_ADMIN: frozenset({Perm.MONITORING_VIEW, Perm.MONITORING_MANAGE}),
    Role.SUPERVISOR: frozenset({Perm.MONITORING_VIEW}),
    Role.AUDITOR: frozenset({Perm.MONITORING_VIEW}),
}
for _role, _perms in _MONITORING_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _perms

# Monthly statistics (minzheng.reports): the county's administrator and approver recompute a month
# on demand and freeze it at the month's end; everyone holding REPORT_VIEW reads.
for _role in (Role.COUNTY_ADMIN, Role.COUNTY_APPROVER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.REPORT_MANAGE}

# The plan's indicators (minzheng.plans): the county's business administrator (or the county
# reviewer) enters figures with their evidence; the county approver, a second person, approves and
# publishes them. Reading needs REPORT_VIEW.
_PLAN_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.COUNTY_ADMIN: frozenset({Perm.PLAN_ENTER}),
    Role.COUNTY_REVIEWER: frozenset({Perm.PLAN_ENTER}),
    Role.COUNTY_APPROVER: frozenset({Perm.PLAN_APPROVE}),
}
for _role, _perms in _PLAN_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _perms


def permissions_for(roles: set[str] | frozenset[str]) -> frozenset[Perm]:
    result: set[Perm] = set()
    for role in roles:
        result |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(result)


# --- Maker-checker --------------------------------------------------------------------------------

# The permissions that approve someone else's work, and the work each of them approves.
APPROVED_WORK: dict[Perm, frozenset[Perm]] = {
    Perm.CASE_APPROVE_TOWNSHIP: frozenset(
        {Perm.CASE_INTAKE, Perm.CASE_INVESTIGATE, Perm.CASE_REVIEW_TOWNSHIP, Perm.CASE_REVIEW_COUNTY}
    ),
    Perm.CASE_APPROVE_COUNTY: frozenset(
        {Perm.CASE_INTAKE, Perm.CASE_INVESTIGATE, Perm.CASE_REVIEW_TOWNSHIP, Perm.CASE_REVIEW_COUNTY}
    ),
    Perm.PARAMETER_APPROVE: frozenset({Perm.PARAMETER_PROPOSE}),
    Perm.PAYROLL_APPROVE: frozenset({Perm.PAYROLL_RUN}),
    Perm.PLAN_APPROVE: frozenset({Perm.PLAN_ENTER}),
}
APPROVE_PERMS: frozenset[Perm] = frozenset(p for p in Perm if "APPROVE" in p.name)

# Roles holding any approving permission (县级审批人, 乡镇分管负责人): granted only by a system
# administrator with a security administrator's confirmation.
APPROVER_ROLES: frozenset[str] = frozenset(
    role for role, perms in ROLE_PERMISSIONS.items() if perms & APPROVE_PERMS
)


def approves_work_of(roles: set[str] | frozenset[str], maker_permissions: frozenset[Perm]) -> bool:
    """Whether an account with `roles` would approve work that `maker_permissions` allow someone to do."""
    approving = permissions_for(roles) & APPROVE_PERMS
    return any(APPROVED_WORK[p] & maker_permissions for p in approving)
