"""Entries with evidence and a second person's approval, refusals that change nothing, the year's
values refreshed and published (frozen), scope and permissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.core.uploads import Upload
from minzheng.org.models import Staff
from minzheng.plans import selectors, services
from minzheng.plans.models import EntryStatus, IndicatorEntry, IndicatorValue, Plan
from minzheng.plans.tests.conftest import PDF, indicator
from minzheng.rules import services as rules_services

EVIDENCE = Upload("2024年护理型床位统计.pdf", "application/pdf", PDF)


def _submit(people: dict[str, Staff], plan: Plan, **kwargs: object) -> IndicatorEntry:
    fields: dict[str, object] = {
        "actor": people["admin"], "indicator_id": indicator(plan, 3).pk, "year": 2024, "kind": "value",
        "value": "45.5", "source": "区民政局养老机构统计", "evidence": EVIDENCE,
    }  # fmt: skip
    fields.update(kwargs)
    return services.entry_submit(**fields)  # type: ignore[arg-type]


def _nothing_changed(events: int) -> None:
    assert IndicatorEntry.objects.count() == 0
    assert IndicatorValue.objects.count() == 0
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"evidence": None}, "evidence_required", "evidence"),
        ({"evidence": Upload("a.txt", "text/plain", b"hello")}, "invalid", "evidence"),
        ({"evidence": Upload("a.pdf", "application/pdf", b"not a pdf")}, "invalid", "evidence"),
        ({"year": timezone.localdate().year + 1}, "future_period", "year"),
        ({"year": 2020}, "outside_plan", "year"),
        ({"value": "四十五"}, "not_a_number", "value"),
        ({"value": "NaN"}, "not_a_number", "value"),
        ({"value": "120"}, "invalid", "value"),
        ({"value": "45.555"}, "invalid", "value"),
        ({"source": "  "}, "invalid", "source"),
        ({"kind": "denominator"}, "invalid", "kind"),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(
    plan: Plan, people: dict[str, Staff], change: dict[str, object], code: str, field: str
) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as refused:
        _submit(people, plan, **change)
    assert refused.value.code == code
    assert field in refused.value.field_errors
    _nothing_changed(events)


def test_a_computed_indicator_takes_only_its_denominator_or_comparison(
    plan: Plan, people: dict[str, Staff]
) -> None:
    with pytest.raises(InvalidInput):
        _submit(people, plan, indicator_id=indicator(plan, 2).pk)  # the ratio: nothing to enter
    with pytest.raises(InvalidInput):
        _submit(people, plan, indicator_id=indicator(plan, 13).pk, value="3.5", kind="denominator")
    entry = _submit(people, plan, indicator_id=indicator(plan, 13).pk, value="1234", kind="denominator")
    assert entry.value == Decimal("1234")


def test_entry_then_a_second_persons_approval_sets_the_value(plan: Plan, people: dict[str, Staff]) -> None:
    entry = _submit(people, plan)
    assert entry.status == EntryStatus.PENDING
    assert bytes(entry.evidence_content) == PDF
    assert len(entry.evidence_sha256) == 64
    assert not IndicatorValue.objects.exists()  # a pending figure does not count
    assert AuditEvent.objects.filter(action="plans.entry_submit", object_id=str(entry.pk)).exists()
    services.entry_approve(actor=people["approver"], entry_id=entry.pk, note="核对无误")
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == (EntryStatus.APPROVED, people["approver"])
    value = IndicatorValue.objects.get(indicator=indicator(plan, 3), year=2024)
    assert value.value == Decimal("45.5")
    assert value.inputs["entry"]["entry"] == entry.pk
    assert not value.frozen
    assert AuditEvent.objects.filter(action="plans.entry_approve", object_id=str(entry.pk)).exists()
    rows = {r.indicator.number: r for r in selectors.plan_rows(actor=people["city"], plan=plan)}
    # Path 2024: 38 + 22 × 4 ÷ 5 = 55.6; 45.5 is behind.
    assert rows[3].light.code == "red"
    assert rows[3].entry == entry
    assert rows[3].year == 2024
    # (45.5 − 38) ÷ (60 − 38) = 34.09… -> 34.1 %.
    assert rows[3].progress == Decimal("34.1")
    # A second approved figure replaces the first.
    later = _submit(people, plan, value="58")
    services.entry_approve(actor=people["approver"], entry_id=later.pk)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUPERSEDED
    assert IndicatorValue.objects.get(indicator=indicator(plan, 3), year=2024).value == Decimal("58")


def test_nobody_approves_their_own_entry(plan: Plan, people: dict[str, Staff]) -> None:
    entry = _submit(people, plan, actor=people["both"])
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.entry_approve(actor=people["both"], entry_id=entry.pk)
    assert refused.value.code == "maker_checker"
    with pytest.raises(PermissionDenied):
        services.entry_reject(actor=people["both"], entry_id=entry.pk, note="自己退回")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.PENDING
    assert entry.decided_by is None
    assert not IndicatorValue.objects.exists()
    assert AuditEvent.objects.count() == events
    # The database refuses it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        IndicatorEntry.objects.filter(pk=entry.pk).update(decided_by=people["both"], status="approved")
    # An enterer without the approving permission cannot approve anyone's entry.
    other = _submit(people, plan, actor=people["reviewer"], indicator_id=indicator(plan, 4).pk, value="30")
    with pytest.raises(PermissionDenied):
        services.entry_approve(actor=people["admin"], entry_id=other.pk)


def test_rejection_needs_a_reason_and_a_decided_entry_is_not_decided_again(
    plan: Plan, people: dict[str, Staff]
) -> None:
    entry = _submit(people, plan)
    with pytest.raises(InvalidInput):
        services.entry_reject(actor=people["approver"], entry_id=entry.pk, note=" ")
    services.entry_reject(actor=people["approver"], entry_id=entry.pk, note="佐证材料与数值不符")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.REJECTED
    with pytest.raises(Conflict):
        services.entry_approve(actor=people["approver"], entry_id=entry.pk)
    assert not IndicatorValue.objects.exists()


def test_one_pending_entry_per_figure(plan: Plan, people: dict[str, Staff]) -> None:
    _submit(people, plan)
    with pytest.raises(Conflict):
        _submit(people, plan, value="46")
    assert IndicatorEntry.objects.count() == 1


def test_a_published_year_never_changes(plan: Plan, people: dict[str, Staff]) -> None:
    entry = _submit(people, plan)
    services.entry_approve(actor=people["approver"], entry_id=entry.pk)
    with pytest.raises(PermissionDenied):
        services.values_publish(actor=people["admin"], plan_id=plan.pk, year=2024)
    with pytest.raises(InvalidInput) as not_ended:
        services.values_publish(actor=people["approver"], plan_id=plan.pk, year=timezone.localdate().year)
    assert not_ended.value.code == "year_not_ended"
    published = services.values_publish(actor=people["approver"], plan_id=plan.pk, year=2024)
    assert len(published) == 14
    assert all(v.frozen and v.published_by == people["approver"] for v in published)
    frozen = {v.indicator.number: (v.value, v.inputs_sha256) for v in published}
    assert frozen[2][0] == Decimal("70.8")
    assert frozen[3][0] == Decimal("45.5")
    # Later data changes what would be computed, not what was published.
    proposal = rules_services.parameter_propose(
        actor=people["admin"], name="dibao.standard", region="640202", area="rural",
        effective_from=date(2024, 6, 1), value="520", reference="测试", reason="测试",
    )  # fmt: skip
    rules_services.parameter_approve(actor=people["approver"], value_id=proposal.pk)
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2024)
    again = {v.indicator.number: (v.value, v.inputs_sha256) for v in IndicatorValue.objects.filter(year=2024)}
    assert again == frozen
    with pytest.raises(Conflict):
        _submit(people, plan, value="50")
    with pytest.raises(Conflict):
        services.values_publish(actor=people["approver"], plan_id=plan.pk, year=2024)
    # An unpublished year follows the data: 520 ÷ 650 = 80 %.
    services.values_refresh(actor=people["admin"], plan_id=plan.pk, year=2025)
    assert IndicatorValue.objects.get(indicator=indicator(plan, 2), year=2025).value == Decimal("80.0")


def test_scope_and_permissions(plan: Plan, people: dict[str, Staff]) -> None:
    assert list(selectors.plans(actor=people["city"])) == [plan]
    assert list(selectors.plans(actor=people["township"])) == []  # below the county: no plan
    assert list(selectors.plans(actor=people["outsider"])) == []
    with pytest.raises(PermissionDenied):
        selectors.plans(actor=people["assistant"])  # no REPORT_VIEW
    with pytest.raises(NotFound):
        _submit(people, plan, actor=people["outsider"])
    with pytest.raises(PermissionDenied):
        _submit(people, plan, actor=people["city"])  # a supervisor reads
    entry = _submit(people, plan)
    with pytest.raises(NotFound):
        services.entry_approve(actor=people["outsider"], entry_id=entry.pk)
    with pytest.raises(NotFound):
        services.evidence_download(actor=people["outsider"], entry_id=entry.pk)
    assert services.evidence_download(actor=people["city"], entry_id=entry.pk).evidence_sha256
    assert AuditEvent.objects.filter(action="plans.evidence_download").count() == 1
