"""The parameter store: packs loaded on migrate, proposals, maker-checker approval, history kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.rules import selectors, services
from minzheng.rules.engine import calculate, reproduce
from minzheng.rules.facts import parse_facts
from minzheng.rules.models import ParameterValue, ValueStatus
from minzheng.rules.policy import shipped_policy


@pytest.fixture
def approver(tree: dict[str, Division]) -> Staff:
    return make_staff("approver", "640202000000", [Role.COUNTY_APPROVER])


def propose(actor: Staff, value: str = "700", **kw: object) -> ParameterValue:
    fields: dict[str, object] = {
        "name": "dibao.standard",
        "region": "640202",
        "area": "urban",
        "effective_from": date(2026, 7, 1),
        "value": value,
        "reference": "石大政发〔2026〕1号",
        "reason": "年度调标",
    }
    fields.update(kw)
    return services.parameter_propose(actor=actor, **fields)  # type: ignore[arg-type]


def test_shipped_packs_are_in_the_database_after_migrate(db: None) -> None:
    table = selectors.policy_table()
    found = table.lookup("dibao.standard", date(2026, 1, 1), "640202001001", "urban")
    assert found.value == Decimal("650.00")
    assert found.reference.startswith("石大政发〔2022〕69号")
    assert len(table.values()) == len(shipped_policy().values())


def test_loading_packs_again_adds_nothing(db: None) -> None:
    report = services.policy_packs_load()
    assert report.added == 0
    assert report.unchanged == len(shipped_policy().values())


def test_lookup_falls_back_from_county_to_province_to_national(db: None) -> None:
    table = selectors.policy_table()
    wage = table.lookup("minimum_wage.monthly", date(2026, 1, 1), "640202", "urban")
    assert (wage.region, wage.value) == ("64", Decimal("1950.00"))
    near_poor = table.lookup("dibao.near_poor_multiple", date(2026, 1, 1), "640202", "urban")
    assert (near_poor.region, near_poor.value) == ("", Decimal("1.5"))


def test_a_proposal_takes_effect_only_after_a_second_person_approves(
    county_admin: Staff, approver: Staff
) -> None:
    proposal = propose(county_admin)
    assert proposal.status == ValueStatus.PROPOSED
    on = date(2026, 8, 1)
    assert selectors.policy_table().lookup("dibao.standard", on, "640202", "urban").value == Decimal("650.00")

    services.parameter_approve(actor=approver, value_id=proposal.pk, note="同意")

    assert selectors.policy_table().lookup("dibao.standard", on, "640202", "urban").value == Decimal("700.00")
    # Before the effective date the old standard still applies.
    assert selectors.policy_table().lookup(
        "dibao.standard", date(2026, 6, 30), "640202", "urban"
    ).value == Decimal("650.00")
    actions = list(
        AuditEvent.objects.filter(object_type="rules.ParameterValue")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["rules.parameter_proposed", "rules.parameter_approved"]


def test_the_proposer_cannot_approve_their_own_value(tree: dict[str, Division]) -> None:
    both = make_staff("both", "640202000000", [Role.COUNTY_ADMIN, Role.COUNTY_APPROVER])
    proposal = propose(both)
    with pytest.raises(PermissionDenied):
        services.parameter_approve(actor=both, value_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ValueStatus.PROPOSED


def test_a_correction_for_the_same_date_supersedes_and_keeps_the_old_row(
    county_admin: Staff, approver: Staff
) -> None:
    first = propose(county_admin, "700")
    services.parameter_approve(actor=approver, value_id=first.pk)
    second = propose(county_admin, "710", reason="更正")
    services.parameter_approve(actor=approver, value_id=second.pk)
    first.refresh_from_db()
    assert first.superseded_by_id == second.pk
    assert first.value == "700.00"
    assert selectors.policy_table().lookup(
        "dibao.standard", date(2026, 7, 1), "640202", "urban"
    ).value == Decimal("710.00")


def test_approved_or_rejected_proposals_cannot_be_decided_twice(county_admin: Staff, approver: Staff) -> None:
    proposal = propose(county_admin)
    services.parameter_reject(actor=approver, value_id=proposal.pk, note="依据文件未印发")
    with pytest.raises(Conflict):
        services.parameter_approve(actor=approver, value_id=proposal.pk)


def test_rejection_needs_a_reason(county_admin: Staff, approver: Staff) -> None:
    proposal = propose(county_admin)
    with pytest.raises(InvalidInput) as exc:
        services.parameter_reject(actor=approver, value_id=proposal.pk, note=" ")
    assert "note" in exc.value.field_errors


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": "abc"}, "value"),
        ({"value": "650.005"}, "value"),
        ({"area": "all"}, "area"),
        ({"name": "dibao.elderly_age", "area": "urban"}, "area"),
        ({"reference": ""}, "reference"),
        ({"reason": ""}, "reason"),
    ],
)
def test_bad_proposals_are_refused_with_field_errors(
    county_admin: Staff, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        propose(county_admin, **changes)  # type: ignore[arg-type]
    assert field in exc.value.field_errors
    assert not ParameterValue.objects.filter(status=ValueStatus.PROPOSED).exists()


def test_a_county_cannot_set_values_for_another_county_or_the_nation(county_admin: Staff) -> None:
    for region in ("640205", "64", ""):
        with pytest.raises(PermissionDenied):
            propose(county_admin, region=region)


def test_roles_without_the_permission_cannot_propose_or_approve(
    village_assistant: Staff, county_admin: Staff
) -> None:
    with pytest.raises(PermissionDenied):
        propose(village_assistant)
    proposal = propose(county_admin)
    with pytest.raises(PermissionDenied):
        services.parameter_approve(actor=village_assistant, value_id=proposal.pk)


def test_parameters_in_force_lists_every_name_with_its_reference(db: None) -> None:
    listed = selectors.parameters_in_force(day=date(2026, 1, 1), place="640202001001")
    standards = {p.area: p.value for p in listed if p.spec.name == "dibao.standard"}
    assert standards["urban"] is not None
    assert standards["urban"].value == Decimal("650.00")
    assert standards["rural"] is not None
    assert standards["rural"].value == Decimal("460.00")
    assert all(p.value is not None and p.value.reference for p in listed)


def test_a_place_without_a_local_standard_lists_what_is_missing(db: None) -> None:
    listed = selectors.parameters_in_force(day=date(2024, 1, 1), place="640205")
    missing = [p for p in listed if p.value is None]
    assert {p.spec.name for p in missing} >= {"dibao.standard"}
    assert all("没有" in p.problem for p in missing)


def test_a_recorded_calculation_reproduces_after_the_standard_changes(
    county_admin: Staff, approver: Staff
) -> None:
    facts = parse_facts(
        {
            "region": "640202001001",
            "area": "urban",
            "date": "2026-08-01",
            "members": [
                {
                    "id": "甲",
                    "birth_date": "1990-01-01",
                    "incomes": [{"category": "wages", "monthly_amount": "200"}],
                }
            ],
        }
    )
    record = services.calculation_record(actor=county_admin, programme="dibao", facts=facts)
    assert record.amount == Decimal("450.00")
    assert AuditEvent.objects.filter(action="rules.calculation_recorded", object_id=str(record.pk)).exists()

    services.parameter_approve(actor=approver, value_id=propose(county_admin, "800").pk)
    assert calculate("dibao", facts, selectors.policy_table()).amount == Decimal("600.00")

    again = reproduce(record.result)
    assert again.amount == record.amount
    assert [li.as_dict() for li in again.lines] == record.result["lines"]


def test_recording_a_calculation_outside_the_jurisdiction_is_refused(village_assistant: Staff) -> None:
    facts = parse_facts(
        {
            "region": "640205001001",
            "area": "urban",
            "date": "2026-08-01",
            "members": [{"id": "甲", "birth_date": "1990-01-01"}],
        }
    )
    with pytest.raises(NotFound):
        services.calculation_record(actor=village_assistant, programme="dibao", facts=facts)
