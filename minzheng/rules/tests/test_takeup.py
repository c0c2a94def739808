"""Take-up gap (应保尽保): the county's scan, the worklists by jurisdiction, an application started from a
row, and the pages and API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.cases.models import Case, Channel
from minzheng.cases.services import case_intake
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.testing import make_service_item
from minzheng.core.errors import Conflict, InvalidInput, NotFound, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.payments.models import Enrolment
from minzheng.registry.models import Household, Membership
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household
from minzheng.rules.models import TakeUpGap, TakeUpScan
from minzheng.rules.takeup import TakeUpAction, takeup_gap_start, takeup_gaps, takeup_scan, takeup_summary

DAY = date(2026, 12, 1)


@dataclass
class County:
    qualifies: Household  # 长胜社区, dibao 100 a month, nothing received or applied for
    enrolled: Household  # 长胜社区, qualifies and is paid dibao
    applied: Household  # 长胜社区, qualifies and has an open dibao application
    well_off: Household  # 长胜社区, income above the line
    rural: Household  # 星光村 (星海镇), qualifies
    elsewhere: Household  # 惠农区: another county, never scanned
    reviewer: Staff
    assistant: Staff  # 长胜社区
    clerk: Staff  # 长胜街道


def _with_wages(actor: Staff, village: str, name: str, wages: str) -> Household:
    household = make_household(actor, village, name, members=2)
    circumstance_record(
        actor=actor,
        kind="income",
        subject=household.head,  # type: ignore[arg-type]
        valid_from=date(2026, 1, 1),
        values={"category": "wages", "monthly_amount": wages},
    )
    return household


@pytest.fixture
def county(tree: dict[str, Division]) -> County:
    """Two-person households: urban dibao standard 650 (threshold 1300), rural 星光村 likewise by its own."""
    for code in ("dibao", "extreme_poverty", "elderly_allowance", "disability_living", "disability_care"):
        make_service_item(code, code)
    registrar = make_staff("t_registrar", "640202000000", [Role.TOWNSHIP_CLERK])
    other = make_staff("t_other", "640205001000", [Role.TOWNSHIP_CLERK])
    clerk = make_staff("t_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    qualifies = _with_wages(registrar, "640202001001", "未申请户", "1200")
    enrolled = _with_wages(registrar, "640202001001", "在保户", "1200")
    applied = _with_wages(registrar, "640202001001", "在办户", "1200")
    well_off = _with_wages(registrar, "640202001001", "高收入户", "5000")
    rural = _with_wages(registrar, "640202100201", "星光户", "300")
    elsewhere = _with_wages(other, "640205001001", "外县户", "100")
    Membership.objects.update(start_date=date(2020, 1, 1))
    closed = Case.objects.create(
        number="T-ENROLLED",
        item=ServiceItem.objects.get(code="dibao"),
        workflow="dibao",
        division_id="640202001001",
        household=enrolled,
        applicant=enrolled.head,
        applicant_name="在保户",
        applicant_id_digest=enrolled.head.id_digest,  # type: ignore[union-attr]
        applicant_id_masked=enrolled.head.id_masked,  # type: ignore[union-attr]
        channel="window",
        state="approved",
        outcome="approved",
        closed_at="2026-01-05T00:00:00Z",
    )
    Enrolment.objects.create(
        programme="dibao",
        case=closed,
        household=enrolled,
        payee=enrolled.head,  # type: ignore[misc]
        division_id="640202001001",
        monthly_amount=Decimal("100.00"),
        start_month=date(2026, 2, 1),
        bank_name="银行",
        account_encrypted="-",
        account_masked="6222***********3446",
        next_review=date(2027, 2, 1),
        created_by=registrar,
    )
    case_intake(actor=clerk, item_code="dibao", household=applied, applicant=applied.head)  # type: ignore[arg-type]
    return County(
        qualifies=qualifies,
        enrolled=enrolled,
        applied=applied,
        well_off=well_off,
        rural=rural,
        elsewhere=elsewhere,
        reviewer=make_staff("t_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        assistant=make_staff("t_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        clerk=clerk,
    )


def _dibao(gaps: object) -> dict[int, TakeUpGap]:
    return {g.household_id: g for g in gaps if g.programme == "dibao"}  # type: ignore[attr-defined]


def test_scan_lists_who_qualifies_and_receives_nothing(county: County) -> None:
    scan = takeup_scan(actor=county.reviewer, county="640202", day=DAY)
    assert scan.households == 5  # the county's, not 惠农区's
    rows = _dibao(TakeUpGap.objects.filter(scan=scan))
    assert set(rows) == {county.qualifies.pk, county.rural.pk}
    gap = rows[county.qualifies.pk]
    # 2 x 650 = 1300 against 1200 counted: 100 a month.
    assert (gap.amount_fen, gap.members, gap.income_fen, gap.per_capita_income_fen, gap.standard_fen) == (
        10_000,
        2,
        120_000,
        60_000,
        65_000,
    )
    assert gap.division_code == "640202001001"
    assert scan.by_programme["dibao"] == 2
    assert scan.gaps == TakeUpGap.objects.filter(scan=scan).count()
    assert any(p["name"] == "dibao.standard" for p in scan.parameters)
    event = AuditEvent.objects.get(action=TakeUpAction.SCAN)
    assert event.after["gaps"] == scan.gaps  # type: ignore[index]


def test_only_county_staff_scan_their_own_county(county: County) -> None:
    with pytest.raises(PermissionDenied):
        takeup_scan(actor=county.assistant, county="640202", day=DAY)
    with pytest.raises(OutOfScope):
        takeup_scan(actor=county.reviewer, county="640205", day=DAY)
    assert not TakeUpScan.objects.exists()


def test_worklists_follow_the_jurisdiction(county: County) -> None:
    takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    assert set(_dibao(takeup_gaps(actor=county.reviewer))) == {county.qualifies.pk, county.rural.pk}
    assert set(_dibao(takeup_gaps(actor=county.clerk))) == {county.qualifies.pk}
    assert set(_dibao(takeup_gaps(actor=county.assistant))) == {county.qualifies.pk}
    village = takeup_gaps(actor=county.reviewer, division="640202100201")
    assert [g.household_id for g in village] == [county.rural.pk]
    with pytest.raises(NotFound):
        takeup_gaps(actor=county.assistant, division="640202100201")
    townships, villages = takeup_summary(actor=county.reviewer, programme="dibao")
    assert [(t.code, t.households, t.monthly_fen) for t in townships] == [
        ("640202001000", 1, 10_000),
        ("640202100000", 1, townships[1].monthly_fen),
    ]
    assert [v.code for v in villages] == ["640202001001", "640202100201"]


def test_take_up_starts_an_application_and_a_rescan_replaces_the_open_rows(county: County) -> None:
    first = takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    gap = _dibao(TakeUpGap.objects.filter(scan=first))[county.qualifies.pk]
    with pytest.raises(NotFound):  # another township's assistant cannot reach it
        takeup_gap_start(
            actor=make_staff("t_far", "640202100201", [Role.VILLAGE_ASSISTANT]),
            gap_id=gap.pk,
            intake=case_intake,
            channel=Channel.DISCOVERY,
        )
    taken = takeup_gap_start(
        actor=county.assistant, gap_id=gap.pk, intake=case_intake, channel=Channel.DISCOVERY, note="入户发现"
    )
    assert taken.case_id is not None
    case = Case.objects.get(pk=taken.case_id)
    assert (case.household_id, case.item.code, case.channel) == (county.qualifies.pk, "dibao", "discovery")
    assert case.details["source"] == "active_discovery"
    assert case.details["takeup_gap"] == gap.pk
    assert case.details["calculated_monthly_amount"] == "100.00"
    assert taken.case_number == case.number
    assert taken.taken_up_by_id == county.assistant.pk
    assert AuditEvent.objects.filter(action=TakeUpAction.TAKE_UP, object_id=str(gap.pk)).count() == 1
    with pytest.raises(Conflict):
        takeup_gap_start(actor=county.assistant, gap_id=gap.pk, intake=case_intake, channel=Channel.DISCOVERY)
    assert not _dibao(takeup_gaps(actor=county.assistant))
    assert set(_dibao(takeup_gaps(actor=county.assistant, taken_up=True))) == {county.qualifies.pk}

    second = takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    # The household now has an open application: not listed again; the rural one is, once.
    assert set(_dibao(TakeUpGap.objects.filter(scan=second))) == {county.rural.pk}
    open_rows = TakeUpGap.objects.filter(taken_up_at__isnull=True)
    assert list(open_rows.values_list("scan_id", flat=True)) == [second.pk]
    assert TakeUpGap.objects.filter(scan=first).get().pk == gap.pk  # the taken-up row is kept
    assert TakeUpScan.objects.count() == 2


def test_the_worklist_page_lists_and_takes_up(county: County) -> None:
    takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    client = Client()
    client.force_login(county.assistant)
    page = client.get(reverse("web:takeup"))
    assert page.status_code == 200
    body = page.content.decode()
    assert county.qualifies.number in body
    assert county.rural.number not in body
    assert "发起申请（主动发现）" in body
    gap = TakeUpGap.objects.get(household=county.qualifies, programme="dibao")
    detail = client.get(reverse("web:takeup_gap", args=[gap.pk]))
    assert detail.status_code == 200
    assert "600.00" in detail.content.decode()  # per capita
    posted = client.post(reverse("web:takeup_gap", args=[gap.pk]), {})
    gap.refresh_from_db()
    assert posted.status_code == 302
    assert posted["Location"] == reverse("web:case", args=[gap.case_id])
    # The assistant may not scan.
    assert client.post(reverse("web:takeup"), {"county": "640202", "day": "2026-12-01"}).status_code == 403
    reviewer = Client()
    reviewer.force_login(county.reviewer)
    scanned = reviewer.post(
        reverse("web:takeup"), {"county": "640202", "day": "2026-12-01", "programmes": ["dibao"]}
    )
    assert scanned.status_code == 302
    assert TakeUpScan.objects.count() == 2


def test_the_api_scans_lists_and_takes_up(county: County) -> None:
    _, reviewer_token = api_token_issue(actor=county.reviewer, name="scan")
    _, assistant_token = api_token_issue(actor=county.assistant, name="visit")
    reviewer = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {reviewer_token}")
    assistant = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {assistant_token}")
    refused = assistant.post(
        "/api/v1/takeup/scans", {"county": "640202", "day": "2026-12-01"}, content_type="application/json"
    )
    assert refused.status_code == 403
    made = reviewer.post(
        "/api/v1/takeup/scans",
        {"county": "640202", "day": "2026-12-01", "programmes": ["dibao"]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["by_programme"] == {"dibao": 2}
    listed = assistant.get("/api/v1/takeup/gaps", {"programme": "dibao"}).json()
    assert listed["count"] == 1
    row = listed["items"][0]
    assert (row["household_id"], row["monthly_amount"], row["per_capita_income"], row["standard"]) == (
        county.qualifies.pk,
        "100.00",
        "600.00",
        "650.00",
    )
    assert reviewer.get("/api/v1/takeup/gaps", {"programme": "dibao"}).json()["count"] == 2
    summary = reviewer.get("/api/v1/takeup/summary", {"programme": "dibao"}).json()
    assert [t["code"] for t in summary["townships"]] == ["640202001000", "640202100000"]
    taken = assistant.post(
        f"/api/v1/takeup/gaps/{row['id']}/take-up", {"note": "入户核实"}, content_type="application/json"
    )
    assert taken.status_code == 200, taken.content
    assert taken.json()["case_number"]
    again = assistant.post(f"/api/v1/takeup/gaps/{row['id']}/take-up", {}, content_type="application/json")
    assert again.status_code == 409
    foreign = TakeUpGap.objects.get(household=county.rural, programme="dibao")
    assert assistant.get(f"/api/v1/takeup/gaps/{foreign.pk}").status_code == 404
    assert (
        assistant.post(
            f"/api/v1/takeup/gaps/{foreign.pk}/take-up", {}, content_type="application/json"
        ).status_code
        == 404
    )
    assert assistant.get("/api/v1/takeup/scans").status_code == 200


def test_a_take_up_under_another_programmes_item_is_refused(county: County) -> None:
    takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    gap = TakeUpGap.objects.get(household=county.qualifies, programme="dibao")
    with pytest.raises(InvalidInput) as exc:
        takeup_gap_start(
            actor=county.assistant,
            gap_id=gap.pk,
            intake=case_intake,
            channel=Channel.DISCOVERY,
            item_code="elderly_allowance",
        )
    assert "item_code" in exc.value.field_errors
    gap.refresh_from_db()
    assert gap.taken_up_at is None
    assert not Case.objects.filter(household=county.qualifies).exists()


def test_the_pages_in_english(county: County) -> None:
    takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    client = Client()
    client.force_login(county.reviewer)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("web:takeup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Take-up gaps: households that qualify and receive nothing" in page
    assert "Start the scan" in page
    gap = TakeUpGap.objects.get(household=county.qualifies, programme="dibao")
    detail = client.get(reverse("web:takeup_gap", args=[gap.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Monthly income per person" in detail
    assert "应保尽保" not in detail


def test_a_row_out_of_date_is_not_taken_up_twice(county: County) -> None:
    """An application made at the window after the scan: taking the row up is refused, no second case."""
    scan = takeup_scan(actor=county.reviewer, county="640202", day=DAY, programmes=["dibao"])
    gap = _dibao(TakeUpGap.objects.filter(scan=scan))[county.qualifies.pk]
    window = case_intake(
        actor=county.clerk,
        item_code="dibao",
        household=county.qualifies,
        applicant=county.qualifies.head,  # type: ignore[arg-type]
    )
    with pytest.raises(Conflict) as refused:
        takeup_gap_start(actor=county.assistant, gap_id=gap.pk, intake=case_intake, channel=Channel.DISCOVERY)
    assert window.number in refused.value.message
    assert Case.objects.filter(household=county.qualifies).count() == 1
