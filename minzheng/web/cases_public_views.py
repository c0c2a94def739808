"""Pages for the public, without login: apply online (网上申请), follow an application (办理进度查询)
and the village notice board (村（居）公示栏).

They show nothing but what the applicant typed, what the number and ID number (or phone) together
unlock (the item, its state, each step with its due date, the one-time notice of missing materials,
the applicant's own uploads and inbox — never a member of staff's name), and what a village notice
may show by law (name, household size, amount). No page lists another village's notices.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from minzheng.cases import online, selectors, services
from minzheng.cases.models import Case, NotificationKind, SmsStatus
from minzheng.catalogue import selectors as catalogue_selectors
from minzheng.core import throttle
from minzheng.core.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    TransitionNotAllowed,
)
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
    id_number = forms.CharField(
        label=gettext_lazy("申请人身份证号或手机号"),
        max_length=18,
        help_text=gettext_lazy("身份证号，或申请时填写的手机号"),
    )


class MaterialUploadForm(BootstrapForm):
    requirement = forms.TypedChoiceField(label=gettext_lazy("补交的材料"), coerce=int)
    file = forms.FileField(
        label=gettext_lazy("文件"), help_text=gettext_lazy("PDF、JPG 或 PNG，每个文件不超过%(mb)sMB")
    )

    def __init__(self, *args: Any, missing: list[online.MissingView], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requirement"].choices = [(m.requirement_id, m.name) for m in missing]  # type: ignore[attr-defined]
        mb = settings.MINZHENG_APPLICANT_UPLOAD_MAX_BYTES // (1024 * 1024)
        self.fields["file"].help_text = _("PDF、JPG 或 PNG，每个文件不超过%(mb)sMB") % {"mb": mb}


STEP_STATUS = {
    "done": gettext_lazy("已完成"),
    "current": gettext_lazy("办理中"),
    "overdue": gettext_lazy("已超期"),
    "upcoming": gettext_lazy("后续环节"),
}
NOTICE_TEXT = {
    NotificationKind.RECEIVED: gettext_lazy("申请已收到，乡镇（街道）窗口将审查材料"),
    NotificationKind.MISSING_MATERIALS: gettext_lazy("材料不全，已一次性告知：请查看下方清单并补交"),
    NotificationKind.MATERIALS_RECEIVED: gettext_lazy("补交的材料已收到，等待窗口核验"),
    NotificationKind.ACCEPTED: gettext_lazy("申请已正式受理"),
    NotificationKind.PROGRESS: gettext_lazy("申请进入新环节"),
    NotificationKind.DECIDED: gettext_lazy("已作出决定"),
    NotificationKind.CLOSED: gettext_lazy("已办结"),
}
SMS_STATUS = {
    SmsStatus.PENDING: gettext_lazy("短信待发送"),
    SmsStatus.SENT: gettext_lazy("已发短信"),
    SmsStatus.FAILED: gettext_lazy("短信发送失败，将重试"),
    SmsStatus.ABANDONED: gettext_lazy("短信未能送达"),
    SmsStatus.OFF: "",
}
APPLICANT_KEY = "applicant_token"


def _status_context(case: Case, upload_form: MaterialUploadForm | None = None) -> dict[str, Any]:
    view = online.applicant_view(case)
    return {
        "view": view,
        "item": view.item_name,
        "state": _(view.state_label),
        "closed": view.closed,
        "steps": [
            {**vars(s), "label": _(s.label), "status_label": STEP_STATUS[s.status]} for s in view.steps
        ],
        "notices": [
            {
                "text": NOTICE_TEXT[NotificationKind(n.kind)],
                "state": _(n.state_label),
                "at": n.created_at,
                "sms": SMS_STATUS.get(SmsStatus(n.sms), "") if n.sms else "",
            }
            for n in view.notices
        ],
        "upload_form": upload_form or (MaterialUploadForm(missing=view.missing) if view.can_upload else None),
    }


def _session_case(request: HttpRequest) -> Case | None:
    token = request.session.get(APPLICANT_KEY)
    if not token:
        return None
    try:
        return online.applicant_case(token=token)
    except PermissionDenied:
        request.session.pop(APPLICANT_KEY, None)
        return None


@require_http_methods(["GET", "POST"])
def status_lookup(request: HttpRequest) -> HttpResponse:
    """Progress by case number and the applicant's ID number or phone (posted, so neither lands in a
    URL); this browser then remembers the applicant for a short while (a signed token in the
    session) so they can upload missing materials and come back to the page."""
    form = StatusForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            throttle.check(request, "status_lookup")
            case = online.applicant_identify(
                number=form.cleaned_data["number"], secret=form.cleaned_data["id_number"]
            )
        except TooManyRequests as exc:
            form.add_error(None, exc.message)
            status = exc.status
        except NotFound as exc:
            form.add_error(None, _(exc.message))
        else:
            request.session[APPLICANT_KEY] = online.applicant_token(case)
            request.session.cycle_key()
            context.update(_status_context(case))
    elif request.method == "GET" and (remembered := _session_case(request)) is not None:
        context.update(_status_context(remembered))
    return render(request, "web/cases/public_status.html", context, status=status)


@require_http_methods(["POST"])
def status_upload(request: HttpRequest) -> HttpResponse:
    """The applicant uploads a material the one-time notice listed as missing (网上补交材料)."""
    case = _session_case(request)
    if case is None:
        context = {"form": StatusForm(), "problem": _("查询已过期或无效，请重新输入受理编号和身份证号")}
        return render(request, "web/cases/public_status.html", context, status=403)
    upload_form = MaterialUploadForm(request.POST, request.FILES, missing=online.applicant_view(case).missing)
    if upload_form.is_valid():
        file = upload_form.cleaned_data["file"]
        limit = settings.MINZHENG_APPLICANT_UPLOAD_MAX_BYTES
        try:
            if (file.size or 0) > limit:
                raise InvalidInput(
                    field_errors={"file": [_("每个文件不超过%(mb)sMB") % {"mb": limit // (1024 * 1024)}]}
                )
            online.applicant_document_upload(
                case_id=case.pk,
                requirement_id=upload_form.cleaned_data["requirement"],
                file_name=file.name or "upload",
                content_type=file.content_type or "",
                content=file.read(limit + 1),
            )
        except (InvalidInput, TransitionNotAllowed) as exc:
            for field, errors in exc.field_errors.items():
                for error in errors:
                    upload_form.add_error(field if field in upload_form.fields else None, _(error))
            if not exc.field_errors:
                upload_form.add_error(None, _(exc.message))
        else:
            messages.success(request, _("材料已上传，等待窗口核验"))
            return redirect("web:status")
    context = {"form": StatusForm(), **_status_context(case, upload_form)}
    return render(request, "web/cases/public_status.html", context, status=422)


@require_http_methods(["POST"])
def status_leave(request: HttpRequest) -> HttpResponse:
    """Forget the applicant in this browser (on a shared computer)."""
    request.session.pop(APPLICANT_KEY, None)
    return redirect("web:status")


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
