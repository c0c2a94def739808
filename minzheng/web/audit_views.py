"""Audit search for auditors; the audit trail's integrity page for the audit administrator."""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minzheng.core.audit import verify_chain
from minzheng.core.audit_checkpoint import (
    CheckpointReport,
    checkpoint_check,
    checkpoint_export,
    checkpoint_parse,
)
from minzheng.core.audit_storage import audit_protection
from minzheng.core.errors import InvalidInput
from minzheng.core.models import AuditChainHead
from minzheng.core.permissions import Perm
from minzheng.org.roles import Role
from minzheng.org.selectors import AuditQuery, audit_event_search
from minzheng.web.base import BootstrapForm, actor, forbidden, paginate, staff_view


class AuditSearchForm(BootstrapForm):
    action = forms.CharField(label=gettext_lazy("操作"), required=False)
    actor_username = forms.CharField(label=gettext_lazy("操作人用户名"), required=False)
    object_type = forms.CharField(label=gettext_lazy("对象类型"), required=False)
    object_id = forms.CharField(label=gettext_lazy("对象编号"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@staff_view(Perm.AUDIT_VIEW)
def audit_search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    query = AuditQuery()
    if form.is_valid():
        query = AuditQuery(**{k: v for k, v in form.cleaned_data.items() if v})
    page = paginate(request, audit_event_search(actor=actor(request), query=query))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request, "web/audit/search.html", {"form": form, "page": page, "params": params.urlencode()}
    )


# --- Integrity: checkpoints kept outside the database (安全审计员) -------------------------------

MAX_CHECKPOINT_BYTES = 16 * 1024


class CheckpointExportForm(BootstrapForm):
    day = forms.DateField(
        label=gettext_lazy("截至日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class CheckpointVerifyForm(BootstrapForm):
    text = forms.CharField(
        label=gettext_lazy("粘贴检查点内容"), required=False, widget=forms.Textarea(attrs={"rows": 7})
    )
    upload = forms.FileField(label=gettext_lazy("或上传检查点文件"), required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload is not None:
            raw = upload.read(MAX_CHECKPOINT_BYTES + 1)  # type: ignore[attr-defined]
            if len(raw) > MAX_CHECKPOINT_BYTES:
                raise forms.ValidationError("检查点文件过大")
            try:
                data["text"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("检查点文件不是UTF-8文本") from exc
        if not str(data.get("text") or "").strip():
            raise forms.ValidationError("请粘贴或上传检查点")
        return data


@staff_view(Perm.AUDIT_VIEW)
def audit_integrity(request: HttpRequest) -> HttpResponse:
    """Export today's (or a past day's) signed checkpoint; check the chain against a kept one."""
    me = actor(request)
    if Role.AUDIT_ADMIN not in me.roles:
        return forbidden(request, "审计链检查点仅由安全审计员导出和核验")
    export_form = CheckpointExportForm(initial={"day": timezone.localdate()})
    verify_form = CheckpointVerifyForm()
    report: CheckpointReport | None = None
    chain = None
    if request.method == "POST" and request.POST.get("action") == "export":
        export_form = CheckpointExportForm(request.POST)
        if export_form.is_valid():
            day: date = export_form.cleaned_data["day"]
            try:
                checkpoint = checkpoint_export(actor=me, day=day)
            except InvalidInput as exc:
                export_form.add_error("day", _(exc.message))
            else:
                response = HttpResponse(checkpoint.text(), content_type="text/plain; charset=utf-8")
                name = f"audit-checkpoint-{checkpoint.day.isoformat()}-{checkpoint.last_seq}.txt"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
    elif request.method == "POST" and request.POST.get("action") == "verify":
        verify_form = CheckpointVerifyForm(request.POST, request.FILES)
        if verify_form.is_valid():
            try:
                checkpoint = checkpoint_parse(str(verify_form.cleaned_data["text"]))
            except InvalidInput as exc:
                verify_form.add_error(None, _(exc.message))
            else:
                report = checkpoint_check(actor=me, checkpoint=checkpoint)
    elif request.method == "POST" and request.POST.get("action") == "walk":
        chain = verify_chain()
    status = 400 if (export_form.errors or verify_form.errors) else 200
    return render(
        request,
        "web/audit/integrity.html",
        {
            "protection": audit_protection(),
            "head": AuditChainHead.objects.filter(pk=1).first(),
            "export_form": export_form,
            "verify_form": verify_form,
            "report": report,
            "chain": chain,
        },
        status=status,
    )
