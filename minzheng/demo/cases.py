"""Demo applications at every stage, made through the real services with the demo accounts, so the
worklists, warnings, notices and payroll pages have something to show: three households enrolled
from next month and that month's payroll computed, waiting for the approver. Idempotent: nothing is
added when the demo village already has applications."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from minzheng.cases import services as cases
from minzheng.cases.models import Case, PublicNotice
from minzheng.cases.testing import complete_materials
from minzheng.org.models import Staff
from minzheng.payments import orders
from minzheng.payments.models import Enrolment, PaymentOrder
from minzheng.payments.services import enrolment_create, luhn_ok, payroll_compute, payroll_run_request
from minzheng.registry.models import Household
from minzheng.rules.models import Calculation

VILLAGE = "640202001001"


def _calculation(case: Case) -> Calculation | None:
    case.refresh_from_db(fields=["details"])
    return Calculation.objects.filter(pk=case.details.get("calculation_id")).first()


def _demo_funds_and_cash(aided: Case, *, admin: Staff, reviewer: Staff) -> None:
    """The township's funds given their year's money, and the emergency aid given first paid in cash
    from the reserve fund against a receipt (payments.orders), so the order, fund and ledger pages
    have something to show."""
    township = VILLAGE[:9] + "000"
    today = timezone.localdate()
    for kind, amount, note in (
        ("assistance", "50000.00", "大民发〔2026〕12号 临时救助资金预拨"),
        ("reserve", "20000.00", "大民发〔2026〕13号 乡镇（街道）临时救助备用金"),
    ):
        orders.fund_allocate(
            actor=admin, township_code=township, kind=kind, amount=Decimal(amount), month=today, note=note
        )
    order = PaymentOrder.objects.filter(case=aided).first()
    if order is not None:
        orders.order_pay_cash(
            actor=reviewer,
            order_id=order.pk,
            receipt_number=f"BYJ-{today:%Y}-0001",
            paid_on=today,
            recipient_name=aided.applicant_name,
            recipient_signed=True,
            note="先行救助，现金发放",
        )


def _account(n: int) -> str:
    body = f"62284800{n:010d}"
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@transaction.atomic
def build_demo_cases() -> int:
    """Returns the number of applications created (0 when they exist already)."""
    if Case.objects.filter(division_id=VILLAGE).exists():
        return 0
    staff = {s.username: s for s in Staff.objects.filter(username__startswith="dwk_")}
    assistant, clerk = staff["dwk_village_assistant"], staff["dwk_township_clerk"]
    reviewer = staff["dwk_township_reviewer"]
    county_reviewer, approver, admin = (
        staff["dwk_county_reviewer"],
        staff["dwk_county_approver"],
        staff["dwk_county_admin"],
    )
    households = list(Household.objects.filter(division_id=VILLAGE, head__isnull=False).order_by("pk")[:40])
    if len(households) < 20:
        return 0
    made = 0

    def intake(household: Household, item: str = "dibao", **kw: object) -> Case:
        nonlocal made
        made += 1
        assert household.head is not None  # noqa: S101
        return cases.case_intake(
            actor=assistant,
            item_code=item,
            household=household,
            applicant=household.head,
            channel="proxy",
            proxy_name=assistant.full_name,
            proxy_relation="村民政协理员",
            mandate="申请人书面委托书（已存档）",
            materials=kw.pop("materials", complete_materials(item)),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    def to_opinion(case: Case) -> None:
        cases.case_transition(actor=reviewer, case_id=case.pk, action="start_investigation")
        cases.visit_record(
            actor=reviewer,
            case_id=case.pk,
            visited_on=timezone.localdate(),
            investigators=[reviewer.full_name, "马秀兰"],
            findings="入户核实家庭成员、收入和财产情况",
            signed_by_applicant=True,
        )
        cases.case_transition(actor=reviewer, case_id=case.pk, action="request_verification")
        cases.case_transition(
            actor=county_reviewer, case_id=case.pk, action="record_verification", note="核对无异常"
        )
        cases.case_calculate(actor=reviewer, case_id=case.pk)

    tail = households[-3:]
    it = iter(households[:-3])
    for _ in range(3):
        intake(next(it))  # 已受理，待启动调查
    case = intake(next(it))
    cases.case_transition(actor=reviewer, case_id=case.pk, action="start_investigation")
    for _ in range(2):
        case = intake(next(it))
        to_opinion(case)
        calc = _calculation(case)
        if calc is not None and calc.eligible:
            cases.case_transition(
                actor=reviewer, case_id=case.pk, action="propose_approval", note="符合条件，拟纳入"
            )
    approved = refused = 0
    while approved < 3 or refused < 1:
        household = next(it, None)
        if household is None:
            break
        case = intake(household)
        to_opinion(case)
        calc = _calculation(case)
        if calc is None or not calc.eligible:
            if refused < 1:
                cases.case_transition(
                    actor=reviewer,
                    case_id=case.pk,
                    action="propose_refusal",
                    note="家庭人均收入不低于当地低保标准",
                )
                refused += 1
            continue
        if approved >= 3:
            continue
        cases.case_transition(
            actor=reviewer, case_id=case.pk, action="propose_approval", note="符合条件，拟纳入"
        )
        # Demo only: the 7-day notice is dated a week back so the approval can be shown.
        week_ago = timezone.localdate() - timedelta(days=8)
        PublicNotice.objects.filter(case=case).update(
            starts_on=week_ago, ends_on=week_ago + timedelta(days=6)
        )
        cases.case_transition(actor=reviewer, case_id=case.pk, action="close_notice")
        cases.case_transition(actor=approver, case_id=case.pk, action="approve", note="经审核确认，同意纳入")
        approved += 1
        enrolment = enrolment_create(
            actor=admin, case_id=case.pk, bank_name="宁夏黄河农村商业银行", account_number=_account(approved)
        )
    if approved:
        # Demo only: the new enrolments' re-review falls due this month, so that the county's monthly
        # re-check of recipients (在保对象定期核对) has households to check with the departments.
        Enrolment.objects.filter(division__code__startswith=VILLAGE[:6]).update(
            next_review=timezone.localdate().replace(day=1)
        )
        # The first month of the new enrolments, computed and waiting for the approver (审批).
        run = payroll_run_request(actor=admin, county=VILLAGE[:6], month=enrolment.start_month)
        payroll_compute(run_id=run.pk)
    case = intake(
        tail[0],
        "temporary_emergency",
        details={"temporary": {"type": "emergency", "requested_amount": "1500", "cause": "突发疾病"}},
    )
    cases.case_calculate(actor=reviewer, case_id=case.pk)
    cases.case_transition(actor=reviewer, case_id=case.pk, action="aid_first", note="急难情形，先行救助")
    _demo_funds_and_cash(case, admin=admin, reviewer=reviewer)
    intake(tail[1], materials={})  # 材料不全，一次性告知
    case = intake(tail[2], "education_aid")
    cases.case_transition(actor=clerk, case_id=case.pk, action="transfer", note="转县教育局学生资助管理中心")
    return made
