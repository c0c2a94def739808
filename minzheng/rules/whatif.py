"""What-if over the registry (政策测算): "if this standard were X from day D, how many households in
this jurisdiction become eligible or lose eligibility, and what does it cost per month".

The whole population in scope is computed twice by the bulk engine on day D — with the standards
in force, and with the changed value as a what-if override — and compared household by household.
Only monthly programmes computed for whole households are offered (see rules.bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.rules import bulk
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyError, parameter_specs
from minzheng.rules.population import read_population
from minzheng.rules.selectors import policy_table

AREAS = ("urban", "rural", "all")


@dataclass(frozen=True)
class TownshipWhatIf:
    code: str
    name: str
    households: int
    eligible_before: int
    eligible_after: int
    cost_before: Decimal
    cost_after: Decimal


@dataclass(frozen=True)
class WhatIfResult:
    programme: str
    parameter: str
    parameter_description: str
    value: str
    area: str
    effective_from: date
    place: str
    households: int
    eligible_before: int
    eligible_after: int
    newly_eligible: int
    no_longer_eligible: int
    cost_before: Decimal
    cost_after: Decimal
    townships: list[TownshipWhatIf] = field(default_factory=list)

    @property
    def cost_change(self) -> Decimal:
        return self.cost_after - self.cost_before

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "parameter": self.parameter,
            "parameter_description": self.parameter_description,
            "value": self.value,
            "area": self.area,
            "effective_from": self.effective_from.isoformat(),
            "place": self.place,
            "households": self.households,
            "eligible_before": self.eligible_before,
            "eligible_after": self.eligible_after,
            "newly_eligible": self.newly_eligible,
            "no_longer_eligible": self.no_longer_eligible,
            "monthly_cost_before": str(self.cost_before),
            "monthly_cost_after": str(self.cost_after),
            "monthly_cost_change": str(self.cost_change),
            "townships": [
                {
                    "code": t.code,
                    "name": t.name,
                    "households": t.households,
                    "eligible_before": t.eligible_before,
                    "eligible_after": t.eligible_after,
                    "monthly_cost_before": str(t.cost_before),
                    "monthly_cost_after": str(t.cost_after),
                }
                for t in self.townships
            ],
        }


def whatif_run(
    *,
    actor: Staff,
    programme: str,
    parameter: str,
    value: Any,
    effective_from: date,
    area: str = "all",
    place: str = "",
) -> WhatIfResult:
    if not (actor.can(Perm.REPORT_VIEW) or actor.can(Perm.PARAMETER_PROPOSE)):
        raise PermissionDenied("您没有政策测算的权限")
    errors: dict[str, list[str]] = {}
    if programme not in bulk.MONTHLY_PROGRAMMES:
        errors["programme"] = ["只能测算按月发放、按户计算的项目"]
    spec = parameter_specs().get(parameter)
    text = ""
    if spec is None:
        errors["parameter"] = [f"未知的参数名称：{parameter}"]
    else:
        try:
            text = spec.dump(spec.parse(value))
        except PolicyError as exc:
            errors["value"] = [str(exc)]
    if area not in AREAS:
        errors["area"] = ["应为 urban、rural 或 all"]
    if errors or spec is None:
        raise InvalidInput("测算条件有误", field_errors=errors)
    prefix = jurisdiction_of(actor).prefix
    place = place or prefix
    if not (place.isdigit() and place.startswith(prefix)):
        raise InvalidInput("只能测算本机构管辖范围内的地区", field_errors={"place": ["不在管辖范围内"]})

    members, households = read_population(effective_from, division_prefix=place)
    if households.is_empty():
        return WhatIfResult(
            programme,
            parameter,
            spec.description,
            text,
            area,
            effective_from,
            place,
            0,
            0,
            0,
            0,
            0,
            Decimal("0"),
            Decimal("0"),
        )
    table = policy_table()
    before = bulk.calculate(members, households, table, day=effective_from, programmes=[programme])
    if area == "all":
        after = bulk.calculate(
            members,
            households,
            table,
            day=effective_from,
            programmes=[programme],
            overrides={parameter: value},
        )
    else:
        changed = households.filter(pl.col("area") == area)
        after = before.filter(~pl.col("household_id").is_in(changed["household_id"].implode()))
        if not changed.is_empty():
            changed_members = members.filter(pl.col("household_id").is_in(changed["household_id"].implode()))
            after = pl.concat(
                [
                    after,
                    bulk.calculate(
                        changed_members,
                        changed,
                        table,
                        day=effective_from,
                        programmes=[programme],
                        overrides={parameter: value},
                    ),
                ]
            )
    return _compare(
        programme, parameter, spec.description, text, area, effective_from, place, households, before, after
    )


def _compare(
    programme: str,
    parameter: str,
    description: str,
    value: str,
    area: str,
    day: date,
    place: str,
    households: pl.DataFrame,
    before: pl.DataFrame,
    after: pl.DataFrame,
) -> WhatIfResult:
    eligible, amount = f"{programme}_eligible", f"{programme}_amount_fen"
    joined = (
        households.select("household_id", pl.col("region").cast(pl.String).str.slice(0, 9).alias("township"))
        .join(
            before.select("household_id", pl.col(eligible).alias("b_ok"), pl.col(amount).alias("b_fen")),
            on="household_id",
        )
        .join(
            after.select("household_id", pl.col(eligible).alias("a_ok"), pl.col(amount).alias("a_fen")),
            on="household_id",
        )
    )
    totals = joined.select(
        pl.len().alias("n"),
        pl.col("b_ok").sum().alias("b_ok"),
        pl.col("a_ok").sum().alias("a_ok"),
        (pl.col("a_ok") & ~pl.col("b_ok")).sum().alias("new"),
        (pl.col("b_ok") & ~pl.col("a_ok")).sum().alias("lost"),
        pl.col("b_fen").sum().alias("b_fen"),
        pl.col("a_fen").sum().alias("a_fen"),
    ).row(0, named=True)
    by_township = (
        joined.group_by("township")
        .agg(
            pl.len().alias("n"),
            pl.col("b_ok").sum().alias("b_ok"),
            pl.col("a_ok").sum().alias("a_ok"),
            pl.col("b_fen").sum().alias("b_fen"),
            pl.col("a_fen").sum().alias("a_fen"),
        )
        .sort("township")
    )
    names = dict(
        Division.objects.filter(code__in=[f"{t}000" for t in by_township["township"]]).values_list(
            "code", "name"
        )
    )
    return WhatIfResult(
        programme=programme,
        parameter=parameter,
        parameter_description=description,
        value=value,
        area=area,
        effective_from=day,
        place=place,
        households=int(totals["n"]),
        eligible_before=int(totals["b_ok"]),
        eligible_after=int(totals["a_ok"]),
        newly_eligible=int(totals["new"]),
        no_longer_eligible=int(totals["lost"]),
        cost_before=from_fen(int(totals["b_fen"])),
        cost_after=from_fen(int(totals["a_fen"])),
        townships=[
            TownshipWhatIf(
                code=f"{row['township']}000",
                name=names.get(f"{row['township']}000", row["township"]),
                households=int(row["n"]),
                eligible_before=int(row["b_ok"]),
                eligible_after=int(row["a_ok"]),
                cost_before=from_fen(int(row["b_fen"])),
                cost_after=from_fen(int(row["a_fen"])),
            )
            for row in by_township.iter_rows(named=True)
        ],
    )
