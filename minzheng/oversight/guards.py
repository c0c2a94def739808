"""The pre-job gate (岗前培训): registered in minzheng.org.services.ROLE_GRANT_GUARDS.

Yinchuan 2018: "各乡镇(街道)新任民政工作人员、各村(社区)新任民政协理员必须经岗前培训才能上岗". Where the
account's county has the gate enabled (a dated PreJobGateRule), a role of the rule's list is granted
only to an account linked to a worker with a passed pre-job training attendance.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from minzheng.core.errors import Conflict
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.oversight.models import PreJobGateRule, TrainingAttendance, TrainingKind


def gate_rule(county: str, on: date) -> PreJobGateRule | None:
    """The county's rule in force on `on` (the latest from that date or before)."""
    return (
        PreJobGateRule.objects.filter(county_id=county.ljust(12, "0")[:6] + "000000", valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


def has_pre_job_training(staff: Staff) -> bool:
    return TrainingAttendance.objects.filter(
        worker__staff=staff, event__kind=TrainingKind.PRE_JOB, passed=True
    ).exists()


def pre_job_training_guard(*, staff: Staff, roles: frozenset[str], actor: Staff | None) -> None:
    code = staff.office.division_id
    if len(code) < 6:
        return
    rule = gate_rule(code[:6], timezone.localdate())
    if rule is None or not rule.enabled:
        return
    gated = roles & set(rule.roles)
    if not gated or has_pre_job_training(staff):
        return
    labels = "、".join(str(Role(r).label) for r in sorted(gated))
    raise Conflict(
        f"{staff.full_name}尚无岗前培训记录，不能授予经办案件的角色（{labels}）："
        f"请先在“培训”中登记其岗前培训，再授予角色（{rule.reference}）",
        code="pre_job_training_missing",
        field_errors={"roles": ["须先登记岗前培训"]},
    )
