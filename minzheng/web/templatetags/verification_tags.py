"""The verification panel of the case page (家庭经济状况核对): who has signed an authorisation, the
request in progress or the last report, and the way to the verification pages."""

from __future__ import annotations

from typing import Any

from django import template

from minzheng.cases.models import Case
from minzheng.verification import selectors

register = template.Library()


@register.inclusion_tag("web/verification/_case_panel.html", takes_context=True)
def verification_panel(context: dict[str, Any], case: Case) -> dict[str, Any]:
    if case.household_id is None:
        return {"hidden": True}
    view = selectors.case_verification(actor=context["request"].user, case_id=case.pk)
    if not view.requests and not view.verifiable:
        return {"hidden": True}
    latest = view.requests[0] if view.requests else None
    return {"case": case, "view": view, "latest": latest, "report": getattr(latest, "report", None)}
