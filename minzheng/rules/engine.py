"""One entry point for a single household: programme + facts + policy (+ what-if overrides) -> Result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minzheng.core.errors import InvalidInput, NotFound
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.policy import ParameterView, PolicyError, PolicyTable
from minzheng.rules.programmes import PROGRAMMES, Programme
from minzheng.rules.results import Result


def programme_for(code: str) -> Programme:
    try:
        return PROGRAMMES[code]
    except KeyError:
        raise NotFound(f"没有名为“{code}”的救助项目", code="unknown_programme") from None


def calculate(
    programme: str,
    facts: HouseholdFacts,
    table: PolicyTable,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Result:
    """Pure: the same inputs always give the same result. Problems with parameters (unknown override
    name, bad override value, no value in force) become InvalidInput with field errors."""
    prog = programme_for(programme)
    try:
        view = ParameterView(table, day=facts.date, place=facts.region, area=facts.area, overrides=overrides)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field_errors={"overrides": [str(exc)]}) from exc
    try:
        result = prog.calculate(facts, view)
    except PolicyError as exc:
        raise InvalidInput(str(exc), code="parameter_missing", field_errors={"date": [str(exc)]}) from exc
    result.parameters = view.parameters_used()
    result.facts = facts.model_dump(mode="json")
    return result
