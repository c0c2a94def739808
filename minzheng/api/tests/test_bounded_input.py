"""Every input bounded, every error clear: the API and the pages refuse what they cannot read with a
4xx and a message in the user's language, never a 500, a constraint name or a stack trace."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from minzheng.org.models import Staff
from minzheng.org.services import api_token_issue
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household, resident_id


@pytest.fixture
def household(village_assistant: Staff) -> Household:
    return make_household(village_assistant, "640202001001", "周边界", members=2)


@pytest.fixture
def api(village_assistant: Staff) -> Client:
    _, raw = api_token_issue(actor=village_assistant, name="bounds")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def page(village_assistant: Staff) -> Client:
    client = Client()
    client.force_login(village_assistant)
    return client


def no_internals(body: str) -> None:
    for leak in ("Traceback", "IntegrityError", "constraint", "约束", "_not_negative", "sqlite", "psycopg"):
        assert leak not in body, leak


def test_nul_and_control_characters_are_refused(api: Client, household: Household) -> None:
    search = api.get("/api/v1/households", {"search": "周\x00"})
    assert search.status_code == 422
    assert search.json()["field_errors"] == {"search": ["不能包含空字符或其他控制字符"]}
    patch = api.patch(
        f"/api/v1/households/{household.pk}",
        {"address": "地址\x1b1号", "phone": "", "reason": "改"},
        content_type="application/json",
    )
    assert patch.status_code == 422
    assert "address" in patch.json()["field_errors"]


def test_a_page_past_the_end_is_the_last_page(api: Client, household: Household) -> None:
    for page in ("2", "221611305610406787022848"):
        response = api.get("/api/v1/households", {"page": page})
        assert response.status_code == 200
        assert response.json()["count"] == 1
        assert [h["id"] for h in response.json()["items"]] == [household.pk]


def test_an_oversized_body_is_413_in_json(api: Client, household: Household) -> None:
    response = api.patch(
        f"/api/v1/households/{household.pk}",
        {"address": "大" * 1_000_000, "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_an_oversized_form_is_413_as_a_chinese_page(page: Client) -> None:
    response = page.post("/households/new/", {"address": "大" * 1_000_000})
    assert response.status_code == 413
    assert "提交的内容过大" in response.content.decode()


def test_multipart_without_a_boundary_is_400(api: Client, page: Client) -> None:
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\nabc\r\n--x--\r\n'
    response = api.post("/api/v1/households/imports", body, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    web = page.post("/households/new/", body, content_type="multipart/form-data")
    assert web.status_code == 400
    assert "请求格式不正确" in web.content.decode()


def test_phone_numbers_are_validated(api: Client, household: Household) -> None:
    bad = api.patch(
        f"/api/v1/households/{household.pk}",
        {"address": "新址1号", "phone": "12345", "reason": "改"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert "电话号码格式不正确" in bad.json()["field_errors"]["phone"][0]
    good = api.patch(
        f"/api/v1/households/{household.pk}",
        {"address": "新址1号", "phone": "０９５２－２０１２３４５", "reason": "改"},
        content_type="application/json",
    )
    assert good.status_code == 200
    assert good.json()["phone"] == "0952-2012345"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"category": "wages", "monthly_amount": "-5"}, "monthly_amount", "不能为负数"),
        ({"category": "wages", "monthly_amount": "9999999999.99"}, "monthly_amount", "超出允许范围"),
        ({"category": "wages", "monthly_amount": "１２３４"}, None, None),
    ],
)
def test_circumstance_amounts_are_bounded_with_clear_messages(
    api: Client, household: Household, values: dict[str, str], field: str | None, message: str | None
) -> None:
    assert household.head is not None
    response = api.post(
        f"/api/v1/persons/{household.head.pk}/circumstances",
        {"kind": "income", "valid_from": "2026-01-01", "values": values},
        content_type="application/json",
    )
    no_internals(response.content.decode())
    if field is None:
        assert response.status_code == 201, response.content
        assert Decimal(response.json()["values"]["monthly_amount"]) == Decimal("1234")
        return
    assert response.status_code == 422
    assert str(message) in " ".join(response.json()["field_errors"][field])


def test_dates_outside_the_window_are_refused(api: Client, household: Household) -> None:
    assert household.head is not None
    for day in ("0001-01-01", "9999-12-31"):
        response = api.post(
            f"/api/v1/persons/{household.head.pk}/circumstances",
            {"kind": "income", "valid_from": day, "values": {"category": "wages", "monthly_amount": "1"}},
            content_type="application/json",
        )
        assert response.status_code == 422
        assert "日期须在" in response.json()["field_errors"]["valid_from"][0]


def test_validation_messages_are_chinese_and_english_on_request(api: Client, household: Household) -> None:
    body = {"address": "", "reason": "改"}
    zh = api.patch(f"/api/v1/households/{household.pk}", body, content_type="application/json")
    assert zh.json()["message"] == "输入有误，请检查后重新提交"
    assert zh.json()["field_errors"]["address"] == ["至少 1 个字符"]
    en = api.patch(
        f"/api/v1/households/{household.pk}", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert en.json()["message"] == "Invalid input: please check and submit again"
    assert en.json()["field_errors"]["address"] == ["At least 1 characters"]
    missing = api.get("/api/v1/households/999999999", HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404
    assert missing.json()["message"].isascii()


def test_a_database_refusal_is_a_clear_conflict(api: Client, village_assistant: Staff) -> None:
    """Two registrations of the same person racing past the service's check meet the unique
    index: the API says so plainly (simulated here by registering the same number twice)."""
    number = resident_id("640202", date(1977, 7, 7))
    body: dict[str, Any] = {
        "division_code": "640202001001",
        "address": "同号1号",
        "area": "urban",
        "members": [{"name": "甲", "id_number": number, "relationship": "head"}],
    }
    first = api.post("/api/v1/households", body, content_type="application/json")
    assert first.status_code == 201
    second = api.post("/api/v1/households", body, content_type="application/json")
    assert second.status_code == 409
    no_internals(second.content.decode())
