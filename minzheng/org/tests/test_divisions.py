from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from minzheng.core.audit import verify_chain
from minzheng.core.errors import InvalidInput
from minzheng.org.models import Division, DivisionKind, Office
from minzheng.org.services import divisions_load

pytestmark = pytest.mark.django_db


def test_loading_dawukou_gives_its_real_streets_town_and_villages() -> None:
    result = divisions_load(actor=None, prefix="640202")
    townships = Division.objects.filter(parent_id="640202000000")
    assert townships.count() == 11
    assert set(townships.values_list("kind", flat=True)) == {DivisionKind.STREET, DivisionKind.TOWN}
    assert townships.get(code="640202100000").name == "星海镇"
    villages = Division.objects.filter(level=5, code__startswith="640202")
    assert villages.count() == 65
    assert villages.filter(kind=DivisionKind.COMMUNITY).count() == 53
    assert villages.filter(kind=DivisionKind.VILLAGE).count() == 12
    assert Division.objects.get(code="640000000000").level == 1
    assert result.created == 1 + 1 + 1 + 11 + 65
    assert Office.objects.get(division_id="640202000000").name == "大武口区民政局"
    assert Office.objects.get(division_id="640202001001").name == "骏马社区民政工作站"
    assert Office.objects.get(division_id="640202001200").name == "潮湖村民政工作站"
    assert verify_chain().ok


def test_reloading_changes_nothing() -> None:
    divisions_load(actor=None, prefix="640202")
    again = divisions_load(actor=None, prefix="640202")
    assert (again.created, again.offices_created) == (0, 0)


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(InvalidInput):
        divisions_load(actor=None, prefix="64020")


def test_missing_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="找不到区划数据"):
        divisions_load(actor=None, prefix="640202", source=tmp_path)
    assert Path(settings.MINZHENG_DIVISION_DATA).exists()
