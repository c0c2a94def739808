"""The CLI computes the same explained result as the API, from a JSON file."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from minzheng.org.models import Staff
from minzheng.registry.testing import make_household
from minzheng.rules.models import MemberFacts, StaleFacts

HOUSEHOLD = {
    "region": "640202",
    "area": "rural",
    "date": "2026-11-01",
    "members": [
        {
            "id": "甲",
            "birth_date": "1940-05-01",
            "incomes": [{"category": "pension", "monthly_amount": "100"}],
        }
    ],
}


def run(tmp_path: Path, data: object, *args: str) -> dict[str, object]:
    path = tmp_path / "household.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = StringIO()
    call_command("calculate", *args, str(path), stdout=out)
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_calculate_from_a_json_file_with_the_shipped_packs(tmp_path: Path) -> None:
    result = run(tmp_path, HOUSEHOLD, "dibao", "--packs")
    # rural 460 - 100 = 360; elderly +10% of 360 = 36.00
    assert (result["eligible"], result["amount"]) == (True, "396.00")


def test_calculate_with_a_what_if_value(tmp_path: Path, db: None) -> None:
    result = run(tmp_path, HOUSEHOLD, "dibao", "--set", "dibao.standard=500")
    assert result["amount"] == "440.00"
    assert result["overridden"] is True


def test_bad_input_is_reported_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="计算输入有误"):
        run(tmp_path, {**HOUSEHOLD, "area": "x"}, "dibao", "--packs")


def test_refresh_facts_takes_the_registry_changes_into_the_summary(township_clerk: Staff) -> None:
    make_household(township_clerk, "640202001001", "王大山")
    assert StaleFacts.objects.exists()
    out = StringIO()
    call_command("refresh_facts", stdout=out)
    assert not StaleFacts.objects.exists()
    assert MemberFacts.objects.exists()
    assert "成员情况汇总已更新" in out.getvalue()
    with pytest.raises(CommandError, match="不能为负数"):
        call_command("refresh_facts", "--every", "-1")
