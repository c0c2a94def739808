"""Test support: cases driven through the real services to a given point; the SMS gateway simulator
as a real process (pytest fixture `sms_gateway`, configured as MINZHENG_SMS_GATEWAY_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from minzheng.cases import services
from minzheng.cases.models import Case, MaterialStatus, PublicNotice
from minzheng.catalogue.selectors import item_get, item_materials
from minzheng.org.models import Staff
from minzheng.registry.models import Household, Membership, Person
from simulators import harness


def registered_long_ago(household: Household) -> Household:
    """Members registered well before any test clock, so facts "as of" that day include them."""
    Membership.objects.filter(household=household).update(start_date=date(2020, 1, 1))
    return household


def complete_materials(item_code: str) -> dict[int, str]:
    return {
        m.pk: (MaterialStatus.FETCHED if m.fetchable_by_office else MaterialStatus.PROVIDED)
        for m in item_materials(item=item_get(code=item_code))
    }


def approved_dibao_case(
    household: Household, *, clerk: Staff, reviewer: Staff, county_reviewer: Staff, approver: Staff
) -> Case:
    """A dibao case for `household` taken through every statutory step to county confirmation."""
    assert household.head is not None  # noqa: S101
    case = services.case_intake(
        actor=clerk,
        item_code="dibao",
        household=household,
        applicant=household.head,
        materials=complete_materials("dibao"),
    )
    services.case_transition(actor=reviewer, case_id=case.pk, action="start_investigation")
    services.visit_record(
        actor=reviewer,
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["调查员甲", "调查员乙"],
        findings="入户核实",
        signed_by_applicant=True,
    )
    services.case_transition(actor=reviewer, case_id=case.pk, action="request_verification")
    services.case_transition(actor=county_reviewer, case_id=case.pk, action="record_verification")
    services.case_calculate(actor=reviewer, case_id=case.pk)
    services.case_transition(actor=reviewer, case_id=case.pk, action="propose_approval", note="拟纳入")
    PublicNotice.objects.filter(case=case).update(starts_on=date(2020, 1, 1), ends_on=date(2020, 1, 7))
    services.case_transition(actor=reviewer, case_id=case.pk, action="close_notice")
    services.case_transition(actor=approver, case_id=case.pk, action="approve", note="同意")
    case.refresh_from_db()
    return case


def decided_review_case(
    household: Household,
    *,
    item_code: str,
    applicant: Person | None = None,
    details: dict[str, Any] | None = None,
    clerk: Staff,
    reviewer: Staff,
    township_head: Staff | None = None,
    approver: Staff | None = None,
) -> Case:
    """A case of a review workflow (temporary expense aid, disability subsidies, child allowance,
    elderly allowance, medical aid) taken through intake, investigation and calculation to
    approval: by the township where the item is delegated to it, else by the county."""
    applicant = applicant or household.head
    assert applicant is not None  # noqa: S101
    case = services.case_intake(
        actor=clerk,
        item_code=item_code,
        household=household,
        applicant=applicant,
        details=details or {},
        materials=complete_materials(item_code),
    )
    services.case_transition(actor=reviewer, case_id=case.pk, action="start_investigation")
    services.visit_record(
        actor=reviewer,
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["调查员甲", "调查员乙"],
        findings="入户核实",
        signed_by_applicant=True,
    )
    services.case_calculate(actor=reviewer, case_id=case.pk)
    case.refresh_from_db()
    if case.decided_at_township:
        services.case_transition(actor=reviewer, case_id=case.pk, action="submit_township", note="拟批准")
        assert township_head is not None  # noqa: S101
        services.case_transition(actor=township_head, case_id=case.pk, action="approve_township", note="同意")
    else:
        services.case_transition(actor=reviewer, case_id=case.pk, action="submit_county", note="拟批准")
        assert approver is not None  # noqa: S101
        services.case_transition(actor=approver, case_id=case.pk, action="approve", note="同意")
    case.refresh_from_db()
    return case


@dataclass
class SmsGateway(harness.SimulatorProcess):
    def messages(self) -> list[dict[str, Any]]:
        return self.state()["messages"]  # type: ignore[no-any-return]

    def fault(self, mode: str) -> None:
        self.call("POST", "/admin/faults", {"mode": mode})


@pytest.fixture(scope="session")
def sms_gateway_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsGateway]:
    log = tmp_path_factory.mktemp("sms") / "sms.log"
    process, url = harness.start_process("SMS gateway simulator", "simulators.sms", ["--verbose"], log)
    gateway = SmsGateway("SMS gateway simulator", url, process, log)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def sms_gateway(sms_gateway_process: SmsGateway, settings: Any) -> Iterator[SmsGateway]:
    """The simulator, reset, as this test's SMS gateway."""
    sms_gateway_process.reset()
    settings.MINZHENG_SMS_GATEWAY_URL = f"{sms_gateway_process.url}/sms"
    try:
        yield sms_gateway_process
    finally:
        sms_gateway_process.reset()


PDF = b"%PDF-1.4\n%%EOF\n"  # the smallest file the upload check takes as a PDF


def online_case_missing_materials(clerk: Staff, *, id_number: str, phone: str) -> Case:
    """A dibao application made online in 640202001001 by 赵网申, to which `clerk` has sent the
    one-time notice of missing materials (the applicant's side starts from here)."""
    case = services.case_submit_online(
        item_code="dibao",
        division_code="640202001001",
        applicant_name="赵网申",
        id_number=id_number,
        phone=phone,
    )
    services.case_transition(actor=clerk, case_id=case.pk, action="notify_missing", note="请补充")
    case.refresh_from_db()
    return case
