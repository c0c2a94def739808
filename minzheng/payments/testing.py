"""Test helpers for payments: a payroll window wide enough for tests that run many months, a\nstandard raised as a county raises it."""

from __future__ import annotations

from datetime import date

from minzheng.org.models import Staff
from minzheng.payments.models import Enrolment
from minzheng.rules import services as rules_services
from minzheng.rules.models import ParameterValue, ValueStatus


def wide_payroll_window(*, region: str = "640202", months: int = 120) -> None:
    """Let runs be requested for any month within `months` of today in `region` (the dated
    parameters payroll.months_before / months_after, approved as a county would)."""
    for name in ("payroll.months_before", "payroll.months_after"):
        ParameterValue.objects.create(
            name=name,
            region=region,
            area="all",
            effective_from=date(2000, 1, 1),
            value=str(months),
            reference="测试：放宽发放月份范围",
            source="test",
            status=ValueStatus.APPROVED,
        )


def raise_dibao_standard(
    *, proposer: Staff, approver: Staff, effective_from: date, value: str = "700"
) -> None:
    """The urban dibao standard of 640202 raised from `effective_from`, proposed and approved as a
    county does (石大政发〔2026〕20号 in the tests)."""
    proposal = rules_services.parameter_propose(
        actor=proposer,
        name="dibao.standard",
        region="640202",
        area="urban",
        effective_from=effective_from,
        value=value,
        reference="石大政发〔2026〕20号",
        reason="提标",
    )
    rules_services.parameter_approve(actor=approver, value_id=proposal.pk)


TEST_ACCOUNT = "6222020200112233446"  # passes the Luhn check


def county_people(prefix: str) -> dict[str, Staff]:
    """The staff a payments test acts with in 640202 (usernames start with `prefix`): the township's
    clerk, reviewer and head, the county's reviewer, approver and administrator, and another
    county's administrator (outsider). Needs the division tree and the catalogue loaded."""
    from minzheng.org.roles import Role
    from minzheng.org.testing import make_staff

    township, county = "640202001000", "640202000000"
    return {
        "clerk": make_staff(f"{prefix}_clerk", township, [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff(f"{prefix}_reviewer", township, [Role.TOWNSHIP_REVIEWER]),
        "head": make_staff(f"{prefix}_head", township, [Role.TOWNSHIP_HEAD]),
        "county_reviewer": make_staff(f"{prefix}_county_reviewer", county, [Role.COUNTY_REVIEWER]),
        "approver": make_staff(f"{prefix}_approver", county, [Role.COUNTY_APPROVER]),
        "admin": make_staff(f"{prefix}_admin", county, [Role.COUNTY_ADMIN]),
        "outsider": make_staff(f"{prefix}_outsider", "640205000000", [Role.COUNTY_ADMIN]),
    }


def enrolled_household(
    people: dict[str, Staff], name: str, *, village: str = "640202001001", account: str = TEST_ACCOUNT
) -> Enrolment:
    """A two-member household of `village` approved for dibao through every statutory step and
    enrolled, paid to `account`."""
    from minzheng.cases.testing import approved_dibao_case, registered_long_ago
    from minzheng.payments import services
    from minzheng.registry.testing import make_household

    household = registered_long_ago(make_household(people["clerk"], village, name, members=2))
    case = approved_dibao_case(
        household,
        clerk=people["clerk"],
        reviewer=people["reviewer"],
        county_reviewer=people["county_reviewer"],
        approver=people["approver"],
    )
    return services.enrolment_create(
        actor=people["admin"], case_id=case.pk, bank_name="宁夏银行", account_number=account
    )
