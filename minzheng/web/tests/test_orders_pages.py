"""One-off payment pages: the orders (how each is paid, cash against a receipt, cancellation,
recovery), bank batches of orders on the run pages, back pay paid on its own from the enrolment
page, and the township funds' ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import services as case_services
from minzheng.cases.models import Case
from minzheng.cases.testing import complete_materials, registered_long_ago
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.payments import orders, services
from minzheng.payments.models import (
    CashPayment,
    Enrolment,
    EntryKind,
    Fund,
    FundEntry,
    FundKind,
    LineStatus,
    OrderStatus,
    PaymentOrder,
    PayrollRun,
    RunKind,
)
from minzheng.payments.testing import county_people, enrolled_household, wide_payroll_window
from minzheng.registry import excel
from minzheng.registry.testing import make_household

ACCOUNT = "6222020200112233446"  # passes the Luhn check
OTHER_ACCOUNT = "6228480402564890018"
TOWNSHIP = "640202001000"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    wide_payroll_window()
    return county_people("o")


def enrolled(people: dict[str, Staff], name: str = "补发户") -> Enrolment:
    return enrolled_household(people, name)


def back_pay(people: dict[str, Staff], name: str = "补发户", amount: str = "600.00") -> PaymentOrder:
    enrolment = enrolled(people, name)
    return orders.back_pay_order(
        actor=people["admin"],
        enrolment_id=enrolment.pk,
        amount=Decimal(amount),
        month=date(2026, 10, 1),
        reason="漏发10月",
    )


def aided_first(people: dict[str, Staff], name: str = "急难户") -> Case:
    """Emergency aid given first by the street (先行救助): its order waits for how it is paid."""
    household = registered_long_ago(make_household(people["clerk"], "640202001002", name, members=2))
    case = case_services.case_intake(
        actor=people["clerk"],
        item_code="temporary_emergency",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("temporary_emergency"),
        details={"temporary": {"type": "emergency", "requested_amount": "1500", "cause": "突发火灾"}},
    )
    case_services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    case_services.case_transition(
        actor=people["reviewer"], case_id=case.pk, action="aid_first", note="先行救助"
    )
    case.refresh_from_db()
    return case


def allocate(people: dict[str, Staff], kind: str, amount: str) -> None:
    orders.fund_allocate(
        actor=people["admin"],
        township_code=TOWNSHIP,
        kind=kind,
        amount=Decimal(amount),
        month=timezone.localdate(),
        note="石民发〔2026〕1号",
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


# --- Orders ---------------------------------------------------------------------------------------


def test_orders_list_and_detail_for_the_county_and_the_township(people: dict[str, Staff]) -> None:
    order = back_pay(people)
    admin = logged_in(people["admin"])
    listing = text(admin.get(reverse("web:orders")))
    assert "补发户" in listing
    assert "600.00" in listing
    assert "补发（不随月度发放）" in listing
    assert "长胜社区" in listing
    assert "合计 600.00 元" in listing
    assert 'data-testid="batch-submit"' in listing
    assert_clean(listing)
    assert "补发户" not in text(admin.get(reverse("web:orders"), {"status": "cash_paid"}))

    detail = text(admin.get(reverse("web:order", args=[order.pk])))
    assert "漏发10月" in detail
    assert "6222***********3446" in detail
    assert ACCOUNT not in detail
    for action in ("method", "cash", "cancel"):
        assert f'data-testid="order-action-{action}"' in detail
    assert 'data-testid="order-action-recover"' not in detail  # nothing paid yet
    assert reverse("web:enrolment", args=[order.change.enrolment_id]) in detail  # type: ignore[union-attr]
    assert_clean(detail)

    # The township head sees the township's orders but acts on none of them.
    head = logged_in(people["head"])
    assert "补发户" in text(head.get(reverse("web:orders")))
    head_detail = text(head.get(reverse("web:order", args=[order.pk])))
    assert "漏发10月" in head_detail
    assert "order-action-" not in head_detail
    assert 'data-testid="batch-submit"' not in text(head.get(reverse("web:orders")))
    refused = head.post(reverse("web:order_cancel", args=[order.pk]), {"reason": "越权"})
    assert refused.status_code == 403

    # Another county sees nothing of it, and cannot reach it.
    outsider = logged_in(people["outsider"])
    assert "补发户" not in text(outsider.get(reverse("web:orders")))
    assert outsider.get(reverse("web:order", args=[order.pk])).status_code == 404
    posted = outsider.post(reverse("web:order_cancel", args=[order.pk]), {"reason": "越权"})
    assert posted.status_code == 404
    # A clerk without the payments permission sees no orders at all.
    assert logged_in(people["clerk"]).get(reverse("web:orders")).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.READY


def test_method_is_set_with_a_valid_account_and_an_order_is_cancelled_with_a_reason(
    people: dict[str, Staff],
) -> None:
    case = aided_first(people)
    order = PaymentOrder.objects.get(case=case)
    assert order.status == OrderStatus.AWAITING
    admin = logged_in(people["admin"])
    url = reverse("web:order", args=[order.pk])
    page = text(admin.get(url))
    assert "先行救助" in page
    assert case.number in page
    assert "尚未确定" in page

    bad = admin.post(
        reverse("web:order_method", args=[order.pk]),
        {"method": "bank", "bank_name": "宁夏银行", "account_number": "6222020200112233445"},
    )
    assert bad.status_code == 200
    assert "校验位错误" in text(bad)
    no_bank = admin.post(
        reverse("web:order_method", args=[order.pk]), {"method": "bank", "account_number": ACCOUNT}
    )
    assert "请填写开户银行" in text(no_bank)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING
    assert order.account_masked == ""

    done = admin.post(
        reverse("web:order_method", args=[order.pk]),
        {"method": "bank", "bank_name": "石嘴山银行", "account_number": ACCOUNT},
    )
    assert done.status_code == 302
    assert done["Location"] == url
    order.refresh_from_db()
    assert (order.status, order.method, order.bank_name) == (OrderStatus.READY, "bank", "石嘴山银行")
    assert "6222***********3446" in text(admin.get(url))

    unexplained = admin.post(reverse("web:order_cancel", args=[order.pk]), {"reason": ""})
    assert unexplained.status_code == 200
    assert "这个字段是必填项" in text(unexplained)
    order.refresh_from_db()
    assert order.status == OrderStatus.READY
    cancelled = admin.post(
        reverse("web:order_cancel", args=[order.pk]), {"reason": "决定已撤销"}, follow=True
    )
    assert "已办理：撤销支付单" in text(cancelled)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    page = text(admin.get(url))
    assert "order-action-" not in page
    refused = admin.post(reverse("web:order_cancel", args=[order.pk]), {"reason": "再撤销"})
    assert "不能撤销" in text(refused)


def test_cash_is_paid_from_the_reserve_fund_against_a_signed_receipt(people: dict[str, Staff]) -> None:
    order = PaymentOrder.objects.get(case=aided_first(people))
    admin = logged_in(people["admin"])
    cash_url = reverse("web:order_cash", args=[order.pk])
    today = timezone.localdate()
    receipt = {
        "receipt_number": "XJ-2026-001",
        "paid_on": today.isoformat(),
        "recipient_name": "急难户",
    }
    unsigned = admin.post(cash_url, receipt)
    assert unsigned.status_code == 200
    assert "现金发放须由领款人签字确认" in text(unsigned)
    future = admin.post(
        cash_url, {**receipt, "paid_on": (today + timedelta(days=1)).isoformat(), "recipient_signed": "on"}
    )
    assert "发放日期不能晚于今天" in text(future)
    empty_fund = admin.post(cash_url, {**receipt, "recipient_signed": "on"})
    assert empty_fund.status_code == 200
    assert "乡镇（街道）备用金余额不足" in text(empty_fund)
    assert not CashPayment.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING

    allocate(people, FundKind.RESERVE, "5000.00")
    done = admin.post(cash_url, {**receipt, "recipient_signed": "on"}, follow=True)
    assert "已办理：现金发放" in text(done)
    order.refresh_from_db()
    assert order.status == OrderStatus.CASH_PAID
    page = text(admin.get(reverse("web:order", args=[order.pk])))
    assert "XJ-2026-001" in page
    assert 'data-testid="order-cash"' in page
    assert 'data-testid="order-action-recover"' in page
    assert 'data-testid="order-action-cash"' not in page
    reserve = Fund.objects.get(kind=FundKind.RESERVE, township_code=TOWNSHIP)
    assert reserve.balance == Decimal("5000.00") - order.amount

    # Recovery: never more than was paid; back into the reserve fund.
    recover_url = reverse("web:order_recover", args=[order.pk])
    too_much = admin.post(recover_url, {"amount": str(order.amount + 1), "reason": "虚报"})
    assert too_much.status_code == 200
    assert "超过发放金额" in text(too_much)
    assert not FundEntry.objects.filter(kind=EntryKind.RECOVERED).exists()
    recovered = admin.post(recover_url, {"amount": "100.00", "reason": "虚报部分"}, follow=True)
    assert "已追回 100.00 元" in text(recovered)
    reserve.refresh_from_db()
    assert reserve.balance == Decimal("5100.00") - order.amount

    ledger = text(admin.get(reverse("web:funds")))
    assert "乡镇（街道）备用金" in ledger
    assert f">{reserve.balance}<" in ledger
    assert f">{order.amount}<" in ledger  # paid this month
    assert ">100.00<" in ledger  # recovered this month


def test_a_bank_batch_is_refused_without_funds_then_paid_on_the_run_pages(people: dict[str, Staff]) -> None:
    order = back_pay(people)
    admin = logged_in(people["admin"])
    refused = admin.post(reverse("web:orders"), {"county": "640202"})
    assert refused.status_code == 200
    assert "临时救助资金余额不足，未生成批次" in text(refused)
    assert not PayrollRun.objects.filter(kind=RunKind.ONE_OFF).exists()

    allocate(people, FundKind.ASSISTANCE, "10000.00")
    made = admin.post(reverse("web:orders"), {"county": "640202"})
    run = PayrollRun.objects.get(kind=RunKind.ONE_OFF)
    assert made.status_code == 302
    assert made["Location"] == reverse("web:payroll_run", args=[run.pk])
    order.refresh_from_db()
    assert (order.status, order.run_id) == (OrderStatus.BATCHED, run.pk)

    page = text(admin.get(made["Location"]))
    assert "一次性救助代发批次" in page
    assert 'data-testid="one-off-note"' in page
    assert 'data-testid="run-recalculation"' not in page
    assert "600.00" in page
    assert_clean(page)
    assert "一次性救助代发批次" in text(admin.get(reverse("web:payroll_runs")))
    lines = text(admin.get(reverse("web:payroll_lines", args=[run.pk])))
    assert reverse("web:order", args=[order.pk]) in lines
    assert "6222***********3446" in lines
    line = run.lines.get()
    explanation = text(admin.get(reverse("web:payroll_line", args=[run.pk, line.pk])))
    assert 'data-testid="line-order"' in explanation
    assert "补发（不随月度发放）" in explanation
    assert "漏发10月" in explanation
    assert_clean(explanation)
    roster = text(admin.get(reverse("web:payroll_roster", args=[run.pk, "640202001001"])))
    assert "补发户" in roster
    assert "6222***********3446" in roster
    assert "一次性救助资金发放花名册" in roster
    workbook = admin.get(reverse("web:payroll_roster_xlsx", args=[run.pk, "640202001001"]))
    assert workbook.status_code == 200
    assert "补发户" in "\n".join(excel.workbook_text(workbook.content))
    # The township head sees the roster of its villages too.
    head_roster = logged_in(people["head"]).get(reverse("web:payroll_roster", args=[run.pk, "640202001001"]))
    assert head_roster.status_code == 200

    # Approved by a second person, exported, the bank fails it; the account is corrected on the order.
    services.payroll_approve(actor=people["approver"], run_id=run.pk)
    services.bank_export(actor=people["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    results = f"业务参考号,状态,失败原因\n{line.pk},失败,账户已销户\n".encode()
    admin.post(
        reverse("web:payroll_reconcile", args=[run.pk]), {"file": SimpleUploadedFile("回盘.csv", results)}
    )
    detail = text(admin.get(reverse("web:order", args=[order.pk])))
    assert "账户已销户" in detail
    assert 'data-testid="order-failed"' in detail
    assert 'data-testid="order-action-method"' in detail
    assert 'data-testid="order-action-cash"' not in detail
    assert 'value="cash"' not in detail  # a batched order's account is corrected, not paid in cash
    fixed = admin.post(
        reverse("web:order_method", args=[order.pk]),
        {"method": "bank", "bank_name": "黄河农商银行", "account_number": OTHER_ACCOUNT},
    )
    assert fixed.status_code == 302
    reissued = admin.post(reverse("web:payroll_reissue", args=[run.pk]), follow=True)
    assert "已重发 1 笔" in text(reissued)
    reissue = run.lines.get(reissue_of=line)
    services.bank_export(actor=people["admin"], run_id=run.pk, layout="ningxia_bank_csv")
    results = f"业务参考号,状态,失败原因\n{reissue.pk},成功,\n".encode()
    admin.post(
        reverse("web:payroll_reconcile", args=[run.pk]), {"file": SimpleUploadedFile("回盘.csv", results)}
    )
    reissue.refresh_from_db()
    assert reissue.status == LineStatus.PAID
    detail = text(admin.get(reverse("web:order", args=[order.pk])))
    assert "6228***********0018" in detail
    assert 'data-testid="order-action-recover"' in detail
    ledger = text(admin.get(reverse("web:funds")))
    assert ">9400.00<" in ledger  # 10000 allocated, 600 paid when the bank confirmed it


def test_back_pay_is_ordered_from_the_enrolment_page(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    admin = logged_in(people["admin"])
    page = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    url = reverse("web:enrolment_back_pay_order", args=[enrolment.pk])
    assert 'data-testid="back-pay-order"' in page
    assert url in page
    assert_clean(page)

    bad = admin.post(url, {"amount": "0", "month": "2026-10", "reason": "漏发"})
    assert bad.status_code == 200
    assert "0.01" in text(bad)  # at least one fen
    unexplained = admin.post(url, {"amount": "300.00", "month": "2026-10", "reason": " "})
    assert unexplained.status_code == 200
    assert not PaymentOrder.objects.exists()

    done = admin.post(url, {"amount": "300.00", "month": "2026-10", "reason": "漏发10月"})
    order = PaymentOrder.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("web:order", args=[order.pk])
    assert (order.amount, order.status, order.basis) == (Decimal("300.00"), OrderStatus.READY, "back_pay")
    page = text(admin.get(reverse("web:enrolment", args=[enrolment.pk])))
    assert 'data-testid="change-order"' in page
    assert reverse("web:order", args=[order.pk]) in page

    # Only the county pays back pay; another county cannot reach the enrolment at all.
    assert (
        logged_in(people["head"]).post(url, {"amount": "1", "month": "2026-10", "reason": "x"}).status_code
        == 403
    )
    outsider = logged_in(people["outsider"])
    assert outsider.post(url, {"amount": "1", "month": "2026-10", "reason": "x"}).status_code == 404
    assert PaymentOrder.objects.count() == 1


# --- Funds ----------------------------------------------------------------------------------------


def test_the_county_allocates_funds_and_the_ledger_shows_them(people: dict[str, Staff]) -> None:
    admin = logged_in(people["admin"])
    page = text(admin.get(reverse("web:funds")))
    assert 'data-testid="fund-allocate"' in page
    assert "长胜街道" in page  # a township of the county to choose
    assert "育才路街道" not in page  # another county's
    assert_clean(page)
    month = f"{timezone.localdate():%Y-%m}"
    form = {"township_code": TOWNSHIP, "kind": "assistance", "amount": "8000.00", "month": month}
    unexplained = admin.post(reverse("web:funds"), {**form, "note": ""})
    assert unexplained.status_code == 200
    assert "这个字段是必填项" in text(unexplained)
    foreign = admin.post(reverse("web:funds"), {**form, "township_code": "640205001000", "note": "越权"})
    assert foreign.status_code == 200
    assert "选择一个有效的选项" in text(foreign)
    assert not FundEntry.objects.exists()

    done = admin.post(reverse("web:funds"), {**form, "note": "石民发〔2026〕1号"}, follow=True)
    assert "已拨入 8000.00 元，余额 8000.00 元" in text(done)
    done = admin.post(
        reverse("web:funds"), {**form, "kind": "reserve", "amount": "2000", "note": "备用金"}, follow=True
    )
    ledger = text(done)
    assert "临时救助资金" in ledger
    assert 'data-testid="balance-total">10000.00<' in ledger
    assert "石民发" not in ledger.split('data-testid="fund-ledger"')[0].split("fund-balances")[1]

    # The township head sees its township's funds, without the allocation form.
    head_page = text(logged_in(people["head"]).get(reverse("web:funds")))
    assert 'data-testid="balance-total">10000.00<' in head_page
    assert 'data-testid="fund-allocate"' not in head_page
    assert logged_in(people["head"]).post(reverse("web:funds"), {**form, "note": "x"}).status_code == 403
    # Another county sees none of them.
    outsider_page = text(logged_in(people["outsider"]).get(reverse("web:funds")))
    assert "长胜街道" not in outsider_page
    assert "10000.00" not in outsider_page

    workbook = admin.get(reverse("web:funds_xlsx"))
    assert workbook.status_code == 200
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats")
    cells = "\n".join(excel.workbook_text(workbook.content))
    assert "长胜街道" in cells
    assert "乡镇（街道）备用金" in cells
    assert "10000" in cells
    assert "长胜街道" not in "\n".join(
        excel.workbook_text(logged_in(people["outsider"]).get(reverse("web:funds_xlsx")).content)
    )


def test_the_pages_in_english(people: dict[str, Staff]) -> None:
    order = back_pay(people)
    admin = logged_in(people["admin"])
    admin.cookies["django_language"] = "en"
    listing = text(admin.get(reverse("web:orders")))
    assert "One-off payment orders" in listing
    assert "Back pay (outside the monthly payroll)" in listing
    assert "Make bank batch" in listing
    detail = text(admin.get(reverse("web:order", args=[order.pk])))
    assert "Decide how it is paid" in detail
    assert "Ready for a bank batch" in detail
    ledger = text(admin.get(reverse("web:funds")))
    assert "Fund ledger" in ledger
    assert "Allocate funds" in ledger
