"""The extreme-poverty panel of the case page: support mode (with its form), the county's sampled
visit, and the visiting plan once approved."""

from __future__ import annotations

from typing import Any

from django import template

from minzheng.cases import care
from minzheng.cases.models import Case
from minzheng.core.permissions import Perm
from minzheng.web.care_views import SupportModeForm

register = template.Library()


@register.inclusion_tag("web/cases/care_case_panel.html", takes_context=True)
def care_panel(context: dict[str, Any], case: Case) -> dict[str, Any]:
    if case.workflow != care.WORKFLOW:
        return {"hidden": True}
    staff = context["request"].user
    mode = care.support_mode_of(case)
    can_set = case.is_open and staff.can(Perm.CASE_INVESTIGATE)
    return {
        "case": case,
        "mode": mode,
        "form": SupportModeForm(initial={"mode": mode["mode"], "institution": mode["institution"]})
        if can_set
        else None,
        "county_visit_done": any(v.by_county for v in case.visits.all()),
        "reviewed": any(s.state == "county_review" for s in case.steps.all()),
        "plan": care.care_plan_of_case(actor=staff, case=case),
        "csrf_token": context.get("csrf_token"),
    }
