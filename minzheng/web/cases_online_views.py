"""The window's handling of an online application (网上申请): link it to the household in the
registry that holds the applicant, or register a new household from it. The panel on the case page
(templatetags/online_tags.py) shows the candidates, the applicant's uploads and their inbox."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minzheng.cases import online, selectors
from minzheng.core.errors import DomainError
from minzheng.core.permissions import Perm
from minzheng.registry.models import Area
from minzheng.web.base import BootstrapForm, actor, staff_view

AREA_LABELS = {Area.URBAN: gettext_lazy("城市"), Area.RURAL: gettext_lazy("农村")}


class LinkHouseholdForm(BootstrapForm):
    household_id = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


class RegisterHouseholdForm(BootstrapForm):
    id_number = forms.CharField(
        label=gettext_lazy("申请人身份证号"),
        max_length=18,
        help_text=gettext_lazy("按申请人身份证录入，须与网上申请填写的一致"),
    )
    address = forms.CharField(label=gettext_lazy("住址"), max_length=200)
    area = forms.ChoiceField(label=gettext_lazy("城乡类别"), choices=list(AREA_LABELS.items()))


def _back(case_id: int) -> HttpResponse:
    return redirect(reverse("web:case", args=[case_id]) + "#online")


def _error(request: HttpRequest, exc: DomainError) -> None:
    details = [_(e) for errs in exc.field_errors.values() for e in errs if e not in exc.message]
    messages.error(request, "；".join([_(exc.message), *details]))


@require_POST
@staff_view(Perm.CASE_INTAKE)
def case_link_household(request: HttpRequest, case_id: int) -> HttpResponse:
    selectors.case_get(actor=actor(request), case_id=case_id)  # another jurisdiction's case: 404
    form = LinkHouseholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要关联的家庭"))
        return _back(case_id)
    try:
        online.case_link_household(
            actor=actor(request), case_id=case_id, household_id=form.cleaned_data["household_id"]
        )
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已关联家庭档案"))
    return _back(case_id)


@require_POST
@staff_view(Perm.CASE_INTAKE)
def case_register_household(request: HttpRequest, case_id: int) -> HttpResponse:
    selectors.case_get(actor=actor(request), case_id=case_id)  # another jurisdiction's case: 404
    form = RegisterHouseholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写申请人身份证号、住址和城乡类别"))
        return _back(case_id)
    try:
        online.case_register_household(actor=actor(request), case_id=case_id, **form.cleaned_data)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已登记新家庭并关联本申请"))
    return _back(case_id)
