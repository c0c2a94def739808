"""The statistics pages and API: dashboards per level, the monthly sheet with its drill-down links,
print and Excel, the recompute/freeze buttons and their refusals, in Chinese and English."""

from __future__ import annotations

import io
import json

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minzheng.payments.months import add_months, first_of_month
from minzheng.reports import services
from minzheng.reports.models import StatisticPeriod
from minzheng.reports.tests.conftest import County

THIS_MONTH = first_of_month(timezone.localdate())
MONTH = f"{THIS_MONTH:%Y-%m}"
LAST_MONTH = f"{add_months(THIS_MONTH, -1):%Y-%m}"


def client_for(staff: object) -> Client:
    client = Client()
    client.force_login(staff)  # type: ignore[arg-type]
    return client


def test_pages_show_figures_that_drill_down_to_lists_of_their_length(county: County) -> None:
    admin = client_for(county.people["admin"])
    services.period_recompute(actor=county.people["admin"], county="640202", month=THIS_MONTH)
    page = admin.get(reverse("web:reports")).content.decode()
    assert "长胜街道" in page
    assert "星海镇" in page
    sheet = admin.get(reverse("web:report_statistics"), {"county": "640202", "month": MONTH})
    assert sheet.status_code == 200
    text = sheet.content.decode()
    assert "保障户数" in text
    assert "立即重算" in text
    members = admin.get(
        reverse("web:report_members"), {"county": "640202", "month": MONTH, "metric": "households_covered"}
    )
    body = members.content.decode()
    assert body.count('data-testid="member-row"') == 3
    assert '<dd class="col-sm-10" data-testid="members-figure">3</dd>' in body
    printed = admin.get(reverse("web:report_print"), {"county": "640202", "month": MONTH})
    assert printed.status_code == 200
    assert "民政统计月报" in printed.content.decode()
    xlsx = admin.get(reverse("web:report_xlsx"), {"county": "640202", "month": MONTH})
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c is not None]
    assert "保障户数" in cells
    english = admin.get(
        reverse("web:report_statistics"), {"county": "640202", "month": MONTH}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Households covered" in english.content.decode()


def test_buttons_freeze_once_and_refuse_bad_input(county: County) -> None:
    approver = client_for(county.people["approver"])
    url = reverse("web:report_statistics")
    future = f"{add_months(THIS_MONTH, 1):%Y-%m}"
    response = approver.post(url, {"county": "640202", "month": future, "action": "recompute"}, follow=True)
    assert "不能统计尚未到来的月份" in response.content.decode()
    assert not StatisticPeriod.objects.exists()
    approver.post(url, {"county": "640202", "month": LAST_MONTH, "action": "freeze"})
    assert StatisticPeriod.objects.get(county="640202").frozen
    again = approver.post(url, {"county": "640202", "month": LAST_MONTH, "action": "freeze"}, follow=True)
    assert "不能重复冻结" in again.content.decode()
    head = client_for(county.people["head"])
    assert head.post(url, {"county": "640202", "month": MONTH, "action": "recompute"}).status_code == 403
    outsider = client_for(county.people["outsider"])
    assert outsider.post(url, {"county": "640202", "month": MONTH, "action": "recompute"}).status_code == 404
    # A drill-down outside the account's jurisdiction.
    town = head.get(
        reverse("web:report_members"), {"county": "640202", "month": MONTH, "unit": "640202100000"}
    )
    assert town.status_code == 404


def test_api_reads_and_writes(county: County) -> None:
    admin = client_for(county.people["admin"])
    recomputed = admin.post(
        "/api/v1/reports/periods/recompute",
        json.dumps({"county": "640202", "month": str(THIS_MONTH)}),
        content_type="application/json",
    )
    assert recomputed.status_code == 200
    assert recomputed.json()["state"] == "open"
    city = client_for(county.people["supervisor"]).get("/api/v1/reports/dashboard").json()
    assert city["level"] == "city"
    assert [c["county"] for c in city["columns"]][:1] == ["640202"]
    assert city["columns"][0]["rank"] == 1
    found = admin.get("/api/v1/reports/members", {"county": "640202", "metric": "tickets_received"}).json()
    assert (found["count"], found["figure"]) == (2, "2.00")
    sheet = admin.get("/api/v1/reports/statistics", {"county": "640202"}).json()
    assert sheet["state"] == "open"
    assert sheet["groups"][0]["rows"][0]["metric"] == "households_covered"
    future = admin.post(
        "/api/v1/reports/periods/freeze",
        json.dumps({"county": "640202", "month": str(add_months(THIS_MONTH, 1))}),
        content_type="application/json",
    )
    assert future.status_code == 422
    assert set(future.json()) == {"code", "message", "field_errors"}
    frozen = admin.post(
        "/api/v1/reports/periods/freeze",
        json.dumps({"county": "640202", "month": str(add_months(THIS_MONTH, -1))}),
        content_type="application/json",
    )
    assert frozen.status_code == 200
    assert frozen.json()["state"] == "frozen"
    twice = admin.post(
        "/api/v1/reports/periods/freeze",
        json.dumps({"county": "640202", "month": str(add_months(THIS_MONTH, -1))}),
        content_type="application/json",
    )
    assert twice.status_code == 409
    bad = admin.get("/api/v1/reports/members", {"county": "640202", "metric": "nothing"})
    assert bad.status_code == 422
    outside = client_for(county.people["head"]).get(
        "/api/v1/reports/members", {"county": "640202", "unit": "640202100000"}
    )
    assert outside.status_code == 404
