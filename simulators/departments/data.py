"""What each simulated department holds on a person, derived from the ID number and the seed alone.

Nothing is read from Minzheng's database: the same ID number and seed always give the same answer,
so the demo registry's people (and any test's) have data without the simulator knowing them. Most
people have little or nothing; a few have a car, a second flat, a business or savings that matter
for a means test, and a small share have died.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from minzheng.core.identifiers import InvalidIdentifier, ResidentId, parse_resident_id, uscc_check_char


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    mode: str  # "api" (search with callback) or "file" (batch request and result files)
    holds: str  # what it answers about, for people


DEPARTMENTS: dict[str, Department] = {
    d.code: d
    for d in (
        Department("public_security", "公安局户籍管理部门", "api", "户籍登记、死亡注销"),
        Department("tax", "税务局", "api", "工资薪金所得、经营所得"),
        Department("social_insurance", "人力资源和社会保障局", "api", "社会保险缴费、养老金、失业保险金"),
        Department("real_estate", "不动产登记中心", "api", "不动产登记（套数、面积）"),
        Department("vehicles", "公安交通管理部门", "api", "机动车登记（数量、价值）"),
        Department("market", "市场监督管理局", "api", "市场主体登记（个体工商户、企业出资）"),
        Department("provident_fund", "住房公积金管理中心", "api", "住房公积金缴存、余额"),
        Department("bank", "商业银行（存款、理财）", "file", "存款余额、理财产品"),
    )
}


def _money(rng: random.Random, low: int, high: int) -> str:
    return str(Decimal(rng.randint(low * 100, high * 100)) / 100)


def _rng(seed: int, code: str, number: str) -> random.Random:
    # A string seed is hashed with SHA-512 (random.seed version 2): stable across runs and platforms.
    return random.Random(f"minzheng-sim:{seed}:{code}:{number}")  # noqa: S311 (simulated data)


def _record(
    category: str,
    item_type: str,
    description: str,
    *,
    amount: str | None = None,
    quantity: str | None = None,
    unit: str = "",
    period: tuple[date, date] | None = None,
    source_ref: str = "",
) -> dict[str, Any]:
    return {
        "category": category,
        "item_type": item_type,
        "description": description,
        "amount": amount,
        "quantity": quantity,
        "unit": unit,
        "period_start": period[0].isoformat() if period else None,
        "period_end": period[1].isoformat() if period else None,
        "source_ref": source_ref,
    }


def _year_before(as_of: date) -> tuple[date, date]:
    end = as_of.replace(day=1) - timedelta(days=1)
    return end.replace(day=1) - timedelta(days=334), end


def _death_date(seed: int, rid: ResidentId, as_of: date) -> date | None:
    rng = _rng(seed, "death", rid.number)
    age = rid.age_on(as_of)
    share = 0.08 if age >= 75 else 0.02
    if rng.random() >= share:
        return None
    return as_of - timedelta(days=rng.randint(20, 900))


def records_for(code: str, rid: ResidentId, *, seed: int, as_of: date) -> list[dict[str, Any]]:
    """What department `code` holds on the person with resident ID `rid` on `as_of`."""
    rng = _rng(seed, code, rid.number)
    age = rid.age_on(as_of)
    working = 18 <= age < 65
    year = _year_before(as_of)
    died = _death_date(seed, rid, as_of)
    out: list[dict[str, Any]] = []
    if code == "public_security":
        out.append(
            _record("household_registration", "hukou", "户籍登记：正常" if died is None else "户籍已注销")
        )
        if died is not None:
            out.append(_record("death", "death", "死亡注销", period=(died, died), source_ref="死亡医学证明"))
    elif code == "tax":
        if working and rng.random() < 0.35:
            out.append(
                _record(
                    "tax_income",
                    "wage",
                    "工资薪金所得（月均）",
                    amount=_money(rng, 1800, 6500),
                    unit="元/月",
                    period=year,
                )
            )
        if working and rng.random() < 0.08:
            out.append(
                _record(
                    "tax_income",
                    "business",
                    "经营所得（月均）",
                    amount=_money(rng, 800, 4000),
                    unit="元/月",
                    period=year,
                )
            )
    elif code == "social_insurance":
        if age >= 60 and rng.random() < 0.7:
            if rng.random() < 0.35:
                out.append(
                    _record(
                        "social_insurance_benefit",
                        "pension_employee",
                        "城镇职工基本养老金",
                        amount=_money(rng, 1800, 4200),
                        unit="元/月",
                        period=year,
                    )
                )
            else:
                out.append(
                    _record(
                        "social_insurance_benefit",
                        "pension_resident",
                        "城乡居民基本养老金",
                        amount=_money(rng, 150, 320),
                        unit="元/月",
                        period=year,
                    )
                )
        if working and rng.random() < 0.3:
            out.append(
                _record(
                    "social_insurance_pay",
                    "contribution_base",
                    "职工养老保险缴费基数",
                    amount=_money(rng, 3200, 7500),
                    unit="元/月",
                    period=year,
                )
            )
        elif working and rng.random() < 0.04:
            out.append(
                _record(
                    "social_insurance_benefit",
                    "unemployment",
                    "失业保险金",
                    amount=_money(rng, 1300, 1700),
                    unit="元/月",
                    period=year,
                )
            )
    elif code == "real_estate":
        roll = rng.random()
        count = 0 if age < 20 or roll < 0.65 else (1 if roll < 0.93 else 2)
        for n in range(count):
            registered = as_of - timedelta(days=rng.randint(200, 6000))
            out.append(
                _record(
                    "real_estate",
                    "dwelling",
                    "住宅",
                    quantity=str(rng.randint(35, 150)),
                    unit="平方米",
                    period=(registered, registered),
                    source_ref=f"不动产权第{rng.randint(0, 99):02d}****{n + 1}号",
                )
            )
    elif code == "vehicles":
        roll = rng.random()
        count = 0 if not 18 <= age < 75 or roll < 0.85 else (1 if roll < 0.98 else 2)
        for _ in range(count):
            registered = as_of - timedelta(days=rng.randint(100, 4000))
            out.append(
                _record(
                    "vehicle",
                    "car",
                    "小型轿车",
                    amount=_money(rng, 15000, 180000),
                    quantity="1",
                    unit="元",
                    period=(registered, registered),
                    source_ref=f"宁B·***{rng.randint(10, 99)}",
                )
            )
    elif code == "market":
        if working and rng.random() < 0.08:
            body = f"92{rid.area_code}MA{rng.randint(0, 99999999):08d}"[:17]
            kind = rng.random() < 0.7
            out.append(
                _record(
                    "market_entity",
                    "sole_trader" if kind else "shareholder",
                    "个体工商户经营者" if kind else "有限责任公司股东（认缴出资）",
                    amount=_money(rng, 10000, 500000),
                    unit="元",
                    period=(as_of - timedelta(days=rng.randint(100, 3000)), as_of),
                    source_ref=body + uscc_check_char(body),
                )
            )
    elif code == "provident_fund":
        if working and rng.random() < 0.25:
            out.append(
                _record(
                    "provident_fund",
                    "contribution",
                    "住房公积金月缴存额",
                    amount=_money(rng, 300, 1800),
                    unit="元/月",
                    period=year,
                )
            )
            out.append(
                _record(
                    "provident_fund",
                    "balance",
                    "住房公积金账户余额",
                    amount=_money(rng, 5000, 80000),
                    unit="元",
                    period=(as_of, as_of),
                )
            )
    elif code == "bank":
        roll = rng.random()
        if age >= 16 and roll < 0.71:
            high = 8000 if roll < 0.55 else (60000 if roll < 0.67 else 300000)
            out.append(
                _record(
                    "bank_deposit",
                    "balance",
                    "存款余额",
                    amount=_money(rng, 50, high),
                    unit="元",
                    period=(as_of, as_of),
                    source_ref=f"6222********{rng.randint(0, 9999):04d}",
                )
            )
        if age >= 18 and rng.random() < 0.05:
            out.append(
                _record(
                    "wealth_product",
                    "wealth",
                    "理财产品",
                    amount=_money(rng, 10000, 200000),
                    unit="元",
                    period=(as_of, as_of),
                    source_ref=f"理财****{rng.randint(0, 999):03d}",
                )
            )
    return out


def old_number(rid: ResidentId) -> str:
    """The 15-digit number the person held before 1999, when there can have been one."""
    if not 1900 <= rid.birth_date.year <= 1999:
        return rid.number
    return rid.number[:6] + rid.number[8:17]


def parse(number: str, today: date) -> ResidentId | None:
    try:
        return parse_resident_id(number, today=today)
    except InvalidIdentifier:
        return None
