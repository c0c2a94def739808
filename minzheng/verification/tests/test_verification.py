"""A case's verification against the department simulator, a real process answering over signed
callbacks to the live server: authorisations, the request to every department, answers as findings
against the declaration, dispositions and the sealed report; refusals and unknown answers."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from minzheng.cases import services as case_services
from minzheng.cases.models import Case
from minzheng.cases.testing import complete_materials
from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import Conflict, InvalidInput, PermissionDenied, TransitionNotAllowed
from minzheng.core.identifiers import parse_resident_id
from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.registry.circumstances import IncomeItem
from minzheng.registry.models import Household, Membership
from minzheng.registry.services import MemberInput, household_create
from minzheng.registry.testing import resident_id
from minzheng.verification import services
from minzheng.verification.models import Disposition, QueryStatus, RequestStatus
from simulators.departments.data import records_for

pytestmark = pytest.mark.django_db(transaction=True)

VILLAGE = "640202001001"
SEED = 1


def earner(born: date) -> str:
    """A resident ID the simulated tax bureau holds a monthly wage for (its data is a function of
    the number and the seed)."""
    today = timezone.localdate()
    for _ in range(400):
        number = resident_id("640202", born)
        if any(
            r["item_type"] == "wage"
            for r in records_for("tax", parse_resident_id(number), seed=SEED, as_of=today)
        ):
            return number
    raise AssertionError("no wage earner found")


@pytest.fixture
def staff(transactional_db: None) -> dict[str, Staff]:
    build_tree()
    catalogue_load(actor=None)
    return {
        "clerk": make_staff("v_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("v_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county": make_staff("v_county", "640202000000", [Role.COUNTY_REVIEWER]),
    }


def dibao_case(staff: dict[str, Staff]) -> tuple[Case, Household]:
    household = household_create(
        actor=staff["clerk"],
        division_code=VILLAGE,
        address="核对户住址1号",
        area="urban",
        members=[
            MemberInput(name="核对甲", id_number=earner(date(1980, 5, 17)), relationship="head"),
            MemberInput(
                name="核对乙", id_number=resident_id("640202", date(2014, 3, 1)), relationship="child"
            ),
        ],
    )
    Membership.objects.filter(household=household).update(start_date=date(2020, 1, 1))
    case = case_services.case_intake(
        actor=staff["clerk"],
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("dibao"),
    )
    case_services.case_transition(actor=staff["reviewer"], case_id=case.pk, action="start_investigation")
    case_services.visit_record(
        actor=staff["reviewer"],
        case_id=case.pk,
        visited_on=timezone.localdate(),
        investigators=["调查员甲", "调查员乙"],
        findings="入户核实",
        signed_by_applicant=True,
    )
    case_services.case_transition(actor=staff["reviewer"], case_id=case.pk, action="request_verification")
    return Case.objects.get(pk=case.pk), household


def sign_all(staff: dict[str, Staff], case: Case, household: Household) -> None:
    today = timezone.localdate()
    for m in Membership.objects.filter(household=household).select_related("person"):
        minor = m.person.name == "核对乙"
        services.authorisation_record(
            actor=staff["reviewer"],
            case_id=case.pk,
            person_id=m.person_id,
            role="guardian" if minor else "member",
            signer_name="核对甲" if minor else m.person.name,
            signed_on=today,
        )


def test_a_case_from_authorisation_to_a_sealed_report(
    staff: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    case, household = dibao_case(staff)
    callback = department_simulator.callback_base
    with pytest.raises(InvalidInput) as incomplete:
        services.request_send(actor=staff["county"], case_id=case.pk, site=callback)
    assert "核对甲" in incomplete.value.message
    assert "核对乙" in incomplete.value.message
    child = Membership.objects.get(household=household, person__name="核对乙").person
    with pytest.raises(InvalidInput) as minor:
        services.authorisation_record(
            actor=staff["reviewer"],
            case_id=case.pk,
            person_id=child.pk,
            role="member",
            signer_name="核对乙",
            signed_on=timezone.localdate(),
        )
    assert "role" in minor.value.field_errors
    sign_all(staff, case, household)
    with pytest.raises(PermissionDenied):
        services.request_send(actor=staff["reviewer"], case_id=case.pk, site=callback)

    department_simulator.fault("vehicles", "refuse")
    # Answers one after another, after our requests are all out: with SQLite the live server's
    # threads and this one share a connection (on PostgreSQL they would not need to wait).
    departments = ["market", "provident_fund", "public_security", "real_estate", "social_insurance", "tax"]
    for i, code in enumerate(departments):
        department_simulator.configure(code, delay_seconds=2.0 + 0.5 * i)
    request = services.request_send(actor=staff["county"], case_id=case.pk, site=callback)
    assert request.queries.count() == 8
    assert request.queries.get(counterparty="vehicles").status == QueryStatus.REJECTED
    with pytest.raises(Conflict):  # one request at a time
        services.request_send(actor=staff["county"], case_id=case.pk, site=callback)

    def delivered() -> bool:
        state = [department_simulator.transaction(code, request.transaction_id) for code in departments]
        return all(txn and 200 in txn["callbacks"] for txn in state)

    wait_for(delivered, timeout=30)
    request.refresh_from_db()
    assert request.status == RequestStatus.OPEN  # the bank exchanges files: its result is fetched
    bank = request.queries.get(counterparty="bank")
    assert bank.status == QueryStatus.ACKNOWLEDGED
    wait_for(lambda: services.collect(query_id=bank.pk), timeout=30)
    request.refresh_from_db()
    assert request.status == RequestStatus.ANSWERED
    wage = request.findings.get(item="wage_income", person__name="核对甲")
    assert wage.amount is not None
    assert wage.amount > 0
    assert (wage.declared, wage.discrepancy) == (Decimal("0.00"), True)  # nothing declared
    with pytest.raises(Conflict) as undisposed:
        services.report_issue(actor=staff["county"], request_id=request.pk)
    assert "未处理" in undisposed.value.message

    with pytest.raises(TransitionNotAllowed) as no_report:  # the step needs the report
        case_services.case_transition(actor=staff["county"], case_id=case.pk, action="record_verification")
    assert "核对报告" in no_report.value.message
    for finding in request.findings.filter(discrepancy=True):
        services.finding_dispose(
            actor=staff["county"],
            finding_id=finding.pk,
            disposition=Disposition.ACCEPTED,
            note="采信部门数据",
        )
    report = services.report_issue(actor=staff["county"], request_id=request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.REPORTED
    content: dict[str, Any] = report.content
    assert (
        report.sha256
        == hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    )
    refused = next(d for d in content["departments"] if d["code"] == "vehicles")
    assert refused["status"] == "rejected"
    assert any(f["item"] == "wage_income" and f["discrepancy"] for f in content["findings"])
    assert all(len(f["person"]) < 10 for f in content["findings"])  # names, never ID numbers
    with pytest.raises(Conflict):
        services.report_issue(actor=staff["county"], request_id=request.pk)

    # The calculation reads the verified figure: the wage is in the registry from the report's date.
    verified = IncomeItem.objects.get(person=wage.person, category="wages", valid_until__isnull=True)
    assert (verified.monthly_amount, verified.source) == (wage.amount, f"核对报告{report.number}")
    case_services.case_transition(actor=staff["county"], case_id=case.pk, action="record_verification")
    assert Case.objects.get(pk=case.pk).state == "opinion"

    # The applicant contests the wage; the re-check asks the tax bureau about that member only, and
    # its report supersedes the first (both kept).
    with pytest.raises(InvalidInput):
        services.finding_contest(actor=staff["reviewer"], finding_id=wage.pk, statement="已离职", evidence="")
    services.finding_contest(
        actor=staff["reviewer"], finding_id=wage.pk, statement="2026年10月已离职", evidence="离职证明"
    )
    department_simulator.configure("tax", delay_seconds=1.0)
    recheck = services.recheck_send(actor=staff["county"], request_id=request.pk, site=callback)
    assert list(recheck.queries.values_list("counterparty", flat=True)) == ["tax"]

    def rechecked() -> bool:
        txn = department_simulator.transaction("tax", recheck.transaction_id)
        return bool(txn and 200 in txn["callbacks"] and txn["persons"] == 1)

    wait_for(rechecked, timeout=30)
    recheck.refresh_from_db()
    assert recheck.status == RequestStatus.ANSWERED
    for finding in recheck.findings.filter(discrepancy=True):
        services.finding_dispose(
            actor=staff["county"],
            finding_id=finding.pk,
            disposition=Disposition.EXPLAINED,
            note="离职证明属实",
        )
    second = services.report_issue(actor=staff["county"], request_id=recheck.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.SUPERSEDED
    assert second.number != report.number


def test_an_answer_for_an_unknown_transaction_is_refused(
    staff: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    from minzheng.core.errors import NotFound
    from minzheng.exchange.models import Counterparty, Message

    record = Message(counterparty=Counterparty.objects.get(code="tax"))
    with pytest.raises(NotFound), transaction.atomic():
        services.take_answer(
            record=record, header={}, message={"transaction_id": "nope", "search_response": []}
        )


def test_a_recipient_is_verified_again_on_re_review_only(
    staff: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    from minzheng.cases.testing import approved_dibao_case, registered_long_ago
    from minzheng.exchange.models import Counterparty
    from minzheng.payments import services as payments
    from minzheng.payments.models import ReviewTask
    from minzheng.payments.testing import wide_payroll_window
    from minzheng.registry.testing import make_household

    wide_payroll_window()
    approver = make_staff("v_approver", "640202000000", [Role.COUNTY_APPROVER])
    admin = make_staff("v_admin", "640202000000", [Role.COUNTY_ADMIN])
    # Approved before the county was connected to any department (the result recorded by hand).
    Counterparty.objects.update(active=False)
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, "复核户", members=2))
    case = approved_dibao_case(
        household,
        clerk=staff["clerk"],
        reviewer=staff["reviewer"],
        county_reviewer=staff["county"],
        approver=approver,
    )
    enrolment = payments.enrolment_create(
        actor=admin, case_id=case.pk, bank_name="宁夏银行", account_number="6222020200112233446"
    )
    Counterparty.objects.update(active=True)
    site = department_simulator.callback_base
    with pytest.raises(Conflict) as no_task:
        services.recipient_recheck_send(actor=staff["county"], enrolment_id=enrolment.pk, site=site)
    assert "复核任务" in no_task.value.message
    payments.reviews_schedule(on=enrolment.next_review)
    assert ReviewTask.objects.filter(enrolment=enrolment, done_at__isnull=True).exists()
    with pytest.raises(InvalidInput):  # the members sign again for the re-check
        services.recipient_recheck_send(actor=staff["county"], enrolment_id=enrolment.pk, site=site)
    for m in Membership.objects.filter(household=household).select_related("person"):
        services.authorisation_record(
            actor=staff["reviewer"],
            case_id=case.pk,
            person_id=m.person_id,
            role="member",
            signer_name=m.person.name,
            signed_on=timezone.localdate(),
        )
    for code in (
        "market",
        "provident_fund",
        "public_security",
        "real_estate",
        "social_insurance",
        "tax",
        "vehicles",
    ):
        department_simulator.configure(code, delay_seconds=60)  # no answer while this test runs
    request = services.recipient_recheck_send(actor=staff["county"], enrolment_id=enrolment.pk, site=site)
    assert request.case_id == case.pk
    assert request.queries.count() == 8
