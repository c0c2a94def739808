"""Input rules shared by every API schema, web form and service: one place that says what the system
accepts.

* Text may not carry NUL or other control characters (tab, line feed and carriage return excepted in
  multi-line text): PostgreSQL refuses NUL in text, and the others are never typed by a person.
* Codes and numbers (phone numbers, amounts, months) are normalised with NFKC, so full-width digits
  typed with a Chinese input method (`１３９…`, `２０２７－０１`) become ASCII before they are checked.
  Free text (names, addresses, notes) keeps its characters: NFKC would also turn the full-width
  punctuation of Chinese prose into ASCII.
* Dates lie within a window: not before MINZHENG_EARLIEST_DATE (default 1900-01-01) and not more
  than MINZHENG_FUTURE_YEARS (default 10) years ahead. Months (a payroll month, a start month) lie
  between MINZHENG_EARLIEST_MONTH (default 2000-01) and MINZHENG_FUTURE_MONTHS (default 24) months
  ahead; `month: 0` or `0001-01` are refused rather than read as 1970 or the year 1.
* Money is a Decimal in yuan with at most two decimals, within limits by kind: a stock (assets, a
  one-off sum) up to MINZHENG_MONEY_MAX, a monthly flow (income, expenses) up to
  MINZHENG_MONTHLY_MONEY_MAX, a benefit or payment per month (and a one-off payment or recovery)
  up to MINZHENG_BENEFIT_MONTHLY_MAX. Negative amounts only where the caller allows them
  (a recovery), and then no further below zero than the limit.
* Phone numbers follow the Chinese numbering plan: mobile `1[3-9]` + 9 digits, or a landline with
  its area code (`0` + 2-3 digits, optional hyphen, 7-8 digits, optional extension `-1234`).

Every check raises `InputRuleError` (a ValueError, so pydantic reports it as a validation error)
with a Chinese message for users, translated when the request's language is English. The pydantic
types below (`Text`, `Phone`, `BoundedDate`, `Month`, `Money` …) are for API schemas; `form_*`
validators are for Django forms; `check_*` functions are for services.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from minzheng.core.errors import InvalidInput

# C0 controls and DEL; tab, LF and CR are allowed in multi-line text. Also the C1 controls and the
# line/paragraph separators, which break CSV and Excel exports the same way.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-01)?")


class InputRuleError(ValueError):
    """An input broke one of the rules above; `message` is for users."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class MoneyKind(StrEnum):
    STOCK = "stock"  # assets, a sum held or paid once
    MONTHLY = "monthly"  # an income or an expense per month
    BENEFIT = "benefit"  # a benefit or payment per month, a one-off payment or a recovery


# --- Text ------------------------------------------------------------------------------------------


def normalise(value: str) -> str:
    """Full-width letters, digits and signs to ASCII (NFKC), surrounding space removed."""
    return unicodedata.normalize("NFKC", value).strip()


def find_control_character(value: str, *, multiline: bool = True) -> str | None:
    found = (_CONTROL if multiline else _CONTROL_OR_NEWLINE).search(value)
    return found.group() if found else None


def check_text(value: str, *, multiline: bool = True) -> str:
    """Text without control characters (NUL included); returned unchanged."""
    if find_control_character(value, multiline=multiline) is not None:
        raise InputRuleError(_("不能包含空字符或其他控制字符"), "control_character")
    return value


# --- Dates and months ------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def date_window(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    years = int(getattr(settings, "MINZHENG_FUTURE_YEARS", 10))
    latest = date(min(today.year + years, 9999), 12, 31)
    return getattr(settings, "MINZHENG_EARLIEST_DATE", date(1900, 1, 1)), latest


def month_window(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    months = int(getattr(settings, "MINZHENG_FUTURE_MONTHS", 24))
    earliest = getattr(settings, "MINZHENG_EARLIEST_MONTH", date(2000, 1, 1))
    return earliest.replace(day=1), _add_months(today.replace(day=1), months)


def check_date(value: date) -> date:
    earliest, latest = date_window()
    if not earliest <= value <= latest:
        raise InputRuleError(
            _("日期须在 %(earliest)s 至 %(latest)s 之间") % {"earliest": earliest, "latest": latest},
            "date_out_of_range",
        )
    return value


def parse_month(value: object) -> date:
    """A month as `YYYY-MM` (or `YYYY-MM-01`, or a date on the first): the first day of it."""
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        found = _MONTH.fullmatch(normalise(value))
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise InputRuleError(_("月份格式应为 YYYY-MM，如 2027-01"), "month_format")
        day = date(int(found.group(1)), int(found.group(2)), 1)
    else:
        raise InputRuleError(_("月份格式应为 YYYY-MM，如 2027-01"), "month_format")
    if day.day != 1:
        raise InputRuleError(_("月份须为该月1日，如 2027-01-01"), "month_format")
    return day


def check_month(value: object) -> date:
    month = parse_month(value)
    earliest, latest = month_window()
    if not earliest <= month <= latest:
        raise InputRuleError(
            _("月份须在 %(earliest)s 至 %(latest)s 之间")
            % {"earliest": f"{earliest:%Y-%m}", "latest": f"{latest:%Y-%m}"},
            "month_out_of_range",
        )
    return month


# --- Money -----------------------------------------------------------------------------------------

_LIMIT_SETTINGS = {
    MoneyKind.STOCK: ("MINZHENG_MONEY_MAX", Decimal("100000000.00")),
    MoneyKind.MONTHLY: ("MINZHENG_MONTHLY_MONEY_MAX", Decimal("1000000.00")),
    MoneyKind.BENEFIT: ("MINZHENG_BENEFIT_MONTHLY_MAX", Decimal("50000.00")),
}


def money_limit(kind: MoneyKind) -> Decimal:
    name, default = _LIMIT_SETTINGS[kind]
    return Decimal(getattr(settings, name, default))


def check_money(value: object, *, kind: MoneyKind = MoneyKind.STOCK, negative: bool = False) -> Decimal:
    """An amount in yuan: a finite decimal with at most two places, within the kind's limit."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        try:
            value = Decimal(normalise(value).replace(",", ""))
        except InvalidOperation:
            raise InputRuleError(_("金额应为数字，如 1234.56"), "money_format") from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputRuleError(_("金额应为数字，如 1234.56"), "money_format")
    if value != value.quantize(Decimal("0.01")):
        raise InputRuleError(_("金额最多保留两位小数（分）"), "money_precision")
    limit = money_limit(kind)
    if value < 0 and not negative:
        raise InputRuleError(_("金额不能为负数"), "money_negative")
    if abs(value) > limit:
        raise InputRuleError(
            _("金额超出允许范围（绝对值不超过 %(limit)s 元）") % {"limit": f"{limit:,.2f}"},
            "money_out_of_range",
        )
    return value.quantize(Decimal("0.01"))


# --- Phone numbers ---------------------------------------------------------------------------------


def check_phone(value: str, *, required: bool = False) -> str:
    """A Chinese mobile or landline number in its canonical form ('' when empty and not required)."""
    text = "".join(normalise(value).split()).replace("—", "-").replace("－", "-")
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    if not text:
        if required:
            raise InputRuleError(_("请填写联系电话"), "phone_required")
        return ""
    if _MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text):
        return text
    raise InputRuleError(
        _("电话号码格式不正确：手机号为11位（如 13912345678），固定电话须带区号（如 0952-2012345）"),
        "phone_format",
    )


# --- Pydantic types for API schemas ----------------------------------------------------------------


def _pydantic(check: Callable[..., Any], **kwargs: Any) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        try:
            return check(value, **kwargs)
        except InputRuleError as exc:
            raise PydanticCustomError(exc.code, exc.message) from None

    return validate


def _nfkc(value: Any) -> Any:
    return normalise(value) if isinstance(value, str) else value


Text = Annotated[str, AfterValidator(_pydantic(check_text))]
"""Free text, several lines allowed, no control characters."""
Line = Annotated[str, AfterValidator(_pydantic(check_text, multiline=False))]
"""One line of text (a name, an address, a search), no control characters."""
Code = Annotated[str, BeforeValidator(_nfkc), AfterValidator(_pydantic(check_text, multiline=False))]
"""A code or number typed by a person: NFKC-normalised, no control characters."""
Phone = Annotated[str, AfterValidator(_pydantic(check_phone))]
BoundedDate = Annotated[date, AfterValidator(_pydantic(check_date))]
Month = Annotated[date, BeforeValidator(_pydantic(check_month))]
Money = Annotated[Decimal, BeforeValidator(_pydantic(check_money, kind=MoneyKind.STOCK))]
MonthlyMoney = Annotated[Decimal, BeforeValidator(_pydantic(check_money, kind=MoneyKind.MONTHLY))]
BenefitMoney = Annotated[Decimal, BeforeValidator(_pydantic(check_money, kind=MoneyKind.BENEFIT))]
SignedBenefitMoney = Annotated[
    Decimal, BeforeValidator(_pydantic(check_money, kind=MoneyKind.BENEFIT, negative=True))
]
"""A one-off: back pay (positive) or a recovery (negative), within the benefit limit."""


# --- Django form validators ------------------------------------------------------------------------


def _form(check: Callable[..., Any], **kwargs: Any) -> Callable[[Any], None]:
    def validate(value: Any) -> None:
        if value in (None, ""):
            return
        try:
            check(value, **kwargs)
        except InputRuleError as exc:
            raise ValidationError(exc.message, code=exc.code) from None

    return validate


form_text = _form(check_text)
form_line = _form(check_text, multiline=False)
form_date = _form(check_date)
form_month = _form(check_month)
form_phone = _form(check_phone)


def form_money(kind: MoneyKind = MoneyKind.STOCK, *, negative: bool = False) -> Callable[[Any], None]:
    return _form(check_money, kind=kind, negative=negative)


# --- Model values (services) -----------------------------------------------------------------------


def check_fields(
    values: Mapping[str, object], money: Mapping[str, MoneyKind] | None = None
) -> dict[str, list[str]]:
    """Field errors for a mapping of values: control characters in text, dates out of the window,
    money (by field name, of the given kinds) out of its limits. Empty when all is well."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            if money and name in money and value not in (None, ""):
                check_money(value, kind=money[name])
            elif isinstance(value, str):
                check_text(value)
            elif isinstance(value, date) and not isinstance(value, datetime):
                check_date(value)
        except InputRuleError as exc:
            errors.setdefault(name, []).append(exc.message)
    return errors


def clean_model(
    instance: models.Model,
    *,
    exclude: list[str] | None = None,
    constraints: Mapping[str, tuple[str, str]] | None = None,
    money: Mapping[str, MoneyKind] | None = None,
) -> None:
    """Validate a model instance before it is saved, with messages for users: Django's own field
    validation, the rules above for text, dates and money, and the model's database constraints,
    each reported by `constraints[name] = (field, message)` (a constraint without an entry as a
    general message). Never a constraint's name: Django's default message ("约束 “income_not_negative”
    不满足") names the database object, which means nothing to the person who typed the number.
    Raises InvalidInput with field errors."""
    errors: dict[str, list[str]] = {}
    try:
        instance.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    skip = set(exclude or ()) | set(errors)
    values = {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in skip and f.name not in skip and not f.primary_key
    }
    kinds = dict(money or {})
    for f in instance._meta.concrete_fields:
        if isinstance(f, models.DecimalField) and f.attname in values and f.attname not in kinds:
            kinds[f.attname] = MoneyKind.MONTHLY if "monthly" in f.attname else MoneyKind.STOCK
    for name, messages in check_fields(values, kinds).items():
        errors.setdefault(name, []).extend(messages)
    if not errors:
        for constraint in instance._meta.constraints:
            try:
                constraint.validate(type(instance), instance, exclude=exclude)  # type: ignore[attr-defined]
            except ValidationError:
                field, message = (constraints or {}).get(constraint.name, ("__all__", ""))
                errors.setdefault(field, []).append(message or _("数据不符合规则，请检查后重新提交"))
    if errors:
        raise InvalidInput(_("输入有误，请检查后重新提交"), field_errors=errors)
