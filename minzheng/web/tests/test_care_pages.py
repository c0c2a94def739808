"""Extreme-poverty support pages: the support mode and the county's sampled visit on the case page,
the county sampling page, and the visiting worklist with its plan page (探访照料)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import care, services
from minzheng.cases.models import CareVisit, CareVisitPlan, Case
from minzheng.cases.tests.test_care import approved, investigate, to_county_review
from minzheng.catalogue.services import catalogue_load
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "assistant": make_staff("cp_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk": make_staff("cp_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("cp_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("cp_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("cp_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "neighbour": make_staff("cp_neighbour", "640202001002", [Role.VILLAGE_ASSISTANT]),
        "outsider": make_staff("cp_outsider", "640205000000", [Role.COUNTY_APPROVER, Role.COUNTY_REVIEWER]),
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)
        monkeypatch.setattr(care, "_today", lambda: day)

    return set_today


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_case_page_records_the_support_mode_and_shows_the_county_sampled_visit(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = to_county_review(people, clock, "特困页甲")
    clock(timezone.localdate())
    reviewer = logged_in(people["reviewer"])
    page = reviewer.get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'data-testid="support-mode-form"' in page
    assert "尚未登记" in page
    assert 'data-testid="county-visit-pending"' in page

    url = reverse("web:case_support_mode", args=[case.pk])
    response = reviewer.post(url, {"mode": "institutional", "institution": ""}, follow=True)
    assert "集中供养须填写供养服务机构名称" in response.content.decode()
    assert "support_mode" not in Case.objects.get(pk=case.pk).details

    response = reviewer.post(url, {"mode": "institutional", "institution": "星海镇敬老院"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{case.pk}/#care")
    assert Case.objects.get(pk=case.pk).details["institution"] == "星海镇敬老院"

    investigate(people["county_reviewer"], case)
    page = logged_in(people["approver"]).get(reverse("web:case", args=[case.pk])).content.decode()
    assert "集中供养：星海镇敬老院" in page
    assert 'data-testid="county-visit-done"' in page
    assert 'data-testid="support-mode-form"' not in page  # the approver records no support mode

    assert logged_in(people["approver"]).post(url, {"mode": "home"}).status_code == 403
    assert logged_in(people["neighbour"]).post(url, {"mode": "home"}).status_code == 404
    assert Case.objects.get(pk=case.pk).details["support_mode"] == "institutional"


def test_county_sampling_page_shows_the_share_and_the_cases_to_visit(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    first = to_county_review(people, clock, "特困页乙")
    second = to_county_review(people, clock, "特困页丙")
    assert (first.sampled_for_county_visit, second.sampled_for_county_visit) == (True, False)
    url = reverse("web:care_county_samples")
    page = logged_in(people["approver"]).get(url, {"year": "2026"}).content.decode()
    assert 'data-testid="sampling-row"' in page
    assert "50%" in page
    assert first.number in page
    assert second.number not in page
    assert "待核查" in page
    outsider = logged_in(people["outsider"]).get(url, {"year": "2026"}).content.decode()
    assert first.number not in outsider
    assert 'data-testid="sampling-row"' not in outsider


def test_the_assistant_sees_due_visits_on_the_phone_and_records_one(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困页丁")
    today = timezone.localdate()
    clock(today)
    plan = care.care_plan_for_case(case, actor=people["approver"], on=today - timedelta(days=28))
    assert plan is not None
    assistant = logged_in(people["assistant"])
    worklist = assistant.get(reverse("web:care_worklist"))
    page = worklist.content.decode()
    assert 'name="viewport"' in page
    assert "特困页丁" in page
    assert 'data-tone="due"' in page
    assert 'data-testid="care-bring-in"' not in page  # bringing plans in is the township's or county's
    english = assistant.get(reverse("web:care_worklist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Visits due" in english
    assert "Last visit" in english

    plan_url = reverse("web:care_plan", args=[plan.pk])
    assert 'data-testid="care-visit-form"' in assistant.get(plan_url).content.decode()
    record = reverse("web:care_visit_record", args=[plan.pk])
    refused = assistant.post(
        record, {"visited_on": today.isoformat(), "living_conditions": "正常", "health": ""}
    )
    assert refused.status_code == 200
    assert "invalid-feedback" in refused.content.decode()
    assert not CareVisit.objects.exists()

    done = assistant.post(
        record,
        {
            "visited_on": today.isoformat(),
            "companions": "村医王五，网格员赵六",
            "living_conditions": "房屋安全，取暖正常",
            "health": "血压平稳",
            "needs": "需要代购药品",
            "follow_up_needed": "on",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("web:care_worklist")
    visit = CareVisit.objects.get()
    assert (visit.companions, visit.follow_up_needed, visit.visitor_id) == (
        ["村医王五", "网格员赵六"],
        True,
        people["assistant"].pk,
    )
    assert CareVisitPlan.objects.get(pk=plan.pk).next_due == today + timedelta(days=30)
    after = assistant.get(reverse("web:care_worklist")).content.decode()
    assert "已录入 特困页丁 的探访记录" in after
    assert 'data-testid="care-row"' not in after  # no longer due
    assert "特困页丁" in assistant.get(reverse("web:care_worklist"), {"all": "1"}).content.decode()
    assert "需要代购药品" in assistant.get(plan_url).content.decode()

    neighbour = logged_in(people["neighbour"])
    assert neighbour.get(plan_url).status_code == 404
    assert (
        neighbour.post(
            record, {"visited_on": today.isoformat(), "living_conditions": "x", "health": "y"}
        ).status_code
        == 404
    )
    assert "特困页丁" not in neighbour.get(reverse("web:care_worklist"), {"all": "1"}).content.decode()
    assert CareVisit.objects.count() == 1


def test_the_township_brings_in_plans_for_cases_approved_before(
    people: dict[str, Staff], clock: Callable[[date], None]
) -> None:
    case = approved(people, clock, "特困页戊")
    CareVisitPlan.objects.filter(case=case).delete()  # as a case approved before plans were made
    clock(timezone.localdate())
    url = reverse("web:care_worklist")
    response = logged_in(people["assistant"]).post(url, follow=True)
    assert "您没有执行此操作的权限" in response.content.decode()
    assert not CareVisitPlan.objects.exists()
    response = logged_in(people["reviewer"]).post(url, follow=True)
    assert "已为 1 名分散供养对象建立探访计划" in response.content.decode()
    logged_in(people["reviewer"]).post(url)
    assert CareVisitPlan.objects.get().case_id == case.pk
    page = logged_in(people["reviewer"]).get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'data-testid="care-plan-link"' in page
