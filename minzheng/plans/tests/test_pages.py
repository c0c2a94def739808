"""The pages and the API: the table with lights, the county comparison, entry and approval through
the forms and the JSON API, refusals as Chinese pages and structured 4xx answers, A4 and Excel."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from minzheng.org.models import Staff
from minzheng.plans import services
from minzheng.plans.definitions import DAWUKOU_14TH, load_plan
from minzheng.plans.models import EntryStatus, Indicator, IndicatorEntry, IndicatorValue, Plan
from minzheng.plans.tests.conftest import PDF, indicator


def client_for(staff: Staff, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff)
    return client


def _pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("统计.pdf", PDF, content_type="application/pdf")


def test_the_table_shows_all_14_with_baseline_latest_target_and_light(
    plan: Plan, people: dict[str, Staff]
) -> None:
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2025)
    page = client_for(people["approver"]).get(reverse("web:plans"))
    assert page.status_code == 200
    html = page.content.decode()
    table = html.split('data-testid="plan-indicators"')[1].split("</table>")[0]
    assert table.count('data-testid="indicator-') == 14
    row2 = table.split('data-testid="indicator-2"')[1].split("</tr>")[0]
    assert "63.3" in row2
    assert "70.8" in row2
    assert ">75<" in row2
    assert 'data-light="red"' in row2
    assert "64.1%" in row2
    row3 = table.split('data-testid="indicator-3"')[1].split("</tr>")[0]
    assert 'data-light="grey"' in row3
    assert "规划指标" in html.split('data-testid="main-menu"')[1].split("</ul>")[0]


def test_a_city_supervisor_sees_each_county_side_by_side(plan: Plan, people: dict[str, Staff]) -> None:
    load_plan(Plan, Indicator, DAWUKOU_14TH, region="640205")
    other = Plan.objects.get(region="640205")
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2025)
    html = client_for(people["city"]).get(reverse("web:plans")).content.decode()
    side = html.split('data-testid="side-by-side"')[1].split("</table>")[0]
    assert "大武口区" in side
    assert "惠农区" in side
    assert side.count("<tr>") == 1 + 14
    assert "70.8" in side  # Dawukou's ratio; 惠农区 has no value yet
    # Each county's own plan is one click away; the county administrator sees only its own.
    assert client_for(people["city"]).get(reverse("web:plans"), {"plan": other.pk}).status_code == 200
    own = client_for(people["admin"]).get(reverse("web:plans")).content.decode()
    assert 'data-testid="side-by-side"' not in own
    assert "惠农区" not in own
    api = client_for(people["city"]).get("/api/v1/plans").json()
    assert [p["region"] for p in api] == ["640202", "640205"]
    ratio = next(i for i in api[0]["indicators"] if i["number"] == 2)
    assert (ratio["latest_value"], ratio["light"], ratio["method"]) == ("70.80", "red", "computed")
    assert client_for(people["township"]).get("/api/v1/plans").json() == []


def test_entry_and_approval_through_the_pages(plan: Plan, people: dict[str, Staff]) -> None:
    ind = indicator(plan, 7)
    url = reverse("web:plans_entry_new", args=[ind.pk])
    admin = client_for(people["admin"])
    assert admin.get(url).status_code == 200
    missing = admin.post(
        url, {"year": 2024, "kind": "value", "value": "1350", "source": "区民政局社会组织年检"}
    )
    assert missing.status_code == 422
    assert "请上传佐证材料" in missing.content.decode()
    not_number = admin.post(
        url, {"year": 2024, "kind": "value", "value": "一千", "source": "年检", "evidence": _pdf()}
    )
    assert not_number.status_code == 422
    assert "数值应为数字" in not_number.content.decode()
    assert not IndicatorEntry.objects.exists()
    done = admin.post(
        url, {"year": 2024, "kind": "value", "value": "1350", "source": "年检", "evidence": _pdf()}
    )
    assert done.status_code == 302
    entry = IndicatorEntry.objects.get()
    # The enterer cannot decide it; the approver can.
    assert (
        admin.post(reverse("web:plans_entry_decide", args=[entry.pk]), {"action": "approve"}).status_code
        == 403
    )
    detail = (
        client_for(people["approver"]).get(reverse("web:plans_indicator", args=[ind.pk])).content.decode()
    )
    assert "审核通过" in detail
    decided = client_for(people["approver"]).post(
        reverse("web:plans_entry_decide", args=[entry.pk]), {"action": "approve", "note": "核对无误"}
    )
    assert decided.status_code == 302
    assert IndicatorValue.objects.get(indicator=ind, year=2024).value == Decimal("1350")
    html = client_for(people["city"]).get(reverse("web:plans")).content.decode()
    row = html.split('data-testid="indicator-7"')[1].split("</tr>")[0]
    assert "1350" in row
    assert "p_admin" in row
    assert "p_approver" in row
    assert 'data-light="amber"' in row
    evidence = client_for(people["city"]).get(reverse("web:plans_evidence", args=[entry.pk]))
    assert evidence.status_code == 200
    assert evidence.content == PDF
    assert evidence["Content-Disposition"].startswith("attachment")


def test_approving_ones_own_entry_on_the_page_is_refused_in_chinese(
    plan: Plan, people: dict[str, Staff]
) -> None:
    both = client_for(people["both"])
    ind = indicator(plan, 9)
    both.post(
        reverse("web:plans_entry_new", args=[ind.pk]),
        {"year": 2023, "kind": "value", "value": "97", "source": "区民政局", "evidence": _pdf()},
    )
    entry = IndicatorEntry.objects.get()
    refused = both.post(reverse("web:plans_entry_decide", args=[entry.pk]), {"action": "approve"})
    assert refused.status_code == 403
    assert "经办人不能审批本人经办的事项" in refused.content.decode()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.PENDING


def test_the_api_answers_bad_input_with_structured_errors(plan: Plan, people: dict[str, Staff]) -> None:
    ind = indicator(plan, 8)
    url = f"/api/v1/plans/indicators/{ind.pk}/entries"
    api = client_for(people["both"])
    base = {"year": 2024, "kind": "value", "value": "280", "source": "区社工协会"}
    no_evidence = api.post(url, base)
    assert no_evidence.status_code == 422
    assert no_evidence.json()["code"] == "evidence_required"
    assert "evidence" in no_evidence.json()["field_errors"]
    future = api.post(url, {**base, "year": 2100, "evidence": _pdf()})
    assert (future.status_code, future.json()["code"]) == (422, "future_period")
    nan = api.post(url, {**base, "value": "abc", "evidence": _pdf()})
    assert (nan.status_code, nan.json()["code"]) == (422, "not_a_number")
    assert not IndicatorEntry.objects.exists()
    made = api.post(url, {**base, "evidence": _pdf()})
    assert made.status_code == 201
    entry_id = made.json()["id"]
    own = api.post(f"/api/v1/plans/entries/{entry_id}/approve", {"note": ""}, content_type="application/json")
    assert own.status_code == 403
    assert set(own.json()) == {"code", "message", "field_errors"}
    assert own.json()["code"] == "maker_checker"
    english = client_for(people["both"], "en").post(
        f"/api/v1/plans/entries/{entry_id}/approve", {"note": ""}, content_type="application/json"
    )
    assert "cannot approve" in english.json()["message"]
    ok = client_for(people["approver"]).post(
        f"/api/v1/plans/entries/{entry_id}/approve", {"note": "同意"}, content_type="application/json"
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "approved"
    detail = client_for(people["city"]).get(f"/api/v1/plans/indicators/{ind.pk}").json()
    assert detail["indicator"]["latest_value"] == "280.00"
    assert detail["indicator"]["light"] == "amber"
    assert detail["history"][0]["inputs"]["entry"]["entry"] == entry_id
    outsider = client_for(people["outsider"]).get(f"/api/v1/plans/indicators/{ind.pk}")
    assert outsider.status_code == 404
    publish = client_for(people["approver"]).post(
        f"/api/v1/plans/{plan.pk}/publish", {"year": 2024}, content_type="application/json"
    )
    assert publish.status_code == 200
    assert all(v["frozen"] for v in publish.json())
    again = client_for(people["approver"]).post(
        f"/api/v1/plans/{plan.pk}/publish", {"year": 2024}, content_type="application/json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "published")


def test_printable_and_excel(plan: Plan, people: dict[str, Staff]) -> None:
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2025)
    client = client_for(people["city"])
    printed = client.get(reverse("web:plans_print"), {"plan": plan.pk})
    assert printed.status_code == 200
    assert printed.content.decode().count("<tr>") == 15
    book = load_workbook(io.BytesIO(client.get(reverse("web:plans_xlsx"), {"plan": plan.pk}).content))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 14
    assert rows[1][:7] == (2, "农村低保标准占城市低保标准比例", "%", "63.3", 70.8, 2025, "75")


@pytest.mark.parametrize("name", ["web:plans", "web:plans_print"])
def test_pages_in_english(plan: Plan, people: dict[str, Staff], name: str) -> None:
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2025)
    client = client_for(people["approver"], "en")
    client.cookies["django_language"] = "en"
    html = client.get(reverse(name)).content.decode()
    assert "Rural dibao standard as a share of the urban standard" in html
    assert "rounded to one decimal place, half up" in html
    assert "Behind" in html
    assert "Baseline" in html
    detail = client.get(reverse("web:plans_indicator", args=[indicator(plan, 2).pk])).content.decode()
    assert "History" in detail
