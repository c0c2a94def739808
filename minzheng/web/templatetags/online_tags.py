"""The online-application panel of the case page: the household link (candidates in scope, or a new
household registered from the application), the applicant's own uploads, and their inbox with the
text messages' status."""

from __future__ import annotations

from typing import Any

from django import template

from minzheng.cases import online
from minzheng.cases.models import Case, Channel, Document
from minzheng.core.permissions import Perm
from minzheng.web.cases_online_views import RegisterHouseholdForm

register = template.Library()


@register.inclusion_tag("web/cases/online_case_panel.html", takes_context=True)
def online_panel(context: dict[str, Any], case: Case) -> dict[str, Any]:
    if case.channel != Channel.ONLINE:
        return {"hidden": True}
    staff = context["request"].user
    may_link = case.is_open and case.household_id is None and staff.can(Perm.CASE_INTAKE)
    return {
        "case": case,
        "may_link": may_link,
        "candidates": list(online.household_candidates(actor=staff, case=case)) if may_link else [],
        "register_form": RegisterHouseholdForm() if may_link and staff.can(Perm.HOUSEHOLD_CHANGE) else None,
        "uploads": list(
            Document.objects.filter(case=case, from_applicant=True)
            .select_related("requirement")
            .defer("content")
            .order_by("uploaded_at", "pk")
        ),
        "notifications": list(online.case_notifications(actor=staff, case=case)),
        "csrf_token": context.get("csrf_token"),
    }
