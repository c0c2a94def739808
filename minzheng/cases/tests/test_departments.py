"""Other departments as users: a department account answers the items transferred to its own
department, in its own county, and nothing else."""

from __future__ import annotations

import pytest

from minzheng.cases import departments, services
from minzheng.cases.models import Case, MaterialStatus, Outcome, Transfer
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.selectors import item_materials
from minzheng.core.errors import InvalidInput, NotFound, OutOfScope, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import PartnerDepartment, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household


def transferred(people: dict[str, Staff], household: Household, item: str) -> Case:
    materials = {
        m.pk: (MaterialStatus.FETCHED if m.fetchable_by_office else MaterialStatus.PROVIDED)
        for m in item_materials(item=ServiceItem.objects.get(code=item))
    }
    case = services.case_intake(
        actor=people["clerk"],
        item_code=item,
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="window",
        materials=materials,
    )
    return services.case_transition(actor=people["clerk"], case_id=case.pk, action="transfer", note="转办")


@pytest.fixture
def education(people: dict[str, Staff]) -> Staff:
    return make_staff(
        "edu_bureau", "640202000000", [Role.DEPARTMENT_STAFF], department=PartnerDepartment.EDUCATION
    )


def test_department_sees_only_its_own_open_transfers_in_its_county(
    people: dict[str, Staff], household: Household, education: Staff
) -> None:
    school = transferred(people, household, "education_aid")
    transferred(people, household, "housing_assistance")  # the housing bureau's
    housing = make_staff(
        "housing_bureau", "640202000000", [Role.DEPARTMENT_STAFF], department=PartnerDepartment.HOUSING
    )
    elsewhere = make_staff(
        "edu_elsewhere", "640205000000", [Role.DEPARTMENT_STAFF], department=PartnerDepartment.EDUCATION
    )
    assert [t.case_id for t in departments.department_transfers(actor=education)] == [school.pk]
    assert [t.case.item.code for t in departments.department_transfers(actor=housing)] == [
        "housing_assistance"
    ]
    assert not departments.department_transfers(actor=elsewhere).exists()
    with pytest.raises(PermissionDenied):
        departments.department_transfers(actor=people["clerk"])


def test_department_records_feedback_which_closes_the_case_and_is_audited(
    people: dict[str, Staff], household: Household, education: Staff
) -> None:
    case = transferred(people, household, "education_aid")
    departments.transfer_feedback_record(
        actor=education, case_id=case.pk, feedback="  已纳入秋季学期资助名单 "
    )
    case.refresh_from_db()
    transfer = Transfer.objects.get(case=case)
    assert (case.state, case.outcome) == ("closed", Outcome.TRANSFERRED)
    assert transfer.feedback == "已纳入秋季学期资助名单"
    assert transfer.feedback_on is not None
    event = case.events.get(action="record_feedback")
    assert event.actor == education
    audit = AuditEvent.objects.get(action="cases.record_feedback", object_id=str(case.pk))
    assert audit.actor_id == education.pk
    assert not departments.department_transfers(actor=education).exists()
    assert departments.department_transfers(actor=education, open_only=False).count() == 1


def test_department_cannot_answer_another_departments_transfer_by_any_path(
    people: dict[str, Staff], household: Household, education: Staff
) -> None:
    case = transferred(people, household, "housing_assistance")
    with pytest.raises(NotFound):
        departments.transfer_feedback_record(actor=education, case_id=case.pk, feedback="越权")
    # The generic transition refuses too: the department may act only on its own department's item.
    with pytest.raises(PermissionDenied):
        services.case_transition(
            actor=education, case_id=case.pk, action="record_feedback", data={"feedback": "越权"}
        )
    case.refresh_from_db()
    assert case.state == "transferred"
    assert Transfer.objects.get(case=case).feedback == ""


def test_department_takes_no_other_step_and_no_case_of_another_county(
    people: dict[str, Staff], household: Household, education: Staff
) -> None:
    received = services.case_intake(
        actor=people["clerk"],
        item_code="education_aid",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="window",
        materials={
            m.pk: MaterialStatus.PROVIDED
            for m in item_materials(item=ServiceItem.objects.get(code="education_aid"))
        },
    )
    with pytest.raises(PermissionDenied):
        services.case_transition(actor=education, case_id=received.pk, action="transfer")
    with pytest.raises(PermissionDenied):
        services.case_transition(actor=education, case_id=received.pk, action="withdraw")
    case = services.case_transition(actor=people["clerk"], case_id=received.pk, action="transfer")
    elsewhere = make_staff(
        "edu_elsewhere", "640205000000", [Role.DEPARTMENT_STAFF], department=PartnerDepartment.EDUCATION
    )
    with pytest.raises(OutOfScope):
        services.case_transition(
            actor=elsewhere, case_id=case.pk, action="record_feedback", data={"feedback": "越权"}
        )
    with pytest.raises(NotFound):
        departments.transfer_feedback_record(actor=elsewhere, case_id=case.pk, feedback="越权")


def test_feedback_must_be_given(people: dict[str, Staff], household: Household, education: Staff) -> None:
    case = transferred(people, household, "education_aid")
    with pytest.raises(InvalidInput, match="办理结果"):
        departments.transfer_feedback_record(actor=education, case_id=case.pk, feedback="   ")
    case.refresh_from_db()
    assert case.state == "transferred"


def test_civil_affairs_staff_still_record_feedback_for_departments_without_an_account(
    people: dict[str, Staff], household: Household
) -> None:
    case = transferred(people, household, "education_aid")
    services.case_transition(
        actor=people["clerk"], case_id=case.pk, action="record_feedback", data={"feedback": "电话反馈"}
    )
    assert Transfer.objects.get(case=case).feedback == "电话反馈"
