"""Take-up gap pages (应保尽保, 主动发现): the worklist per village and township with the calculation
figures, the county's scan, and an application started from a row."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.cases.models import Channel
from minzheng.cases.services import case_intake
from minzheng.catalogue.models import ServiceItem
from minzheng.core.errors import DomainError, NotFound
from minzheng.core.permissions import Perm
from minzheng.org.scope import jurisdiction_of
from minzheng.registry.models import Membership
from minzheng.rules import takeup
from minzheng.rules.bulk import MONTHLY_PROGRAMMES
from minzheng.rules.programmes import PROGRAMMES
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view

PROGRAMME_CHOICES = [(code, gettext_lazy(PROGRAMMES[code].label)) for code in MONTHLY_PROGRAMMES]


class TakeUpFilterForm(BootstrapForm):
    programme = forms.ChoiceField(
        label=gettext_lazy("救助项目"),
        required=False,
        choices=[("", gettext_lazy("全部项目")), *PROGRAMME_CHOICES],
    )
    division = forms.RegexField(label=gettext_lazy("村/乡镇代码"), regex=r"^\d{12}$", required=False)
    taken_up = forms.BooleanField(label=gettext_lazy("只看已发起申请的"), required=False)


class TakeUpScanForm(BootstrapForm):
    county = forms.RegexField(label=gettext_lazy("县（市、区）代码"), regex=r"^\d{6}$")
    day = forms.DateField(
        label=gettext_lazy("排查日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    programmes = forms.MultipleChoiceField(
        label=gettext_lazy("排查项目"), choices=PROGRAMME_CHOICES, widget=forms.CheckboxSelectMultiple
    )


def _labels() -> dict[str, str]:
    return {code: _(PROGRAMMES[code].label) for code in MONTHLY_PROGRAMMES}


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def worklist(request: HttpRequest) -> HttpResponse:
    """应保尽保: the open rows of the jurisdiction by township and village, filterable; a county
    reviewer or administrator runs the scan here (POST)."""
    who = actor(request)
    can_scan = who.can(Perm.MONITORING_MANAGE)
    prefix = jurisdiction_of(who).prefix
    scan_form = TakeUpScanForm(
        request.POST if request.method == "POST" else None,
        initial={"county": prefix[:6], "day": timezone.localdate(), "programmes": list(MONTHLY_PROGRAMMES)},
    )
    if request.method == "POST":
        if not can_scan:
            return render(
                request, "web/error.html", {"status": 403, "message": _("您没有排查的权限")}, status=403
            )
        if scan_form.is_valid():
            try:
                scan = takeup.takeup_scan(
                    actor=who,
                    county=scan_form.cleaned_data["county"],
                    day=scan_form.cleaned_data["day"],
                    programmes=scan_form.cleaned_data["programmes"],
                )
            except DomainError as exc:
                apply_domain_error(scan_form, exc)
            else:
                flash_done(
                    request,
                    _("排查完成：%(h)s 户中发现应保未保 %(n)s 户·项")
                    % {"h": scan.households, "n": scan.gaps},
                )
                return redirect("web:takeup")
    form = TakeUpFilterForm(request.GET or None)
    programme, division, taken_up = "", "", False
    if form.is_valid():
        programme = form.cleaned_data["programme"] or ""
        division = form.cleaned_data["division"] or ""
        taken_up = bool(form.cleaned_data["taken_up"])
    try:
        gaps = takeup.takeup_gaps(actor=who, division=division, programme=programme, taken_up=taken_up)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, _(exc.message))
        gaps = takeup.takeup_gaps(actor=who)
    townships, villages = takeup.takeup_summary(actor=who, programme=programme)
    page = paginate(request, gaps)
    labels = _labels()
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "web/takeup/worklist.html",
        {
            "form": form,
            "scan_form": scan_form if can_scan else None,
            "page": page,
            "rows": [(g, labels[g.programme], takeup.figures_of(g)) for g in page],
            "params": params.urlencode(),
            "townships": townships,
            "villages": villages,
            "programme": programme,
            "taken_up": taken_up,
            "scans": takeup.latest_scans(actor=who, limit=5),
            "can_take_up": who.can(Perm.CASE_INTAKE),
        },
    )


class TakeUpStartForm(BootstrapForm):
    # Empty (the worklist's button): the programme's default item and the head of household.
    item_code = forms.ChoiceField(label=gettext_lazy("申请事项"), required=False)
    applicant = forms.TypedChoiceField(
        label=gettext_lazy("申请人"), coerce=int, required=False, empty_value=None
    )
    note = forms.CharField(
        label=gettext_lazy("发现情况说明"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def gap_detail(request: HttpRequest, gap_id: int) -> HttpResponse:
    """One row: the household, the figures that say it qualifies, and (POST) the application
    started from it — "发起申请（主动发现）"."""
    who = actor(request)
    gap = takeup.takeup_gap_get(actor=who, gap_id=gap_id)
    members = Membership.objects.filter(household_id=gap.household_id, end_date__isnull=True).select_related(
        "person"
    )
    form = TakeUpStartForm(
        request.POST if request.method == "POST" else None,
        initial={"item_code": takeup.default_item(gap), "applicant": gap.household.head_id},
    )
    items = takeup.PROGRAMME_ITEMS[gap.programme]
    names = dict(ServiceItem.objects.filter(code__in=items).values_list("code", "name"))
    form.fields["item_code"].choices = [(code, names.get(code, code)) for code in items]  # type: ignore[attr-defined]
    form.fields["applicant"].choices = [(m.person_id, m.person.name) for m in members]  # type: ignore[attr-defined]
    if request.method == "POST":
        if not who.can(Perm.CASE_INTAKE):
            return render(
                request, "web/error.html", {"status": 403, "message": _("您没有受理申请的权限")}, status=403
            )
        if form.is_valid():
            try:
                gap = takeup.takeup_gap_start(
                    actor=who,
                    gap_id=gap.pk,
                    intake=case_intake,
                    channel=Channel.DISCOVERY,
                    item_code=form.cleaned_data["item_code"],
                    applicant_id=form.cleaned_data["applicant"],
                    note=form.cleaned_data["note"],
                )
            except NotFound:
                raise
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                flash_done(request, _("已发起申请，受理编号 %(n)s") % {"n": gap.case_number})
                if gap.case_id is not None:
                    return redirect("web:case", case_id=gap.case_id)
                return redirect("web:takeup")
    return render(
        request,
        "web/takeup/gap.html",
        {
            "gap": gap,
            "figures": takeup.figures_of(gap),
            "label": _labels()[gap.programme],
            "form": form,
            "can_take_up": who.can(Perm.CASE_INTAKE) and gap.taken_up_at is None,
        },
    )
