"""Each computed indicator against a hand computation, the rounding, the loaded table, and the
traffic-light rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from minzheng.cases.testing import decided_review_case, registered_long_ago
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.payments import services as payment_services
from minzheng.payments.models import Enrolment
from minzheng.plans import compute, progress
from minzheng.plans.models import EntryKind, EntryStatus, IndicatorEntry, Plan
from minzheng.plans.tests.conftest import indicator
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household
from minzheng.rules import services as rules_services

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"


def test_the_seed_table_is_loaded_with_its_figures(plan: Plan) -> None:
    rows = {i.number: i for i in plan.indicators.all()}
    assert len(rows) == 14
    assert plan.region == "640202"
    assert (plan.baseline_year, plan.target_year) == (2020, 2025)
    assert (rows[2].baseline_value, rows[2].target_value, rows[2].attribute) == (
        Decimal("63.3"),
        75,
        "expected",
    )
    assert (rows[1].baseline_text, rows[1].target_comparison) == ("—", "relative")
    assert rows[1].target_text == "不低于居民上年度人均消费支出增速"
    assert (rows[3].baseline_value, rows[3].target_value, rows[3].attribute) == (38, 60, "binding")
    assert (rows[5].unit, rows[5].target_value) == ("个", 1)
    assert (rows[6].unit, rows[6].target_text, rows[6].target_comparison) == ("平方米", ">30", "gt")
    assert (rows[7].baseline_value, rows[7].target_value) == (1100, 1400)
    assert (rows[8].baseline_value, rows[8].target_value) == (160, 300)
    assert (rows[12].baseline_value, rows[12].attribute) == (90, "binding")
    assert (rows[13].baseline_text, rows[13].baseline_value, rows[14].baseline_text) == (">96", 96, ">96")
    binding = sorted(n for n, i in rows.items() if i.attribute == "binding")
    assert binding == [3, 5, 11, 12, 13, 14]
    computed = sorted(n for n, i in rows.items() if i.computation)
    assert computed == [1, 2, 13, 14]


def test_rounding_is_half_up_to_one_decimal() -> None:
    assert compute.round_percent(Decimal(1), Decimal(16)) == Decimal("6.3")  # 6.25: half-even gives 6.2
    assert compute.round_percent(Decimal("70.75"), Decimal(100)) == Decimal("70.8")
    assert compute.round_percent(Decimal(1), Decimal(3)) == Decimal("33.3")


def test_rural_urban_ratio_from_the_dated_standards_is_70_8(plan: Plan) -> None:
    # Hand computation: 5,520 元/年 ÷ 12 = 460 元/月; 460 ÷ 650 = 0.707692… -> 70.8 %.
    found = compute.compute(indicator(plan, 2), 2025)
    assert found.value == Decimal("70.8")
    assert found.inputs["urban_monthly"]["value"] == "650.00"
    assert found.inputs["rural_monthly"]["value"] == "460.00"
    assert found.inputs["rural_annual"] == "5520.00"
    assert found.inputs["day"] == "2025-12-31"
    assert "石大政发〔2022〕69号" in found.inputs["urban_monthly"]["reference"]
    # Before the district's standards took effect there is nothing to compute with.
    assert compute.compute(indicator(plan, 2), 2021).value is None


def _raise(people: dict[str, Staff], area: str, value: str, on: date) -> None:
    proposal = rules_services.parameter_propose(
        actor=people["admin"], name="dibao.standard", region="640202", area=area, effective_from=on,
        value=value, reference="石大政发〔2026〕20号（测试）", reason="提标",
    )  # fmt: skip
    rules_services.parameter_approve(actor=people["approver"], value_id=proposal.pk)


def _approved(ind_id: int, year: int, kind: str, value: str, people: dict[str, Staff]) -> None:
    IndicatorEntry.objects.create(
        indicator_id=ind_id, year=year, kind=kind, value=Decimal(value), source="测试", evidence_name="e.pdf",
        evidence_type="application/pdf", evidence_size=5, evidence_sha256="0" * 64, evidence_content=b"%PDF-",
        entered_by=people["admin"], status=EntryStatus.APPROVED, decided_by=people["approver"],
        decided_at=timezone.now(),
    )  # fmt: skip


def test_growth_of_the_standards_is_the_lower_of_urban_and_rural(
    plan: Plan, people: dict[str, Staff]
) -> None:
    growth = indicator(plan, 1)
    # Unchanged since 2022: 650 -> 650 and 460 -> 460 is 0 % growth.
    assert compute.compute(growth, 2025).value == Decimal("0.0")
    # 2021's end has no district standard: no growth for 2022.
    assert compute.compute(growth, 2022).value is None
    year = timezone.localdate().year
    _raise(people, "urban", "700", date(year, 1, 1))
    _raise(people, "rural", "500", date(year, 1, 1))
    # Urban 650 -> 700: 50 ÷ 650 = 7.692… -> 7.7 %; rural 460 -> 500: 40 ÷ 460 = 8.695… -> 8.7 %.
    found = compute.compute(growth, year)
    assert found.inputs["urban"]["growth"] == "7.7"
    assert found.inputs["rural"]["growth"] == "8.7"
    assert found.value == Decimal("7.7")
    assert "benchmark" not in found.inputs
    assert progress.light(growth, year, found.value, None) == progress.GREY  # no statistic to compare with
    _approved(growth.pk, year, EntryKind.BENCHMARK, "5.6", people)
    found = compute.compute(growth, year)
    assert found.inputs["benchmark"]["value"] == "5.60"
    assert progress.light(growth, year, found.value, Decimal("5.6")) == progress.GREEN
    assert progress.light(growth, year, found.value, Decimal("8.0")) == progress.RED


@pytest.fixture
def staff(people: dict[str, Staff], catalogue: None) -> dict[str, Staff]:
    people["clerk"] = make_staff("p_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK])
    people["t_reviewer"] = make_staff("p_t_reviewer", TOWNSHIP, [Role.TOWNSHIP_REVIEWER])
    people["head"] = make_staff("p_head", TOWNSHIP, [Role.TOWNSHIP_HEAD])
    return people


def _subsidy(staff: dict[str, Staff], name: str, grade: int, item: str, number: str) -> Enrolment:
    household = registered_long_ago(make_household(staff["clerk"], VILLAGE, name, members=2))
    assert household.head is not None
    circumstance_record(
        actor=staff["clerk"], kind="disability", subject=household.head, valid_from=date(2020, 1, 1),
        values={"certificate_number": number, "category": "physical", "grade": grade},
    )  # fmt: skip
    case = decided_review_case(
        household, item_code=item, clerk=staff["clerk"], reviewer=staff["t_reviewer"],
        township_head=staff["head"], approver=staff["approver"],
    )  # fmt: skip
    assert case.outcome == "approved", case.state
    return payment_services.enrolment_create(
        actor=staff["admin"], case_id=case.pk, bank_name="宁夏银行", account_number="6222020200112233446"
    )


def test_disability_subsidy_coverage_counts_recipients_over_the_federations_figure(
    plan: Plan, staff: dict[str, Staff]
) -> None:
    year = timezone.localdate().year
    living, care = indicator(plan, 13), indicator(plan, 14)
    # A grade-1 head of a household outside dibao: the care subsidy only (not the living subsidy,
    # which is for dibao households in Dawukou).
    first = _subsidy(staff, "重残户一", 1, "disability_care", "64020219800517001X51")
    second = _subsidy(staff, "重残户二", 2, "disability_care", "64020219800517001X52")
    lines = first.case.decision.calculation.result["lines"]  # type: ignore[union-attr]
    assert [item["code"] for item in lines] == ["care_subsidy"]
    assert compute.subsidy_recipients("640202", "care_subsidy", timezone.localdate()) == 2
    assert compute.subsidy_recipients("640202", "living_subsidy", timezone.localdate()) == 0
    assert compute.subsidy_recipients("640205", "care_subsidy", timezone.localdate()) == 0
    # Without the federation's figure there is no rate.
    missing = compute.compute(care, year)
    assert missing.value is None
    assert missing.inputs["numerator"] == 2
    # 2 of 3 severely disabled persons: 66.666… -> 66.7 %.
    _approved(care.pk, year, EntryKind.DENOMINATOR, "3", staff)
    found = compute.compute(care, year)
    assert found.value == Decimal("66.7")
    assert found.inputs["denominator"]["value"] == "3.00"
    # 0 of 4 in hardship receive the living subsidy: 0.0 %.
    _approved(living.pk, year, EntryKind.DENOMINATOR, "4", staff)
    assert compute.compute(living, year).value == Decimal("0.0")
    # An enrolment ended before the day no longer counts: 1 ÷ 3 = 33.3 %.
    Enrolment.objects.filter(pk=second.pk).update(
        start_month=date(year, 1, 1), end_month=date(year, 2, 1), status="terminated"
    )
    assert compute.compute(care, year).value == Decimal("33.3")
    # The year before the enrolments began counts none of them.
    assert compute.subsidy_recipients("640202", "care_subsidy", date(year - 1, 6, 30)) == 0


def test_traffic_light_follows_the_straight_path_from_baseline_to_target(plan: Plan) -> None:
    ratio, area, facility, coverage = (indicator(plan, n) for n in (2, 6, 5, 13))
    # Path for indicator 2: 63.3 + (75 − 63.3) × (year − 2020) ÷ 5.
    assert progress.expected_on_path(ratio, 2022) == Decimal("67.98")
    assert progress.expected_on_path(ratio, 2024) == Decimal("72.66")
    assert progress.light(ratio, 2022, Decimal("70.8"), None) == progress.AMBER
    assert progress.light(ratio, 2024, Decimal("70.8"), None) == progress.RED
    assert progress.light(ratio, 2026, Decimal("70.8"), None) == progress.RED  # past the target year
    assert progress.light(ratio, 2023, Decimal("75"), None) == progress.GREEN
    assert progress.light(ratio, 2023, None, None) == progress.GREY
    # (70.8 − 63.3) ÷ (75 − 63.3) = 64.102… -> 64.1 %.
    assert progress.progress(ratio, Decimal("70.8")) == Decimal("64.1")
    # ">30": 30 itself is not met; without a baseline the path starts at 0 (18 in 2023).
    assert progress.light(area, 2023, Decimal("30"), None) == progress.AMBER
    assert progress.light(area, 2023, Decimal("17.9"), None) == progress.RED
    assert progress.light(area, 2025, Decimal("30"), None) == progress.RED
    assert progress.light(area, 2025, Decimal("30.1"), None) == progress.GREEN
    assert progress.light(facility, 2025, Decimal("1"), None) == progress.GREEN
    # ">96" is taken as 96: the 2023 path stands at 96 + 4 × 3 ÷ 5 = 98.4.
    assert progress.light(coverage, 2023, Decimal("98.4"), None) == progress.AMBER
    assert progress.light(coverage, 2023, Decimal("98.3"), None) == progress.RED
