"""Pages of a partner department's account (协作部门): its worklist of items transferred to it, each
with a feedback form, and the assistance-status inquiry (ID number and purpose in, statuses out).

Thin: a form in, one service or selector call, a template out. Domain errors are shown in Chinese
on the page, never as a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from minzheng.cases import departments
from minzheng.core.errors import DomainError, InvalidInput, NotFound
from minzheng.core.permissions import Perm
from minzheng.inquiries import selectors as inquiry_selectors
from minzheng.inquiries import services as inquiries
from minzheng.inquiries.models import InquiryChannel
from minzheng.org.models import PartnerDepartment
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view


class FeedbackForm(BootstrapForm):
    feedback = forms.CharField(
        label=gettext_lazy("办理结果"),
        max_length=departments.FEEDBACK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("反馈后本事项办结，乡镇（街道）窗口据此告知申请人"),
    )


def _department_name(code: str) -> str:
    return str(PartnerDepartment(code).label) if code in PartnerDepartment.values else ""


@staff_view(Perm.DEPARTMENT_FEEDBACK)
def transfer_list(request: HttpRequest) -> HttpResponse:
    """待反馈事项: the open items transferred to the account's own department, oldest due first."""
    me = actor(request)
    closed = request.GET.get("closed") == "1"
    page = paginate(request, departments.department_transfers(actor=me, open_only=not closed))
    return render(
        request,
        "web/departments/transfers.html",
        {
            "page": page,
            "closed": closed,
            "params": "closed=1" if closed else "",
            "department": _department_name(me.department),
            "today": timezone.localdate(),
            "rows": [(t, FeedbackForm(prefix=f"t{t.case_id}")) for t in page],
        },
    )


@require_POST
@staff_view(Perm.DEPARTMENT_FEEDBACK)
def transfer_feedback(request: HttpRequest, case_id: int) -> HttpResponse:
    me = actor(request)
    transfer = departments.department_transfer_get(actor=me, case_id=case_id)
    form = FeedbackForm(request.POST, prefix=f"t{case_id}")
    if form.is_valid():
        try:
            departments.transfer_feedback_record(
                actor=me, case_id=case_id, feedback=form.cleaned_data["feedback"]
            )
        except NotFound:
            raise
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已反馈办理结果：%(number)s") % {"number": transfer.case.number})
            return redirect("web:department_transfers")
    return render(
        request,
        "web/departments/transfer_feedback.html",
        {"transfer": transfer, "form": form, "today": timezone.localdate()},
        status=422,
    )


class InquiryForm(BootstrapForm):
    id_number = forms.CharField(label=gettext_lazy("身份证号"), max_length=18)
    purpose = forms.CharField(
        label=gettext_lazy("查询用途"),
        max_length=inquiries.PURPOSE_MAX_LENGTH,
        help_text=gettext_lazy("例如：困难残疾人生活补贴资格审核。每次查询均留痕备查"),
    )
    on = forms.DateField(
        label=gettext_lazy("身份日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@require_http_methods(["GET", "POST"])
@staff_view(Perm.STATUS_INQUIRY)
def status_inquiry(request: HttpRequest) -> HttpResponse:
    """救助身份查询: a served person's statuses (the person's and the household's), nothing else."""
    me = actor(request)
    result = None
    status = 200
    if request.method == "POST":
        form = InquiryForm(request.POST)
        if form.is_valid():
            try:
                result = inquiries.status_inquire(
                    actor=me,
                    id_number=form.cleaned_data["id_number"],
                    purpose=form.cleaned_data["purpose"],
                    on=form.cleaned_data["on"] or timezone.localdate(),
                    channel=InquiryChannel.WEB,
                )
            except InvalidInput as exc:
                apply_domain_error(form, exc)
        if result is None:
            status = 422
    else:
        form = InquiryForm()
    context: dict[str, Any] = {
        "form": form,
        "result": result,
        "history": inquiry_selectors.status_inquiries(actor=me)[:20],
    }
    return render(request, "web/departments/status_inquiry.html", context, status=status)
