"""Pages for the public, without login: apply online (网上申请), follow an application (办理进度查询)
and the village notice board (村（居）公示栏).

They show nothing but what the applicant typed, what the number and ID number together unlock (the
item, its state and the steps' dates), and what a village notice may show by law (name, household
size, amount). No page lists another village's notices.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from minzheng.cases import selectors, services
from minzheng.cases.workflows import state_label
from minzheng.catalogue import selectors as catalogue_selectors
from minzheng.core import throttle
from minzheng.core.errors import InvalidInput, NotFound, TooManyRequests
from minzheng.core.identifiers import DivisionLevel
from minzheng.org.models import Division
from minzheng.web.base import BootstrapForm, apply_domain_error

RECEIPT_KEY = "online_application"


def _villages() -> list[tuple[str, list[tuple[str, str]]]]:
    """Villages grouped by township for a select (public reference data: names and codes only)."""
    groups: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    villages = Division.objects.filter(level=DivisionLevel.VILLAGE).select_related("parent").order_by("code")
    for village in villages:
        parent = village.parent
        key = parent.code if parent else ""
        label = parent.name if parent else ""
        groups.setdefault(key, (label, []))[1].append((village.code, village.name))
    return list(groups.values())


class OnlineApplicationForm(BootstrapForm):
    item_code = forms.ChoiceField(label=gettext_lazy("服务事项"))
    division_code = forms.ChoiceField(label=gettext_lazy("户籍或居住地所在村（社区）"))
    applicant_name = forms.CharField(label=gettext_lazy("申请人姓名"), max_length=60)
    id_number = forms.CharField(label=gettext_lazy("申请人身份证号"), max_length=18)
    phone = forms.CharField(
        label=gettext_lazy("联系电话"), max_length=20, help_text=gettext_lazy("窗口审查材料后将电话告知您")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = [i for i in catalogue_selectors.item_list() if i.accepts_at_township]
        self.fields["item_code"].choices = [("", "—"), *((i.code, i.name) for i in items)]  # type: ignore[attr-defined]
        self.fields["division_code"].choices = [("", "—"), *_villages()]  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def apply_online(request: HttpRequest) -> HttpResponse:
    form = OnlineApplicationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            throttle.check(request, "online_application")
            case = services.case_submit_online(**form.cleaned_data)
        except TooManyRequests as exc:
            form.add_error(None, exc.message)
            return render(request, "web/cases/public_apply.html", {"form": form}, status=exc.status)
        except InvalidInput as exc:
            apply_domain_error(form, exc)
        else:
            request.session[RECEIPT_KEY] = {
                "number": case.number,
                "item": case.item.name,
                "item_code": case.item.code,
                "submitted": timezone.localtime(case.submitted_at).strftime("%Y-%m-%d %H:%M"),
            }
            return redirect("web:apply_done")
    return render(request, "web/cases/public_apply.html", {"form": form})


@require_safe
def apply_done(request: HttpRequest) -> HttpResponse:
    """The online receipt: the case number to keep, from this browser session only."""
    receipt = request.session.get(RECEIPT_KEY)
    if not receipt:
        return redirect("web:apply")
    return render(request, "web/cases/public_apply_done.html", {"receipt": receipt})


class StatusForm(BootstrapForm):
    number = forms.CharField(label=gettext_lazy("受理编号"), max_length=24)
    id_number = forms.CharField(label=gettext_lazy("申请人身份证号"), max_length=18)


@require_http_methods(["GET", "POST"])
def status_lookup(request: HttpRequest) -> HttpResponse:
    """Progress by case number and the applicant's ID number (posted, so neither lands in a URL)."""
    form = StatusForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            throttle.check(request, "status_lookup")
            case = selectors.public_status(**form.cleaned_data)
        except TooManyRequests as exc:
            form.add_error(None, exc.message)
            status = exc.status
        except NotFound as exc:
            form.add_error(None, exc.message)
        else:
            context.update(
                {
                    "item": case.item.name,
                    "state": state_label(case.workflow, case.state),
                    "closed": not case.is_open,
                    "steps": [(state_label(case.workflow, s.state), s) for s in case.steps.all()],
                }
            )
    return render(request, "web/cases/public_status.html", context, status=status)


@require_safe
def notice_boards(request: HttpRequest) -> HttpResponse:
    """Choose a village to see its notice board."""
    code = request.GET.get("code", "")
    if code.isdigit() and len(code) == 12:
        return redirect("web:village_notices", code=code)
    return render(request, "web/cases/public_boards.html", {"villages": _villages()})


@require_safe
def village_notices(request: HttpRequest, code: str) -> HttpResponse:
    """村（居）公示栏: the notices currently posted in one village, printable."""
    division = (
        Division.objects.filter(code=code, level=DivisionLevel.VILLAGE).select_related("parent").first()
    )
    if division is None:
        raise Http404(_("没有该村（社区）"))
    notices = list(selectors.notices_for_village(division=division))
    return render(
        request,
        "web/cases/public_notices.html",
        {
            "notices": notices,
            "division": division,
            "township": division.parent,
            "today": timezone.localdate(),
        },
    )
