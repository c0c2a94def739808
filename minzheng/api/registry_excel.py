"""Excel import and export of households: template, import jobs, error reports, export."""

import tempfile
from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from minzheng.api.org import ErrorOut, actor
from minzheng.core.errors import InvalidInput
from minzheng.registry import excel, tasks
from minzheng.registry.models import ImportJob, ImportMode, ImportStatus

router = Router(tags=["家庭档案 registry"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLSX_RESPONSE = {200: {"description": "Excel 工作簿 (.xlsx)", "content": {XLSX: {}}}}


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportJobOut(Schema):
    id: int
    file_name: str
    status: str
    status_label: str
    mode: str
    uploaded_by: str = Field(alias="uploaded_by.username")
    total_rows: int
    processed_rows: int
    households_imported: int
    persons_imported: int
    error_count: int
    errors: list[RowErrorOut] = Field(description="错误明细（按行号排序，最多1000条；完整内容见错误报告）")
    message: str
    error_report_url: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: ImportJob) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_error_report_url(obj: ImportJob) -> str | None:
        if not getattr(obj, "has_report", False):
            return None
        return f"/api/v1/households/imports/{obj.pk}/errors.xlsx"


def _attachment(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=name) or "attachment"
    )
    return response


@router.get(
    "/households/import-template.xlsx",
    response={403: ErrorOut},
    openapi_extra={"responses": _XLSX_RESPONSE},
    summary="下载家庭成员导入模板（含填写说明和本辖区村（社区）代码表）",
)
def import_template(request: HttpRequest) -> HttpResponse:
    return _attachment(excel.template_workbook(actor=actor(request)), "家庭成员导入模板.xlsx")


@router.post(
    "/households/imports",
    response={201: ImportJobOut, 202: ImportJobOut, 403: ErrorOut, 422: ErrorOut},
    summary="上传Excel导入家庭及成员（小文件即时导入返回201；超过2000行在后台导入返回202，轮询任务状态）",
    description=(
        "mode=all_or_nothing（默认）：全部无误才导入，有任何错误则不导入任何数据，返回422及逐行错误；"
        "mode=valid_rows_only：只导入无误的家庭，有错误的家庭整户不导入，错误见任务的 errors 与错误报告。"
    ),
)
def import_upload(
    request: HttpRequest,
    file: UploadedFile = File(..., description=".xlsx 文件，表头与导入模板一致"),  # noqa: B008
    mode: str = Form(ImportMode.ALL_OR_NOTHING.value),
) -> Status:
    who = actor(request)
    job, queued = tasks.import_submit(
        actor=who, file_name=file.name or "", content=excel.read_upload(file), mode=mode
    )
    found = excel.import_job_get(actor=who, pk=job.pk)
    if queued:
        return Status(202, found)
    if found.status == ImportStatus.FAILED:
        raise _failed(found)
    return Status(201, found)


def _failed(job: ImportJob) -> InvalidInput:
    field_errors: dict[str, list[str]] = {}
    for e in job.errors:
        key = f"第{e['row']}行.{e['column']}" if e["row"] > 1 else e["column"]
        field_errors.setdefault(key, []).append(e["message"])
    message = f"{job.message}（导入任务 {job.pk}，详情见 /api/v1/households/imports/{job.pk}）"
    return InvalidInput(message, code="import_rejected", field_errors=field_errors)


@router.get(
    "/households/imports",
    response={200: list[ImportJobOut], 403: ErrorOut},
    summary="本辖区最近的导入任务",
)
def import_jobs(request: HttpRequest) -> list[ImportJob]:
    return list(excel.import_job_list(actor=actor(request))[:50])


@router.get(
    "/households/imports/{job_id}",
    response={200: ImportJobOut, 403: ErrorOut, 404: ErrorOut},
    summary="导入任务状态、进度与错误明细",
)
def import_job(request: HttpRequest, job_id: int) -> ImportJob:
    return excel.import_job_get(actor=actor(request), pk=job_id)


@router.get(
    "/households/imports/{job_id}/errors.xlsx",
    response={403: ErrorOut, 404: ErrorOut},
    openapi_extra={"responses": _XLSX_RESPONSE},
    summary="下载错误报告（原始行加“错误”列；含完整身份证号，下载留痕）",
)
def import_job_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    who = actor(request)
    job = excel.import_job_get(actor=who, pk=job_id)
    content = excel.import_job_error_report(actor=who, job=job)
    return _attachment(content, f"导入错误报告_{job.pk}.xlsx")


@router.get(
    "/households/export.xlsx",
    response={403: ErrorOut, 422: ErrorOut},
    openapi_extra={"responses": _XLSX_RESPONSE},
    summary="导出家庭及成员为Excel（与导入模板同一格式；身份证号脱敏；导出留痕）",
)
def export(request: HttpRequest, search: str = "", division: str = "") -> Any:
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    try:
        excel.export_households(actor=actor(request), out=out, search=search, division_code=division)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    name = f"家庭档案_{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)
