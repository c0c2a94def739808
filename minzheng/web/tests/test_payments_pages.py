"""Payments pages: enrolment from an approved case, changes with reasons, payroll runs (progress,
totals, lines, approval by a second person, bank files, reconciliation, re-issue, rosters), re-review."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minzheng.cases.models import Case
from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import services
from minzheng.payments.models import (
    AmountProposal,
    ChangeKind,
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    PayrollLine,
    PayrollRun,
    ReviewTask,
    RunStatus,
)
from minzheng.payments.testing import raise_dibao_standard, wide_payroll_window
from minzheng.registry import excel
from minzheng.registry.testing import make_household

ACCOUNT = "6222020200112233446"  # passes the Luhn check
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    wide_payroll_window()
    return {
        "clerk": make_staff("w_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("w_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("w_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("w_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "admin": make_staff("w_admin", "640202000000", [Role.COUNTY_ADMIN]),
        "assistant": make_staff("w_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk_100": make_staff("w_clerk_100", "640202100000", [Role.TOWNSHIP_CLERK]),
        "reviewer_100": make_staff("w_reviewer_100", "640202100000", [Role.TOWNSHIP_REVIEWER]),
    }


def approved(people: dict[str, Staff], name: str = "发放户", village: str = "640202001001") -> Case:
    suffix = "_100" if village.startswith("640202100") else ""
    household = registered_long_ago(make_household(people[f"clerk{suffix}"], village, name, members=2))
    return approved_dibao_case(
        household,
        clerk=people[f"clerk{suffix}"],
        reviewer=people[f"reviewer{suffix}"],
        county_reviewer=people["county_reviewer"],
        approver=people["approver"],
    )


def enrolled(people: dict[str, Staff], name: str = "发放户", village: str = "640202001001") -> Enrolment:
    return services.enrolment_create(
        actor=people["admin"],
        case_id=approved(people, name, village).pk,
        bank_name="宁夏银行",
        account_number=ACCOUNT,
    )


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def assert_clean(page: str) -> None:
    """CSP: no inline scripts or styles; nothing from the internet."""
    assert "<script>" not in page
    assert " style=" not in page
    assert "https://" not in page


def month_text(day: date) -> str:
    return f"{day:%Y-%m}"


# --- Enrolments -------------------------------------------------------------------------------------


def test_an_approved_case_is_enrolled_from_the_list_of_pending_cases(people: dict[str, Staff]) -> None:
    case = approved(people)
    admin = logged_in(people["admin"])
    page = text(admin.get(reverse("web:enrolments")))
    assert "待纳入发放的已批准申请" in page
    assert case.number in page
    enrol_url = reverse("web:payment_enrol", args=[case.pk])
    assert enrol_url in page
    assert_clean(page)

    case_page = text(admin.get(reverse("web:case", args=[case.pk])))
    assert f'href="{enrol_url}" data-testid="case-enrol"' in case_page

    form = text(admin.get(enrol_url))
    assert "1300.00" in form
    refused = admin.post(enrol_url, {"bank_name": "宁夏银行", "account_number": "6222020200112233445"})
    assert refused.status_code == 200
    assert "银行卡号校验位不正确，请核对" in text(refused) or "校验位错误" in text(refused)
    assert not Enrolment.objects.exists()

    done = admin.post(enrol_url, {"bank_name": "宁夏银行", "account_number": ACCOUNT})
    enrolment = Enrolment.objects.get(case=case)
    assert done.status_code == 302
    assert done["Location"] == reverse("web:enrolment", args=[enrolment.pk])
    detail = text(admin.get(done["Location"]))
    assert "6222***********3446" in detail
    assert ACCOUNT not in detail
    assert "依审批决定纳入发放" in detail
    assert_clean(detail)
    assert (
        case.number
        not in text(admin.get(reverse("web:enrolments"))).split('data-testid="enrolment-table"')[0]
    )
    assert "已纳入发放：正常发放" in text(admin.get(reverse("web:case", args=[case.pk])))
    # The enrol page of an enrolled case says so instead of offering the form again.
    assert "该申请已纳入发放" in text(admin.get(enrol_url))


def test_only_the_payments_administrator_enrols_and_changes(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    approver = logged_in(people["approver"])
    page = text(approver.get(reverse("web:enrolment", args=[enrolment.pk])))
    assert 'data-testid="change-actions"' not in page
    url = reverse("web:enrolment_change", args=[enrolment.pk, "suspend"])
    assert approver.post(url, {"month": "2027-01", "reason": "x"}).status_code == 403
    assert logged_in(people["assistant"]).get(reverse("web:enrolments")).status_code == 403


def test_changes_need_reasons_and_show_in_the_history(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    admin = logged_in(people["admin"])
    month = month_text(enrolment.start_month)

    def change(what: str, **data: Any) -> Any:
        return admin.post(reverse("web:enrolment_change", args=[enrolment.pk, what]), data)

    detail = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    for label in ("调整金额", "暂停发放", "启动渐退", "停发", "补发/追回"):
        assert label in detail
    assert "恢复发放" not in detail  # only a suspended benefit is resumed

    form = text(admin.get(reverse("web:enrolment_change", args=[enrolment.pk, "suspend"])))
    assert 'type="month"' in form
    assert_clean(form)
    assert change("suspend", month=month, reason="").status_code == 200  # the form asks for a reason
    assert change("suspend", month=month, reason="外出务工").status_code == 302
    again = change("suspend", month=month, reason="再次")
    assert "当前状态为“暂停发放”，不能执行该操作" in text(again)
    assert change("resume", month=month, reason="返乡").status_code == 302
    assert change("amount", new_amount="1250.50", month=month, reason="收入变化").status_code == 302
    assert change("one-off", kind="recover", amount="100", month=month, reason="多发追回").status_code == 302
    no_notice = change("terminate", month=month, reason="迁出", notice="")
    assert no_notice.status_code == 200
    assert change("terminate", month=month, reason="迁出", notice="自本月起停发").status_code == 302
    assert admin.get(reverse("web:enrolment_change", args=[enrolment.pk, "nonsense"])).status_code == 404

    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.TERMINATED
    assert enrolment.monthly_amount == Decimal("1250.50")
    recovery = EnrolmentChange.objects.get(enrolment=enrolment, kind=ChangeKind.RECOVER)
    assert recovery.one_off_amount == Decimal("-100.00")
    history = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    for reason in ("外出务工", "返乡", "收入变化", "多发追回", "迁出", "自本月起停发"):
        assert reason in history
    assert 'data-testid="change-actions"' not in history  # nothing more to do after termination


# --- Payroll runs -----------------------------------------------------------------------------------


def start_run(client: Client, month: date) -> PayrollRun:
    response = client.post(reverse("web:payroll_runs"), {"county": "640202", "month": month_text(month)})
    assert response.status_code == 302, text(response)
    run = PayrollRun.objects.get(county="640202", month=month)
    assert response["Location"] == reverse("web:payroll_run", args=[run.pk])
    return run


def computed(run: PayrollRun) -> PayrollRun:
    if run.status in (RunStatus.QUEUED, RunStatus.COMPUTING):
        services.payroll_compute(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_a_run_is_started_shows_progress_then_totals_and_is_approved_by_another(
    people: dict[str, Staff],
) -> None:
    first = enrolled(people, "张一")
    enrolled(people, "李二", "640202001002")
    enrolled(people, "王三", "640202100201")
    month = first.start_month
    admin = logged_in(people["admin"])
    runs_page = text(admin.get(reverse("web:payroll_runs")))
    assert "生成发放名册" in runs_page
    assert "大武口区（640202）" in runs_page
    assert_clean(runs_page)

    run = start_run(admin, month)
    if run.status == RunStatus.QUEUED:
        page = text(admin.get(reverse("web:payroll_run", args=[run.pk])))
        assert 'hx-trigger="every 2s"' in page
        assert "<progress" in page
    run = computed(run)
    assert run.line_count == 3
    page = text(admin.get(reverse("web:payroll_run", args=[run.pk])))
    assert 'hx-trigger="every 2s"' not in page
    assert f"<strong>{run.total_amount}</strong>" in page
    totals = page.split('data-testid="run-totals"')[1].split("</table>")[0]
    assert "长胜街道" in totals
    assert "星海镇" in totals
    assert "最低生活保障" in totals
    assert "2600.00" in totals  # two households in 长胜街道
    assert_clean(page)
    partial = text(admin.get(reverse("web:payroll_run", args=[run.pk]), headers={"HX-Request": "true"}))
    assert partial.lstrip().startswith('<div id="run-status"')
    assert "<html" not in partial

    lines = text(admin.get(reverse("web:payroll_lines", args=[run.pk]), {"village": "640202001002"}))
    assert "李二" in lines
    assert "张一" not in lines
    assert "共 1 条" in lines
    assert "共 3 条" in text(admin.get(reverse("web:payroll_lines", args=[run.pk])))
    assert "共 0 条" in text(admin.get(reverse("web:payroll_lines", args=[run.pk]), {"status": "failed"}))

    # The administrator may not approve; the next month waits for this one's approval.
    assert admin.post(reverse("web:payroll_approve", args=[run.pk])).status_code == 403
    both = make_staff("w_both", "640202000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER])
    early = logged_in(both).post(
        reverse("web:payroll_runs"), {"county": "640202", "month": month_text(services.add_months(month, 1))}
    )
    assert "尚未审批" in text(early)

    approver = logged_in(people["approver"])
    assert 'data-testid="run-approve"' in text(approver.get(reverse("web:payroll_run", args=[run.pk])))
    done = approver.post(reverse("web:payroll_approve", args=[run.pk]), {"note": "同意"}, follow=True)
    assert "发放名册已审批" in text(done)
    assert PayrollRun.objects.get(pk=run.pk).status == RunStatus.APPROVED
    again = approver.post(reverse("web:payroll_approve", args=[run.pk]), follow=True)
    assert "不能审批" in text(again)

    # Someone holding both roles may not approve their own run.
    own = computed(start_run(logged_in(both), services.add_months(month, 1)))
    refused = logged_in(both).post(reverse("web:payroll_approve", args=[own.pk]), follow=True)
    assert "生成人不能审批自己生成的发放名册（双人复核）" in text(refused)
    assert PayrollRun.objects.get(pk=own.pk).status == RunStatus.COMPUTED


def test_a_village_roster_prints_on_a4(people: dict[str, Staff]) -> None:
    first = enrolled(people, "张一")
    enrolled(people, "李二", "640202001002")
    run = services.payroll_compute(
        run_id=services.payroll_run_request(
            actor=people["admin"], county="640202", month=first.start_month
        ).pk
    )
    client = logged_in(people["approver"])
    page = text(client.get(reverse("web:payroll_roster", args=[run.pk, "640202001001"])))
    assert "社会救助资金发放花名册" in page
    assert "张一" in page
    assert "李二" not in page
    assert "领取人签字" in page
    assert "web/payments.css" in page
    assert re.search(r'data-testid="roster-total">1300.00<', page)
    assert_clean(page)
    assert client.get(reverse("web:payroll_roster", args=[run.pk, "640205001001"])).status_code == 404
    workbook = client.get(reverse("web:payroll_roster_xlsx", args=[run.pk, "640202001001"]))
    assert workbook.status_code == 200
    assert workbook["Content-Type"] == XLSX
    cells = "\n".join(excel.workbook_text(workbook.content))
    assert "张一" in cells
    assert "李二" not in cells
    # A township head (runs are county records) finds the township's village rosters on the runs page.
    head = logged_in(make_staff("w_head", "640202001000", [Role.TOWNSHIP_HEAD]))
    runs = text(head.get(reverse("web:payroll_runs")))
    assert reverse("web:payroll_roster", args=[run.pk, "640202001001"]) in runs
    assert reverse("web:payroll_roster", args=[run.pk, "640202001002"]) in runs
    assert head.get(reverse("web:payroll_run", args=[run.pk])).status_code == 404
    printed = text(head.get(reverse("web:payroll_roster", args=[run.pk, "640202001001"])))
    assert "张一" in printed
    assert f'href="{reverse("web:payroll_run", args=[run.pk])}"' not in printed
    assert client.get(reverse("web:payroll_roster", args=[run.pk, "6402"])).status_code == 404


# --- Re-review --------------------------------------------------------------------------------------


def test_the_township_reviewer_completes_a_review_with_a_reason(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    services.reviews_schedule(on=enrolment.next_review)
    task = ReviewTask.objects.get(enrolment=enrolment)
    reviewer = logged_in(people["reviewer"])
    listing = text(reviewer.get(reverse("web:payment_reviews")))
    assert "发放户" in listing
    assert "定期复核" in listing
    assert_clean(listing)
    url = reverse("web:payment_review", args=[task.pk])
    missing = reviewer.post(url, {"outcome": "change", "reason": "收入增加"})
    assert "调整须填写新的月发放金额" in text(missing) or "必填" in text(missing)
    done = reviewer.post(url, {"outcome": "change", "reason": "收入增加", "new_amount": "900"})
    assert done.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == Decimal("900.00")
    assert "复核调整：收入增加" in text(
        logged_in(people["admin"]).get(reverse("web:enrolment", args=[enrolment.pk]))
    )
    assert "没有复核任务" in text(reviewer.get(reverse("web:payment_reviews")))
    # The county sees the tasks but completing them is the township's.
    assert logged_in(people["approver"]).post(url, {"outcome": "keep", "reason": "x"}).status_code == 403
    assert logged_in(people["assistant"]).get(reverse("web:payment_reviews")).status_code == 403


@pytest.mark.parametrize(
    ("role", "office", "expected"),
    [
        (Role.COUNTY_ADMIN, "640202000000", {"在保对象", "发放批次"}),
        (Role.COUNTY_APPROVER, "640202000000", {"在保对象", "发放批次"}),
        # The township's enrolments, rosters and payment orders (cash from its reserve fund).
        (Role.TOWNSHIP_REVIEWER, "640202001000", {"在保对象", "发放批次", "复核任务"}),
        (Role.VILLAGE_ASSISTANT, "640202001001", set()),
    ],
)
def test_payments_menu_follows_the_role(
    tree: dict[str, Division], role: Role, office: str, expected: set[str]
) -> None:
    staff = make_staff("someone", office, [role])
    page = text(logged_in(staff).get(reverse("web:home")))
    menu = page.split('data-testid="main-menu"')[1].split("</ul>")[0]
    labels = set(re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', menu))
    assert labels & {"在保对象", "发放批次", "复核任务"} == expected


def test_bank_file_reconciliation_report_and_reissue(people: dict[str, Staff]) -> None:
    first = enrolled(people, "张一")
    second = enrolled(people, "李二", "640202001002")
    run = services.payroll_compute(
        run_id=services.payroll_run_request(
            actor=people["admin"], county="640202", month=first.start_month
        ).pk
    )
    services.payroll_approve(actor=people["approver"], run_id=run.pk)
    admin = logged_in(people["admin"])
    run_url = reverse("web:payroll_run", args=[run.pk])
    page = text(admin.get(run_url))
    assert 'data-testid="export-submit"' in page
    assert "宁夏银行批量代发（CSV，GBK编码）" in page
    # The approver sees the run but neither makes nor reads bank files.
    approver_page = text(logged_in(people["approver"]).get(run_url))
    assert 'data-testid="export-submit"' not in approver_page

    done = admin.post(
        reverse("web:payroll_export", args=[run.pk]), {"layout": "ningxia_bank_csv"}, follow=True
    )
    assert "已生成银行文件" in text(done)
    export = run.exports.get()
    download = admin.get(reverse("web:payroll_export_file", args=[run.pk, export.pk]))
    assert download.status_code == 200
    assert ACCOUNT in download.content.decode("gbk")
    assert (
        logged_in(people["approver"])
        .get(reverse("web:payroll_export_file", args=[run.pk, export.pk]))
        .status_code
        == 403
    )

    lines = {line.enrolment_id: line for line in run.lines.all()}
    bad = f"业务参考号,状态,失败原因\n{lines[first.pk].pk},成功,\n12345678,失败,\n".encode()
    response = admin.post(
        reverse("web:payroll_reconcile", args=[run.pk]),
        {"file": SimpleUploadedFile("回盘.csv", bad)},
        follow=True,
    )
    report_page = text(response)
    assert "未入账" in report_page
    assert "业务参考号12345678不存在" in report_page
    assert re.search(r"<td>3</td>", report_page)  # the row of the file, as counted in Excel
    assert_clean(report_page)

    good = f"业务参考号,状态,失败原因\n{lines[first.pk].pk},成功,\n{lines[second.pk].pk},失败,户名不符\n".encode()
    response = admin.post(
        reverse("web:payroll_reconcile", args=[run.pk]),
        {"file": SimpleUploadedFile("回盘.csv", good)},
        follow=True,
    )
    assert "成功 1 笔 1300.00 元；失败 1 笔 1300.00 元" in text(response)
    page = text(admin.get(run_url))
    assert 'data-testid="run-failures"' in page
    failed = text(admin.get(reverse("web:payroll_lines", args=[run.pk]), {"status": "failed"}))
    assert "李二" in failed
    assert "户名不符" in failed
    assert "张一" not in failed

    waiting = admin.post(reverse("web:payroll_reissue", args=[run.pk]), follow=True)
    assert "须先变更其银行账户" in text(waiting)
    changed = admin.post(
        reverse("web:enrolment_change", args=[second.pk, "bank-account"]),
        {
            "bank_name": "黄河农商银行",
            "account_number": "6228480402564890018",
            "reason": "户名不符，改用本人账户",
        },
    )
    assert changed.status_code == 302
    assert "6228***********0018" in text(admin.get(reverse("web:enrolment", args=[second.pk])))
    reissued = admin.post(reverse("web:payroll_reissue", args=[run.pk]), follow=True)
    assert "已重发 1 笔" in text(reissued)
    assert 'data-testid="export-submit"' in text(reissued)


def test_payments_pages_in_english(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    admin = logged_in(people["admin"])
    admin.cookies["django_language"] = "en"
    listing = text(admin.get(reverse("web:enrolments")))
    assert "Beneficiaries" in listing
    assert "Minimum living guarantee (dibao)" in listing
    detail = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    assert "History of changes" in detail
    assert "Request a payroll" in text(admin.get(reverse("web:payroll_runs")))


def test_a_raise_is_proposed_on_the_run_page_and_approved_there_by_a_second_person(
    people: dict[str, Staff],
) -> None:
    enrolment = enrolled(people, "张一")
    month = enrolment.start_month
    first = services.payroll_compute(
        run_id=services.payroll_run_request(actor=people["admin"], county="640202", month=month).pk
    )
    services.payroll_approve(actor=people["approver"], run_id=first.pk)
    raise_dibao_standard(
        proposer=people["admin"], approver=people["approver"], effective_from=services.add_months(month, 1)
    )
    admin = logged_in(people["admin"])
    run = computed(start_run(admin, services.add_months(month, 1)))
    page = text(admin.get(reverse("web:payroll_run", args=[run.pk])))
    table = page.split('data-testid="proposal-table"')[1].split("</table>")[0]
    assert "张一" in table
    assert "1400.00" in table
    assert "标准调整" in table
    assert 'name="proposal"' not in table  # the maker cannot decide
    assert "石大政发〔2026〕20号" in page.split('data-testid="run-parameters"')[1]
    approver = logged_in(people["approver"])
    proposal = AmountProposal.objects.get()
    refused = approver.post(
        reverse("web:payroll_proposals_decide", args=[run.pk]),
        {"action": "approve", "proposal": [proposal.pk], "note": "提标", "notice": ""},
        follow=True,
    )
    assert "书面告知" in text(refused)
    done = approver.post(
        reverse("web:payroll_proposals_decide", args=[run.pk]),
        {"action": "approve_all", "note": "提标", "notice": "自下月起每月1400元"},
        follow=True,
    )
    assert "已审核 1 条金额调整建议" in text(done)
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == Decimal("1400.00")
    detail = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    assert "自下月起每月1400元" in detail


def test_a_failed_run_is_resumed_from_its_page(
    people: dict[str, Staff], django_capture_on_commit_callbacks: Any
) -> None:
    enrolment = enrolled(people, "张一")
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=enrolment.start_month)
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="计算过程中出现错误")
    admin = logged_in(people["admin"])
    page = text(admin.get(reverse("web:payroll_run", args=[run.pk])))
    assert 'data-testid="resume-submit"' in page
    with django_capture_on_commit_callbacks(execute=True):
        resumed = admin.post(reverse("web:payroll_resume", args=[run.pk]), follow=True)
    assert "已重新排队计算" in text(resumed)
    run.refresh_from_db()
    assert (run.status, run.line_count) == (RunStatus.COMPUTED, 1)
    again = admin.post(reverse("web:payroll_resume", args=[run.pk]), follow=True)
    assert "无需继续" in text(again)


def test_a_line_is_explained_from_its_decision_arrears_and_one_offs(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people, "张一")
    services.enrolment_one_off(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        amount=Decimal("-30.00"),
        month=enrolment.start_month,
        reason="多发追回",
    )
    run = services.payroll_compute(
        run_id=services.payroll_run_request(
            actor=people["admin"], county="640202", month=enrolment.start_month
        ).pk
    )
    line = PayrollLine.objects.get(run=run)
    admin = logged_in(people["admin"])
    lines = text(admin.get(reverse("web:payroll_lines", args=[run.pk])))
    assert reverse("web:payroll_line", args=[run.pk, line.pk]) in lines
    page = text(admin.get(reverse("web:payroll_line", args=[run.pk, line.pk])))
    assert "1270.00" in page.split('data-testid="line-amount"')[1][:20]
    assert "审批决定：1300.00 元" in page
    assert "多发追回" in page.split('data-testid="line-one-offs"')[1]
    assert 'data-testid="line-parameters"' in page
    assert_clean(page)
    api = admin.get(f"/api/v1/payments/runs/{run.pk}/lines/{line.pk}").json()
    assert api["line"]["amount"] == "1270.00"
    assert api["amount_set_by"]["kind"] == "enrol"
    assert api["decision"]["amount"] == "1300.00"
    assert [o["one_off_amount"] for o in api["one_offs"]] == ["-30.00"]
    assert any(p["name"] == "dibao.standard" for p in api["parameters"])
    outsider = logged_in(make_staff("w_outsider2", "640205000000", [Role.COUNTY_ADMIN]))
    assert outsider.get(reverse("web:payroll_line", args=[run.pk, line.pk])).status_code == 404
    assert outsider.get(f"/api/v1/payments/runs/{run.pk}/lines/{line.pk}").status_code == 404
