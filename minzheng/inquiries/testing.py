"""Test support: a household in dibao with a severely disabled member, one in another county, and
the disability federation's account (残联) of 大武口区."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from minzheng.cases.services import case_intake
from minzheng.catalogue.models import MaterialRequirement
from minzheng.catalogue.services import catalogue_load
from minzheng.core import protect
from minzheng.org.models import PartnerDepartment, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments.models import Enrolment
from minzheng.registry.models import Household, Person
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household


@dataclass
class Served:
    """A dibao household of 大武口区 (head and child), the child severely disabled, and a household
    of 惠农区 in dibao too."""

    household: Household
    head: Person
    child: Person
    elsewhere: Household

    def id_number(self, person: Person) -> str:
        return protect.decrypt(person.id_encrypted)


def enrol(household: Household, creator: Staff) -> Enrolment:
    materials = {m.pk: "provided" for m in MaterialRequirement.objects.filter(item__code="dibao")}
    case = case_intake(
        actor=creator,
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="window",
        materials=materials,
    )
    today = timezone.localdate()
    return Enrolment.objects.create(
        programme="dibao",
        case=case,
        household=household,
        payee=household.head,  # type: ignore[misc]
        division_id=household.division_id,
        monthly_amount=Decimal("1300.00"),
        start_month=date(today.year, today.month, 1),
        bank_name="银行",
        account_encrypted="-",
        account_masked="6222***********3446",
        next_review=date(today.year + 1, 1, 1),
        created_by=creator,
    )


def make_served() -> Served:
    """Needs the test division tree (minzheng.org.testing.build_tree)."""
    catalogue_load(actor=None)
    clerk = make_staff("i_clerk", "640202001000", [Role.TOWNSHIP_CLERK])
    other_clerk = make_staff("i_other_clerk", "640205001000", [Role.TOWNSHIP_CLERK])
    household = make_household(clerk, "640202001001", "王大山", members=2)
    elsewhere = make_household(other_clerk, "640205001001", "李远方", members=1)
    enrol(household, clerk)
    enrol(elsewhere, other_clerk)
    child = Person.objects.get(name="王大山家1")
    circumstance_record(
        actor=clerk,
        kind="disability",
        subject=child,
        valid_from=date(2020, 1, 1),
        values={"certificate_number": "64020220080109002", "category": "physical", "grade": 1},
    )
    return Served(household, household.head, child, elsewhere)  # type: ignore[arg-type]


def make_federation() -> Staff:
    return make_staff(
        "cl_federation",
        "640202000000",
        [Role.DEPARTMENT_STAFF],
        department=PartnerDepartment.DISABILITY_FEDERATION,
    )
