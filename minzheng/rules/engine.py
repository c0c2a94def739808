"""One entry point for a single household: programme + facts + policy (+ what-if overrides) -> Result."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from minzheng.core.errors import InvalidInput, NotFound
from minzheng.rules.facts import HouseholdFacts
from minzheng.rules.policy import ParameterView, PolicyError, PolicyTable, PolicyValue, spec_for
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


def reproduce(stored: Mapping[str, Any]) -> Result:
    """Recompute a stored result (Result.as_dict()) from its own facts and the parameter values it
    recorded, independent of what the database holds today. An equal amount proves the record."""
    facts = HouseholdFacts.model_validate(stored["facts"])
    recorded = []
    for p in stored["parameters"]:
        spec = spec_for(p["name"])
        recorded.append(
            PolicyValue(
                name=p["name"],
                region=p["region"],
                area=p["area"],
                effective_from=date.fromisoformat(p["effective_from"]),
                value=spec.parse(p["value"]),
                reference=p["reference"],
                provisional=p["provisional"],
            )
        )
    return calculate(stored["programme"], facts, PolicyTable(recorded))
