"""The calendar through the API and the admin page."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.workdays.models import CalendarDay, CalendarSource
from minzheng.workdays.selectors import is_working_day

pytestmark = pytest.mark.usefixtures("calendar_2026")


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_api_lists_a_years_holidays_and_adjusted_days(township_clerk: Staff) -> None:
    body = logged_in(township_clerk).get("/api/v1/workdays", {"year": 2026}).json()
    assert body["year"] == 2026
    assert body["loaded"] is True
    assert body["provisional"] is False
    assert body["working_days"] == 248
    by_date = {d["date"]: d for d in body["days"]}
    assert by_date["2026-10-01"]["name"] == "国庆节"
    assert by_date["2026-10-01"]["is_working_day"] is False
    assert by_date["2026-10-10"] == {
        **by_date["2026-10-10"],
        "weekday": 6,
        "is_working_day": True,
        "source": "holidays",
        "changed_by": None,
    }


def test_api_marks_an_unannounced_year_provisional(township_clerk: Staff) -> None:
    body = logged_in(township_clerk).get("/api/v1/workdays", {"year": 2027}).json()
    assert body["provisional"] is True
    assert logged_in(township_clerk).get("/api/v1/workdays", {"year": 2030}).json()["loaded"] is False


def test_api_needs_login(db: None) -> None:
    assert Client().get("/api/v1/workdays").status_code == 401


def test_api_correction_by_system_admin(system_admin: Staff) -> None:
    response = logged_in(system_admin).post(
        "/api/v1/workdays/2026-10-08",
        data=json.dumps({"is_working_day": False, "name": "国庆节（延长）", "reason": "通知"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["source"] == "manual"
    assert response.json()["changed_by"] == "sysadmin"
    assert not is_working_day(date(2026, 10, 8))
    assert AuditEvent.objects.filter(action="workdays.set_day", object_id="2026-10-08").count() == 1


def test_api_correction_refused_for_county_admin(county_admin: Staff) -> None:
    response = logged_in(county_admin).post(
        "/api/v1/workdays/2026-10-08",
        data=json.dumps({"is_working_day": False, "name": "", "reason": "通知"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not CalendarDay.objects.filter(date=date(2026, 10, 8)).exists()


def test_api_correction_rejects_bad_input(system_admin: Staff) -> None:
    client = logged_in(system_admin)
    no_reason = client.post(
        "/api/v1/workdays/2026-10-08",
        data=json.dumps({"is_working_day": False, "reason": ""}),
        content_type="application/json",
    )
    assert no_reason.status_code == 422
    bad_date = client.post(
        "/api/v1/workdays/2026-02-30",
        data=json.dumps({"is_working_day": False, "reason": "x"}),
        content_type="application/json",
    )
    assert bad_date.status_code == 422


def test_page_shows_the_year_with_holidays_marked(system_admin: Staff) -> None:
    page = logged_in(system_admin).get(reverse("web:workdays"), {"year": 2026}).content.decode()
    assert "2026年工作日历" in page
    assert "全年工作日 248 天" in page
    assert 'data-date="2026-10-01" data-working="0"' in page
    assert 'data-date="2026-10-10" data-working="1"' in page
    assert "调休上班（国庆节）" in page
    assert 'data-testid="correct-form"' in page


def test_page_is_read_only_without_system_manage(township_clerk: Staff) -> None:
    client = logged_in(township_clerk)
    page = client.get(reverse("web:workdays"), {"year": 2026}).content.decode()
    assert "国庆节" in page
    assert 'data-testid="correct-form"' not in page
    posted = client.post(
        reverse("web:workdays"), {"day": "2026-10-08", "is_working_day": "0", "name": "x", "reason": "x"}
    )
    assert posted.status_code == 403
    assert not CalendarDay.objects.filter(date=date(2026, 10, 8)).exists()


def test_page_correction_prefills_and_saves(system_admin: Staff) -> None:
    client = logged_in(system_admin)
    page = client.get(reverse("web:workdays"), {"year": "2026", "day": "2026-10-10"}).content.decode()
    form = page[page.index('data-testid="correct-form"') :]
    assert 'value="2026-10-10"' in form
    assert 'value="调休上班（国庆节）"' in page
    response = client.post(
        reverse("web:workdays") + "?year=2026",
        {"day": "2026-10-10", "is_working_day": "0", "name": "取消调休", "reason": "国办通知"},
    )
    assert response.status_code == 302
    row = CalendarDay.objects.get(date=date(2026, 10, 10))
    assert (row.source, row.is_working_day, row.name) == (CalendarSource.MANUAL, False, "取消调休")
    page = client.get(reverse("web:workdays"), {"year": 2026}).content.decode()
    assert "已更正 2026-10-10：休息" in page


def test_page_rejects_a_year_out_of_range(system_admin: Staff) -> None:
    assert logged_in(system_admin).get(reverse("web:workdays"), {"year": 1800}).status_code == 404


def test_menu_shows_the_calendar_to_system_admins_only(system_admin: Staff, township_clerk: Staff) -> None:
    url = reverse("web:workdays")
    assert f'href="{url}"' in logged_in(system_admin).get(reverse("web:home")).content.decode()
    assert f'href="{url}"' not in logged_in(township_clerk).get(reverse("web:home")).content.decode()
