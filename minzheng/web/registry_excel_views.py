"""Household Excel pages: template download, upload with progress and error report, export."""

from __future__ import annotations

import tempfile

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import InvalidInput
from minzheng.core.permissions import Perm
from minzheng.registry import excel, tasks
from minzheng.registry.models import ImportMode
from minzheng.web.base import XLSX, BootstrapForm, actor, staff_view, xlsx_response


def _attachment(content: bytes, name: str) -> HttpResponse:
    return xlsx_response(content, name)


class ImportForm(BootstrapForm):
    file = forms.FileField(
        label=gettext_lazy("Excel文件（.xlsx）"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"})
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("导入方式"),
        choices=ImportMode.choices,
        initial=ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )


@staff_view(Perm.HOUSEHOLD_VIEW)
def import_template(request: HttpRequest) -> HttpResponse:
    return _attachment(excel.template_workbook(actor=actor(request)), "家庭成员导入模板.xlsx")


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["GET", "POST"])
def household_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job, _ = tasks.import_submit(
            actor=actor(request),
            file_name=upload.name or "",
            content=excel.read_upload(upload),
            mode=form.cleaned_data["mode"],
        )
        return redirect("web:household_import_job", job_id=job.pk)
    jobs = excel.import_job_list(actor=actor(request))[:10]
    return render(
        request,
        "web/registry/household_import.html",
        {"form": form, "jobs": jobs, "max_rows": excel.MAX_ROWS, "background_rows": excel.BACKGROUND_ROWS},
    )


@staff_view(Perm.HOUSEHOLD_CHANGE)
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = excel.import_job_get(actor=actor(request), pk=job_id)
    template = "web/registry/_import_job.html" if request.htmx else "web/registry/import_job.html"  # type: ignore[attr-defined]
    return render(request, template, {"job": job})


@staff_view(Perm.HOUSEHOLD_CHANGE)
def import_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    job = excel.import_job_get(actor=actor(request), pk=job_id)
    content = excel.import_job_error_report(actor=actor(request), job=job)
    return _attachment(content, f"导入错误报告_{job.pk}.xlsx")


@staff_view(Perm.EXPORT)
def household_export(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    try:
        excel.export_households(actor=actor(request), out=out, search=search)
    except InvalidInput as exc:
        out.close()
        messages.error(request, _(exc.message))
        return redirect("web:households")
    except BaseException:
        out.close()
        raise
    out.seek(0)
    name = f"家庭档案_{timezone.localdate():%Y%m%d}.xlsx"
    # Streamed from the temporary file, which FileResponse closes (and so deletes) when done.
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)  # type: ignore[return-value]
