"""Every rules scenario (minzheng/rules/scenarios/<programme>.yaml) run against the shipped packs.

A scenario gives the household facts as the API takes them, optional what-if overrides, and the
expected outcome worked out by hand from the regulations and parameters (the arithmetic is in a
comment beside each figure): eligibility, the amount to the fen, and optionally the status, the
approval level and line items that must appear — or `error: <code>` for input that must be refused.
A scenario the engine gets wrong carries `xfail: "<why>"` until the engine is fixed (strict: it
fails again as soon as the engine gives the right answer, so the marker is removed then).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from minzheng.core.errors import DomainError
from minzheng.rules.engine import calculate
from minzheng.rules.facts import parse_facts, parse_overrides
from minzheng.rules.policy import shipped_policy
from minzheng.rules.programmes import PROGRAMMES
from minzheng.rules.results import Result

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
MINIMUM_SCENARIOS = dict.fromkeys(PROGRAMMES, 15) | {"dibao": 25}
SCENARIO_KEYS = {"name", "facts", "overrides", "expected", "xfail"}
EXPECTED_KEYS = {"eligible", "amount", "status", "approval_level", "lines", "error"}


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS_DIR.glob("*.yaml"))


def load(path: Path) -> list[dict[str, Any]]:
    scenarios = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(scenarios, list), f"{path.name}: a scenario file is a list of scenarios"
    for scenario in scenarios:
        where = f"{path.name}: {scenario.get('name')!r}"
        assert set(scenario) <= SCENARIO_KEYS, f"{where}: unknown keys {set(scenario) - SCENARIO_KEYS}"
        assert {"name", "facts", "expected"} <= set(scenario), f"{where}: needs name, facts and expected"
        expected = scenario["expected"]
        assert set(expected) <= EXPECTED_KEYS, f"{where}: unknown keys {set(expected) - EXPECTED_KEYS}"
        if "error" not in expected:
            assert {"eligible", "amount"} <= set(expected), f"{where}: needs eligible and amount"
            assert isinstance(expected["amount"], str), f"{where}: amount is a string to the fen"
    return scenarios


def all_scenarios() -> list[Any]:
    params = []
    for path in scenario_files():
        for scenario in load(path):
            marks = [pytest.mark.xfail(reason=scenario["xfail"], strict=True)] if "xfail" in scenario else []
            params.append(
                pytest.param(path.stem, scenario, id=f"{path.stem}:{scenario['name']}", marks=marks)
            )
    return params


def run(programme: str, scenario: dict[str, Any]) -> Result:
    facts = parse_facts(scenario["facts"])
    overrides = parse_overrides(scenario.get("overrides"))
    return calculate(programme, facts, shipped_policy(), overrides=overrides)


def assert_lines_present(result: Result, wanted: list[dict[str, Any]]) -> None:
    remaining = list(result.lines)
    for want in wanted:
        match = next(
            (
                li
                for li in remaining
                if li.code == want["code"]
                and li.amount == Decimal(want["amount"])
                and ("member" not in want or li.member == want["member"])
            ),
            None,
        )
        assert match is not None, (
            f"line {want} not among {[(li.code, str(li.amount), li.member) for li in remaining]}"
        )
        remaining.remove(match)


@pytest.mark.parametrize(("programme", "scenario"), all_scenarios())
def test_scenario(programme: str, scenario: dict[str, Any]) -> None:
    expected = scenario["expected"]
    if "error" in expected:
        with pytest.raises(DomainError) as caught:
            run(programme, scenario)
        assert caught.value.code == expected["error"], caught.value.message
        return

    result = run(programme, scenario)
    reasons = [(r.code, r.met, r.text) for r in result.reasons]
    assert result.eligible is expected["eligible"], reasons
    assert result.amount == Decimal(expected["amount"]), reasons
    if "status" in expected:
        assert result.status == expected["status"]
    if "approval_level" in expected:
        assert result.approval_level == expected["approval_level"]
    assert_lines_present(result, expected.get("lines", []))
    # Invariants that hold by design for every result.
    if result.eligible:
        assert sum((li.amount for li in result.lines), Decimal("0")) == result.amount
    assert all(p.reference for p in result.parameters)


def test_every_programme_has_a_scenario_file_with_enough_scenarios() -> None:
    counts = {path.stem: len(load(path)) for path in scenario_files()}
    assert set(counts) == set(PROGRAMMES)
    short = {code: n for code, n in counts.items() if n < MINIMUM_SCENARIOS[code]}
    assert not short, f"too few scenarios: {short} (minimum {MINIMUM_SCENARIOS})"


def test_no_two_scenarios_share_a_name() -> None:
    names = Counter(scenario["name"] for path in scenario_files() for scenario in load(path))
    assert [name for name, n in names.items() if n > 1] == []
