"""Rules pages: standards in force with their references, history and maker-checker proposals."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from minzheng.core.errors import DomainError, NotFound
from minzheng.core.permissions import Perm
from minzheng.org.scope import jurisdiction_of
from minzheng.rules import selectors, services
from minzheng.rules.bulk import MONTHLY_PROGRAMMES
from minzheng.rules.policy import ALL_AREAS, PolicyError, parameter_specs, spec_for
from minzheng.rules.programmes import PROGRAMMES
from minzheng.rules.whatif import whatif_run
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, staff_view


class InForceForm(BootstrapForm):
    day = forms.DateField(
        label=gettext_lazy("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    place = forms.RegexField(label=gettext_lazy("区划代码"), regex=r"^\d{6}(\d{3}){0,2}$", required=False)


@staff_view(Perm.ORG_VIEW)
def parameter_list(request: HttpRequest) -> HttpResponse:
    form = InForceForm(request.GET or None)
    day, place = timezone.localdate(), jurisdiction_of(actor(request)).division_code
    if form.is_valid():
        day = form.cleaned_data["day"] or day
        place = form.cleaned_data["place"] or place
    rows = selectors.parameters_in_force(day=day, place=place)
    return render(
        request, "web/rules/parameter_list.html", {"form": form, "rows": rows, "day": day, "place": place}
    )


class ProposalForm(BootstrapForm):
    region = forms.CharField(
        label=gettext_lazy("适用地区代码"),
        max_length=6,
        required=False,
        help_text=gettext_lazy("县级6位代码；空为全国"),
    )
    area = forms.ChoiceField(
        label=gettext_lazy("城乡"),
        choices=[
            ("urban", gettext_lazy("城市")),
            ("rural", gettext_lazy("农村")),
            (ALL_AREAS, gettext_lazy("不分城乡")),
        ],
    )
    effective_from = forms.DateField(
        label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    value = forms.CharField(
        label=gettext_lazy("新值"),
        max_length=2000,
        help_text=gettext_lazy("金额（元）、比例（如0.10）、整数或选项代码；表格用 JSON"),
    )
    reference = forms.CharField(label=gettext_lazy("依据文件（文号）"), max_length=300)
    reason = forms.CharField(label=gettext_lazy("调整理由"), max_length=300)


@staff_view(Perm.ORG_VIEW)
@require_http_methods(["GET", "POST"])
def parameter_detail(request: HttpRequest, name: str) -> HttpResponse:
    staff = actor(request)
    try:
        spec = spec_for(name)
    except PolicyError as exc:
        raise Http404(str(exc)) from exc
    initial = {"region": jurisdiction_of(staff).prefix[:6], "area": "urban" if spec.by_area else ALL_AREAS}
    form = ProposalForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.parameter_propose(actor=staff, name=name, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, gettext_lazy("参数调整已提出，待另一名有批准权限的人员批准后生效"))
            return redirect("web:parameter_detail", name=name)
    history = selectors.parameter_history(actor=staff, name=name)
    return render(
        request,
        "web/rules/parameter_detail.html",
        {"spec": spec, "history": history, "form": form, "can_propose": staff.can(Perm.PARAMETER_PROPOSE)},
    )


class DecisionForm(BootstrapForm):
    note = forms.CharField(label=gettext_lazy("意见"), max_length=300, required=False)


@staff_view(Perm.ORG_VIEW)
def proposal_list(request: HttpRequest) -> HttpResponse:
    staff = actor(request)
    return render(
        request,
        "web/rules/proposal_list.html",
        {
            "proposals": selectors.proposals_pending(actor=staff),
            "can_decide": staff.can(Perm.PARAMETER_APPROVE),
            "form": DecisionForm(),
        },
    )


@staff_view(Perm.PARAMETER_APPROVE)
@require_POST
def proposal_decide(request: HttpRequest, value_id: int) -> HttpResponse:
    staff = actor(request)
    form = DecisionForm(request.POST)
    note = form.data.get("note", "")
    try:
        if request.POST.get("decision") == "reject":
            services.parameter_reject(actor=staff, value_id=value_id, note=note)
            flash_done(request, gettext_lazy("已驳回该参数调整"))
        else:
            services.parameter_approve(actor=staff, value_id=value_id, note=note)
            flash_done(request, gettext_lazy("已批准，新值自生效日期起用于测算和发放"))
    except NotFound:
        raise
    except DomainError as exc:
        details = [e for errors in exc.field_errors.values() for e in errors]
        messages.error(request, "；".join(map(gettext, details)) if details else gettext(exc.message))
    return redirect("web:parameter_proposals")


class WhatIfForm(BootstrapForm):
    programme = forms.ChoiceField(
        label=gettext_lazy("救助项目"),
        choices=[(code, gettext_lazy(PROGRAMMES[code].label)) for code in MONTHLY_PROGRAMMES],
    )
    parameter = forms.ChoiceField(label=gettext_lazy("调整的参数"))
    value = forms.CharField(
        label=gettext_lazy("假设的新值"),
        max_length=2000,
        help_text=gettext_lazy("金额（元）、比例（如0.10）、整数或选项代码"),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("自该日起"), widget=forms.DateInput(attrs={"type": "date"})
    )
    area = forms.ChoiceField(
        label=gettext_lazy("适用于"),
        choices=[
            ("all", gettext_lazy("城市和农村")),
            ("urban", gettext_lazy("仅城市")),
            ("rural", gettext_lazy("仅农村")),
        ],
    )
    change = forms.ChoiceField(
        label=gettext_lazy("逐户变化"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("newly_eligible", gettext_lazy("新符合条件")),
            ("no_longer_eligible", gettext_lazy("不再符合条件")),
            ("gain", gettext_lazy("金额增加")),
            ("lose", gettext_lazy("金额减少")),
        ],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["parameter"].choices = [  # type: ignore[attr-defined]
            (
                spec.name,
                gettext("%(description)s（%(name)s）")
                % {"description": gettext(spec.description), "name": spec.name},
            )
            for spec in parameter_specs().values()
        ]


@staff_view(Perm.REPORT_VIEW)
def whatif(request: HttpRequest) -> HttpResponse:
    form = WhatIfForm(
        request.GET or None, initial={"programme": "dibao", "parameter": "dibao.standard", "area": "urban"}
    )
    result = None
    if request.GET and form.is_valid():
        page = request.GET.get("page", "1")
        try:
            result = whatif_run(
                actor=actor(request), **form.cleaned_data, page=int(page) if page.isdigit() else 1
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
    chart = None
    if result is not None:
        chart = {
            "townships": [t.name for t in result.townships],
            "series": [
                {"name": "现行标准（元/月）", "data": [str(t.cost_before) for t in result.townships]},
                {"name": "假设标准（元/月）", "data": [str(t.cost_after) for t in result.townships]},
            ],
        }
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "web/rules/whatif.html",
        {"form": form, "result": result, "chart": chart, "params": params.urlencode()},
    )
