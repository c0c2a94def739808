"""Monitoring and active discovery: a department's feed imported whole or not at all, the rules
evaluated over it (cohorts, threshold, new discovery, deduplication, routing), the closed loop of a
warning to a pre-filled application, a re-check that never stops a payment, emergency reports and
the escalation of overdue warnings."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from minzheng.cases.models import Case, Channel
from minzheng.catalogue.services import catalogue_load
from minzheng.core import protect
from minzheng.core.errors import Conflict, InvalidInput, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.core.uploads import Upload
from minzheng.monitoring import services
from minzheng.monitoring.models import Feed, FeedRecord, Outcome, Warning, WarningRule, WarningState
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.payments.models import EnrolmentStatus, ReviewTask
from minzheng.payments.testing import county_people, enrolled_household, wide_payroll_window
from minzheng.registry.models import Household, Person
from minzheng.registry.testing import make_household, resident_id

pytestmark = pytest.mark.django_db
VILLAGE = "640202001001"
OTHER_TOWNSHIP_VILLAGE = "640202100201"
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64


@pytest.fixture
def people(db: None) -> dict[str, Staff]:
    build_tree()
    catalogue_load(actor=None)
    wide_payroll_window()
    found = county_people("mo")
    found["assistant"] = make_staff("mo_assistant", VILLAGE, [Role.VILLAGE_ASSISTANT])
    found["far_reviewer"] = make_staff("mo_far", "640202100000", [Role.TOWNSHIP_REVIEWER])
    return found


def number(person: Person) -> str:
    return protect.decrypt(person.id_encrypted)


def csv_file(rows: list[tuple[str, str, str, str]], header: str = "身份证号,姓名,日期,金额,说明") -> bytes:
    lines = [header] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def medical(
    people: dict[str, Staff], rows: list[tuple[str, str, str, str]], name: str = "医保11月.csv"
) -> Feed:
    return services.feed_import(
        actor=people["county_reviewer"],
        county="640202",
        department="区医疗保障局",
        event_type="medical_self_pay",
        period=date(2026, 11, 1),
        file_name=name,
        content=csv_file(rows),
    )


def test_a_feed_with_a_bad_row_or_column_imports_nothing(people: dict[str, Staff]) -> None:
    good = resident_id("640202", date(1970, 1, 1))
    with pytest.raises(InvalidInput) as bad_rows:
        medical(
            people,
            [(good, "甲", "2026-11-03", "100"), ("123", "乙", "2026-11-04", "5"), (good, "丙", "11/5", "1")],
        )
    assert bad_rows.value.field_errors["rows"][0].startswith("第3行：身份证号无效")
    assert bad_rows.value.field_errors["rows"][1] == "第4行：日期应为 YYYY-MM-DD"
    with pytest.raises(InvalidInput) as bad_header:
        services.feed_import(
            actor=people["county_reviewer"],
            county="640202",
            department="医保局",
            event_type="medical_self_pay",
            period=date(2026, 11, 1),
            file_name="x.csv",
            content=csv_file([(good, "甲", "2026-11-03", "1")], header="身份证号,姓名,日期,金额,病种"),
        )
    assert bad_header.value.field_errors["file"] == ["未知的列：病种"]
    assert not Feed.objects.exists()
    assert not FeedRecord.objects.exists()


def test_rules_find_the_monitored_and_the_new_and_route_them(people: dict[str, Staff]) -> None:
    recipient = enrolled_household(people, "低保户")
    head = Household.objects.get(pk=recipient.household_id).head
    assert head is not None
    far_clerk = make_staff("mo_far_clerk", "640202100000", [Role.TOWNSHIP_CLERK])
    stranger_household = make_household(far_clerk, OTHER_TOWNSHIP_VILLAGE, "非监测户", members=1)
    stranger = stranger_household.head
    assert stranger is not None
    unknown = resident_id("640202", date(1965, 2, 2))  # not registered
    feed = medical(
        people,
        [
            (number(head), "户主", "2026-11-03", "6000.00"),
            (number(head), "户主", "2026-11-20", "4500.50"),  # together above 10,000
            (number(stranger), "外人", "2026-11-09", "12000"),
            (unknown, "未登记", "2026-11-10", "30000"),
        ],
    )
    assert (feed.rows, feed.matched, feed.warnings) == (4, 3, 2)
    dibao = Warning.objects.get(person=head)
    assert dibao.amount == Decimal("10500.50")
    assert dibao.records == 2
    assert dibao.cohorts == "dibao"
    assert not dibao.discovery
    assert dibao.township_code == "640202001000"
    assert dibao.due_on == timezone.localdate() + timedelta(days=15)
    found = Warning.objects.get(person=stranger)
    assert found.discovery  # outside every cohort: a new discovery
    assert found.township_code == "640202100000"
    # The same person again within the rule's window: no second warning.
    again = medical(people, [(number(head), "户主", "2026-12-01", "20000")], name="医保12月.csv")
    assert again.warnings == 0
    assert Warning.objects.filter(person=head).count() == 1
    with pytest.raises(Conflict):
        medical(people, [(number(head), "户主", "2026-12-01", "20000")], name="again.csv")


def test_a_county_tunes_a_rule_from_a_date(people: dict[str, Staff]) -> None:
    with pytest.raises(InvalidInput) as bad:
        services.rule_version_create(
            actor=people["county_reviewer"], code="medical_self_pay", region="640202", valid_from=date(2026, 1, 1),
            name="医疗自付", event_type="medical_self_pay", threshold=Decimal("-1"), cohorts=["dibao"],
            outside_cohorts=False, direction="needs_help", severity=2, dedupe_days=90, active=True, reference="",
        )  # fmt: skip
    assert "threshold" in bad.value.field_errors
    services.rule_version_create(
        actor=people["county_reviewer"], code="medical_self_pay", region="640202", valid_from=date(2026, 1, 1),
        name="医疗自付（本区）", event_type="medical_self_pay", threshold=Decimal("3000"), cohorts=["dibao"],
        outside_cohorts=False, direction="needs_help", severity=2, dedupe_days=90, active=True,
        reference="石大民发〔2026〕1号",
    )  # fmt: skip
    chosen = {r.code: r for r in services.rules_in_force("640202", timezone.localdate())}
    assert chosen["medical_self_pay"].threshold == Decimal("3000.00")
    assert {r.code: r for r in services.rules_in_force("640205", timezone.localdate())}[
        "medical_self_pay"
    ].threshold == Decimal("10000.00")
    assert WarningRule.objects.filter(code="medical_self_pay").count() == 2


def test_a_warning_from_visit_to_a_pre_filled_application(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "发现户", members=2)
    head = household.head
    assert head is not None
    medical(people, [(number(head), "户主", "2026-11-03", "25000")])
    warning = Warning.objects.get(person=head)
    with pytest.raises(OutOfScope):
        services.warning_accept(actor=people["far_reviewer"], warning_id=warning.pk)
    services.warning_accept(actor=people["reviewer"], warning_id=warning.pk)
    today = timezone.localdate()
    with pytest.raises(InvalidInput) as alone:
        services.warning_visit(
            actor=people["assistant"],
            warning_id=warning.pk,
            visited_on=today,
            workers=["张协理"],
            findings="在家",
        )
    assert alone.value.field_errors["workers"] == ["入户核实须有两名以上工作人员"]
    visit = services.warning_visit(
        actor=people["assistant"],
        warning_id=warning.pk,
        visited_on=today,
        workers=["张协理", "李干部"],
        findings="户主住院，家庭收入骤减",
        photos=[Upload("现场.jpg", "image/jpeg", JPEG)],
    )
    assert visit.photos.count() == 1
    with pytest.raises(InvalidInput):  # a reason is required
        services.warning_verify(actor=people["reviewer"], warning_id=warning.pk, true=True, note=" ")
    services.warning_verify(actor=people["reviewer"], warning_id=warning.pk, true=True, note="属实")
    with pytest.raises(InvalidInput) as no_reason:
        services.warning_dispose(
            actor=people["reviewer"],
            warning_id=warning.pk,
            outcome=Outcome.APPLICATION,
            reason="",
            item_code="dibao",
        )
    assert "reason" in no_reason.value.field_errors
    with pytest.raises(PermissionDenied):  # the township reviewer does not take applications in
        services.warning_dispose(
            actor=people["reviewer"], warning_id=warning.pk, outcome=Outcome.APPLICATION, reason="引导申请低保",
            item_code="dibao",
        )  # fmt: skip
    disposed = services.warning_dispose(
        actor=people["clerk"], warning_id=warning.pk, outcome=Outcome.APPLICATION, reason="引导申请低保",
        item_code="dibao",
    )  # fmt: skip
    assert disposed.case_id is not None
    case = Case.objects.get(pk=disposed.case_id)
    assert case.channel == Channel.DISCOVERY
    assert case.details["warning"] == warning.pk
    assert disposed.state == WarningState.DISPOSED
    assert AuditEvent.objects.filter(action="monitoring.warning_disposed", object_id=str(warning.pk)).exists()


def test_a_recipient_found_dead_is_re_checked_never_stopped(people: dict[str, Staff]) -> None:
    recipient = enrolled_household(people, "在保户")
    head = Household.objects.get(pk=recipient.household_id).head
    assert head is not None
    feed = services.feed_import(
        actor=people["county_reviewer"], county="640202", department="区公安分局", event_type="death",
        period=date(2026, 11, 1), file_name="死亡.csv", content=csv_file([(number(head), "户主", "2026-11-02", "")]),
    )  # fmt: skip
    assert feed.warnings == 1
    warning = Warning.objects.get(person=head)
    assert warning.direction == "may_not_qualify"
    services.warning_accept(actor=people["reviewer"], warning_id=warning.pk)
    services.warning_visit(
        actor=people["reviewer"], warning_id=warning.pk, visited_on=timezone.localdate(),
        workers=["王审核", "赵协理"], findings="户主已去世",
    )  # fmt: skip
    services.warning_verify(actor=people["reviewer"], warning_id=warning.pk, true=True, note="已去世")
    services.warning_dispose(
        actor=people["reviewer"], warning_id=warning.pk, outcome=Outcome.RECHECK, reason="复核家庭人口"
    )
    task = ReviewTask.objects.get(enrolment=recipient, kind="warning")
    assert task.done_at is None
    recipient.refresh_from_db()
    assert recipient.status == EnrolmentStatus.ACTIVE


def test_a_false_warning_is_closed_with_a_reason_only(people: dict[str, Staff]) -> None:
    household = make_household(people["clerk"], VILLAGE, "误报户", members=1)
    head = household.head
    assert head is not None
    medical(people, [(number(head), "户主", "2026-11-03", "25000")])
    warning = Warning.objects.get(person=head)
    services.warning_accept(actor=people["reviewer"], warning_id=warning.pk)
    services.warning_visit(
        actor=people["reviewer"], warning_id=warning.pk, visited_on=timezone.localdate(),
        workers=["王审核", "赵协理"], findings="已由商业保险报销",
    )  # fmt: skip
    services.warning_verify(
        actor=people["reviewer"], warning_id=warning.pk, true=False, note="商业保险已报销"
    )
    with pytest.raises(InvalidInput):
        services.warning_dispose(
            actor=people["reviewer"],
            warning_id=warning.pk,
            outcome=Outcome.APPLICATION,
            reason="x",
            item_code="dibao",
        )
    services.warning_dispose(
        actor=people["reviewer"], warning_id=warning.pk, outcome=Outcome.NO_ACTION, reason="不属实"
    )
    assert Warning.objects.get(pk=warning.pk).verified is False


def test_an_emergency_is_due_today_and_an_overdue_warning_goes_to_the_county(
    people: dict[str, Staff],
) -> None:
    household = make_household(people["clerk"], VILLAGE, "急难户", members=2)
    head = household.head
    assert head is not None
    with pytest.raises(InvalidInput):
        services.emergency_report(
            actor=people["assistant"],
            household_id=household.pk,
            person_id=head.pk,
            kind="flood",
            description="x",
        )
    warning = services.emergency_report(
        actor=people["assistant"], household_id=household.pk, person_id=head.pk, kind="disaster",
        description="房屋因暴雨倒塌",
    )  # fmt: skip
    assert (warning.severity, warning.due_on, warning.township_code) == (
        3,
        timezone.localdate(),
        "640202001000",
    )
    assert services.warnings_escalate(today=timezone.localdate()) == 0
    assert services.warnings_escalate(today=timezone.localdate() + timedelta(days=1)) == 1
    assert Warning.objects.get(pk=warning.pk).escalated_at is not None
    assert services.warnings_escalate(today=timezone.localdate() + timedelta(days=2)) == 0  # once
