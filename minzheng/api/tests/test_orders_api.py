"""The one-off payments API: orders (list, detail, how paid, cash, cancel, recover), bank batches of
orders through the run endpoints, back pay paid on its own, and the township funds' ledger."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.payments import orders, services
from minzheng.payments.models import (
    CashPayment,
    Enrolment,
    FundEntry,
    OrderStatus,
    PaymentOrder,
    PayrollRun,
    RunKind,
)
from minzheng.payments.testing import county_people, enrolled_household, wide_payroll_window

ACCOUNT = "6222020200112233446"  # passes the Luhn check
TOWNSHIP = "640202001000"


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    wide_payroll_window()
    return county_people("q")


def enrolled(people: dict[str, Staff], name: str = "补发户") -> Enrolment:
    return enrolled_household(people, name)


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "field_errors"}
    if code is not None:
        assert body["code"] == code
    return body


def back_pay_via_api(client: Client, enrolment: Enrolment, amount: str = "600.00") -> dict[str, Any]:
    response = post(
        client,
        f"/api/v1/payments/enrolments/{enrolment.pk}/back-pay-order",
        {"amount": amount, "month": "2026-10-01", "reason": "漏发10月"},
    )
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def test_back_pay_order_then_batch_bank_file_and_reconciliation(people: dict[str, Staff]) -> None:
    enrolment = enrolled(people)
    admin = client_for(people["admin"])
    created = back_pay_via_api(admin, enrolment)
    order = created["order"]
    assert order["amount"] == "600.00"
    assert (order["status"], order["basis"], order["method"]) == ("ready", "back_pay", "bank")
    assert order["basis_label"] == "补发（不随月度发放）"
    assert order["account_masked"] == "6222***********3446"
    assert ACCOUNT not in json.dumps(created)
    assert order["case_id"] is None
    assert order["case_number"] is None
    assert created["lines"] == []
    assert created["paid"] is False

    listed = admin.get("/api/v1/payments/orders", {"status": "ready"}).json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == order["id"]
    assert admin.get("/api/v1/payments/orders", {"status": "cash_paid"}).json()["count"] == 0
    assert admin.get("/api/v1/payments/orders", {"status": "nonsense"}).status_code == 422

    # No money in the township's fund: refused, nothing made.
    refused = assert_error(post(admin, "/api/v1/payments/orders/batch", {"county": "640202"}), 409)
    assert "临时救助资金余额不足" in refused["message"]
    assert not PayrollRun.objects.filter(kind=RunKind.ONE_OFF).exists()

    allocated = post(
        admin,
        "/api/v1/payments/funds/allocate",
        {
            "township_code": TOWNSHIP,
            "kind": "assistance",
            "amount": "10000.00",
            "month": "2026-12-01",
            "note": "石民发〔2026〕1号",
        },
    )
    assert allocated.status_code == 201, allocated.content
    assert allocated.json()["balance_after"] == "10000.00"
    assert allocated.json()["kind"] == "budget"

    batch = post(admin, "/api/v1/payments/orders/batch", {"county": "640202"})
    assert batch.status_code == 201, batch.content
    run_id = batch.json()["run"]["id"]
    assert batch.json()["run"]["total_amount"] == "600.00"
    assert batch.json()["run"]["status"] == "computed"

    lines = admin.get(f"/api/v1/payments/runs/{run_id}/lines").json()["items"]
    assert len(lines) == 1
    assert lines[0]["enrolment_id"] is None
    assert lines[0]["order_id"] == order["id"]
    assert lines[0]["account_masked"] == "6222***********3446"
    explained = admin.get(f"/api/v1/payments/runs/{run_id}/lines/{lines[0]['id']}")
    assert explained.status_code == 200, explained.content
    assert explained.json()["order"]["id"] == order["id"]
    assert explained.json()["amount_set_by"]["kind"] == "back_pay"
    assert explained.json()["parameters"] == []

    services.payroll_approve(actor=people["approver"], run_id=run_id)
    services.bank_export(actor=people["admin"], run_id=run_id, layout="ningxia_bank_csv")
    results = f"业务参考号,状态,失败原因\n{lines[0]['id']},成功,\n".encode()
    reconciled = admin.post(
        f"/api/v1/payments/runs/{run_id}/reconciliations", {"file": SimpleUploadedFile("回盘.csv", results)}
    )
    assert reconciled.status_code == 201, reconciled.content

    detail = admin.get(f"/api/v1/payments/orders/{order['id']}").json()
    assert detail["paid"] is True
    assert detail["order"]["status"] == "batched"
    assert [line["status"] for line in detail["lines"]] == ["paid"]
    ledger = admin.get("/api/v1/payments/funds/ledger").json()
    month = timezone.localdate().replace(day=1).isoformat()
    row = next(r for r in ledger if r["kind"] == "assistance" and r["month"] == month)
    assert row["paid"] == "600.00"
    assert row["township_name"] == "长胜街道"
    funds = admin.get("/api/v1/payments/funds").json()
    assert [(f["kind"], f["balance"]) for f in funds] == [("assistance", "9400.00")]

    # Recovered into the fund it was paid from, never more than was paid.
    too_much = post(
        admin, f"/api/v1/payments/orders/{order['id']}/recover", {"amount": "600.01", "reason": "虚报"}
    )
    body = assert_error(too_much, 422)
    assert "超过发放金额" in json.dumps(body, ensure_ascii=False)
    recovered = post(
        admin, f"/api/v1/payments/orders/{order['id']}/recover", {"amount": "200.00", "reason": "虚报部分"}
    )
    assert recovered.status_code == 200, recovered.content
    assert recovered.json()["recovered"] == "200.00"
    assert admin.get("/api/v1/payments/funds").json()[0]["balance"] == "9600.00"


def test_method_cash_and_cancel_with_structured_refusals(people: dict[str, Staff]) -> None:
    admin = client_for(people["admin"])
    first = back_pay_via_api(admin, enrolled(people, "甲户"))["order"]
    second = back_pay_via_api(admin, enrolled(people, "乙户"))["order"]

    bad_account = post(
        admin,
        f"/api/v1/payments/orders/{first['id']}/method",
        {"method": "bank", "bank_name": "宁夏银行", "account_number": "6222020200112233445"},
    )
    body = assert_error(bad_account, 422)
    assert body["message"] == "银行卡号校验位不正确，请核对"
    assert body["field_errors"] == {"account_number": ["校验位错误"]}
    assert_error(post(admin, f"/api/v1/payments/orders/{first['id']}/method", {"method": "cheque"}), 422)
    to_cash = post(admin, f"/api/v1/payments/orders/{first['id']}/method", {"method": "cash"})
    assert to_cash.status_code == 200, to_cash.content
    assert to_cash.json()["order"]["method"] == "cash"
    assert to_cash.json()["order"]["account_masked"] == ""

    receipt = {
        "receipt_number": "XJ-001",
        "paid_on": timezone.localdate().isoformat(),
        "recipient_name": "甲户",
        "recipient_signed": False,
    }
    unsigned = assert_error(post(admin, f"/api/v1/payments/orders/{first['id']}/cash", receipt), 422)
    assert unsigned["field_errors"]["recipient_signed"] == ["现金发放须由领款人签字确认"]
    future = {
        **receipt,
        "recipient_signed": True,
        "paid_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
    }
    assert (
        "paid_on"
        in assert_error(post(admin, f"/api/v1/payments/orders/{first['id']}/cash", future), 422)[
            "field_errors"
        ]
    )
    signed = {**receipt, "recipient_signed": True}
    no_money = assert_error(post(admin, f"/api/v1/payments/orders/{first['id']}/cash", signed), 409)
    assert "备用金余额不足" in no_money["message"]
    assert not CashPayment.objects.exists()
    orders.fund_allocate(
        actor=people["admin"],
        township_code=TOWNSHIP,
        kind="reserve",
        amount=Decimal("3000"),
        month=date(2026, 12, 1),
        note="备用金",
    )
    paid = post(admin, f"/api/v1/payments/orders/{first['id']}/cash", signed)
    assert paid.status_code == 200, paid.content
    assert paid.json()["order"]["status"] == "cash_paid"
    assert paid.json()["cash"]["receipt_number"] == "XJ-001"
    assert paid.json()["cash"]["paid_by"] == people["admin"].full_name
    assert [e["kind"] for e in paid.json()["entries"]] == ["paid"]
    reused = assert_error(post(admin, f"/api/v1/payments/orders/{second['id']}/cash", signed), 422)
    assert reused["field_errors"]["receipt_number"] == ["该收据编号已使用"]
    assert_error(post(admin, f"/api/v1/payments/orders/{first['id']}/cancel", {"reason": "撤销"}), 409)

    assert_error(post(admin, f"/api/v1/payments/orders/{second['id']}/cancel", {"reason": ""}), 422)
    cancelled = post(admin, f"/api/v1/payments/orders/{second['id']}/cancel", {"reason": "决定已撤销"})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["order"]["status"] == "cancelled"
    assert_error(post(admin, "/api/v1/payments/orders/batch", {"county": "640202"}), 409)


def test_scope_and_permissions(people: dict[str, Staff]) -> None:
    admin = client_for(people["admin"])
    enrolment = enrolled(people)
    order = back_pay_via_api(admin, enrolment)["order"]
    orders.fund_allocate(
        actor=people["admin"],
        township_code=TOWNSHIP,
        kind="assistance",
        amount=Decimal("100"),
        month=date(2026, 12, 1),
        note="拨款",
    )

    outsider = client_for(people["outsider"])
    assert outsider.get("/api/v1/payments/orders").json()["count"] == 0
    assert_error(outsider.get(f"/api/v1/payments/orders/{order['id']}"), 404, "not_found")
    for action, body in (
        ("method", {"method": "cash"}),
        ("cancel", {"reason": "越权"}),
        ("recover", {"amount": "1.00", "reason": "越权"}),
        (
            "cash",
            {
                "receipt_number": "R",
                "paid_on": "2026-01-05",
                "recipient_name": "越权",
                "recipient_signed": True,
            },
        ),
    ):
        assert_error(post(outsider, f"/api/v1/payments/orders/{order['id']}/{action}", body), 404)
    assert_error(
        post(
            outsider,
            f"/api/v1/payments/enrolments/{enrolment.pk}/back-pay-order",
            {"amount": "1.00", "month": "2026-10-01", "reason": "越权"},
        ),
        404,
    )
    assert_error(post(outsider, "/api/v1/payments/orders/batch", {"county": "640202"}), 404)
    assert_error(
        post(
            outsider,
            "/api/v1/payments/funds/allocate",
            {
                "township_code": TOWNSHIP,
                "kind": "assistance",
                "amount": "1.00",
                "month": "2026-12-01",
                "note": "越权",
            },
        ),
        404,
    )
    assert outsider.get("/api/v1/payments/funds").json() == []
    assert outsider.get("/api/v1/payments/funds/ledger").json() == []

    # The township head reads its township's orders and funds, and changes nothing.
    head = client_for(people["head"])
    assert head.get("/api/v1/payments/orders").json()["count"] == 1
    assert head.get("/api/v1/payments/funds").json()[0]["balance"] == "100.00"
    assert_error(post(head, f"/api/v1/payments/orders/{order['id']}/cancel", {"reason": "越权"}), 403)
    assert_error(post(head, "/api/v1/payments/orders/batch", {"county": "640202"}), 403)
    # Without the payments permission, nothing is read.
    assert_error(client_for(people["clerk"]).get("/api/v1/payments/funds"), 403)
    assert_error(client_for(people["clerk"]).get(f"/api/v1/payments/orders/{order['id']}"), 403)
    # Bad input is a structured 422.
    body = assert_error(
        post(
            admin,
            "/api/v1/payments/funds/allocate",
            {
                "township_code": "640202001001",
                "kind": "assistance",
                "amount": "1",
                "month": "2026-12-01",
                "note": "x",
            },
        ),
        422,
    )
    assert body["field_errors"]
    assert PaymentOrder.objects.get(pk=order["id"]).status == OrderStatus.READY
    assert FundEntry.objects.count() == 1
