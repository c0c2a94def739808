"""Reads of the parameter store. The policy table is small (hundreds of rows) and is read afresh for
each calculation request, so every process sees an approval at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.rules.models import ParameterValue, ValueStatus
from minzheng.rules.policy import (
    ALL_AREAS,
    ParameterSpec,
    PolicyError,
    PolicyTable,
    PolicyValue,
    parameter_specs,
    region_chain,
    spec_for,
)


def policy_table() -> PolicyTable:
    rows = ParameterValue.objects.filter(status=ValueStatus.APPROVED, superseded_by__isnull=True)
    return PolicyTable(
        PolicyValue(
            name=row.name,
            region=row.region,
            area=row.area,
            effective_from=row.effective_from,
            value=spec_for(row.name).parse(row.value),
            reference=row.reference,
            provisional=row.provisional,
            source=row.source,
        )
        for row in rows
        if row.name in parameter_specs()
    )


@dataclass(frozen=True)
class ParameterInForce:
    spec: ParameterSpec
    area: str
    value: PolicyValue | None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "name": self.spec.name,
            "description": self.spec.description,
            "unit": self.spec.unit,
            "kind": self.spec.kind,
            "area": self.area,
            "value": v.value_text if v else None,
            "region": v.region if v else None,
            "effective_from": v.effective_from if v else None,
            "reference": v.reference if v else self.problem,
            "provisional": v.provisional if v else False,
        }


def parameters_in_force(*, day: date, place: str, table: PolicyTable | None = None) -> list[ParameterInForce]:
    """Every parameter name with the value in force on `day` at `place` (both areas where it differs)."""
    table = table or policy_table()
    found: list[ParameterInForce] = []
    for spec in parameter_specs().values():
        for area in ("urban", "rural") if spec.by_area else (ALL_AREAS,):
            try:
                value: PolicyValue | None = table.lookup(
                    spec.name, day, place, "urban" if area == ALL_AREAS else area
                )
                problem = ""
            except PolicyError as exc:
                value, problem = None, str(exc)
            found.append(ParameterInForce(spec=spec, area=area, value=value, problem=problem))
    return found


def _visible_regions(actor: Staff) -> Q:
    """Values for the actor's own region chain (national, province, city, county) and below it."""
    prefix = jurisdiction_of(actor).prefix
    chain = {code for code in region_chain(prefix.ljust(6, "0")) if prefix.startswith(code)} | {""}
    return Q(region__in=chain) | Q(region__startswith=prefix)


def parameter_history(*, actor: Staff, name: str) -> QuerySet[ParameterValue]:
    """Values in force or past for the actor's region chain; proposals and rejections only for the
    actor's own jurisdiction (a village assistant does not see the county's pending proposals)."""
    spec_for(name)
    prefix = jurisdiction_of(actor).prefix
    return (
        ParameterValue.objects.filter(_visible_regions(actor), name=name)
        .filter(Q(status=ValueStatus.APPROVED) | Q(region__startswith=prefix))
        .select_related("proposed_by", "decided_by")
        .order_by("region", "area", "-effective_from", "-pk")
    )


def proposals_pending(*, actor: Staff) -> QuerySet[ParameterValue]:
    prefix = jurisdiction_of(actor).prefix
    return (
        ParameterValue.objects.filter(status=ValueStatus.PROPOSED, region__startswith=prefix)
        .select_related("proposed_by")
        .order_by("proposed_at", "pk")
    )


def proposal_get(*, actor: Staff, value_id: int) -> ParameterValue | None:
    prefix = jurisdiction_of(actor).prefix
    return ParameterValue.objects.filter(pk=value_id, region__startswith=prefix).first()
