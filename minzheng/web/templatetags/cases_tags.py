"""The applications of one household, listed on its page (申请事项), with the button to start one."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from minzheng.cases import selectors
from minzheng.cases.workflows import state_label
from minzheng.core.permissions import Perm
from minzheng.registry.models import Household

register = template.Library()


@register.inclusion_tag("web/cases/_household_cases.html", takes_context=True)
def household_cases(context: dict[str, Any], household: Household) -> dict[str, Any]:
    staff = context["request"].user
    if not staff.can(Perm.CASE_VIEW):
        return {"hidden": True}
    cases = selectors.case_list(actor=staff).filter(household=household)[:50]
    return {
        "household": household,
        "rows": [{"case": c, "state_label": _(state_label(c.workflow, c.state))} for c in cases],
        "can_intake": staff.can(Perm.CASE_INTAKE) and household.is_active,
    }
