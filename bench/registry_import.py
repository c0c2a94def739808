"""Benchmark: Excel import of households (and the export back) on a fresh database.

    .venv/bin/python bench/registry_import.py --rows 100000 --database-url sqlite:////tmp/bench_import.sqlite3
    .venv/bin/python bench/registry_import.py --rows 100000 \
        --database-url postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench

The database is dropped and recreated, migrated, and given the demo
county's divisions (`demo_data --households 0`). A workbook of --rows person rows (households of 1-6
members spread over the county's villages, valid ID numbers, ID cells as text, household fields on
each household's first row, strings in the shared string table as Excel saves them) is generated,
then:

- read:     reading every row once (openpyxl read-only, as a stream), in this process
- check:    every row read and checked, including the database look-ups (divisions, registered
            IDs), in this process; the check time printed is this pass minus the read
- import:   the upload as the page and the API take it (size, format, header, declared size; the
            file sealed into the job, as it is queued for the background), then the job run by
            `import_run` in a separate process, as the background worker runs it: read + check,
            read again + set-based write in chunks (one transaction, one audit event). Its peak RSS
            (ru_maxrss of that process, Django included) is the worker memory the bench reports.
- export:   the imported households exported again (write-only workbook, masked IDs)

Prints the timings, peak RSS and a table row for bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from benchdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅海燕志文斌晓东雪"


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def excel_like_xlsx(rows: list[tuple[str | None, ...]], sheet: str) -> bytes:
    """A minimal .xlsx written the way Excel and WPS write one: every text cell in the shared
    string table. (openpyxl writes inline strings, which openpyxl reads several times slower, so a
    file saved by openpyxl would not measure what users upload.)"""
    strings: dict[str, int] = {}
    body: list[str] = []
    for r, values in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values):
            if value is None:
                continue
            index = strings.setdefault(value, len(strings))
            cells.append(f'<c r="{"ABCDEFGH"[c]}{r}" t="s"><v>{index}</v></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    worksheet = (
        f'{_XML}<worksheet xmlns="{_MAIN}"><dimension ref="A1:H{len(rows)}"/>'
        f"<sheetData>{''.join(body)}</sheetData></worksheet>"
    )
    shared = (
        f'{_XML}<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
        + "</sst>"
    )
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kinds}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kinds}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{_XML}<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PACKAGE_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": worksheet,
        "xl/sharedStrings.xml": shared,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def build_workbook(rows: int, villages: list[str], seed: int, *, bad: str = "") -> tuple[bytes, int]:
    """A template-layout workbook of `rows` person rows; returns it and its household count."""
    from minzheng.core.identifiers import resident_id_check_char
    from minzheng.registry import excel

    rng = random.Random(seed)
    relationships = ["配偶", "子女", "子女", "父母", "孙子女/外孙子女", "儿媳/女婿"]
    table: list[tuple[str | None, ...]] = [excel.HEADERS]
    sequence = 0
    household = 0
    while len(table) <= rows:
        household += 1
        village = rng.choice(villages)
        size = min(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6]), rows + 1 - len(table))
        area = "农村" if village[6] == "1" else "城市"
        address = f"第{rng.randint(1, 60)}栋{rng.randint(1, 6)}单元{rng.randint(101, 1802)}"
        for i in range(size):
            sequence += 1
            # (birth date, sequence code) is unique for the first 30 million rows
            born = date(1940, 1, 1) + timedelta(days=sequence % 30_000)
            body = f"640202{born:%Y%m%d}{sequence // 30_000:03d}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            table.append(
                (
                    str(household),
                    village,
                    address if i == 0 else None,
                    area if i == 0 else None,
                    f"139{rng.randint(0, 99_999_999):08d}" if i == 0 else None,
                    name,
                    body + resident_id_check_char(body),
                    "户主" if i == 0 else rng.choice(relationships),
                )
            )
    # ID numbers with a wrong check character: on the last row, or on every row
    for i in range(len(table) - 1, len(table)) if bad == "last" else range(1, len(table)) if bad else ():
        values = table[i]
        number = str(values[6])
        wrong = "1" if number.endswith("0") else "0"
        table[i] = (*values[:6], f"{number[:17]}{wrong}", *values[7:])
    return excel_like_xlsx(table, excel.DATA_SHEET), household


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("MINZHENG_MODE", "demo")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import django

    django.setup()


def _rss_kib() -> int:
    """Peak RSS of this process in KiB: VmHWM, the high-water mark of its own address space.
    (ru_maxrss would not do for the worker: Linux carries the parent's peak over an exec.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(job_id: int, database_url: str, content_file: str | None = None) -> None:
    """Run one queued import job as the background worker does; print its figures as JSON."""
    _setup(database_url)
    from minzheng.registry import excel
    from minzheng.registry.models import ImportJob

    baseline = _rss_kib()
    started = time.perf_counter()
    content = Path(content_file).read_bytes() if content_file else None
    job = excel.import_run(job=ImportJob.objects.get(pk=job_id), content=content)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "status": job.status,
                "message": job.message,
                "errors": job.errors[:5],
                "seconds": seconds,
                "baseline_kib": baseline,
                "peak_kib": _rss_kib(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", f"sqlite:///{tempfile.gettempdir()}/bench_import.sqlite3"),
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # internal: run this job
    parser.add_argument(
        "--worker-code",
        help="run the import job with the code of this directory (e.g. `git archive` of an older "
        "commit), to compare versions on the same file and database; the worker is then handed the "
        "file as it is, not unsealed from the job (the older code may not share the field key)",
    )
    parser.add_argument(
        "--bad",
        choices=["last", "all"],
        help="give the last row (or every row) a wrong ID number: the job must fail, write nothing and "
        "report every row (the error workbook of an all-or-nothing import lists them all)",
    )
    parser.add_argument("--content-file", help=argparse.SUPPRESS)  # internal: the file for --worker-code
    args = parser.parse_args()
    if args.worker:
        if args.worker_code:
            sys.path.insert(0, str(Path(args.worker_code).resolve()))
        worker(args.worker, args.database_url, args.content_file)
        return

    fresh_database(args.database_url)
    _setup(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from minzheng.core.audit import verify_chain
    from minzheng.core.identifiers import DivisionLevel
    from minzheng.org.models import Division
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff
    from minzheng.registry import excel
    from minzheng.registry.excel_rows import SheetRows
    from minzheng.registry.models import Household, ImportMode, ImportStatus, Person

    call_command("migrate", verbosity=0)
    call_command("demo_data", households=0, verbosity=0, stdout=io.StringIO())
    county = "640202"
    # A county-wide importer, so that the file can spread over all of the county's villages.
    actor = make_staff("bench_importer", f"{county}000000", [Role.TOWNSHIP_REVIEWER])
    villages = list(
        Division.objects.filter(code__startswith=county, level=DivisionLevel.VILLAGE, is_active=True)
        .order_by("code")
        .values_list("code", flat=True)
    )

    started = time.perf_counter()
    content, households = build_workbook(args.rows, villages, args.seed, bad=args.bad or "")
    generate_s = time.perf_counter() - started
    print(
        f"workbook            {args.rows:,} rows, {households:,} households, {len(content) / 2**20:.1f} MiB"
    )
    print(f"generate            {generate_s:.1f} s")

    started = time.perf_counter()
    excel.check_file(content)
    read = sum(1 for _ in SheetRows(content))
    read_s = time.perf_counter() - started
    if read != args.rows:
        raise SystemExit(f"read {read:,} rows of {args.rows:,}")
    started = time.perf_counter()
    checked = excel.check_sheet(actor=actor, content=content)
    check_s = time.perf_counter() - started - read_s
    if len(checked.errors) != {None: 0, "last": 1, "all": args.rows}[args.bad]:
        raise SystemExit(f"generated workbook has errors: {checked.sorted_errors()[:5]}")
    del checked

    started = time.perf_counter()
    prepared = excel.import_prepare(
        actor=actor, file_name="bench.xlsx", content=content, mode=ImportMode.ALL_OR_NOTHING
    )
    prepare_s = time.perf_counter() - started
    if not prepared.background:
        raise SystemExit("the bench file was not queued for the background")
    content_file = Path(tempfile.gettempdir()) / "bench_import.xlsx"
    if args.worker_code:
        content_file.write_bytes(content)
    connection.close()  # the worker process takes the database from here
    done = subprocess.run(  # noqa: S603 (this script, run again with its own arguments)
        [
            sys.executable,
            __file__,
            "--worker",
            str(prepared.job.pk),
            "--database-url",
            args.database_url,
            *(
                ["--worker-code", args.worker_code, "--content-file", str(content_file)]
                if args.worker_code
                else []
            ),
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    run = json.loads(done.stdout.strip().splitlines()[-1])
    if args.bad:
        from minzheng.registry.models import ImportJob

        job = ImportJob.objects.get(pk=prepared.job.pk)
        if run["status"] != ImportStatus.FAILED or Household.objects.exists() or Person.objects.exists():
            raise SystemExit(f"a bad row did not fail the whole import: {run['message']}")
        report = excel.workbook_text(excel._unseal(job.error_workbook))
        print(
            f"bad rows ({args.bad})     failed, nothing written; error report {len(job.error_workbook) / 2**20:.1f} MiB "
            f"sealed, {sum(1 for _ in report):,} cells"
        )
        print(f"worker              {run['seconds']:.1f} s")
        print(
            f"worker peak RSS     {run['peak_kib'] / 1024:.0f} MiB (after Django started: {run['baseline_kib'] / 1024:.0f} MiB)"
        )
        return
    if run["status"] != ImportStatus.DONE:
        raise SystemExit(f"import failed: {run['message']} {run['errors']}")
    import_s = prepare_s + run["seconds"]
    peak_mib = run["peak_kib"] / 1024
    if (Household.objects.count(), Person.objects.count()) != (households, args.rows):
        raise SystemExit("counts do not match the workbook")
    if Household.objects.filter(head__isnull=True).exists():
        raise SystemExit("a household without a head")

    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        exported = excel.export_households(actor=actor, out=out)
        export_mib = out.tell() / 2**20
    export_s = time.perf_counter() - started
    chain_ok = verify_chain().ok

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            database = "PostgreSQL " + cursor.fetchone()[0].split()[1]
    else:
        import sqlite3

        database = "SQLite " + sqlite3.sqlite_version
    # The job reads the file twice (check, then write): the write phase is what remains.
    write_s = run["seconds"] - 2 * read_s - check_s
    print(f"database            {database}")
    print(f"machine             {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"read                {read_s:.1f} s")
    print(f"check               {check_s:.1f} s")
    print(
        f"import (whole job)  {import_s:.1f} s  (upload checks {prepare_s:.1f} s, worker {run['seconds']:.1f} s: "
        f"read and check, read again and write, write phase about {write_s:.1f} s)"
    )
    print(f"rows/s (import)     {args.rows / import_s:,.0f}")
    print(f"export              {export_s:.1f} s  ({exported:,} rows, {export_mib:.1f} MiB)")
    print(
        f"worker peak RSS     {peak_mib:.0f} MiB (after Django started: {run['baseline_kib'] / 1024:.0f} MiB)"
    )
    print(f"audit chain         {'ok' if chain_ok else 'BROKEN'}")
    print(
        f"| Excel import | {database} | {args.rows:,} rows / {households:,} households | "
        f"{import_s:.1f} (read {read_s:.1f} ×2, check {check_s:.1f}, write {write_s:.1f}) | "
        f"export {export_s:.1f} | {peak_mib:.0f} MiB |"
    )


if __name__ == "__main__":
    main()
