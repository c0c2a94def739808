"""The payments API: enrolment from an approved case, changes with reasons, payroll runs with their
totals and lines, maker-checker approval, bank files, reconciliation, re-issue, rosters, re-review."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from minzheng.cases.models import Case
from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.payments import services
from minzheng.payments.models import (
    Enrolment,
    EnrolmentChange,
    PayrollLine,
    PayrollRun,
    ReviewTask,
    RunStatus,
)
from minzheng.payments.testing import raise_dibao_standard, wide_payroll_window
from minzheng.registry import excel
from minzheng.registry.testing import make_household
from minzheng.rules.models import ParameterValue

ACCOUNT = "6222020200112233446"  # passes the Luhn check
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    wide_payroll_window()
    return {
        "clerk": make_staff("y_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("y_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "head": make_staff("y_head", "640202001000", [Role.TOWNSHIP_HEAD]),
        "county_reviewer": make_staff("y_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("y_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "admin": make_staff("y_admin", "640202000000", [Role.COUNTY_ADMIN]),
        "assistant": make_staff("y_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "outsider": make_staff("y_outsider", "640205000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER]),
    }


def approved(people: dict[str, Staff], name: str = "发放户") -> Case:
    household = registered_long_ago(make_household(people["clerk"], "640202001001", name, members=2))
    return approved_dibao_case(
        household,
        clerk=people["clerk"],
        reviewer=people["reviewer"],
        county_reviewer=people["county_reviewer"],
        approver=people["approver"],
    )


def enrolled(people: dict[str, Staff], name: str = "发放户") -> Enrolment:
    case = approved(people, name)
    return services.enrolment_create(
        actor=people["admin"], case_id=case.pk, bank_name="宁夏银行", account_number=ACCOUNT
    )


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json")


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "field_errors"}
    if code is not None:
        assert body["code"] == code
    return body  # type: ignore[no-any-return]


def computed_run(people: dict[str, Staff], month: date) -> PayrollRun:
    run = services.payroll_run_request(actor=people["admin"], county="640202", month=month)
    return services.payroll_compute(run_id=run.pk)


# --- Enrolments -------------------------------------------------------------------------------------


def test_an_approved_case_waits_for_enrolment_and_is_enrolled_with_a_masked_account(
    people: dict[str, Staff],
) -> None:
    case = approved(people)
    admin = client_for(people["admin"])
    pending = admin.get("/api/v1/payments/pending-cases").json()
    assert [c["case_number"] for c in pending["items"]] == [case.number]
    assert pending["items"][0]["amount"] == "1300.00"

    bad = assert_error(
        post(
            admin,
            "/api/v1/payments/enrolments",
            {"case_id": case.pk, "bank_name": "宁夏银行", "account_number": "6222020200112233445"},
        ),
        422,
        "invalid",
    )
    assert "account_number" in bad["field_errors"]

    response = post(
        admin,
        "/api/v1/payments/enrolments",
        {"case_id": case.pk, "bank_name": "宁夏银行", "account_number": ACCOUNT},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["monthly_amount"] == "1300.00"
    assert body["account_masked"] == "6222***********3446"
    assert ACCOUNT not in response.content.decode()
    assert body["status"] == "active"
    assert body["programme_label"] == "最低生活保障"
    assert [c["kind"] for c in body["changes"]] == ["enrol"]
    assert admin.get("/api/v1/payments/pending-cases").json()["count"] == 0

    again = post(
        admin,
        "/api/v1/payments/enrolments",
        {"case_id": case.pk, "bank_name": "宁夏银行", "account_number": ACCOUNT},
    )
    assert assert_error(again, 409, "conflict")["message"] == "该申请已纳入发放"


def test_enrolment_list_searches_and_filters_by_status(people: dict[str, Staff]) -> None:
    first = enrolled(people, "张一")
    enrolled(people, "李二")
    services.enrolment_suspend(
        actor=people["admin"], enrolment_id=first.pk, month=first.start_month, reason="外出务工"
    )
    client = client_for(people["approver"])
    assert client.get("/api/v1/payments/enrolments").json()["count"] == 2
    found = client.get("/api/v1/payments/enrolments", {"search": "张一"}).json()
    assert [e["payee_name"] for e in found["items"]] == ["张一"]
    suspended = client.get("/api/v1/payments/enrolments", {"status": "suspended"}).json()
    assert [e["id"] for e in suspended["items"]] == [first.pk]
    assert_error(client.get("/api/v1/payments/enrolments", {"status": "nonsense"}), 422)
    # The neighbouring county sees none of them; the village assistant may not look.
    assert client_for(people["outsider"]).get("/api/v1/payments/enrolments").json()["count"] == 0
    assert_error(client_for(people["outsider"]).get(f"/api/v1/payments/enrolments/{first.pk}"), 404)
    assert_error(client_for(people["assistant"]).get("/api/v1/payments/enrolments"), 403)


def test_every_change_needs_a_reason_and_shows_in_the_history(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    admin = client_for(people["admin"])
    base = f"/api/v1/payments/enrolments/{enrolment.pk}"
    month = enrolment.start_month.isoformat()

    assert_error(post(admin, f"{base}/suspend", {"month": month, "reason": ""}), 422, "invalid")
    assert post(admin, f"{base}/suspend", {"month": month, "reason": "外出务工"}).status_code == 200
    conflict = assert_error(post(admin, f"{base}/suspend", {"month": month, "reason": "再次"}), 409)
    assert "暂停发放" in conflict["message"]
    assert post(admin, f"{base}/resume", {"month": month, "reason": "返乡"}).status_code == 200
    response = post(admin, f"{base}/amount", {"new_amount": "1200.00", "month": month, "reason": "收入增加"})
    assert response.json()["monthly_amount"] == "1200.00"
    assert_error(post(admin, f"{base}/amount", {"new_amount": "1.005", "month": month, "reason": "x"}), 422)
    response = post(admin, f"{base}/one-off", {"amount": "-100.00", "month": month, "reason": "多发追回"})
    assert response.status_code == 200
    assert_error(post(admin, f"{base}/exit", {"months": 7, "month": month, "reason": "就业"}), 422)
    exiting = post(admin, f"{base}/exit", {"months": 3, "month": month, "reason": "就业"}).json()
    assert (exiting["status"], exiting["end_month"]) == (
        "exiting",
        services.add_months(date.fromisoformat(month), 3).isoformat(),
    )
    no_notice = assert_error(
        post(admin, f"{base}/terminate", {"month": month, "reason": "迁出", "notice": ""}), 422
    )
    assert "notice" in no_notice["field_errors"]
    done = post(
        admin,
        f"{base}/terminate",
        {"month": month, "reason": "迁出", "notice": "您家已迁出本区，自本月起停发。"},
    ).json()
    assert done["status"] == "terminated"
    kinds = [c["kind"] for c in done["changes"]]
    assert kinds == ["enrol", "suspend", "resume", "amount", "recover", "exit", "terminate"]
    recover = done["changes"][4]
    assert (recover["one_off_amount"], recover["reason"], recover["settled"]) == (
        "-100.00",
        "多发追回",
        False,
    )
    assert done["changes"][-1]["notice"] == "您家已迁出本区，自本月起停发。"

    # Only the county payments administrator changes enrolments.
    assert_error(post(client_for(people["approver"]), f"{base}/resume", {"month": month, "reason": "x"}), 403)
    outsider = post(client_for(people["outsider"]), f"{base}/resume", {"month": month, "reason": "x"})
    assert_error(outsider, 404)
    assert EnrolmentChange.objects.filter(enrolment=enrolment).count() == 7


# --- Payroll runs -----------------------------------------------------------------------------------


def test_a_run_is_started_in_the_background_and_approved_by_a_second_person(
    people: dict[str, Staff], django_capture_on_commit_callbacks: Any
) -> None:
    enrolments = [enrolled(people, f"户{i}") for i in range(3)]
    month = enrolments[0].start_month
    admin = client_for(people["admin"])
    # Queued once the request commits; the test settings' task backend then computes it at once.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(admin, "/api/v1/payments/runs", {"county": "640202", "month": month.isoformat()})
    assert response.status_code == 202, response.content
    queued = response.json()
    assert (queued["run"]["status"], queued["percent"], queued["totals"]) == ("queued", 0, [])
    assert len(callbacks) == 1
    callbacks[0]()
    run_id = queued["run"]["id"]

    detail = admin.get(f"/api/v1/payments/runs/{run_id}").json()
    assert detail["run"]["status"] == "computed"
    assert detail["percent"] == 100
    assert detail["run"]["line_count"] == 3
    assert detail["run"]["total_amount"] == "3900.00"
    assert detail["county_name"] == "大武口区"
    assert detail["totals"] == [
        {
            "township_code": "640202001000",
            "township_name": "长胜街道",
            "programme": "dibao",
            "programme_label": "最低生活保障",
            "line_count": 3,
            "amount": "3900.00",
        }
    ]
    assert detail["by_programme"][0]["amount"] == "3900.00"
    assert detail["status_counts"] == {"pending": 3}

    lines = admin.get(f"/api/v1/payments/runs/{run_id}/lines", {"village": "640202001001"}).json()
    assert lines["count"] == 3
    assert {line["village_name"] for line in lines["items"]} == {"长胜社区"}
    assert (
        admin.get(f"/api/v1/payments/runs/{run_id}/lines", {"village": "640202001002"}).json()["count"] == 0
    )
    assert admin.get(f"/api/v1/payments/runs/{run_id}/lines", {"status": "failed"}).json()["count"] == 0
    villages = admin.get(f"/api/v1/payments/runs/{run_id}/villages").json()
    assert villages == [
        {
            "code": "640202001001",
            "name": "长胜社区",
            "township_name": "长胜街道",
            "line_count": 3,
            "amount": "3900.00",
        }
    ]

    own = assert_error(post(admin, f"/api/v1/payments/runs/{run_id}/approve", {"note": ""}), 403)
    assert own["message"] == "您没有执行此操作的权限"  # the administrator has no approval permission
    both = make_staff("y_both", "640202000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER])
    later = services.add_months(month, 1)
    too_early = assert_error(
        post(client_for(both), "/api/v1/payments/runs", {"county": "640202", "month": later.isoformat()}), 409
    )
    assert "尚未审批" in too_early["message"]
    approved_run = post(
        client_for(people["approver"]), f"/api/v1/payments/runs/{run_id}/approve", {"note": "同意"}
    )
    assert approved_run.status_code == 200, approved_run.content
    assert approved_run.json()["run"]["status"] == "approved"
    assert approved_run.json()["run"]["approved_by"] == "y_approver"
    with django_capture_on_commit_callbacks(execute=True):
        mine = post(
            client_for(both), "/api/v1/payments/runs", {"county": "640202", "month": later.isoformat()}
        )
    assert PayrollRun.objects.get(pk=mine.json()["run"]["id"]).status == RunStatus.COMPUTED
    refused = assert_error(
        post(client_for(both), f"/api/v1/payments/runs/{mine.json()['run']['id']}/approve", {}), 403
    )
    assert "双人复核" in refused["message"]
    again = assert_error(
        post(client_for(people["approver"]), f"/api/v1/payments/runs/{run_id}/approve", {}), 409
    )
    assert "已审批" in again["message"]


def test_runs_are_county_records(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    run = computed_run(people, enrolment.start_month)
    assert client_for(people["approver"]).get("/api/v1/payments/runs").json()["count"] == 1
    outsider = client_for(people["outsider"])
    assert outsider.get("/api/v1/payments/runs").json()["count"] == 0
    assert_error(outsider.get(f"/api/v1/payments/runs/{run.pk}"), 404)
    assert_error(outsider.get(f"/api/v1/payments/runs/{run.pk}/lines"), 404)
    assert_error(post(outsider, f"/api/v1/payments/runs/{run.pk}/approve", {}), 404)
    assert_error(post(outsider, "/api/v1/payments/runs", {"county": "640202", "month": "2026-12-01"}), 404)
    assert_error(
        post(
            client_for(people["head"]), "/api/v1/payments/runs", {"county": "640202", "month": "2026-12-01"}
        ),
        403,
    )
    assert_error(client_for(people["head"]).get(f"/api/v1/payments/runs/{run.pk}"), 404)
    assert_error(
        post(client_for(people["admin"]), "/api/v1/payments/runs", {"county": "6402", "month": "2026-12-01"}),
        422,
    )
    assert PayrollRun.objects.get(pk=run.pk).status == RunStatus.COMPUTED


# --- Re-review --------------------------------------------------------------------------------------


def test_review_tasks_are_listed_for_the_office_and_completed_with_a_reason(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    services.reviews_schedule(on=enrolment.next_review)
    task = ReviewTask.objects.get(enrolment=enrolment)
    reviewer = client_for(people["reviewer"])
    listed = reviewer.get("/api/v1/payments/reviews").json()
    assert [t["id"] for t in listed["items"]] == [task.pk]
    assert listed["items"][0]["kind_label"] == "定期复核"
    assert reviewer.get("/api/v1/payments/reviews", {"office": "640202100000"}).json()["count"] == 0
    assert client_for(people["outsider"]).get("/api/v1/payments/reviews").json()["count"] == 0

    url = f"/api/v1/payments/reviews/{task.pk}/complete"
    missing = assert_error(post(reviewer, url, {"outcome": "change", "reason": "收入变化"}), 422)
    assert "new_amount" in missing["field_errors"]
    assert_error(post(reviewer, url, {"outcome": "maybe", "reason": "x"}), 422)
    done = post(reviewer, url, {"outcome": "change", "reason": "收入变化", "new_amount": "1100.00"})
    assert done.status_code == 200, done.content
    assert done.json()["outcome"] == "change"
    assert Enrolment.objects.get(pk=enrolment.pk).monthly_amount == Decimal("1100.00")
    assert (
        assert_error(post(reviewer, url, {"outcome": "keep", "reason": "x"}), 409)["message"]
        == "该复核任务已完成"
    )
    assert reviewer.get("/api/v1/payments/reviews").json()["count"] == 0
    assert reviewer.get("/api/v1/payments/reviews", {"open": "false"}).json()["count"] == 1
    foreign_reviewer = make_staff("y_foreign_reviewer", "640205001000", [Role.TOWNSHIP_REVIEWER])
    assert_error(post(client_for(foreign_reviewer), url, {"outcome": "keep", "reason": "x"}), 404)
    assert_error(client_for(people["assistant"]).get("/api/v1/payments/reviews"), 403)


def test_lists_take_the_same_number_of_queries_for_one_row_or_many(people: dict[str, Staff]) -> None:
    first = enrolled(people, "甲")
    client = client_for(people["approver"])

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    run = computed_run(people, first.start_month)
    one = [queries(u) for u in ("/api/v1/payments/enrolments", f"/api/v1/payments/runs/{run.pk}/lines")]
    for i in range(3):
        enrolled(people, f"乙{i}")
    PayrollRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    services.payroll_compute(run_id=run.pk)
    many = [queries(u) for u in ("/api/v1/payments/enrolments", f"/api/v1/payments/runs/{run.pk}/lines")]
    assert one == many


# --- Bank files, reconciliation, re-issue -----------------------------------------------------------


def approved_run(people: dict[str, Staff], count: int = 2) -> PayrollRun:
    enrolments = [enrolled(people, f"户{i}") for i in range(count)]
    run = computed_run(people, enrolments[0].start_month)
    services.payroll_approve(actor=people["approver"], run_id=run.pk)
    return run


def results_csv(rows: list[tuple[object, ...]]) -> bytes:
    lines = ["业务参考号,状态,失败原因,金额"] + [",".join(str(c) for c in row) for row in rows]
    return "\n".join(lines).encode()


def upload(client: Client, run_id: int, content: bytes, name: str = "回盘.csv") -> Any:
    return client.post(
        f"/api/v1/payments/runs/{run_id}/reconciliations", {"file": SimpleUploadedFile(name, content)}
    )


def test_bank_file_reconciliation_and_reissue(people: dict[str, Staff]) -> None:
    run = approved_run(people)
    admin = client_for(people["admin"])
    layouts = admin.get("/api/v1/payments/bank-layouts").json()
    codes = {layout["code"] for layout in layouts}
    assert "ningxia_bank_csv" in codes
    assert_error(post(admin, f"/api/v1/payments/runs/{run.pk}/exports", {"layout": "nonsense"}), 422)

    created = post(admin, f"/api/v1/payments/runs/{run.pk}/exports", {"layout": "ningxia_bank_csv"})
    assert created.status_code == 201, created.content
    export = created.json()
    assert (export["line_count"], export["total_amount"]) == (2, "2600.00")
    download = admin.get(export["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    text = download.content.decode("gbk")
    assert ACCOUNT in text  # the bank needs the full account; the download is audited
    assert [e["id"] for e in admin.get(f"/api/v1/payments/runs/{run.pk}/exports").json()] == [export["id"]]
    # Reading a bank file needs the payments administrator.
    assert_error(client_for(people["approver"]).get(export["download_url"]), 403)
    assert admin.get(f"/api/v1/payments/runs/{run.pk}").json()["run"]["status"] == "exported"

    lines = sorted(PayrollLine.objects.filter(run=run), key=lambda line: line.pk)
    bad = upload(
        admin,
        run.pk,
        results_csv(
            [(lines[0].pk, "成功", "", "1300.00"), (99999999, "成功", "", ""), ("x", "也许", "", "")]
        ),
    )
    body = assert_error(bad, 422, "reconciliation_rejected")
    assert body["field_errors"]["第3行"] == ["业务参考号99999999不存在"]
    assert len(body["field_errors"]["第4行"]) == 2
    assert PayrollLine.objects.filter(run=run, status="pending").count() == 2  # nothing was written
    reports = admin.get(f"/api/v1/payments/runs/{run.pk}/reconciliations").json()
    assert [r["accepted"] for r in reports] == [False]
    assert [e["row"] for e in reports[0]["errors"]] == [3, 4, 4]

    good = upload(
        admin,
        run.pk,
        results_csv([(lines[0].pk, "成功", "", "1300.00"), (lines[1].pk, "失败", "账户已销户", "")]),
    )
    assert good.status_code == 201, good.content
    report = good.json()
    assert (report["paid"], report["failed"], report["failed_amount"], report["pending_after"]) == (
        1,
        1,
        "1300.00",
        0,
    )
    failed = admin.get(f"/api/v1/payments/runs/{run.pk}/lines", {"status": "failed"}).json()
    assert [(line["id"], line["failure_reason"]) for line in failed["items"]] == [(lines[1].pk, "账户已销户")]
    detail = admin.get(f"/api/v1/payments/runs/{run.pk}").json()
    assert detail["run"]["status"] == "reconciled"
    assert detail["status_counts"] == {"paid": 1, "failed": 1}

    # Re-issue waits for a corrected account; then the failed payment goes out again.
    nothing = post(admin, f"/api/v1/payments/runs/{run.pk}/reissue", {})
    assert nothing.json()["reissued"] == 0
    changed = post(
        admin,
        f"/api/v1/payments/enrolments/{lines[1].enrolment_id}/bank-account",
        {"bank_name": "宁夏黄河农商银行", "account_number": "6228480402564890018", "reason": "原账户已销户"},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["account_masked"] == "6228***********0018"
    assert changed.json()["changes"][-1]["kind"] == "bank_account"
    again = post(admin, f"/api/v1/payments/runs/{run.pk}/reissue", {})
    assert again.json()["reissued"] == 1
    assert again.json()["run"]["run"]["status"] == "exported"
    reissued = admin.get(f"/api/v1/payments/runs/{run.pk}/lines", {"status": "pending"}).json()["items"]
    assert [line["reissue_of"] for line in reissued] == [lines[1].pk]
    second = post(admin, f"/api/v1/payments/runs/{run.pk}/exports", {"layout": "yellow_river_rcb_xlsx"})
    assert second.json()["line_count"] == 1
    assert admin.get(second.json()["download_url"])["Content-Type"] == XLSX


def test_bank_files_need_an_approved_run_in_scope(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    run = computed_run(people, enrolment.start_month)
    admin = client_for(people["admin"])
    refused = assert_error(
        post(admin, f"/api/v1/payments/runs/{run.pk}/exports", {"layout": "ningxia_bank_csv"}), 409
    )
    assert "须经审批后才能生成银行文件" in refused["message"]
    assert_error(upload(admin, run.pk, results_csv([(1, "成功", "", "")])), 409)
    outsider = client_for(people["outsider"])
    assert_error(
        post(outsider, f"/api/v1/payments/runs/{run.pk}/exports", {"layout": "ningxia_bank_csv"}), 404
    )
    assert_error(upload(outsider, run.pk, results_csv([(1, "成功", "", "")])), 404)
    assert_error(post(outsider, f"/api/v1/payments/runs/{run.pk}/reissue", {}), 404)


def test_a_village_roster_downloads_as_excel(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people, "张一")
    run = computed_run(people, enrolment.start_month)
    response = client_for(people["approver"]).get(f"/api/v1/payments/runs/{run.pk}/roster/640202001001")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    cells = "\n".join(excel.workbook_text(response.content))
    assert "张一" in cells
    assert ACCOUNT not in cells
    # The township head prints the rosters of the township's villages, not of others.
    head = client_for(people["head"])
    assert head.get(f"/api/v1/payments/runs/{run.pk}/roster/640202001001").status_code == 200
    assert_error(head.get(f"/api/v1/payments/runs/{run.pk}/roster/640202100201"), 404)
    assert_error(
        client_for(people["outsider"]).get(f"/api/v1/payments/runs/{run.pk}/roster/640202001001"), 404
    )


def test_proposals_are_listed_and_decided_through_the_api_with_bearer_tokens(
    people: dict[str, Staff], django_capture_on_commit_callbacks: Any
) -> None:
    """As another department's system or a county's own tooling calls it: bearer tokens, CSRF
    enforced (a session-less client), the run's proposals decided by a second person."""
    enrolment = enrolled(people)
    month = enrolment.start_month
    first = computed_run(people, month)
    services.payroll_approve(actor=people["approver"], run_id=first.pk)
    raise_dibao_standard(
        proposer=people["admin"], approver=people["approver"], effective_from=services.add_months(month, 1)
    )
    _, admin_token = api_token_issue(actor=people["admin"], name="县级工具")
    _, approver_token = api_token_issue(actor=people["approver"], name="审批工具")
    admin = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    approver = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {approver_token}")
    with django_capture_on_commit_callbacks(execute=True):
        started = post(
            admin,
            "/api/v1/payments/runs",
            {"county": "640202", "month": services.add_months(month, 1).isoformat()},
        )
    assert started.status_code == 202, started.content
    run_id = started.json()["run"]["id"]
    detail = admin.get(f"/api/v1/payments/runs/{run_id}").json()
    assert (detail["run"]["status"], detail["run"]["proposals"], detail["stuck"]) == ("computed", 1, False)
    assert detail["run"]["total_amount"] == "1300.00"  # the decided amount is paid
    parameters = admin.get(f"/api/v1/payments/runs/{run_id}/parameters").json()
    assert {"name": "dibao.standard", "area": "urban", "value": "700.00", "region": "640202"}.items() <= next(
        p for p in parameters if p["name"] == "dibao.standard" and p["area"] == "urban"
    ).items()
    listed = admin.get(f"/api/v1/payments/runs/{run_id}/proposals").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["current_amount"], item["proposed_amount"], item["reason_label"]) == (
        "1300.00",
        "1400.00",
        "标准调整",
    )
    decide = f"/api/v1/payments/runs/{run_id}/proposals/decide"
    assert_error(post(admin, decide, {"approve": True, "note": "提标", "notice": "告知"}), 403)
    no_notice = assert_error(post(approver, decide, {"approve": True, "note": "提标"}), 422)
    assert "notice" in no_notice["field_errors"]
    assert_error(
        post(approver, decide, {"approve": True, "note": "x", "notice": "y", "proposal_ids": [99999]}), 404
    )
    done = post(
        approver,
        decide,
        {"approve": True, "note": "提标", "notice": "自下月起每月1400元", "proposal_ids": [item["id"]]},
    )
    assert done.status_code == 200, done.content
    assert done.json() == {"decided": 1}
    shown = admin.get(f"/api/v1/payments/enrolments/{enrolment.pk}").json()
    assert shown["monthly_amount"] == "1400.00"
    assert [p["status"] for p in shown["amount_proposals"]] == ["approved"]
    assert shown["amount_proposals"][0]["effective_month"] == services.add_months(month, 2).isoformat()
    # A resume of a finished run: a clear 409, nothing changed.
    finished = assert_error(post(admin, f"/api/v1/payments/runs/{run_id}/resume", {}), 409)
    assert "无需继续" in finished["message"]
    # A session without its CSRF token is still refused.
    session = Client(enforce_csrf_checks=True)
    session.force_login(people["admin"])
    assert post(session, f"/api/v1/payments/runs/{run_id}/resume", {}).status_code == 403


def test_bad_months_and_out_of_scope_counties_change_nothing(people: dict[str, Staff]) -> None:
    admin = client_for(people["admin"])
    for month in ("9999-12-01", "0001-01-01"):
        body = assert_error(post(admin, "/api/v1/payments/runs", {"county": "640202", "month": month}), 422)
        assert "发放月份应在" in body["message"] or body["field_errors"]
    ParameterValue.objects.filter(name__startswith="payroll.months_", source="test").delete()
    late = services.add_months(date.today(), 6).isoformat()
    assert (
        "发放月份应在"
        in assert_error(post(admin, "/api/v1/payments/runs", {"county": "640202", "month": late}), 422)[
            "message"
        ]
    )
    assert_error(
        post(
            admin,
            "/api/v1/payments/runs",
            {"county": "640205", "month": date.today().replace(day=1).isoformat()},
        ),
        404,
    )
    assert not PayrollRun.objects.exists()
