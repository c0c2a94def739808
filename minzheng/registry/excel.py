"""Excel import and export of households with their members (家庭成员花名册).

One layout serves the template, the import and the export, so that an export can be edited and
imported elsewhere: one row per person, the rows of one household sharing a 家庭序号.

An import checks every row before anything is written and reports every problem by row and column;
the households without errors are then written in one transaction with set-based inserts, never
one service call per row. Neither step holds the rows: the file is read as a stream, checked chunk
by chunk (excel_rows), then read again and written chunk by chunk (excel_write), so a 100,000-row
file fits in a worker's memory. Exports carry masked ID numbers only.

This module keeps the template, the error report, the import jobs and the export; the layout and
the checks are in excel_rows (their names are re-exported here), the write in excel_write.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import DomainError, InvalidInput, NotFound, OutOfScope
from minzheng.core.identifiers import DivisionLevel
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.org.models import Division, Staff
from minzheng.org.scope import require, scoped
from minzheng.registry import selectors
from minzheng.registry.excel_rows import (
    ADDRESS,
    AREA,
    AREA_LABEL,
    BACKGROUND_SHEET_BYTES,
    COLUMN_INDEX,
    COLUMN_WIDTHS,
    DATA_SHEET,
    DIVISION,
    ERROR_COLUMN,
    EXCEL_DAMAGED_ID,
    GROUP,
    GUIDE_SHEET,
    HEADERS,
    ID_NUMBER,
    MAX_FILE_BYTES,
    MAX_ROWS,
    NAME,
    PHONE,
    RELATIONSHIP,
    RELATIONSHIP_LABEL,
    REPORT_COLUMNS,
    TEXT_COLUMNS,
    VILLAGE_SHEET,
    CheckedFile,
    ImportFileRejected,
    Progress,
    RowError,
    SheetRows,
    check_file,
    check_rows,
    check_sheet,
    estimate_rows,
    read_rows,
    read_upload,
    text_of,
)
from minzheng.registry.excel_write import write_households
from minzheng.registry.models import ImportJob, ImportMode, ImportStatus, Membership, Relationship
from minzheng.registry.xlsx import StreamingWorkbook

# The layout, the file checks and the row checks live in excel_rows, the write in excel_write;
# these names stay importable from here.
__all__ = [
    "ADDRESS",
    "AREA",
    "BACKGROUND_SHEET_BYTES",
    "DATA_SHEET",
    "DIVISION",
    "ERROR_COLUMN",
    "EXCEL_DAMAGED_ID",
    "GROUP",
    "GUIDE_SHEET",
    "HEADERS",
    "ID_NUMBER",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "NAME",
    "PHONE",
    "RELATIONSHIP",
    "VILLAGE_SHEET",
    "CheckedFile",
    "ImportFileRejected",
    "RowError",
    "check_file",
    "check_rows",
    "check_sheet",
    "error_workbook",
    "estimate_rows",
    "export_households",
    "import_job_error_report",
    "import_job_get",
    "import_job_list",
    "import_jobs_recover",
    "import_prepare",
    "import_run",
    "read_rows",
    "read_upload",
    "template_workbook",
    "workbook_text",
    "write_households",
]

logger = logging.getLogger("minzheng.registry.excel")

BACKGROUND_ROWS = 2_000
STORED_ERRORS = 1_000
EXCEL_ROW_LIMIT = 1_048_576
_WIDTHS = COLUMN_WIDTHS
_COL = COLUMN_INDEX

# --- Template ----------------------------------------------------------------------------------

GUIDE = (
    "家庭成员批量导入填写说明",
    "",
    "1. 在“家庭成员”工作表中每行填写一名家庭成员，不要修改第一行表头，不要增删列。",
    "2. 家庭序号：同一家庭的成员填写相同的序号（如1、1、2），不同家庭填写不同的序号；序号只用于分组，"
    "导入后系统按村（社区）自动编制家庭编号。",
    "3. 村(社区)代码：12位统计用区划代码，须是您管辖范围内的村（社区），见“村(社区)代码表”。",
    "4. 住址、城乡类别（城市/农村）、联系电话是家庭信息：同一家庭可以只在第一行填写，其余行留空；"
    "如每行都填写，须填写一致。",
    "5. 身份证号：18位（15位旧号码自动转换为18位）。该列已设置为文本格式；请勿把号码粘贴成数字，"
    "否则Excel会丢失第15位以后的数字（显示为1.10105E+17）。",
    "6. 与户主关系：户主、配偶、子女、父母、孙子女/外孙子女、祖父母/外祖父母、兄弟姐妹、儿媳/女婿、其他；"
    "每个家庭须有且只有一名户主。",
    "7. 已在系统中登记的人员不能重复导入（请在系统中办理迁入）；同一身份证号在文件中只能出现一次。",
    f"8. 每个文件不超过{MAX_ROWS:,}行、{MAX_FILE_BYTES // 1024 // 1024}MB；超过{BACKGROUND_ROWS:,}行的文件在后台导入，"
    "页面显示进度。",
    "9. 导入方式：默认全部无误才导入（有任何错误则不导入任何数据）；也可选择“只导入无误的家庭”，"
    "有错误的家庭整户不导入，并可下载错误报告修改后再次导入。",
    "",
    "示例（请勿填写在本表中）：",
)
_EXAMPLE = (
    (
        "1",
        "110105001001",
        "某街道某社区1号楼2单元301",
        "城市",
        "13900000000",
        "张三",
        "11010519491231002X",
        "户主",
    ),
    ("1", "", "", "", "", "李四", "110105195001010020", "配偶"),
    ("2", "110105100201", "某镇某村三组12号", "农村", "", "王五", "110105196505050012", "户主"),
)


def _styled_header(ws: Any, names: Sequence[str]) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _set_widths(ws: Any, names: Sequence[str]) -> None:
    for i, name in enumerate(names, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(name, 40)


def template_workbook(*, actor: Staff) -> bytes:
    """The import template: the header, text-formatted code and ID columns, choice lists, a guide,
    and the codes of the villages in the actor's jurisdiction."""
    require(actor, Perm.HOUSEHOLD_VIEW)
    villages = list(
        scoped(Division.objects.filter(level=DivisionLevel.VILLAGE, is_active=True), actor, field="code")
        .select_related("parent")
        .order_by("code")
        .values_list("code", "name", "parent__name")
    )
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = DATA_SHEET
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    _set_widths(ws, HEADERS)
    last = MAX_ROWS + 1
    for name in TEXT_COLUMNS:
        ws.column_dimensions[get_column_letter(_COL[name] + 1)].number_format = "@"
    areas = DataValidation(
        type="list",
        formula1='"' + ",".join(AREA_LABEL.values()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="城乡类别",
        error="请选择城市或农村",
    )
    relationships = DataValidation(
        type="list",
        formula1='"' + ",".join(RELATIONSHIP_LABEL.values()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="与户主关系",
        error="请从列表中选择与户主关系",
    )
    ws.add_data_validation(areas)
    ws.add_data_validation(relationships)
    areas.add(f"{get_column_letter(_COL[AREA] + 1)}2:{get_column_letter(_COL[AREA] + 1)}{last}")
    relationships.add(
        f"{get_column_letter(_COL[RELATIONSHIP] + 1)}2:{get_column_letter(_COL[RELATIONSHIP] + 1)}{last}"
    )
    if villages:
        codes = DataValidation(
            type="list",
            formula1=f"'{VILLAGE_SHEET}'!$A$2:$A${len(villages) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=DIVISION,
            error="请填写您管辖范围内的村（社区）12位代码，见“村(社区)代码表”",
        )
        ws.add_data_validation(codes)
        codes.add(f"{get_column_letter(_COL[DIVISION] + 1)}2:{get_column_letter(_COL[DIVISION] + 1)}{last}")

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 12
    for line in GUIDE:
        guide.append([line])
    guide["A1"].font = Font(bold=True, size=14)
    guide.append(list(HEADERS))
    for example in _EXAMPLE:
        guide.append(list(example))

    codes_sheet = wb.create_sheet(VILLAGE_SHEET)
    codes_sheet.append(["村(社区)代码", "名称", "所属乡镇(街道)"])
    for cell in codes_sheet[1]:
        cell.font = Font(bold=True)
    codes_sheet.column_dimensions["A"].width = 16
    codes_sheet.column_dimensions["A"].number_format = "@"
    codes_sheet.column_dimensions["B"].width = 20
    codes_sheet.column_dimensions["C"].width = 20
    for code, name, township in villages:
        codes_sheet.append([code, name, township or ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Error workbook ----------------------------------------------------------------------------

_RED = PatternFill("solid", fgColor="FFC7CE")


def error_workbook(rows: Iterable[tuple[int, tuple[object, ...], str]]) -> bytes:
    """The given rows as they were read, with their errors in an added 错误 column. The rows may
    be a stream: openpyxl's write-only workbook keeps none of them in memory."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    _set_widths(ws, (*HEADERS, ERROR_COLUMN))
    ws.column_dimensions[get_column_letter(len(HEADERS) + 2)].width = 10
    ws.append(_styled_header(ws, (*HEADERS, *REPORT_COLUMNS)))
    wrap = Alignment(wrap_text=True, vertical="top")
    for number, values, message in rows:
        cells: list[object] = []
        for column, value in zip(HEADERS, values, strict=True):
            if column in TEXT_COLUMNS and value is not None:
                text = value if isinstance(value, str) else text_of(value)
                cell = WriteOnlyCell(ws, value=neutralise(text))
                cell.number_format = "@"
                cells.append(cell)
            else:
                # As read from the upload: text beginning with = must not come back as a formula.
                cells.append(neutralise(value))
        note = WriteOnlyCell(ws, value=neutralise(message))
        note.alignment = wrap
        if message:
            note.fill = _RED
        cells.append(note)
        cells.append(number)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rejected_rows(
    content: bytes, checked: CheckedFile, *, all_rows: bool
) -> Iterator[tuple[int, tuple[object, ...], str]]:
    """Rows for the error workbook, read again from the file: every row (all-or-nothing), or only
    the rows not imported."""
    for number, values in SheetRows(content):
        message = checked.row_message(number, values)
        if message or all_rows:
            yield number, values, message


def _seal(data: bytes) -> str:
    return protect.encrypt(base64.b64encode(data).decode("ascii"))


def _unseal(token: str) -> bytes:
    return base64.b64decode(protect.decrypt(token))


# --- Import jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedImport:
    job: ImportJob
    background: bool


def import_prepare(*, actor: Staff, file_name: str, content: bytes, mode: str) -> PreparedImport:
    """Record an upload as an import job and check the file as a whole (size, format, headers).

    A file with more than BACKGROUND_ROWS rows is kept (sealed) for a background worker;
    a smaller one is run at once by the caller with `import_run`.
    """
    require(actor, Perm.HOUSEHOLD_CHANGE)
    if mode not in ImportMode.values:
        raise InvalidInput(field_errors={"mode": ["导入方式应为 all_or_nothing 或 valid_rows_only"]})
    job = ImportJob.objects.create(
        uploaded_by=actor,
        division_id=actor.office.division_id,
        file_name=(file_name or "未命名.xlsx")[:255],
        mode=mode,
    )
    try:
        check_file(content)
        declared = estimate_rows(content)
    except ImportFileRejected as exc:
        _finish_failed(job, exc)
        return PreparedImport(job, background=False)
    # A file that does not declare its size is treated as large.
    background = declared is None or declared > BACKGROUND_ROWS
    job.total_rows = declared or 0
    if background:
        job.source = _seal(content)
        job.message = "已排队，等待后台处理"
    job.save(update_fields=["total_rows", "source", "message"])
    return PreparedImport(job, background=background)


def _finish_failed(job: ImportJob, exc: DomainError, *, errors: Sequence[RowError] = ()) -> None:
    stored = [e.as_dict() for e in errors[:STORED_ERRORS]]
    if not stored and exc.field_errors:
        stored = [
            {"row": 1, "column": column, "message": message}
            for column, messages in exc.field_errors.items()
            for message in messages
        ]
    job.status = ImportStatus.FAILED
    job.message = exc.message[:500]
    job.errors = stored
    job.error_count = max(len(errors), len(stored), 1)
    job.source = ""
    job.finished_at = timezone.now()
    job.save()


# --- Liveness of running jobs ------------------------------------------------------------------

# A running job's worker renews its lease at every progress report (every CHUNK_ROWS rows);
# a lease this long covers the slowest stretch between two reports (the final write) many times.
LEASE = timedelta(minutes=15)
# First key of the session advisory locks held per running job (PostgreSQL); the second is the job.
_LOCK_SPACE = 0x6D7A  # "mz"


def _lease() -> datetime:
    return timezone.now() + LEASE


@contextmanager
def _held_while_running(job_id: int) -> Iterator[None]:
    """On PostgreSQL, hold a session advisory lock for the job while it runs: the lock goes with the
    worker's connection, so a worker that dies (killed, out of memory, host lost) frees it."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_SPACE, job_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job_id])


def _worker_gone(job: ImportJob, now: datetime) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, job.pk])
            free = bool(cursor.fetchone()[0])
            if free:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job.pk])
        return free
    lease = job.lease_until or ((job.started_at or job.created_at) + LEASE)
    return lease < now


@dataclass(frozen=True)
class RecoverReport:
    abandoned: int  # running jobs whose worker was gone, now failed
    expired: int  # queued jobs never started within the keeping time, now failed
    purged: int  # stored uploads and error reports dropped


ABANDONED_MESSAGE = "导入中断：处理该文件的后台进程已停止，未导入任何数据（写入是一个事务）。请重新上传文件。"
EXPIRED_MESSAGE = "导入未能在{hours}小时内开始，已取消，未导入任何数据。请重新上传文件。"


def import_jobs_recover(now: datetime | None = None) -> RecoverReport:
    """Sweep the import jobs; meant to be called periodically (every few minutes) by a worker.

    - A job RUNNING whose worker is gone is failed, with its upload dropped. Gone means: on
      PostgreSQL, nobody holds the job's session advisory lock (the worker holds it while running;
      it is freed when its connection ends, however the worker died); on SQLite, its lease
      (`lease_until`, renewed at every progress report) has lapsed. Nothing of such a job was
      written (the write is one transaction), so failing it is exact; the uploader uploads again.
      (Re-queuing is not done: a file that killed one worker would kill the next.)
    - A job PENDING for longer than MINZHENG_IMPORT_KEEP_HOURS (no worker ever took it) is failed.
    - The upload (`source`, full ID numbers) of every job finished, failed or abandoned is dropped;
      so is the error workbook (full ID numbers too) of jobs finished more than
      MINZHENG_IMPORT_KEEP_HOURS ago. The counts, messages and stored error list stay.

    Safe to run concurrently with imports and with itself: each job is changed by a conditional
    update on its status, so a job that finishes meanwhile is left as its worker left it.
    Returns the counts of what it did.
    """
    now = now or timezone.now()
    keep = timedelta(hours=int(getattr(settings, "MINZHENG_IMPORT_KEEP_HOURS", 24)))
    abandoned = 0
    for job in ImportJob.objects.filter(status=ImportStatus.RUNNING).only(
        "pk", "lease_until", "started_at", "created_at"
    ):
        if _worker_gone(job, now):
            abandoned += ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED,
                message=ABANDONED_MESSAGE,
                error_count=1,
                source="",
                lease_until=None,
                finished_at=now,
            )
    expired = ImportJob.objects.filter(status=ImportStatus.PENDING, created_at__lt=now - keep).update(
        status=ImportStatus.FAILED,
        message=EXPIRED_MESSAGE.format(hours=int(keep.total_seconds() // 3600)),
        error_count=1,
        source="",
        finished_at=now,
    )
    finished = [ImportStatus.DONE, ImportStatus.FAILED]
    purged = ImportJob.objects.filter(status__in=finished).exclude(source="").update(source="")
    purged += (
        ImportJob.objects.filter(status__in=finished, finished_at__lt=now - keep)
        .exclude(error_workbook="")
        .update(error_workbook="")
    )
    return RecoverReport(abandoned, expired, purged)


def import_run(*, job: ImportJob, content: bytes | None = None) -> ImportJob:
    """Check and import the file of `job`. Safe to call again: a finished job is left alone, and
    an interrupted one starts over (its write is one transaction, so nothing of it remains).
    While it runs, the job carries a lease and (PostgreSQL) an advisory lock: import_jobs_recover."""
    with _held_while_running(job.pk):
        claimed = ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportStatus.PENDING, ImportStatus.RUNNING]
        ).update(
            status=ImportStatus.RUNNING,
            started_at=timezone.now(),
            lease_until=_lease(),
            processed_rows=0,
            message="正在读取文件",
        )
        job.refresh_from_db()
        if not claimed:
            return job
        try:
            _run(job, content)
        except DomainError as exc:
            _finish_failed(job, exc)
        except Exception:
            logger.exception("household import %s failed", job.pk)
            _finish_failed(
                job, DomainError("导入时发生内部错误，未导入任何数据；错误已记录，请联系系统管理员")
            )
    return job


def _progress(job: ImportJob, message: str) -> Progress:
    def report(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, message=message, lease_until=_lease())

    return report


def _run(job: ImportJob, content: bytes | None) -> None:
    actor = Staff.objects.select_related("office__division").get(pk=job.uploaded_by_id)
    require(actor, Perm.HOUSEHOLD_CHANGE)
    data = content if content is not None else _unseal(job.source)
    job.source = ""  # not needed in memory any longer; dropped from the row when the job ends
    try:
        checked = check_sheet(actor=actor, content=data, progress=_progress(job, "正在读取和校验"))
    except ImportFileRejected as exc:
        _finish_failed(job, exc)
        return
    rows, mismatch = checked.rows, checked.mismatch
    errors = checked.sorted_errors()
    all_or_nothing = job.mode == ImportMode.ALL_OR_NOTHING
    writing = not (all_or_nothing and errors) and any(not g.bad for g in checked.groups.values())
    # Every row is checked; the write that follows is one transaction, so progress reported from
    # inside it would not be seen before it ends.
    job.total_rows = job.processed_rows = rows
    job.message = "正在写入数据库" if writing else "正在生成错误报告"
    job.lease_until = _lease()
    job.save(update_fields=["total_rows", "processed_rows", "message", "lease_until"])
    report = error_workbook(_rejected_rows(data, checked, all_rows=all_or_nothing)) if errors else b""
    job.error_count = len(errors)
    job.errors = [e.as_dict() for e in errors[:STORED_ERRORS]]
    job.error_workbook = _seal(report) if report else ""
    del report
    if not writing:
        job.status = ImportStatus.FAILED
        job.message = mismatch + (
            f"发现{len(errors)}处错误，未导入任何数据。请按错误报告修改后重新导入。"
            if all_or_nothing
            else f"发现{len(errors)}处错误，没有可以导入的家庭。请按错误报告修改后重新导入。"
        )
        job.finished_at = timezone.now()
        job.save()
        return
    with transaction.atomic():
        households, persons = write_households(content=data, checked=checked, joined_on=timezone.localdate())
        job.status = ImportStatus.DONE
        job.households_imported = households
        job.persons_imported = persons
        rejected = len(checked.groups) - households
        job.message = (
            mismatch
            + f"已导入{households}户、{persons}人。"
            + (
                f"{rejected}个家庭有错误未导入（共{len(errors)}处错误），请下载错误报告修改后再导入这些家庭。"
                if errors
                else ""
            )
        )
        job.finished_at = timezone.now()
        job.save()
        audit_record(
            actor=actor,
            action="household.import",
            object_type="registry.importjob",
            object_id=job.pk,
            scope_code=actor.office_code,
            reason=f"Excel导入：{job.file_name}",
            after={
                "job": job.pk,
                "file_name": job.file_name,
                "mode": job.mode,
                "rows": rows,
                "declared_last_row": checked.sheet.declared_last_row,
                "last_row": checked.sheet.last_row,
                "households": households,
                "persons": persons,
                "villages": len({g.value(DIVISION) for g in checked.groups.values() if not g.bad}),
                "rejected_households": rejected,
                "errors": len(errors),
            },
        )


# --- Reading jobs ------------------------------------------------------------------------------

_LIGHT_FIELDS = ("source", "error_workbook")


def import_job_list(*, actor: Staff) -> QuerySet[ImportJob]:
    """Import jobs uploaded within the actor's jurisdiction, newest first."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    return (
        scoped(ImportJob.objects.all(), actor)
        .defer(*_LIGHT_FIELDS)
        .select_related("uploaded_by")
        .annotate(has_report=~Q(error_workbook=""))
        .order_by("-created_at", "-pk")
    )


def import_job_get(*, actor: Staff, pk: int) -> ImportJob:
    job = import_job_list(actor=actor).filter(pk=pk).first()
    if job is None:
        raise OutOfScope()
    return job


@transaction.atomic
def import_job_error_report(*, actor: Staff, job: ImportJob) -> bytes:
    """The error workbook of a job (it holds full ID numbers as uploaded, so every download is audited)."""
    require(actor, Perm.HOUSEHOLD_CHANGE)
    sealed = (
        scoped(ImportJob.objects.filter(pk=job.pk), actor).values_list("error_workbook", flat=True).first()
    )
    if sealed is None:
        raise OutOfScope()
    if not sealed:
        raise NotFound("该导入任务没有错误报告")
    audit_record(
        actor=actor,
        action="household.import_error_report",
        object_type="registry.importjob",
        object_id=job.pk,
        scope_code=job.division_id,
    )
    return _unseal(sealed)


# --- Export ------------------------------------------------------------------------------------


def export_households(*, actor: Staff, out: IO[bytes], search: str = "", division_code: str = "") -> int:
    """Write the actor's households matching `search` (the household list's filter) to `out` as
    .xlsx in the import layout, ID numbers masked. Returns the number of person rows.

    Rows come from one ordered query read in chunks and go straight into the zip stream
    (minzheng.registry.xlsx), so memory stays flat however many households are exported.
    """
    require(actor, Perm.EXPORT)
    households = selectors.household_list(actor=actor, search=search, division_code=division_code)
    rows = (
        Membership.objects.filter(end_date__isnull=True, household__in=households.order_by().values("pk"))
        .annotate(
            head_first=Case(
                When(relationship=Relationship.HEAD, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("household__number", "head_first", "pk")
        .values_list(
            "household__number",
            "household__division_id",
            "household__address",
            "household__area",
            "household__phone",
            "person__name",
            "person__id_masked",
            "relationship",
        )
    )
    count = 0
    numbers = 0
    previous = ""
    with StreamingWorkbook(out) as book:
        sheet = book.sheet(DATA_SHEET, [_WIDTHS[h] for h in HEADERS], freeze_header=True)
        sheet.append(HEADERS, bold=True)
        for number, code, address, area, phone, name, masked, relationship in rows.iterator(chunk_size=2_000):
            count += 1
            if count >= EXCEL_ROW_LIMIT:
                raise InvalidInput("导出的行数超过Excel的上限（1,048,575行），请缩小检索范围后分批导出")
            if number != previous:
                numbers += 1
                previous = number
            sheet.append(
                (
                    number,
                    code,
                    address,
                    AREA_LABEL.get(area, area),
                    phone,
                    name,
                    masked,
                    RELATIONSHIP_LABEL.get(relationship, relationship),
                )
            )
        guide = book.sheet("导出说明", [12, 80])
        for line in (
            ("家庭档案导出",),
            ("导出人", f"{actor.full_name}（{actor.username}）"),
            ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")),
            ("检索条件", search or "（全部）"),
            ("家庭数", numbers),
            ("人数", count),
            (
                "说明",
                "身份证号已脱敏。家庭序号为家庭编号；表格式与导入模板相同，补全身份证号后可导入其他地区。",
            ),
        ):
            guide.append(line)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="household.export",
            object_type="registry.household",
            scope_code=actor.office_code,
            after={"search": search, "division": division_code, "households": numbers, "rows": count},
        )
    return count


def workbook_text(content: bytes) -> Iterator[str]:
    """Every cell value of a workbook as text (for tests and checks of what a file discloses)."""
    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        for sheet in wb.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if value is not None:
                        yield str(value)
    finally:
        wb.close()
