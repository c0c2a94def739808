"""The monitoring pages: a feed imported on its page (and refused with its row report), the warning's
steps on its page to a pre-filled application, the emergency report, the rules with their figures;
another township gets 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.cases.models import Case
from minzheng.monitoring.models import Feed, Warning
from minzheng.monitoring.tests.test_monitoring import JPEG, VILLAGE, csv_file, number, people
from minzheng.org.models import Staff
from minzheng.registry.testing import make_household, resident_id

pytestmark = pytest.mark.django_db
__all__ = ["people"]


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def upload(client: Client, rows: list[tuple[str, str, str, str]], name: str = "医保.csv") -> object:
    return client.post(
        reverse("web:monitoring_feeds"),
        {
            "county": "640202",
            "department": "区医疗保障局",
            "event_type": "medical_self_pay",
            "period": "2026-11",
            "file": SimpleUploadedFile(name, csv_file(rows), "text/csv"),
        },
    )


def test_a_feed_on_its_page_then_the_warning_to_an_application(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "页面发现户", members=2)
    head = household.head
    assert head is not None
    county = client_for(people["county_reviewer"])
    refused = upload(county, [("12345", "错号", "2026-11-01", "1")])
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "第2行：身份证号无效" in refused.content.decode()  # type: ignore[attr-defined]
    assert not Feed.objects.exists()

    done = upload(
        county,
        [(number(head), "户主", "2026-11-03", "26000"), (resident_id("640202"), "外", "2026-11-03", "1")],
    )
    feed = Feed.objects.get()
    assert done["Location"] == reverse("web:monitoring_feed", args=[feed.pk])  # type: ignore[index]
    warning = Warning.objects.get(person=head)
    assert f'data-testid="warning-{warning.pk}"' in county.get(reverse("web:monitoring")).content.decode()

    township = client_for(people["reviewer"])
    url = reverse("web:monitoring_warning", args=[warning.pk])
    assert township.post(url, {"action": "accept"}).status_code == 302
    alone = township.post(
        url,
        {
            "action": "visit",
            "visited_on": timezone.localdate().isoformat(),
            "workers": "张三",
            "findings": "在家",
        },
    )
    assert alone.status_code == 422
    assert "入户核实须有两名以上工作人员" in alone.content.decode()
    visited = township.post(
        url,
        {
            "action": "visit",
            "visited_on": timezone.localdate().isoformat(),
            "workers": "张三、李四",
            "findings": "户主重病住院",
            "photo1": SimpleUploadedFile("现场.jpg", JPEG, "image/jpeg"),
        },
    )
    assert visited.status_code == 302
    photo_id = Warning.objects.get(pk=warning.pk).visits.get().photos.get().pk
    shown = township.get(reverse("web:monitoring_photo", args=[warning.pk, photo_id]))
    assert shown.status_code == 200
    assert shown.content == JPEG
    assert township.post(url, {"action": "verify", "true": "1", "note": "属实"}).status_code == 302
    clerk = client_for(people["clerk"])
    disposed = clerk.post(
        url, {"action": "dispose", "outcome": "application", "item_code": "dibao", "reason": "引导申请"}
    )
    assert disposed.status_code == 302
    case = Case.objects.get(details__warning=warning.pk)
    page = clerk.get(url).content.decode()
    assert case.number in page
    assert 'data-state="disposed"' in page

    far = client_for(people["far_reviewer"])
    assert far.get(url).status_code == 404
    assert far.post(url, {"action": "accept"}).status_code == 404


def test_an_emergency_from_the_village_and_the_rules_page(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "急难页面户", members=1)
    assistant = client_for(people["assistant"])
    wrong = assistant.post(
        reverse("web:monitoring_emergency"),
        {
            "household_number": household.number,
            "member_name": "不存在",
            "kind": "disaster",
            "description": "房屋倒塌",
        },
    )
    assert wrong.status_code == 422
    assert household.head is not None
    made = assistant.post(
        reverse("web:monitoring_emergency"),
        {
            "household_number": household.number,
            "member_name": household.head.name,
            "kind": "disaster",
            "description": "房屋倒塌",
        },
    )
    warning = Warning.objects.get(household=household)
    assert made["Location"] == reverse("web:monitoring_warning", args=[warning.pk])
    assert warning.due_on == timezone.localdate()

    county = client_for(people["county_reviewer"])
    page = county.get(reverse("web:monitoring_rules")).content.decode()
    assert 'data-testid="rule-medical_self_pay"' in page
    bad = county.post(
        reverse("web:monitoring_rules"),
        {
            "code": "medical_self_pay", "name": "医疗自付", "region": "640202", "valid_from": date(2026, 1, 1).isoformat(),
            "event_type": "medical_self_pay", "threshold": "-5", "cohorts": ["dibao"], "direction": "needs_help",
            "severity": "2", "dedupe_days": "90", "active": "on",
        },
    )  # fmt: skip
    assert bad.status_code == 422


def test_cohorts_counted_per_township_and_a_monitored_person_recorded(people: dict[str, Staff]) -> None:
    from minzheng.monitoring.models import CohortMembership
    from minzheng.payments.testing import enrolled_household

    enrolled_household(people, "监测低保户")  # two members: dibao
    household = make_household(people["clerk"], VILLAGE, "防返贫户", members=1)
    assert household.head is not None
    county = client_for(people["county_reviewer"])
    bad = county.post(
        reverse("web:monitoring_cohorts"),
        {"id_number": "123", "cohort": "return_risk", "since": "2026-01-01", "source": "名单"},
    )
    assert bad.status_code == 422
    assert not CohortMembership.objects.exists()
    done = county.post(
        reverse("web:monitoring_cohorts"),
        {
            "id_number": number(household.head),
            "cohort": "return_risk",
            "since": "2026-01-01",
            "source": "乡村振兴局名单",
        },
    )
    assert done.status_code == 302
    page = county.get(reverse("web:monitoring_cohorts")).content.decode()
    row = page.split('data-testid="cohort-640202001000"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('<td class="text-end">')[1:]]
    assert cells[:6] == ["2", "0", "0", "0", "1", "0"]  # dibao 2, return-risk 1
    township = client_for(people["far_reviewer"])
    assert "防返贫户" not in township.get(reverse("web:monitoring_cohorts")).content.decode()
