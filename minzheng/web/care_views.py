"""Extreme-poverty support pages (特困人员): the support mode on the case page, the county's sampled
visits with the year's share, and the visiting worklist of home-supported people (探访照料), made
for the village assistant's phone.

Thin: a form in, one service or selector call, a template out; domain errors shown in Chinese.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from minzheng.cases import care, selectors
from minzheng.cases.models import SupportMode
from minzheng.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view

SHOWN_ERRORS = (InvalidInput, Conflict, PermissionDenied)


def _message(exc: DomainError) -> str:
    details = [e for errs in exc.field_errors.values() for e in errs if e not in exc.message]
    return "；".join([_(exc.message), *map(_, details)])


# --- Support mode on the case page ------------------------------------------------------------------


class SupportModeForm(BootstrapForm):
    mode = forms.ChoiceField(
        label=gettext_lazy("供养方式"),
        choices=[
            (SupportMode.HOME.value, gettext_lazy("分散供养（在家）")),
            (SupportMode.INSTITUTIONAL.value, gettext_lazy("集中供养（供养服务机构）")),
        ],
        widget=forms.RadioSelect,
    )
    institution = forms.CharField(
        label=gettext_lazy("供养服务机构"),
        max_length=care.INSTITUTION_MAX,
        required=False,
        help_text=gettext_lazy("集中供养时必填，如：某某敬老院"),
    )

    def style_fields(self) -> None:
        super().style_fields()
        self.fields["mode"].widget.attrs["class"] = "form-check-input"


@staff_view(Perm.CASE_INVESTIGATE)
@require_POST
def case_support_mode(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record the support mode the person chose (本人意愿), then back to the case page."""
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    form = SupportModeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("供养方式登记不完整：请选择供养方式，集中供养须填写机构名称"))
    else:
        try:
            care.case_support_mode_set(
                actor=who,
                case_id=case.pk,
                mode=form.cleaned_data["mode"],
                institution=form.cleaned_data["institution"],
            )
        except SHOWN_ERRORS as exc:
            messages.error(request, _message(exc))
        else:
            flash_done(request, _("已登记供养方式"))
    return redirect(reverse("web:case", kwargs={"case_id": case.pk}) + "#care")


# --- County sampled visits ----------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    this_year = timezone.localdate().year
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= this_year + 1:
        return int(raw)
    return this_year


@staff_view(Perm.CASE_VIEW)
@require_safe
def county_samples(request: HttpRequest) -> HttpResponse:
    """县级入户抽查: per county the year's share of reviewed cases sampled (at least 30%), and the
    sampled cases with their county visit, those still to visit first."""
    who = actor(request)
    year = _year(request)
    pending = request.GET.get("pending") == "1"
    page = paginate(request, care.sampled_cases(actor=who, year=year, pending_only=pending))
    params = urlencode({"year": str(year), **({"pending": "1"} if pending else {})})
    return render(
        request,
        "web/cases/care_county_samples.html",
        {
            "year": year,
            "years": list(range(timezone.localdate().year, 2019, -1)),
            "pending": pending,
            "stats": care.county_sampling(actor=who, year=year),
            "target": f"{care.COUNTY_SAMPLE_SHARE:.0%}",
            "page": page,
            "params": params,
        },
    )


# --- Visiting plans (探访照料) -------------------------------------------------------------------------


@staff_view(Perm.CASE_VIEW)
@require_http_methods(["GET", "POST"])
def care_worklist(request: HttpRequest) -> HttpResponse:
    """探访照料: the home-supported people whose visit is overdue or due within a week (all active
    plans with ?all=1); POST brings in plans for approved cases that have none."""
    who = actor(request)
    if request.method == "POST":
        try:
            made = care.care_plans_bring_in(actor=who)
        except SHOWN_ERRORS as exc:
            messages.error(request, _message(exc))
        else:
            flash_done(request, _("已为 %(n)s 名分散供养对象建立探访计划") % {"n": len(made)})
        return redirect("web:care_worklist")
    today = timezone.localdate()
    show_all = request.GET.get("all") == "1"
    page = paginate(request, care.care_plan_list(actor=who, due_only=not show_all, on=today))
    return render(
        request,
        "web/cases/care_worklist.html",
        {
            "page": page,
            "rows": [(p, care.visit_tone(p.next_due, today)) for p in page],
            "show_all": show_all,
            "params": "all=1" if show_all else "",
            "can_record": who.can(Perm.CASE_INVESTIGATE),
            "can_bring_in": who.can(Perm.CASE_REVIEW_TOWNSHIP) or who.can(Perm.CASE_REVIEW_COUNTY),
            "due_soon_days": care.DUE_SOON_DAYS,
        },
    )


class CareVisitForm(BootstrapForm):
    visited_on = forms.DateField(
        label=gettext_lazy("探访日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    companions = forms.CharField(
        label=gettext_lazy("同行人员"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("多人用顿号或逗号分隔，如：村医王五、网格员赵六"),
    )
    living_conditions = forms.CharField(
        label=gettext_lazy("生活状况"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("住房安全、饮食、取暖、卫生等"),
    )
    health = forms.CharField(
        label=gettext_lazy("健康状况"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    needs = forms.CharField(
        label=gettext_lazy("需求"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    follow_up_needed = forms.BooleanField(label=gettext_lazy("需要跟进（报乡镇处理）"), required=False)

    def companion_names(self) -> list[str]:
        raw = self.cleaned_data["companions"]
        for sep in ("，", ",", "；", ";"):
            raw = raw.replace(sep, "、")
        return [n.strip() for n in raw.split("、") if n.strip()]


def _render_plan(request: HttpRequest, plan_id: int, form: CareVisitForm | None = None) -> HttpResponse:
    who = actor(request)
    plan = care.care_plan_get(actor=who, plan_id=plan_id)
    today = timezone.localdate()
    can_record = who.can(Perm.CASE_INVESTIGATE) and plan.active
    return render(
        request,
        "web/cases/care_plan.html",
        {
            "plan": plan,
            "tone": care.visit_tone(plan.next_due, today) if plan.active else "",
            "visits": list(plan.visits.all()),
            "form": form or (CareVisitForm(initial={"visited_on": today}) if can_record else None),
        },
    )


@staff_view(Perm.CASE_VIEW)
@require_safe
def care_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _render_plan(request, plan_id)


@staff_view(Perm.CASE_INVESTIGATE)
@require_POST
def care_visit_record(request: HttpRequest, plan_id: int) -> HttpResponse:
    who = actor(request)
    plan = care.care_plan_get(actor=who, plan_id=plan_id)
    form = CareVisitForm(request.POST)
    if form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        try:
            care.care_visit_record(
                actor=who,
                plan_id=plan.pk,
                visited_on=data["visited_on"],
                companions=form.companion_names(),
                living_conditions=data["living_conditions"],
                health=data["health"],
                needs=data["needs"],
                follow_up_needed=data["follow_up_needed"],
            )
        except SHOWN_ERRORS as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已录入 %(name)s 的探访记录") % {"name": plan.person.name})
            return redirect("web:care_worklist")
    return _render_plan(request, plan.pk, form)
