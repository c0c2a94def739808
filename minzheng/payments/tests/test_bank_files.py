"""Bank files in configurable layouts, reconciliation of the bank's results (all or nothing),
re-issue of failed payments to a corrected account, and payment rosters."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from openpyxl import Workbook, load_workbook

from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import bankfiles, selectors, services
from minzheng.payments.models import (
    BankExport,
    EnrolmentChange,
    LineStatus,
    PayrollLine,
    PayrollRun,
    ReconciliationReport,
    RunStatus,
)
from minzheng.payments.tests.test_payroll import ACCOUNT, approved, enrol, run_month

NEW_ACCOUNT = "6217000010001234569"  # passes the Luhn check


def approved_run(people: dict[str, Staff], villages: tuple[str, ...] = ("640202001001",)) -> PayrollRun:
    enrolments = [enrol(people, approved(people, v, f"户{i}")) for i, v in enumerate(villages)]
    run = run_month(people, enrolments[0].start_month, approve=False)
    return services.payroll_approve(actor=people["approver"], run_id=run.pk)


def exported(people: dict[str, Staff], layout: str = "ningxia_bank_csv") -> tuple[BankExport, bytes]:
    export = services.bank_export(actor=people["admin"], run_id=approved_run(people).pk, layout=layout)
    name, content_type, content = services.bank_export_file(actor=people["admin"], export_id=export.pk)
    assert (name, content_type) == (export.file_name, export.content_type)
    return export, content


def results_csv(
    rows: list[tuple[object, ...]], header: tuple[str, ...] = ("业务参考号", "状态", "失败原因")
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def test_every_shipped_layout_loads_and_is_offered() -> None:
    offered = {layout.code: layout for layout in services.bank_layouts()}
    assert {"ningxia_bank_csv", "yellow_river_rcb_xlsx"} <= set(offered)
    assert offered["ningxia_bank_csv"].encoding == "gbk"
    assert offered["yellow_river_rcb_xlsx"].format == "xlsx"


def test_a_layout_with_an_unknown_field_is_refused(tmp_path: object) -> None:
    directory = tmp_path / "layouts"  # type: ignore[operator]
    directory.mkdir()
    (directory / "bad.yaml").write_text(
        "name: 坏格式\nformat: csv\ncolumns:\n  - {header: 账号, field: card_pin}\n", encoding="utf-8"
    )
    with pytest.raises(ImproperlyConfigured, match="card_pin"):
        bankfiles.layouts(directory)


def test_the_csv_bank_file_is_gbk_with_totals_equal_to_the_run(people: dict[str, Staff]) -> None:
    export, content = exported(people)
    run = export.run
    assert ACCOUNT.encode() not in bytes(export.content)  # stored sealed
    rows = list(csv.reader(io.StringIO(content.decode("gbk"))))
    assert rows[0] == ["总笔数", "1", "总金额", "1300.00"]
    assert rows[1][:4] == ["业务参考号", "收款账号", "收款人姓名", "金额"]
    line = PayrollLine.objects.get(run=run)
    assert rows[2][:5] == [str(line.pk), ACCOUNT, "户0", "1300.00", "人民币"]
    assert rows[2][7] == f"最低生活保障{run.month:%Y年%m月}"
    assert (export.line_count, export.total_amount) == (run.line_count, run.total_amount)
    run.refresh_from_db()
    assert run.status == RunStatus.EXPORTED
    assert AuditEvent.objects.filter(action="payments.bank_export").exists()
    assert AuditEvent.objects.filter(action="payments.bank_export_download").exists()


def test_the_xlsx_bank_file_opens_with_its_total(people: dict[str, Staff]) -> None:
    run = approved_run(people, ("640202001001", "640202001002", "640202100201"))
    export = services.bank_export(actor=people["admin"], run_id=run.pk, layout="yellow_river_rcb_xlsx")
    _, _, content = services.bank_export_file(actor=people["admin"], export_id=export.pk)
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "账号", "户名", "金额（元）")
    assert [r[0] for r in rows[1:4]] == [1, 2, 3]
    assert {r[1] for r in rows[1:4]} == {ACCOUNT}
    assert sum(Decimal(str(r[3])) for r in rows[1:4]) == run.total_amount == Decimal("3520.00")
    assert rows[4][:4] == ("合计", 3, None, 3520)
    assert export.content_type.endswith("spreadsheetml.sheet")


def test_a_bank_file_needs_an_approved_run(people: dict[str, Staff]) -> None:
    enrolment = enrol(people, approved(people))
    run = run_month(people, enrolment.start_month, approve=False)
    with pytest.raises(Conflict, match="审批"):
        services.bank_export(actor=people["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    services.payroll_approve(actor=people["approver"], run_id=run.pk)
    with pytest.raises(InvalidInput):
        services.bank_export(actor=people["admin"], run_id=run.pk, layout="no_such_bank")
    with pytest.raises(PermissionDenied):
        services.bank_export(actor=people["reviewer"], run_id=run.pk, layout="ningxia_bank_csv")
    outsider = make_staff("p_other_county", "640205000000", [Role.COUNTY_ADMIN])
    with pytest.raises(NotFound):
        services.bank_export(actor=outsider, run_id=run.pk, layout="ningxia_bank_csv")
    assert not BankExport.objects.exists()


def test_a_name_the_bank_encoding_cannot_hold_is_refused_not_garbled(people: dict[str, Staff]) -> None:
    run = approved_run(people)
    line = PayrollLine.objects.get(run=run)
    line.payee.name = "王𪚥"  # outside GBK
    line.payee.save()
    with pytest.raises(InvalidInput, match="GBK"):
        services.bank_export(actor=people["admin"], run_id=run.pk, layout="ningxia_bank_csv")


def test_reconciliation_with_one_bad_row_changes_nothing_and_reports_every_row(
    people: dict[str, Staff],
) -> None:
    export, _ = exported(people)
    line = PayrollLine.objects.get(run=export.run)
    content = results_csv(
        [
            (line.pk, "成功", ""),
            (999999, "成功", ""),
            (line.pk, "失败", "账户已销户"),
            ("abc", "成功", ""),
            (line.pk + 1, "未知", ""),
        ]
    )
    report = services.reconciliation_import(
        actor=people["admin"], run_id=export.run_id, file_name="回盘.csv", content=content
    )
    assert not report.accepted
    assert [(e["row"], e["message"]) for e in report.errors] == [
        (3, "业务参考号999999不存在"),
        (4, "与第2行重复（同一笔只能有一个结果）"),
        (5, "业务参考号应为银行文件中的数字编号"),
        (6, "发放结果“未知”无法识别（应为 成功/失败 或 paid/failed）"),
        (6, f"业务参考号{line.pk + 1}不存在"),
    ]
    line.refresh_from_db()
    assert line.status == LineStatus.PENDING
    export.run.refresh_from_db()
    assert export.run.status == RunStatus.EXPORTED


def test_reconciliation_refuses_lines_of_another_run_and_wrong_amounts(people: dict[str, Staff]) -> None:
    export, _ = exported(people)
    other = services.payroll_run_request(
        actor=people["admin"], county="640202", month=services.add_months(export.run.month, 1)
    )
    services.payroll_compute(run_id=other.pk)
    foreign = PayrollLine.objects.get(run=other)
    line = PayrollLine.objects.get(run=export.run)
    content = results_csv(
        [(foreign.pk, "成功", "", "1300.00"), (line.pk, "成功", "", "1299.00")],
        header=("业务参考号", "状态", "失败原因", "金额"),
    )
    report = services.reconciliation_import(
        actor=people["admin"], run_id=export.run_id, file_name="回盘.csv", content=content
    )
    assert [e["message"] for e in report.errors] == [
        f"业务参考号{foreign.pk}属于其他发放批次",
        "金额1299.00与发放金额1300.00不符",
    ]
    assert PayrollLine.objects.filter(status=LineStatus.PENDING).count() == 2


def test_a_good_results_file_settles_every_line_and_reconciles_the_run(people: dict[str, Staff]) -> None:
    run = approved_run(people, ("640202001001", "640202001002"))
    services.bank_export(actor=people["admin"], run_id=run.pk, layout="yellow_river_rcb_xlsx")
    first, second = PayrollLine.objects.filter(run=run).order_by("pk")
    book = Workbook()
    sheet = book.active
    sheet.append(["明细编号", "处理结果", "失败原因", "银行流水号"])
    sheet.append([first.pk, "paid", None, "B0001"])
    sheet.append([second.pk, "失败", "户名与账号不符", "B0002"])
    out = io.BytesIO()
    book.save(out)
    report = services.reconciliation_import(
        actor=people["admin"], run_id=run.pk, file_name="回盘.xlsx", content=out.getvalue()
    )
    assert report.accepted, report.errors
    assert (report.paid, report.paid_amount, report.failed, report.pending_after) == (
        1,
        Decimal("1300.00"),
        1,
        0,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.bank_reference) == (LineStatus.PAID, "B0001")
    assert (second.status, second.failure_reason) == (LineStatus.FAILED, "户名与账号不符")
    run.refresh_from_db()
    assert run.status == RunStatus.RECONCILED
    with pytest.raises(Conflict):
        services.reconciliation_import(
            actor=people["admin"], run_id=run.pk, file_name="回盘.xlsx", content=out.getvalue()
        )


def test_a_failed_payment_is_issued_again_once_the_account_is_corrected(people: dict[str, Staff]) -> None:
    export, _ = exported(people)
    run = export.run
    line = PayrollLine.objects.get(run=run)
    report = services.reconciliation_import(
        actor=people["admin"],
        run_id=run.pk,
        file_name="回盘.csv",
        content=results_csv([(line.pk, "失败", "账户已冻结")]),
    )
    assert report.accepted
    assert report.failed == 1
    assert services.payroll_reissue(actor=people["admin"], run_id=run.pk) == 0  # account unchanged

    assert line.enrolment_id is not None
    with pytest.raises(InvalidInput):
        services.enrolment_bank_account_change(
            actor=people["admin"],
            enrolment_id=line.enrolment_id,
            bank_name="工商银行",
            account_number="123",
            reason="换卡",
        )
    enrolment = services.enrolment_bank_account_change(
        actor=people["admin"],
        enrolment_id=line.enrolment_id,
        bank_name="中国工商银行石嘴山分行",
        account_number=NEW_ACCOUNT,
        reason="原账户冻结，改为新卡",
    )
    assert enrolment.account_masked == "6217***********4569"
    change = EnrolmentChange.objects.get(enrolment=enrolment, kind="bank_account")
    assert "6222***********3446" in change.notice

    assert services.payroll_reissue(actor=people["admin"], run_id=run.pk) == 1
    assert services.payroll_reissue(actor=people["admin"], run_id=run.pk) == 0
    line.refresh_from_db()
    reissue = PayrollLine.objects.get(reissue_of=line)
    assert line.status == LineStatus.REISSUED
    assert (reissue.status, reissue.amount, reissue.run_id) == (LineStatus.PENDING, line.amount, run.pk)
    assert selectors.enrolment_lines(enrolment) == [reissue, line]  # the enrolment's page shows both
    run.refresh_from_db()
    assert run.status == RunStatus.EXPORTED
    assert (run.line_count, run.total_amount) == (1, Decimal("1300.00"))  # a re-issue pays no more

    second = services.bank_export(actor=people["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    _, _, content = services.bank_export_file(actor=people["admin"], export_id=second.pk)
    rows = list(csv.reader(io.StringIO(content.decode("gbk"))))
    assert second.line_count == 1
    assert rows[2][:2] == [str(reissue.pk), NEW_ACCOUNT]
    services.reconciliation_import(
        actor=people["admin"],
        run_id=run.pk,
        file_name="回盘2.csv",
        content=results_csv([(reissue.pk, "成功", "")]),
    )
    run.refresh_from_db()
    assert run.status == RunStatus.RECONCILED
    assert ReconciliationReport.objects.filter(run=run, accepted=True).count() == 2


def test_the_roster_lists_each_village_with_the_field_columns_and_totals(
    people: dict[str, Staff],
) -> None:
    run = approved_run(people, ("640202001001", "640202001001", "640202001002"))
    content = services.roster_workbook(actor=people["admin"], run_id=run.pk, village_code="640202001001")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["长胜社区"]
    rows = [r for r in book.active.iter_rows(values_only=True) if any(v is not None for v in r)]
    assert rows[0][0] == f"大武口区{run.month:%Y年%m月}社会救助资金发放花名册"
    assert "长胜社区" in rows[1][0]
    assert rows[2] == (
        "序号",
        "户主/领取人",
        "身份证号（脱敏）",
        "家庭人口",
        "救助项目",
        "月发放金额",
        "补发/扣减",
        "实发金额",
        "银行账号（脱敏）",
        "签字/备注",
    )
    assert [r[1] for r in rows[3:5]] == ["户0", "户1"]
    assert rows[3][3] == 2
    assert rows[3][4] == "最低生活保障"
    assert rows[3][8] == "6222***********3446"
    assert rows[5][:8] == ("合计", "2人", None, 4, None, 2600, 0, 2600)

    everything = load_workbook(io.BytesIO(services.roster_workbook(actor=people["admin"], run_id=run.pk)))
    assert everything.sheetnames == ["长胜社区", "康乐社区"]
    head = make_staff("p_head", "640202001000", [Role.TOWNSHIP_HEAD])
    township_view = services.roster_workbook(actor=head, run_id=run.pk, village_code=None)
    assert load_workbook(io.BytesIO(township_view)).sheetnames == ["长胜社区", "康乐社区"]
    with pytest.raises(NotFound):
        services.roster_workbook(actor=people["admin"], run_id=run.pk, village_code="640202100201")
    outsider = make_staff("p_far_head", "640202100000", [Role.TOWNSHIP_HEAD])
    with pytest.raises(NotFound):
        services.roster_workbook(actor=outsider, run_id=run.pk, village_code="640202001001")
