"""In a real browser: a county payments administrator starts the payroll for a month with enrolled
households, the run page shows its progress and then the totals, a county approver approves it, the
administrator downloads a bank file and uploads the bank's reconciliation file marking one payment
failed, and the failure shows on the run page and among its lines.

The live server runs in this process, so the test holds the queued computation back, runs the task
itself (as the background worker would) and watches the page pick the result up.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from minzheng.cases.testing import approved_dibao_case, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, build_tree, make_staff
from minzheng.payments import services, tasks
from minzheng.payments.models import Enrolment, PayrollRun, RunStatus
from minzheng.registry.testing import make_household

pytestmark = pytest.mark.browser

ACCOUNT = "6222020200112233446"


@pytest.fixture
def enrolments(transactional_db: None) -> list[Enrolment]:
    build_tree()
    catalogue_load(actor=None)
    clerk = make_staff("clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    reviewer = make_staff("reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER])
    county_reviewer = make_staff("county_reviewer", "640202000000", [Role.COUNTY_REVIEWER])
    approver = make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])
    admin = make_staff("admin", "640202000000", [Role.COUNTY_ADMIN])
    found = []
    for village, name in (("640202001001", "张大山"), ("640202001002", "李小河")):
        household = registered_long_ago(make_household(clerk, village, name, members=2))
        case = approved_dibao_case(
            household, clerk=clerk, reviewer=reviewer, county_reviewer=county_reviewer, approver=approver
        )
        found.append(
            services.enrolment_create(
                actor=admin, case_id=case.pk, bank_name="宁夏银行大武口支行", account_number=ACCOUNT
            )
        )
    return found


def login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_payroll_from_start_to_reconciliation(
    enrolments: list[Enrolment], live_server: Any, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = enrolments[0].start_month
    base = live_server.url
    queued: list[int] = []

    class Worker:
        """Stands in for the task queue: records the run instead of computing it at once."""

        @staticmethod
        def enqueue(run_id: int) -> None:
            queued.append(run_id)

    monkeypatch.setattr(tasks, "payroll_compute_task", Worker)

    # The administrator asks for the month's payroll; the worker has not picked it up yet.
    login(page, base, "admin")
    page.click("[data-testid=main-menu] >> text=发放批次")
    page.select_option("#id_county", "640202")
    page.fill("#id_month", f"{month:%Y-%m}")
    page.click("[data-testid=run-submit]")
    page.wait_for_selector("[data-testid=run][data-status=queued]")
    run = PayrollRun.objects.get(county="640202", month=month)
    assert page.locator("[data-testid=run-progress] progress").is_visible()
    assert "排队中" in page.inner_text("[data-testid=run-status]")

    # The worker computes it; the page, polling, shows the totals without a reload.
    assert queued == [run.pk]
    monkeypatch.undo()
    tasks.payroll_compute_task.call(run.pk)
    page.wait_for_selector("[data-testid=run][data-status=computed]", timeout=15_000)
    totals = page.inner_text("[data-testid=run-totals]")
    assert "长胜街道" in totals
    assert "2600.00" in totals
    assert "2 笔" in page.inner_text("[data-testid=run-summary]")
    # The administrator who asked for it is not offered the approval.
    assert page.locator("[data-testid=run-approve]").count() == 0

    # A county approver approves it.
    login(page, base, "approver")
    page.goto(f"{base}/payments/runs/{run.pk}/")
    page.fill("#approve-note", "经核对无误")
    page.click("[data-testid=approve-submit]")
    page.wait_for_selector("text=发放名册已审批")
    assert "已审批" in page.inner_text("[data-testid=run-status]")
    assert PayrollRun.objects.get(pk=run.pk).status == RunStatus.APPROVED

    # The administrator makes the bank file and downloads it.
    login(page, base, "admin")
    page.goto(f"{base}/payments/runs/{run.pk}/")
    page.select_option("#export-layout", "ningxia_bank_csv")
    page.click("[data-testid=export-submit]")
    page.wait_for_selector("[data-testid=export-download]")
    with page.expect_download() as download:
        page.click("[data-testid=export-download]")
    bank_file = Path(download.value.path()).read_bytes().decode("gbk")
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(bank_file)))
    header = rows[1]  # the first record is the file summary (总笔数, 总金额)
    records = [dict(zip(header, row, strict=False)) for row in rows[2:] if row]
    assert sorted(r["收款人姓名"] for r in records) == ["张大山", "李小河"]
    assert {r["收款账号"] for r in records} == {ACCOUNT}

    # The bank returns its results: one payment failed. The page reports it and lists the failure.
    results = ["业务参考号,状态,失败原因"] + [
        f"{r['业务参考号']},{'失败,账户已冻结' if r['收款人姓名'] == '李小河' else '成功,'}" for r in records
    ]
    page.set_input_files(
        "#results-file",
        files=[{"name": "回盘.csv", "mimeType": "text/csv", "buffer": "\n".join(results).encode()}],
    )
    page.click("[data-testid=reconcile-submit]")
    page.wait_for_selector("[data-testid=report-result]")
    assert "成功 1 笔" in page.inner_text("[data-testid=report-result]")
    assert "失败 1 笔" in page.inner_text("[data-testid=report-result]")
    page.click("[data-testid=report-failed-lines]")
    failed = page.inner_text("[data-testid=line-table]")
    assert "李小河" in failed
    assert "账户已冻结" in failed
    assert "张大山" not in failed
    page.goto(f"{base}/payments/runs/{run.pk}/")
    assert "银行退回 1 笔发放失败" in page.inner_text("[data-testid=run-failures]")
