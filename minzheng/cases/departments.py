"""Other departments as users (协作部门): an account of the department an item was transferred to
(转办/协办) sees the open transfers of its own department in its jurisdiction and records their
feedback itself, instead of civil-affairs staff typing it in for them.

The feedback goes through the transfer workflow's own "record_feedback" transition
(`case_transition`), so it is checked, evented and audited as every other step is. A department
account does not hold that transition's permission (受理申请); `may_act` (registered in
cases.services.ACTOR_HOOKS) lets it take that one action on a case whose transfer names its own
department, and nothing else.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from minzheng.cases.models import Case, Transfer
from minzheng.cases.services import case_transition
from minzheng.core.errors import InvalidInput, NotFound
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import require, scoped

FEEDBACK_ACTION = "record_feedback"
FEEDBACK_MAX_LENGTH = 2000


def may_act(case: Case, actor: Staff, action: str) -> bool:
    """Whether a partner department's account may take `action` on `case`: only the feedback of a
    transfer to its own department (the case's jurisdiction is checked before, by case_transition)."""
    return (
        action == FEEDBACK_ACTION
        and bool(actor.department)
        and actor.can(Perm.DEPARTMENT_FEEDBACK)
        and Transfer.objects.filter(case=case, department=actor.department).exists()
    )


def department_transfers(*, actor: Staff, open_only: bool = True) -> QuerySet[Transfer]:
    """The transfers to the actor's own department within its jurisdiction, oldest due first."""
    require(actor, Perm.DEPARTMENT_FEEDBACK)
    if not actor.department:
        return Transfer.objects.none()
    qs = scoped(Transfer.objects.all(), actor, field="case__division__code").filter(
        department=actor.department
    )
    if open_only:
        qs = qs.filter(case__state="transferred", case__closed_at__isnull=True)
    return qs.select_related("case__item", "case__division").order_by("feedback_due", "case__number")


def department_transfer_get(*, actor: Staff, case_id: int) -> Transfer:
    """One transfer of the actor's department; another department's or jurisdiction's is not found."""
    transfer = department_transfers(actor=actor, open_only=False).filter(case_id=case_id).first()
    if transfer is None:
        raise NotFound("没有找到转给本部门的该事项")
    return transfer


@transaction.atomic
def transfer_feedback_record(*, actor: Staff, case_id: int, feedback: str) -> Case:
    """The department's answer to an item transferred to it; closes the transfer case."""
    require(actor, Perm.DEPARTMENT_FEEDBACK)
    department_transfer_get(actor=actor, case_id=case_id)
    feedback = feedback.strip()
    if not feedback:
        raise InvalidInput("须填写办理结果", field_errors={"feedback": ["请填写办理结果"]})
    if len(feedback) > FEEDBACK_MAX_LENGTH:
        raise InvalidInput(
            f"办理结果不超过{FEEDBACK_MAX_LENGTH}字",
            field_errors={"feedback": [f"不超过{FEEDBACK_MAX_LENGTH}字"]},
        )
    return case_transition(actor=actor, case_id=case_id, action=FEEDBACK_ACTION, data={"feedback": feedback})
