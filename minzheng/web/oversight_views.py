"""Pages for grassroots capacity (基层能力建设): compliance drilled from region or city to village,
norm sets and the county's choice, purchased-service contracts, monthly bulletins (A4 and Excel)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from openpyxl import Workbook

from minzheng.core.errors import DomainError
from minzheng.core.inputs import parse_month
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.org.scope import jurisdiction_of
from minzheng.oversight import selectors, services
from minzheng.oversight.models import NormSet
from minzheng.web.base import BootstrapForm, actor, flash_done, staff_view

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class NormChoiceForm(BootstrapForm):
    norm_set = forms.ChoiceField(label=gettext_lazy("适用标准"))
    valid_from = forms.DateField(
        label=gettext_lazy("适用起始日"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=gettext_lazy("说明"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["norm_set"].choices = [  # type: ignore[attr-defined]
            (n.code, f"{n.name}（{n.source_reference[:30]}…）") for n in NormSet.objects.all()
        ]


class BulletinForm(BootstrapForm):
    month = forms.CharField(
        label=gettext_lazy("月份"), max_length=7, widget=forms.TextInput(attrs={"type": "month"})
    )


def _on(request: HttpRequest) -> date | None:
    raw = request.GET.get("on", "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _compliance_page(request: HttpRequest, code: str | None) -> HttpResponse:
    who = actor(request)
    view = selectors.compliance(actor=who, code=code, on=_on(request))
    trend = selectors.township_trend(actor=who, code=view.division.code) if view.division.level == 4 else []
    county = view.division.code[:6] + "000000" if view.division.level >= 3 else ""
    choice_form = None
    if county and who.can(Perm.OVERSIGHT_NORMS) and view.division.level == 3:
        choice_form = NormChoiceForm(initial={"valid_from": timezone.localdate()})
    return render(
        request,
        "web/oversight/compliance.html",
        {
            "view": view,
            "trend": trend,
            "norm_set": selectors.applicable_norm_set(county, view.on) if county else None,
            "choice_form": choice_form,
            "bulletin_form": BulletinForm()
            if who.can(Perm.OVERSIGHT_SUPERVISE) and view.division.level <= 3
            else None,
            "contracts": selectors.contracts(actor=who)[:20] if view.division.level <= 3 else [],
            "rectifications": selectors.rectifications(actor=who, open_only=True).filter(
                division__code__startswith=view.division.prefix
            )[:50],
            "bulletins": selectors.bulletins(actor=who).filter(
                division__code__startswith=view.division.prefix
            )[:12],
        },
    )


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return _compliance_page(request, None)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def division(request: HttpRequest, code: str) -> HttpResponse:
    return _compliance_page(request, code)


@staff_view(Perm.OVERSIGHT_NORMS)
@require_POST
def norm_choose(request: HttpRequest, code: str) -> HttpResponse:
    who = actor(request)
    form = NormChoiceForm(request.POST)
    if form.is_valid():
        try:
            services.county_norm_choose(
                actor=who,
                county_code=code,
                norm_set_code=form.cleaned_data["norm_set"],
                valid_from=form.cleaned_data["valid_from"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            flash_done(request, _("已更换适用标准，各项差距已按新标准重新计算"))
    else:
        messages.error(request, _("请填写适用标准、起始日和说明"))
    selectors.compliance(actor=who, code=code)  # out of scope: 404 before the redirect
    return redirect("web:oversight_division", code=code)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def norms(request: HttpRequest) -> HttpResponse:
    sets = NormSet.objects.prefetch_related("bands", "facility_items")
    return render(request, "web/oversight/norms.html", {"norm_sets": sets})


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def contract(request: HttpRequest, contract_id: int) -> HttpResponse:
    who = actor(request)
    found = selectors.contract_get(actor=who, contract_id=contract_id)
    return render(
        request,
        "web/oversight/contract.html",
        {
            "contract": found,
            "summary": selectors.contract_summary(actor=who, contract=found),
            "evaluations": found.evaluations.all(),
            "posts": found.posts.filter(
                division__code__startswith=jurisdiction_of(who).prefix
            ).select_related("worker", "division"),
        },
    )


@staff_view(Perm.OVERSIGHT_SUPERVISE)
@require_POST
def bulletin_freeze(request: HttpRequest, code: str) -> HttpResponse:
    who = actor(request)
    form = BulletinForm(request.POST)
    selectors.compliance(actor=who, code=code)  # out of scope: 404
    if not form.is_valid():
        messages.error(request, _("请选择月份"))
        return redirect("web:oversight_division", code=code)
    try:
        month = parse_month(form.cleaned_data["month"])
        content = selectors.bulletin_content(actor=who, division_code=code, month=month)
        bulletin = services.bulletin_freeze(actor=who, division_code=code, month=month, content=content)
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("web:oversight_division", code=code)
    flash_done(request, _("月通报已生成"))
    return redirect("web:oversight_bulletin", bulletin_id=bulletin.pk)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def bulletin(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    found = selectors.bulletin_get(actor=actor(request), bulletin_id=bulletin_id)
    return render(
        request,
        "web/oversight/bulletin_print.html",
        {"bulletin": found, "content": found.content, "title": _("基层民政服务能力建设月通报")},
    )


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def bulletin_xlsx(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    found = selectors.bulletin_get(actor=actor(request), bulletin_id=bulletin_id)
    content = found.content
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    sheet.title = _("排名")
    sheet.append(
        [_("名次"), _("单位"), _("得分"), _("未达标项数"), _("未达标项目"), _("超期环节"), _("未销号整改")]
    )
    for unit in content["ranking"]:
        sheet.append(
            [
                unit["rank"],
                neutralise(unit["name"]),
                unit["score"],
                unit["shortfalls"],
                neutralise("、".join(unit["short"])),
                unit["overdue_steps"],
                unit["open_rectifications"],
            ]
        )
    items = book.create_sheet(_("未销号整改"))
    items.append([_("单位"), _("问题"), _("下达日期"), _("整改时限"), _("已用天数"), _("是否超期")])
    for item in content["open_rectifications"]:
        items.append(
            [
                neutralise(item["division"]),
                neutralise(item["issue"]),
                item["opened_on"],
                item["due_on"],
                item["age_days"],
                _("超期") if item["overdue"] else "",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    name = f"月通报_{content['division']['name']}_{content['month']}.xlsx"
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """A facility check's or rectification's photo: always downloaded, never rendered inline."""
    found = services.evidence_download(actor=actor(request), evidence_id=evidence_id)
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
