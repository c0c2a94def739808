"""A county's kept snapshot (rules/snapshot.py) reads as the summary itself, first whole, then
through the persons changed since: a new income, a household moved to another county, a member who
left, a member who joined."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from polars.testing import assert_frame_equal

from minzheng.registry.circumstances import IncomeItem
from minzheng.registry.models import Household, Membership
from minzheng.rules import snapshot
from minzheng.rules.summary import population_of, read_summary
from minzheng.rules.tests.test_bulk_agreement import registry  # noqa: F401 (a fixture)
from minzheng.rules.tests.test_summary import sorted_frames

DAY = date(2025, 7, 1)

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def assert_county_reads_as_summary(prefix: str) -> None:
    expected = sorted_frames(read_summary(DAY, division_prefix=prefix))
    rows = snapshot.read_county_rows(DAY, prefix)
    assert rows["household_id"].is_sorted()  # a payroll's slice of households is a range of them
    found = sorted_frames(population_of(rows))
    snapshot.wait_saved()
    for left, right in zip(found, expected, strict=True):
        assert_frame_equal(left, right, categorical_as_str=True)


def spied_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every read of summary rows the snapshot makes from now on."""
    reads: list[str] = []
    original = snapshot.read_rows

    def spy(using: str, sql: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(sql)
        return original(using, sql, *args, **kwargs)

    monkeypatch.setattr(snapshot, "read_rows", spy)
    return reads


def files(settings: Any) -> list[Path]:
    return sorted((Path(settings.MINZHENG_VAR_DIR) / "facts").glob("*.arrow"))


def test_a_snapshot_reads_as_the_summary_after_every_kind_of_change(
    registry: dict[str, Household],  # noqa: F811
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqls = spied_reads(monkeypatch)

    def reads() -> list[str]:
        return ["changes" if "rules_factschange" in sql else "whole" for sql in sqls]

    # A handful of households: let any number of changes go through the snapshot.
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 10.0)

    assert_county_reads_as_summary("640202")
    assert reads() == ["whole"]
    assert len(files(settings)) == 1
    first = files(settings)[0]

    old, rural = registry["old"], registry["rural"]
    head = old.memberships.order_by("person_id").first().person  # type: ignore[union-attr]
    IncomeItem.objects.create(
        person=head,
        category="wages",
        monthly_amount=Decimal("321.00"),
        counted=True,
        valid_from=DAY,
        source="test",
    )
    assert_county_reads_as_summary("640202")
    assert reads() == ["whole", "changes"]

    # A household moved to the other county leaves this one's snapshot and enters the other's.
    assert_county_reads_as_summary("640205")
    Household.objects.filter(pk=rural.pk).update(division_id="640205001001")
    assert_county_reads_as_summary("640202")
    assert_county_reads_as_summary("640205")

    # A member who left (the membership removed: no rows at all now) and one who joined.
    leaving = old.memberships.filter(end_date__isnull=True).order_by("person_id")[1]  # the spouse
    person = leaving.person
    leaving.delete()
    assert_county_reads_as_summary("640202")
    Membership.objects.create(person=person, household=old, relationship="child", start_date=date(2025, 1, 1))
    assert_county_reads_as_summary("640202")

    assert reads().count("whole") == 2  # the first read of each county; after that, the changes
    kept = files(settings)
    assert len(kept) == 2
    assert first not in kept


def test_a_snapshot_with_too_many_changes_is_read_whole(
    registry: dict[str, Household],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_county_reads_as_summary("640202")
    reads = spied_reads(monkeypatch)
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 0.0)
    Household.objects.filter(pk=registry["old"].pk).update(area="rural")
    assert_county_reads_as_summary("640202")
    assert len(reads) == 1
    assert "rules_factschange" not in reads[0]


def test_kept_current_in_the_background_a_read_finds_nothing_to_do(
    registry: dict[str, Household],  # noqa: F811
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_county_reads_as_summary("640202")
    reads = spied_reads(monkeypatch)
    monkeypatch.setattr(snapshot, "WHOLE_READ_SHARE", 10.0)
    Household.objects.filter(pk=registry["old"].pk).update(area="rural")

    out = StringIO()
    call_command("refresh_facts", stdout=out)
    ever = registry["old"].memberships.values("person").distinct().count()  # everyone ever a member
    assert f"重新计算 {ever} 人" in out.getvalue()
    assert "更新快照的区县 1 个（640202）" in out.getvalue()
    assert len(reads) == 1
    assert "rules_factschange" in reads[0]
    (kept,) = files(settings)

    # The payroll's read then has nothing to refresh and nothing to read but the file.
    assert_county_reads_as_summary("640202")
    assert len(reads) == 1
    assert files(settings) == [kept]
