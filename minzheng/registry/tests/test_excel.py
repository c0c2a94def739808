from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from openpyxl import load_workbook

from minzheng.core import protect
from minzheng.core.audit import verify_chain
from minzheng.core.errors import Conflict, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry import excel, excel_rows
from minzheng.registry.models import Household, ImportJob, ImportMode, ImportStatus, Membership, Person
from minzheng.registry.services import MemberInput, household_create
from minzheng.registry.tasks import import_submit
from minzheng.registry.testing import import_row, import_workbook, make_household, resident_id


@pytest.fixture
def creator(tree: dict[str, Division]) -> Staff:
    """Registers households anywhere in the province, for the export tests."""
    return make_staff("creator", "640000000000", [Role.TOWNSHIP_REVIEWER])


V1 = "640202001001"  # 长胜社区, in the clerk's township
V2 = "640202001002"  # 康乐社区, in the clerk's township
HUINONG = "640205001001"  # 北街社区, another county


def xlsx(rows: list[list[Any]], headers: tuple[str, ...] | list[str] = excel.HEADERS) -> bytes:
    return import_workbook(rows, headers)


member = import_row


def three_households() -> list[list[Any]]:
    return [
        member("1", V1, "赵一", resident_id(), "户主"),
        member("1", V1, "赵二", resident_id(male=False), "配偶"),
        member("2", V2, "钱一", resident_id(), "户主", phone="13900000001"),
        member("3", V1, "孙一", resident_id(born=date(1950, 3, 3)), "户主"),
        member("3", V1, "孙二", resident_id(born=date(2012, 3, 3), male=False), "孙子女/外孙子女"),
        member("3", V1, "孙三", resident_id(born=date(2014, 3, 3)), "孙子女"),
    ]


def run(
    actor: Staff, content: bytes, mode: str = ImportMode.ALL_OR_NOTHING, name: str = "名单.xlsx"
) -> ImportJob:
    job, _ = import_submit(actor=actor, file_name=name, content=content, mode=mode)
    job.refresh_from_db()
    return job


def errors_of(job: ImportJob) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in job.errors]


def report_rows(job: ImportJob) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(excel._unseal(job.error_workbook))).worksheets[0]
    return list(ws.iter_rows(values_only=True))


def test_template_has_headers_text_id_column_choice_lists_and_own_villages(township_clerk: Staff) -> None:
    wb = load_workbook(io.BytesIO(excel.template_workbook(actor=township_clerk)))
    assert wb.sheetnames == [excel.DATA_SHEET, excel.GUIDE_SHEET, excel.VILLAGE_SHEET]
    data = wb[excel.DATA_SHEET]
    assert [c.value for c in data[1]] == list(excel.HEADERS)
    assert data.column_dimensions["G"].number_format == "@"  # 身份证号
    assert data.column_dimensions["B"].number_format == "@"  # 村(社区)代码
    lists = {dv.formula1 for dv in data.data_validations.dataValidation}
    assert '"城市,农村"' in lists
    assert any("户主,配偶,子女" in f for f in lists)
    villages = [r[0] for r in wb[excel.VILLAGE_SHEET].iter_rows(min_row=2, values_only=True)]
    assert villages == [V1, V2]


def test_valid_workbook_imports_households_members_and_numbers(township_clerk: Staff) -> None:
    make_household(township_clerk, V1, "已有户")  # takes 640202001001000001
    rows = three_households()
    job = run(township_clerk, xlsx(rows))
    assert job.status == ImportStatus.DONE, job.errors
    assert (job.households_imported, job.persons_imported, job.error_count) == (3, 6, 0)
    assert job.total_rows == job.processed_rows == 6
    assert job.source == ""
    numbers = {h.head.name: h.number for h in Household.objects.exclude(head__name="已有户")}  # type: ignore[union-attr]
    assert numbers == {"赵一": f"{V1}000002", "钱一": f"{V2}000001", "孙一": f"{V1}000003"}
    sun = Household.objects.get(number=f"{V1}000003")
    assert sun.address == f"{V1}住址3号"
    assert sun.area == "urban"
    members = Membership.objects.filter(household=sun, end_date__isnull=True).order_by("pk")
    assert [(m.person.name, m.relationship) for m in members] == [
        ("孙一", "head"),
        ("孙二", "grandchild"),
        ("孙三", "grandchild"),
    ]
    assert Household.objects.get(number=f"{V2}000001").phone == "13900000001"
    zhao2 = Person.objects.get(name="赵二")
    number = rows[1][6]
    assert protect.decrypt(zhao2.id_encrypted) == number
    assert zhao2.id_digest == protect.lookup_digest(number)
    assert zhao2.id_masked == f"{number[:6]}********{number[-4:]}"
    assert (zhao2.sex, zhao2.birth_date, zhao2.division_id) == ("F", date(1980, 5, 17), V1)
    after = AuditEvent.objects.get(action="household.import").after or {}
    assert (after["households"], after["persons"], after["job"]) == (3, 6, job.pk)
    assert after["file_name"] == "名单.xlsx"
    assert verify_chain().ok


def test_fifteen_digit_ids_and_household_fields_on_first_row_only(village_assistant: Staff) -> None:
    rows = [
        member("A", V1, "老王", "110105491231002", "户主"),
        ["A", None, None, None, None, "王妻", 110105500101002, "配偶"],  # a 15-digit number cell is exact
    ]
    job = run(village_assistant, xlsx(rows))
    assert job.status == ImportStatus.DONE, job.errors
    wang = Person.objects.get(name="老王")
    assert protect.decrypt(wang.id_encrypted) == "11010519491231002X"
    assert Person.objects.get(name="王妻").division_id == V1


def test_one_bad_id_imports_nothing_and_reports_row_and_column(township_clerk: Staff) -> None:
    rows = three_households()
    good = rows[4][6]
    rows[4][6] = good[:-1] + ("0" if good[-1] != "0" else "1")  # wrong check character, row 6
    job = run(township_clerk, xlsx(rows))
    assert job.status == ImportStatus.FAILED
    assert errors_of(job) == [(6, excel.ID_NUMBER)]
    assert "校验位" in job.errors[0]["message"]
    assert "未导入任何数据" in job.message
    assert Household.objects.count() == Person.objects.count() == 0
    assert not AuditEvent.objects.filter(action="household.import").exists()
    report = report_rows(job)
    assert report[0][8] == excel.ERROR_COLUMN
    assert len(report) == 7  # all rows come back in all-or-nothing mode
    assert "校验位" in report[5][8]
    assert report[1][8] is None or report[1][8] == ""


def test_valid_rows_only_imports_good_households_and_returns_the_rejected_ones(township_clerk: Staff) -> None:
    rows = three_households()
    rows[4][7] = "表叔"  # row 6: unknown relationship, household 3 is rejected whole
    job = run(township_clerk, xlsx(rows), mode=ImportMode.VALID_ROWS_ONLY)
    assert job.status == ImportStatus.DONE
    assert (job.households_imported, job.persons_imported, job.error_count) == (2, 3, 1)
    assert sorted(Person.objects.values_list("name", flat=True)) == ["赵一", "赵二", "钱一"]
    report = report_rows(job)
    assert report[0] == (*excel.HEADERS, excel.ERROR_COLUMN, "原行号")
    by_name = {r[5]: r for r in report[1:]}
    assert set(by_name) == {"孙一", "孙二", "孙三"}
    assert "与户主关系" in by_name["孙二"][8]
    assert by_name["孙二"][7] == "表叔"
    assert "整户未导入" in by_name["孙一"][8]
    assert by_name["孙三"][9] == 7
    assert (
        by_name["孙一"][6] == rows[3][6]
    )  # the original ID as text, so the row can be fixed and re-imported
    assert (AuditEvent.objects.get(action="household.import").after or {})["rejected_households"] == 1


def test_a_corrected_error_report_can_be_imported_as_it_is(township_clerk: Staff) -> None:
    rows = three_households()
    rows[4][7] = "表叔"
    first = run(township_clerk, xlsx(rows), mode=ImportMode.VALID_ROWS_ONLY)
    wb = load_workbook(io.BytesIO(excel._unseal(first.error_workbook)))
    ws = wb.worksheets[0]
    for row in ws.iter_rows(min_row=2):
        if row[7].value == "表叔":
            row[7].value = "孙子女"
    fixed = io.BytesIO()
    wb.save(fixed)
    second = run(township_clerk, fixed.getvalue())
    assert second.status == ImportStatus.DONE, second.errors
    assert (second.households_imported, second.persons_imported) == (1, 3)
    assert Household.objects.count() == 3


def test_wrong_headers_are_named_and_nothing_is_imported(township_clerk: Staff) -> None:
    headers = ["家庭序号", "村代码", "住址", "城乡类别", "联系电话", "姓名", "身份证号码", "与户主关系"]
    job = run(township_clerk, xlsx(three_households(), headers))
    assert job.status == ImportStatus.FAILED
    assert "缺少列：村(社区)代码、身份证号" in job.message
    assert "无法识别的列：村代码、身份证号码" in job.message
    assert Household.objects.count() == 0


def test_headers_with_full_width_brackets_and_an_error_column_are_accepted(village_assistant: Staff) -> None:
    headers = [*excel.HEADERS, excel.ERROR_COLUMN]
    headers[1] = "村（社区）代码"
    rows = [[*member("1", V1, "甲", resident_id(), "户主"), "以前的错误"]]
    assert run(village_assistant, xlsx(rows, headers)).status == ImportStatus.DONE


def test_divisions_outside_the_jurisdiction_or_not_villages_are_errors(township_clerk: Staff) -> None:
    rows = [
        member("1", HUINONG, "越界", resident_id(), "户主"),
        member("2", "640202001000", "乡镇", resident_id(), "户主"),
        member("3", "640202001999", "不存在", resident_id(), "户主"),
        member("4", "6402020010", "位数", resident_id(), "户主"),
    ]
    job = run(township_clerk, xlsx(rows), mode=ImportMode.VALID_ROWS_ONLY)
    assert job.status == ImportStatus.FAILED
    messages = {e["row"]: e["message"] for e in job.errors}
    assert messages[2] == "该村(社区)不在您的管辖范围内"
    assert "村(社区)一级" in messages[3]
    assert "不存在" in messages[4]
    assert "12位" in messages[5]
    assert Household.objects.count() == 0


def test_an_id_already_registered_is_an_error(village_assistant: Staff) -> None:
    existing = make_household(village_assistant, V1, "老户主")
    number = protect.decrypt(existing.head.id_encrypted)  # type: ignore[union-attr]
    rows = [member("1", V1, "老户主", number, "户主")]
    job = run(village_assistant, xlsx(rows))
    assert job.status == ImportStatus.FAILED
    assert errors_of(job) == [(2, excel.ID_NUMBER)]
    assert "已在其他家庭登记" in job.errors[0]["message"]
    assert Household.objects.count() == 1


def test_household_rules_heads_consistency_duplicates_and_required_cells(village_assistant: Staff) -> None:
    twice = resident_id()
    rows = [
        member("1", V1, "甲", resident_id(), "户主"),
        member("1", V1, "乙", resident_id(), "户主"),  # second head
        member("2", V1, "丙", twice, "配偶"),  # household 2 has no head
        member("3", V1, "丁", twice, "户主"),  # same ID as row 4
        member("3", V1, "戊", resident_id(), "子女", address="别处"),  # differs from row 5
        member("", V1, "", resident_id(), "子女"),  # no group, no name
        member("4", V1, "己", resident_id(), "户主", area="郊区"),
    ]
    job = run(village_assistant, xlsx(rows))
    assert job.status == ImportStatus.FAILED
    found = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "2名户主" in found[(2, excel.RELATIONSHIP)]
    assert "2名户主" in found[(3, excel.RELATIONSHIP)]
    assert "没有户主" in found[(4, excel.RELATIONSHIP)]
    assert "第4、5行" in found[(4, excel.ID_NUMBER)]
    assert "第4、5行" in found[(5, excel.ID_NUMBER)]
    assert "第5行" in found[(6, excel.ADDRESS)]
    assert (7, excel.GROUP) in found
    assert (7, excel.NAME) in found
    assert "城市" in found[(8, excel.AREA)]
    assert Household.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "空"),
        ("家庭序号,姓名\n1,张三\n".encode(), "不是Excel工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04 broken zip", "不是Excel工作簿"),
    ],
)
def test_files_that_are_not_xlsx_are_refused(village_assistant: Staff, content: bytes, message: str) -> None:
    job = run(village_assistant, content)
    assert job.status == ImportStatus.FAILED
    assert message in job.message


def test_zip_without_a_workbook_and_empty_sheets_are_refused(village_assistant: Staff) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "没有Excel工作簿" in run(village_assistant, buffer.getvalue()).message
    assert "没有数据" in run(village_assistant, xlsx([])).message


def test_oversized_and_overlong_files_are_refused(
    village_assistant: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = xlsx([member(str(i), V1, f"人{i}", resident_id(), "户主") for i in range(5)])
    monkeypatch.setattr(excel_rows, "MAX_FILE_BYTES", len(content) - 1)
    assert "MB" in run(village_assistant, content).message
    monkeypatch.setattr(excel_rows, "MAX_FILE_BYTES", 20 * 1024 * 1024)
    monkeypatch.setattr(excel_rows, "MAX_ROWS", 4)
    job = run(village_assistant, content)
    assert job.status == ImportStatus.FAILED
    assert "超过4行" in job.message
    assert Household.objects.count() == 0


def test_numeric_id_cells_damaged_by_excel_are_reported(village_assistant: Staff) -> None:
    number = resident_id()
    while not number.isdigit():  # an X check character cannot be typed as a number at all
        number = resident_id()
    rows = [
        member("1", V1, "浮点", float(number), "户主"),  # what Excel stores: 1.10105194912310E+17
        member("2", V1, "科学计数", "6.40202E+17", "户主"),
        member("3", V1, "截断", int(number[:15] + "000"), "户主"),  # digits lost on the way
        member("4", V1, "脱敏", "640202********0011", "户主"),
    ]
    job = run(village_assistant, xlsx(rows), mode=ImportMode.VALID_ROWS_ONLY)
    messages = {e["row"]: e["message"] for e in job.errors}
    assert messages[2] == excel.EXCEL_DAMAGED_ID
    assert messages[3] == excel.EXCEL_DAMAGED_ID
    assert messages[4] == excel.EXCEL_DAMAGED_ID
    assert "脱敏" in messages[5]
    assert Household.objects.count() == 0


def test_large_file_runs_as_a_background_task_with_progress(
    village_assistant: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "BACKGROUND_ROWS", 3)
    monkeypatch.setattr(excel_rows, "CHUNK_ROWS", 2)
    rows = [member(str(i), V1, f"人{i}", resident_id(), "户主") for i in range(6)]
    job, queued = import_submit(
        actor=village_assistant, file_name="大文件.xlsx", content=xlsx(rows), mode=ImportMode.ALL_OR_NOTHING
    )
    assert queued  # the immediate backend of the test settings has run it already
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.households_imported, job.processed_rows, job.total_rows) == (6, 6, 6)
    assert job.source == ""  # the upload (full ID numbers) is not kept once imported


def test_a_person_registered_after_the_check_stops_the_whole_write(village_assistant: Staff) -> None:
    content = xlsx(three_households()[:2])
    rows = excel.read_rows(content)
    checked = excel.check_rows(actor=village_assistant, content=content)
    assert not checked.errors
    household_create(
        actor=village_assistant,
        division_code=V1,
        address="抢先登记",
        area="urban",
        members=[MemberInput(name="抢先", id_number=str(rows[1][1][6]), relationship="head")],
    )
    with pytest.raises(Conflict, match="校验之后有人员已被登记"), transaction.atomic():
        excel.write_households(content=content, checked=checked, joined_on=date.today())
    assert Household.objects.count() == 1
    assert Person.objects.count() == 1


def test_running_a_finished_job_again_imports_nothing_twice(village_assistant: Staff) -> None:
    job = run(village_assistant, xlsx(three_households()[:2]))
    assert job.status == ImportStatus.DONE
    excel.import_run(job=job, content=xlsx(three_households()[:2]))
    assert Household.objects.count() == 1


def test_import_needs_the_change_permission(county_admin: Staff) -> None:
    with pytest.raises(PermissionDenied):
        import_submit(
            actor=county_admin, file_name="x.xlsx", content=xlsx([]), mode=ImportMode.ALL_OR_NOTHING
        )


def test_jobs_are_visible_only_within_the_jurisdiction(
    village_assistant: Staff, township_clerk: Staff
) -> None:
    other = make_staff("other_village", V2, [Role.VILLAGE_ASSISTANT])
    job = run(village_assistant, xlsx(three_households()[:2]))
    assert excel.import_job_get(actor=township_clerk, pk=job.pk).pk == job.pk
    assert list(excel.import_job_list(actor=other)) == []


def export_rows(actor: Staff, search: str = "") -> list[tuple[Any, ...]]:
    out = io.BytesIO()
    excel.export_households(actor=actor, out=out, search=search)
    return list(load_workbook(io.BytesIO(out.getvalue())).worksheets[0].iter_rows(values_only=True))


def test_export_masks_ids_and_includes_only_households_in_scope(
    township_clerk: Staff, county_admin: Staff, creator: Staff
) -> None:
    make_household(creator, V1, "长胜户", members=2)
    make_household(creator, V2, "康乐户", members=1)
    make_household(creator, "640202100201", "星光户", members=1)  # another township
    make_household(creator, HUINONG, "惠农户", members=1)  # another county
    rows = export_rows(township_clerk)
    assert rows[0] == excel.HEADERS
    body = rows[1:]
    assert [r[5] for r in body] == ["长胜户", "长胜户家1", "康乐户"]
    assert [r[7] for r in body] == ["户主", "子女", "户主"]
    assert body[0][0] == f"{V1}000001"
    assert body[0][1] == V1
    assert body[0][3] == "城市"
    for row in body:
        assert "********" in row[6]
        assert len(row[6]) == 18
    people = {p.name: protect.decrypt(p.id_encrypted) for p in Person.objects.all()}
    flat = "".join(str(v) for r in body for v in r)
    assert all(number not in flat for number in people.values())
    assert [r[5] for r in export_rows(township_clerk, search="康乐户")[1:]] == ["康乐户"]
    county = [r[5] for r in export_rows(county_admin)[1:]]
    assert "星光户" in county
    assert "惠农户" not in county
    event = AuditEvent.objects.filter(action="household.export").order_by("seq").first()
    assert event is not None
    assert event.after == {"search": "", "division": "", "households": 2, "rows": 3}
    assert verify_chain().ok


def test_an_export_can_be_imported_again_once_ids_are_filled_in(
    township_clerk: Staff, creator: Staff
) -> None:
    source = make_household(creator, V1, "往返户", members=2)
    ids = {
        m.person.name: protect.decrypt(m.person.id_encrypted)
        for m in Membership.objects.filter(household=source).select_related("person")
    }
    rows = [list(r) for r in export_rows(township_clerk)[1:]]
    Membership.objects.all().delete()
    Household.objects.all().delete()
    Person.objects.all().delete()
    for row in rows:
        row[6] = ids[row[5]]
    job = run(township_clerk, xlsx(rows))
    assert job.status == ImportStatus.DONE, job.errors
    assert job.persons_imported == 2


def test_export_needs_the_export_permission(village_assistant: Staff) -> None:
    with pytest.raises(PermissionDenied):
        excel.export_households(actor=village_assistant, out=io.BytesIO())
