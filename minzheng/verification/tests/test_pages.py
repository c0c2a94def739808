"""The verification pages: the authorisation checklist and its form on a case, 提请核对 refused
while someone is missing, a request sent to the department simulator (a real process answering
at the live server) followed on its page until the answers are in, discrepancies disposed of and
the report issued and printed; another county's case, request, finding and report stay hidden.

With SQLite the live server's threads and the test share one connection: the simulator's answers
are staggered and the test waits on the simulator's state, never on the database, before reading
pages again."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.catalogue.services import catalogue_load
from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.registry.models import Membership
from minzheng.verification import services
from minzheng.verification.models import (
    Authorisation,
    Disposition,
    Finding,
    QueryStatus,
    Report,
    RequestStatus,
    VerificationRequest,
)
from minzheng.verification.tests.test_verification import dibao_case, sign_all

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERING = ["market", "provident_fund", "public_security", "real_estate", "social_insurance", "tax"]


@pytest.fixture
def people(transactional_db: None) -> dict[str, Staff]:
    build_tree()
    catalogue_load(actor=None)
    return {
        "clerk": make_staff("v_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("v_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county": make_staff("v_county", "640202000000", [Role.COUNTY_REVIEWER]),
        "other_county": make_staff("v_other", "640205000000", [Role.COUNTY_REVIEWER]),
    }


def client_for(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_the_checklist_says_who_is_missing_and_records_an_authorisation(people: dict[str, Staff]) -> None:
    case, household = dibao_case(people)
    head = Membership.objects.get(household=household, person__name="核对甲").person
    child = Membership.objects.get(household=household, person__name="核对乙").person
    reviewer = client_for(people["reviewer"])
    url = reverse("web:case_verification", args=[case.pk])

    page = reviewer.get(url).content.decode()
    assert "尚缺以下成员的核对授权：核对甲、核对乙" in page
    assert page.count('data-signed="no"') == 2
    case_page = reviewer.get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'data-testid="verification-panel"' in case_page
    assert "核对授权尚缺 2 人" in case_page

    post = reverse("web:case_authorisation", args=[case.pk])
    today = timezone.localdate().isoformat()
    refused = reviewer.post(
        post, {"person": child.pk, "role": "member", "signer_name": "核对乙", "signed_on": today}
    )
    assert refused.status_code == 422
    assert "未成年人的授权由其监护人签署" in refused.content.decode()
    future = reviewer.post(
        post, {"person": head.pk, "role": "member", "signer_name": "核对甲", "signed_on": "2999-01-01"}
    )
    assert future.status_code == 422
    nobody = reviewer.post(post, {"role": "member", "signer_name": "核对甲", "signed_on": today})
    assert "请选择被核对人，或填写义务人身份证号" in nobody.content.decode()
    assert not Authorisation.objects.exists()

    done = reviewer.post(
        post,
        {
            "person": head.pk,
            "role": "member",
            "signer_name": "核对甲",
            "signed_on": today,
            "reference": "SQ-1",
        },
    )
    assert done.status_code == 302
    signed = Authorisation.objects.get(case=case)
    assert (signed.person_id, signed.role, signed.reference) == (head.pk, "member", "SQ-1")
    again = reviewer.post(
        post, {"person": head.pk, "role": "member", "signer_name": "核对甲", "signed_on": today}
    )
    assert "该人员的核对授权已登记" in again.content.decode()
    page = reviewer.get(url).content.decode()
    assert "尚缺以下成员的核对授权：核对乙" in page
    english = reviewer.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Authorisations still missing for: 核对乙" in english
    assert "Record an authorisation" in english
    assert Authorisation.objects.count() == 1

    # Another county sees nothing of this case, and cannot sign for it.
    other = client_for(people["other_county"])
    assert other.get(url).status_code == 404
    assert (
        other.post(
            post, {"person": child.pk, "role": "guardian", "signer_name": "x", "signed_on": today}
        ).status_code
        == 404
    )
    assert Authorisation.objects.count() == 1


def test_a_request_is_refused_until_every_member_has_signed(people: dict[str, Staff]) -> None:
    case, _household = dibao_case(people)
    send = reverse("web:case_verification_send", args=[case.pk])
    assert client_for(people["reviewer"]).post(send).status_code == 403  # the county asks
    refused = client_for(people["county"]).post(send)
    assert refused.status_code == 422
    assert "核对授权不完整，尚缺：核对甲、核对乙" in refused.content.decode()
    assert not VerificationRequest.objects.exists()


def collect_bank(request: VerificationRequest) -> None:
    """The bank exchanges files: its result file is fetched (the worker's sweep does it in service),
    once the API departments' callbacks are all in."""
    bank = request.queries.get(counterparty="bank")
    wait_for(lambda: services.collect(query_id=bank.pk), timeout=30)


def delivered(simulator: DepartmentSimulator, count: int) -> Any:
    def check() -> bool:
        txns = simulator.state()["transactions"]
        answered = [t for t in txns if t["department"] in ANSWERING and 200 in t["callbacks"]]
        return len(answered) == count

    return check


def test_a_request_followed_on_its_page_disposed_of_and_reported(
    people: dict[str, Staff], department_simulator: DepartmentSimulator, settings: Any
) -> None:
    settings.MINZHENG_EXCHANGE_CALLBACK_BASE = department_simulator.callback_base
    case, household = dibao_case(people)
    sign_all(people, case, household)
    department_simulator.fault("vehicles", "refuse")
    for i, code in enumerate(ANSWERING):
        department_simulator.configure(code, delay_seconds=3.0 + 0.5 * i)
    county = client_for(people["county"])

    sent = county.post(reverse("web:case_verification_send", args=[case.pk]))
    assert sent.status_code == 302
    request = VerificationRequest.objects.get(case=case)
    assert sent["Location"] == reverse("web:verification", args=[request.pk])
    page = county.get(sent["Location"]).content.decode()
    assert 'data-testid="query-tax" data-state="acknowledged"' in page
    assert 'data-testid="query-vehicles" data-state="rejected"' in page
    assert 'hx-trigger="every 3s"' in page  # the states are polled while departments are to answer
    assert "待反馈" in page
    assert "拒绝" in page

    wait_for(delivered(department_simulator, len(ANSWERING)), timeout=40)
    url = reverse("web:verification", args=[request.pk])
    assert 'data-testid="query-bank" data-state="acknowledged"' in county.get(url).content.decode()
    collect_bank(request)
    polled = county.get(url, headers={"HX-Request": "true"})
    assert polled["HX-Refresh"] == "true"  # the answers are in: the whole page again
    page = county.get(url).content.decode()
    assert 'data-testid="query-tax" data-state="answered"' in page
    assert "与申报不符" in page
    assert "工资性收入（月均）" in page
    assert "hx-trigger" not in page

    # The report waits for every discrepancy to be disposed of.
    refused = county.post(reverse("web:verification_report_issue", args=[request.pk]), follow=True)
    assert "与申报不符的核对结果未处理" in refused.content.decode()
    assert not Report.objects.exists()
    wage = Finding.objects.get(request=request, item="wage_income", person__name="核对甲")
    dispose = reverse("web:finding_dispose", args=[wage.pk])
    bad = county.post(dispose, {"disposition": "accepted", "note": ""})
    assert bad.status_code == 422
    assert "请选择采信或说明，并填写处理说明" in bad.content.decode()
    wage.refresh_from_db()
    assert wage.disposition == Disposition.PENDING
    assert (
        client_for(people["reviewer"]).post(dispose, {"disposition": "accepted", "note": "x"}).status_code
        == 403
    )
    for finding in Finding.objects.filter(request=request, discrepancy=True):
        done = county.post(
            reverse("web:finding_dispose", args=[finding.pk]),
            {"disposition": "explained", "note": "一次性收入"},
        )
        assert done.status_code == 302
    wage.refresh_from_db()
    assert (wage.disposition, wage.disposition_note) == (Disposition.EXPLAINED, "一次性收入")

    # Another county: the request, its findings and its report are not found.
    other = client_for(people["other_county"])
    assert other.get(url).status_code == 404
    assert other.post(dispose, {"disposition": "accepted", "note": "越权"}).status_code == 404
    assert other.post(reverse("web:verification_report_issue", args=[request.pk])).status_code == 404
    assert "核对甲" not in other.get(reverse("web:verifications"), {"status": "all"}).content.decode()

    issued = county.post(reverse("web:verification_report_issue", args=[request.pk]))
    assert issued.status_code == 302
    report = Report.objects.get(request=request)
    assert issued["Location"] == reverse("web:verification_report", args=[report.pk])
    request.refresh_from_db()
    assert request.status == RequestStatus.REPORTED
    sheet = county.get(issued["Location"]).content.decode()
    assert report.number in sheet
    assert report.sha256 in sheet
    assert "部门拒绝" in sheet  # the vehicles department refused, and the report says so
    assert "已核实说明（不采信）：一次性收入" in sheet
    assert other.get(issued["Location"]).status_code == 404
    assert request.queries.get(counterparty="vehicles").status == QueryStatus.REJECTED

    listing = county.get(reverse("web:verifications"), {"status": "reported"}).content.decode()
    assert case.number in listing
    assert case.number not in county.get(reverse("web:verifications")).content.decode()  # not in progress


def test_a_finding_of_an_issued_report_is_contested_on_its_page(people: dict[str, Staff]) -> None:
    from decimal import Decimal

    from minzheng.verification.models import DepartmentQuery

    case, household = dibao_case(people)
    today = timezone.localdate()
    reported = VerificationRequest.objects.create(
        case=case,
        household=household,
        county="640202",
        transaction_id="txn-contest",
        as_of=today,
        status=RequestStatus.REPORTED,
        requested_by=people["county"],
    )
    query = DepartmentQuery.objects.create(
        request=reported, counterparty="tax", status=QueryStatus.ANSWERED, due_on=today
    )
    finding = Finding.objects.create(
        request=reported,
        query=query,
        person=household.head,
        person_key="0" * 64,
        item="wage_income",
        description="工资薪金所得（月均）",
        amount=Decimal("3000.00"),
        declared=Decimal("0.00"),
        discrepancy=True,
        disposition=Disposition.ACCEPTED,
        disposition_note="采信",
    )
    Report.objects.create(
        request=reported, number="HD-contest", content={}, sha256="0" * 64, issued_by=people["county"]
    )
    page = reverse("web:verification", args=[reported.pk])
    reviewer = client_for(people["reviewer"])
    assert f'data-testid="contest-{finding.pk}"' in reviewer.get(page).content.decode()
    url = reverse("web:finding_contest", args=[finding.pk])
    refused = reviewer.post(url, {"statement": "已离职", "evidence": ""}, follow=True)
    assert "请填写异议内容和证明材料" in refused.content.decode()
    finding.refresh_from_db()
    assert finding.disposition == Disposition.ACCEPTED
    reviewer.post(url, {"statement": "2026年10月已离职", "evidence": "离职证明"})
    finding.refresh_from_db()
    assert finding.disposition == Disposition.CONTESTED
    assert 'data-testid="recheck"' in client_for(people["county"]).get(page).content.decode()
    assert (
        client_for(people["other_county"]).post(url, {"statement": "x", "evidence": "y"}).status_code == 404
    )
