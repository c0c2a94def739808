"""The shared input rules (minzheng.core.inputs)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from minzheng.core import inputs
from minzheng.core.inputs import InputRuleError, MoneyKind


@pytest.mark.parametrize("text", ["a\x00b", "\x07", "x\x1by", "\x7f", "a\u2028b", "\x85"])
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(InputRuleError, match="控制字符"):
        inputs.check_text(text)


def test_tabs_and_newlines_are_text_but_not_a_line() -> None:
    assert inputs.check_text("第一行\n第二行\t完") == "第一行\n第二行\t完"
    with pytest.raises(InputRuleError):
        inputs.check_text("第一行\n第二行", multiline=False)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13912345678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),  # full-width digits from a Chinese input method
        ("139 1234 5678", "13912345678"),
        ("+86 13912345678", "13912345678"),
        ("0952-2012345", "0952-2012345"),
        ("010-12345678-801", "010-12345678-801"),
        ("09522012345", "09522012345"),
        ("", ""),
    ],
)
def test_phone_numbers_are_normalised(typed: str, stored: str) -> None:
    assert inputs.check_phone(typed) == stored


@pytest.mark.parametrize("typed", ["1", "139", "12912345678", "139123456789", "2012345", "0952-123", "abc"])
def test_bad_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InputRuleError, match="电话号码格式不正确"):
        inputs.check_phone(typed)


def test_required_phone() -> None:
    with pytest.raises(InputRuleError, match="请填写联系电话"):
        inputs.check_phone(" ", required=True)


def test_dates_lie_within_the_window(settings: Any) -> None:
    settings.MINZHENG_EARLIEST_DATE = date(1900, 1, 1)
    settings.MINZHENG_FUTURE_YEARS = 10
    this_year = timezone.localdate().year
    assert inputs.check_date(date(1900, 1, 1)) == date(1900, 1, 1)
    assert inputs.check_date(date(this_year + 10, 12, 31))
    for bad in (date(1, 1, 1), date(1899, 12, 31), date(this_year + 11, 1, 1), date(9999, 12, 31)):
        with pytest.raises(InputRuleError, match="日期须在"):
            inputs.check_date(bad)


def test_months_lie_within_the_window(settings: Any) -> None:
    settings.MINZHENG_EARLIEST_MONTH = date(2000, 1, 1)
    settings.MINZHENG_FUTURE_MONTHS = 24
    assert inputs.check_month("2027-01") == date(2027, 1, 1)
    assert inputs.check_month("２０２７－０１") == date(2027, 1, 1)
    assert inputs.check_month(date(2000, 1, 1)) == date(2000, 1, 1)
    for bad in ("0001-01", "9999-12", "1999-12", "1970-01"):
        with pytest.raises(InputRuleError, match="月份须在"):
            inputs.check_month(bad)
    for malformed in ("0", 0, "2027-13", "2027-00", "2027", "2027-01-15", date(2027, 1, 15)):
        with pytest.raises(InputRuleError, match="月份"):
            inputs.check_month(malformed)


def test_money_within_the_limits_of_its_kind(settings: Any) -> None:
    settings.MINZHENG_MONTHLY_MONEY_MAX = Decimal("1000000.00")
    settings.MINZHENG_BENEFIT_MONTHLY_MAX = Decimal("50000.00")
    assert inputs.check_money("1,234.5", kind=MoneyKind.MONTHLY) == Decimal("1234.50")
    assert inputs.check_money("１２３４．５６") == Decimal("1234.56")
    assert inputs.check_money("-800", kind=MoneyKind.BENEFIT, negative=True) == Decimal("-800.00")
    with pytest.raises(InputRuleError, match="超出允许范围"):
        inputs.check_money("9999999999.99", kind=MoneyKind.MONTHLY)
    with pytest.raises(InputRuleError, match="超出允许范围"):
        inputs.check_money("-99999999.99", kind=MoneyKind.BENEFIT, negative=True)
    with pytest.raises(InputRuleError, match="不能为负数"):
        inputs.check_money("-1", kind=MoneyKind.MONTHLY)
    with pytest.raises(InputRuleError, match="两位小数"):
        inputs.check_money("1.001")
    for bad in ("NaN", "Infinity", "abc", ""):
        with pytest.raises(InputRuleError, match="金额应为数字"):
            inputs.check_money(bad)


class Example(BaseModel):
    note: inputs.Text = ""
    phone: inputs.Phone = ""
    on: inputs.BoundedDate | None = None
    month: inputs.Month | None = None
    amount: inputs.MonthlyMoney | None = None


def test_pydantic_types_report_the_rule_in_chinese() -> None:
    ok = Example(phone="１３９１２３４５６７８", month="2027-02", amount="12.5")  # type: ignore[arg-type]
    assert (ok.phone, ok.month, ok.amount) == ("13912345678", date(2027, 2, 1), Decimal("12.50"))
    with pytest.raises(ValidationError) as exc:
        Example(note="a\x00", phone="1", on=date(1, 1, 1), month=0, amount="9999999999.99")  # type: ignore[arg-type]
    errors = {e["loc"][0]: e["msg"] for e in exc.value.errors()}
    assert set(errors) == {"note", "phone", "on", "month", "amount"}
    assert all(not msg.isascii() for msg in errors.values()), errors
