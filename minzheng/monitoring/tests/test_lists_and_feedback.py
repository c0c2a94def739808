"""A whole monitored list imported from one file (whole or not at all, persons already monitored not
recorded twice, scope enforced in the data), and the feedback to a feed's source department
(interim while warnings are open, final once all are disposed, kept sealed) — through the service,
the pages and the API with a bearer token."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from minzheng.core.errors import Conflict, InvalidInput, NotFound, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.monitoring import services
from minzheng.monitoring.models import CohortImport, CohortMembership, FeedFeedback, Outcome, Warning
from minzheng.monitoring.tests.test_api import Api
from minzheng.monitoring.tests.test_monitoring import (
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    csv_file,
    medical,
    number,
    people,
)
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Person
from minzheng.registry.testing import make_household, resident_id

pytestmark = pytest.mark.django_db
__all__ = ["people"]
HEADER = "身份证号,姓名,监测类别,纳入日期,退出日期"


def listing(rows: list[tuple[str, ...]]) -> bytes:
    return ("\n".join([HEADER] + [",".join(r) for r in rows]) + "\n").encode("utf-8")


def heads(people: dict[str, Staff], village: str, n: int) -> list[Person]:
    found = []
    for i in range(n):
        household = make_household(people["clerk"], village, f"名单户{i}", members=1)
        assert household.head is not None
        found.append(household.head)
    return found


def test_a_list_is_taken_whole_or_not_at_all(people: dict[str, Staff]) -> None:
    a, b, c = heads(people, VILLAGE, 3)
    services.cohort_record(
        actor=people["county_reviewer"], person_id=a.pk, cohort="return_risk",
        since=date(2026, 1, 1), until=None, source="单个登记",
    )  # fmt: skip
    unknown = resident_id("640202", date(1966, 3, 3))
    bad = listing(
        [
            (number(a), "甲", "防止返贫监测对象", "2026-11-01", ""),
            (unknown, "未登记", "防止返贫监测对象", "2026-11-01", ""),
            (number(b), "乙", "低保对象", "2026-11-01", ""),
            (number(c), "丙", "other", "2026-11-01", "2026-10-01"),
            (number(c), "丙", "other", "2026/11/01", ""),
        ]
    )
    with pytest.raises(InvalidInput) as refused:
        services.cohort_import(
            actor=people["county_reviewer"], county="640202", source="区乡村振兴局11月名单",
            file_name="名单.csv", content=bad,
        )  # fmt: skip
    rows = refused.value.field_errors["rows"]
    assert rows[0].startswith("第4行：监测类别应为")
    assert rows[1] == "第5行：退出日期不能早于纳入日期"
    assert rows[2] == "第6行：日期应为 YYYY-MM-DD"
    # Rows that parse but name persons not registered: found in the database, still nothing written.
    unregistered = listing(
        [
            (number(b), "乙", "防止返贫监测对象", "2026-11-01", ""),
            (unknown, "未登记", "other", "2026-11-01", ""),
        ]
    )
    with pytest.raises(InvalidInput) as missing:
        services.cohort_import(
            actor=people["county_reviewer"], county="640202", source="名单",
            file_name="名单2.csv", content=unregistered,
        )  # fmt: skip
    assert missing.value.field_errors["rows"] == ["第3行：该身份证号未在家庭档案中登记"]
    assert CohortMembership.objects.count() == 1
    assert not CohortImport.objects.exists()
    good = listing(
        [
            (number(a), "甲", "防止返贫监测对象", "2026-11-01", ""),  # already monitored since January
            (number(b), "乙", "return_risk", "2026-11-01", ""),
            (number(c), "丙", "其他困难人员", "2026-11-01", "2027-10-31"),
        ]
    )
    batch = services.cohort_import(
        actor=people["county_reviewer"], county="640202", source="区乡村振兴局11月名单",
        file_name="名单.xlsx.csv", content=good,
    )  # fmt: skip
    assert (batch.rows, batch.added, batch.already) == (3, 2, 1)
    assert CohortMembership.objects.filter(person=a).count() == 1
    made = CohortMembership.objects.get(person=c)
    assert (made.cohort, made.since, made.until, made.source, made.imported_from_id) == (
        "other", date(2026, 11, 1), date(2027, 10, 31), "区乡村振兴局11月名单", batch.pk,
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="monitoring.cohort_imported", object_id=str(batch.pk)).exists()
    with pytest.raises(Conflict):
        services.cohort_import(
            actor=people["county_reviewer"], county="640202", source="again", file_name="x.csv", content=good
        )


def test_a_list_naming_someone_outside_the_jurisdiction_is_refused(people: dict[str, Staff]) -> None:
    (near,) = heads(people, VILLAGE, 1)
    far_clerk = make_staff("mo_far_clerk2", "640202100000", [Role.TOWNSHIP_CLERK])
    far = make_household(far_clerk, OTHER_TOWNSHIP_VILLAGE, "他乡户", members=1).head
    assert far is not None
    township = make_staff("mo_town_manager", "640202001000", [Role.TOWNSHIP_REVIEWER])
    content = listing(
        [(number(near), "近", "other", "2026-11-01", ""), (number(far), "远", "other", "2026-11-01", "")]
    )
    if not township.can(services.Perm.MONITORING_MANAGE):
        with pytest.raises(PermissionDenied):
            services.cohort_import(
                actor=township, county="640202", source="名单", file_name="x.csv", content=content
            )
    with pytest.raises(OutOfScope):
        services.cohort_import(
            actor=people["county_reviewer"],
            county="640203",
            source="名单",
            file_name="x.csv",
            content=content,
        )
    assert not CohortMembership.objects.exists()


def test_feedback_goes_back_interim_then_final(people: dict[str, Staff]) -> None:
    (head,) = heads(people, VILLAGE, 1)
    unknown = resident_id("640202", date(1961, 4, 4))
    feed = medical(
        people,
        [(number(head), "户主", "2026-11-03", "25000"), (unknown, "未登记", "2026-11-04", "1")],
    )
    interim = services.feed_feedback_issue(actor=people["county_reviewer"], feed_id=feed.pk)
    assert (interim.rows, interim.open_warnings, interim.final) == (2, 1, False)
    assert interim.sha256 == hashlib.sha256(bytes(interim.content)).hexdigest()
    sheet = load_workbook(io.BytesIO(bytes(interim.content))).worksheets[0]
    lines = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    warning = Warning.objects.get(person=head)
    assert (lines[0][0], lines[0][4], lines[0][5]) == (2, "已登记", warning.number)
    assert lines[0][6] == "待签收"
    assert (lines[1][4], lines[1][5]) == ("未登记", None)
    assert number(head) not in str(lines)  # masked, never the full number
    reviewer = people["reviewer"]
    services.warning_accept(actor=reviewer, warning_id=warning.pk)
    services.warning_visit(
        actor=reviewer, warning_id=warning.pk, visited_on=timezone.localdate(),
        workers=["王审核", "赵协理"], findings="已由商业保险报销",
    )  # fmt: skip
    services.warning_verify(actor=reviewer, warning_id=warning.pk, true=False, note="已报销")
    services.warning_dispose(
        actor=reviewer, warning_id=warning.pk, outcome=Outcome.NO_ACTION, reason="不属实"
    )
    final = services.feed_feedback_issue(actor=people["county_reviewer"], feed_id=feed.pk)
    assert (final.open_warnings, final.final) == (0, True)
    sheet = load_workbook(io.BytesIO(bytes(final.content))).worksheets[0]
    first = next(sheet.iter_rows(min_row=3, values_only=True))
    assert (first[6], first[7], first[8]) == ("已处置", "不属实", "无需处置")
    assert FeedFeedback.objects.filter(feed=feed).count() == 2
    with pytest.raises(NotFound):
        services.feed_feedback_issue(actor=make_staff("mo_other_county", "640205000000", [Role.COUNTY_REVIEWER]),
                                     feed_id=feed.pk)  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.feed_feedback_issue(actor=people["assistant"], feed_id=feed.pk)


def test_pages_import_a_list_and_issue_feedback(people: dict[str, Staff]) -> None:
    (head,) = heads(people, VILLAGE, 1)
    client = Client()
    client.force_login(people["county_reviewer"])
    url = reverse("web:monitoring_cohorts")
    refused = client.post(
        url,
        {
            "form": "import", "county": "640202", "source": "名单",
            "file": SimpleUploadedFile("名单.csv", listing([(number(head), "甲", "低保对象", "2026-11-01", "")])),
        },
    )  # fmt: skip
    assert refused.status_code == 422
    assert "第2行：监测类别应为" in refused.content.decode()
    assert not CohortMembership.objects.exists()
    done = client.post(
        url,
        {
            "form": "import", "county": "640202", "source": "区乡村振兴局名单",
            "file": SimpleUploadedFile("名单.csv", listing([(number(head), "甲", "return_risk", "2026-11-01", "")])),
        },
        follow=True,
    )  # fmt: skip
    assert "新登记1人" in done.content.decode()
    assert CohortMembership.objects.filter(person=head, cohort="return_risk").exists()
    feed = medical(people, [(number(head), "户主", "2026-11-03", "25000")])
    page = client.post(reverse("web:monitoring_feed", args=[feed.pk]), follow=True)
    assert "尚有1条预警未处置" in page.content.decode()
    feedback = FeedFeedback.objects.get(feed=feed)
    download = client.get(reverse("web:monitoring_feed_feedback", args=[feed.pk, feedback.pk]))
    assert download.status_code == 200
    assert download.content == bytes(feedback.content)
    assistant = Client()
    assistant.force_login(people["assistant"])
    assert assistant.post(reverse("web:monitoring_feed", args=[feed.pk])).status_code in (403, 404)
    assert FeedFeedback.objects.count() == 1


def test_the_api_imports_a_list_and_issues_feedback(people: dict[str, Staff]) -> None:
    (head,) = heads(people, VILLAGE, 1)
    county = Api(people["county_reviewer"])
    bad = county.client.post(
        "/api/v1/monitoring/cohort-imports",
        {"county": "640202", "source": "名单",
         "file": SimpleUploadedFile("x.csv", b"\xe8\xba\xab\xe4\xbb\xbd,foo\n1,2\n")},
        headers=county.headers,
    )  # fmt: skip
    assert bad.status_code == 422
    assert set(bad.json()) == {"code", "message", "field_errors"}
    made = county.client.post(
        "/api/v1/monitoring/cohort-imports",
        {"county": "640202", "source": "名单",
         "file": SimpleUploadedFile("x.csv", listing([(number(head), "甲", "other", "2026-11-01", "")]))},
        headers=county.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.content
    assert (made.json()["added"], made.json()["already"]) == (1, 0)
    assert county.get("/api/v1/monitoring/cohort-imports").json()[0]["id"] == made.json()["id"]
    feed = services.feed_import(
        actor=people["county_reviewer"], county="640202", department="区医疗保障局", event_type="medical_self_pay",
        period=date(2026, 11, 1), file_name="f.csv", content=csv_file([(number(head), "甲", "2026-11-03", "25000")]),
    )  # fmt: skip
    issued = county.post(f"/api/v1/monitoring/feeds/{feed.pk}/feedback")
    assert issued.status_code == 201
    assert issued.json()["final"] is False
    listed = county.get(f"/api/v1/monitoring/feeds/{feed.pk}/feedback").json()
    assert [f["id"] for f in listed] == [issued.json()["id"]]
    file = county.get(f"/api/v1/monitoring/feed-feedback/{issued.json()['id']}/file")
    assert file.status_code == 200
    assert hashlib.sha256(file.content).hexdigest() == issued.json()["sha256"]
    other = Api(make_staff("mo_other_county_api", "640205000000", [Role.COUNTY_REVIEWER]))
    assert other.get(f"/api/v1/monitoring/feed-feedback/{issued.json()['id']}/file").status_code == 404
    assert other.post(f"/api/v1/monitoring/feeds/{feed.pk}/feedback").status_code == 404
