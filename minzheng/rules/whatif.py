"""What-if over the registry (政策测算): "if this standard were X from day D, how many households in
this jurisdiction become eligible or lose eligibility, and what does it cost per month".

The whole population in scope is computed twice by the bulk engine on day D — with the standards
in force, and with the changed value as a what-if override — and compared household by household.
Only monthly programmes computed for whole households are offered (see rules.bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.registry.models import Household
from minzheng.rules import bulk
from minzheng.rules.money import from_fen
from minzheng.rules.policy import PolicyError, parameter_specs
from minzheng.rules.population import read_population
from minzheng.rules.selectors import policy_table

AREAS = ("urban", "rural", "all")
# Who gains or loses (逐户变化), in this order: newly eligible, no longer eligible, eligible under both
# with more, eligible under both with less.
CHANGES = ("newly_eligible", "no_longer_eligible", "gain", "lose")
PAGE_SIZE_LIMIT = 200


@dataclass(frozen=True)
class HouseholdChange:
    household_id: int
    number: str
    head_name: str
    village: str
    township: str
    change: str
    amount_before: Decimal
    amount_after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.amount_after - self.amount_before

    def as_dict(self) -> dict[str, Any]:
        return {
            "household_id": self.household_id,
            "number": self.number,
            "head_name": self.head_name,
            "village": self.village,
            "township": self.township,
            "change": self.change,
            "monthly_amount_before": str(self.amount_before),
            "monthly_amount_after": str(self.amount_after),
            "monthly_difference": str(self.difference),
        }


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
    # The households whose eligibility or amount changes (CHANGES): how many of each, and one page.
    change_counts: dict[str, int] = field(default_factory=dict)
    change: str = ""
    changes_total: int = 0
    page: int = 1
    page_size: int = 50
    changes: list[HouseholdChange] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.changes_total // self.page_size))

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
            "change_counts": {kind: self.change_counts.get(kind, 0) for kind in CHANGES},
            "change": self.change,
            "changes_total": self.changes_total,
            "page": self.page,
            "page_size": self.page_size,
            "changes": [c.as_dict() for c in self.changes],
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
    change: str = "",
    page: int = 1,
    page_size: int = 50,
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
    if change and change not in CHANGES:
        errors["change"] = [f"应为 {'、'.join(CHANGES)} 之一"]
    if page < 1:
        errors["page"] = ["页码从1开始"]
    if not 1 <= page_size <= PAGE_SIZE_LIMIT:
        errors["page_size"] = [f"每页1至{PAGE_SIZE_LIMIT}条"]
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
    result = _compare(
        programme, parameter, spec.description, text, area, effective_from, place, households, before, after
    )
    return _with_changes(result, households, before, after, change=change, page=page, page_size=page_size)


def _with_changes(
    result: WhatIfResult,
    households: pl.DataFrame,
    before: pl.DataFrame,
    after: pl.DataFrame,
    *,
    change: str,
    page: int,
    page_size: int,
) -> WhatIfResult:
    """The result with the households whose eligibility or amount changes: counted per kind, and
    the requested page (of one kind, or all in CHANGES order, then by household)."""
    eligible, amount = f"{result.programme}_eligible", f"{result.programme}_amount_fen"
    joined = (
        households.select("household_id")
        .join(
            before.select("household_id", pl.col(eligible).alias("b_ok"), pl.col(amount).alias("b_fen")),
            on="household_id",
        )
        .join(
            after.select("household_id", pl.col(eligible).alias("a_ok"), pl.col(amount).alias("a_fen")),
            on="household_id",
        )
    )
    kind = (
        pl.when(pl.col("a_ok") & ~pl.col("b_ok"))
        .then(0)
        .when(pl.col("b_ok") & ~pl.col("a_ok"))
        .then(1)
        .when(pl.col("a_fen") > pl.col("b_fen"))
        .then(2)
        .when(pl.col("a_fen") < pl.col("b_fen"))
        .then(3)
        .otherwise(None)
    )
    changed = joined.with_columns(kind.alias("kind")).filter(pl.col("kind").is_not_null())
    counts = dict.fromkeys(CHANGES, 0)
    for row in changed.group_by("kind").len().iter_rows(named=True):
        counts[CHANGES[row["kind"]]] = int(row["len"])
    if change:
        changed = changed.filter(pl.col("kind") == CHANGES.index(change))
    rows = changed.sort("kind", "household_id").slice((page - 1) * page_size, page_size)
    ids = rows["household_id"].to_list()
    found = {h.pk: h for h in Household.objects.filter(pk__in=ids).select_related("head", "division")}
    townships = dict(
        Division.objects.filter(code__in={f"{h.division_id[:9]}000" for h in found.values()}).values_list(
            "code", "name"
        )
    )
    changes = []
    for row in rows.iter_rows(named=True):
        household = found[row["household_id"]]
        changes.append(
            HouseholdChange(
                household_id=household.pk,
                number=household.number,
                head_name=household.head.name if household.head else "",
                village=household.division.name,
                township=townships.get(f"{household.division_id[:9]}000", ""),
                change=CHANGES[row["kind"]],
                amount_before=from_fen(int(row["b_fen"])),
                amount_after=from_fen(int(row["a_fen"])),
            )
        )
    return replace(
        result,
        change_counts=counts,
        change=change,
        changes_total=changed.height,
        page=page,
        page_size=page_size,
        changes=changes,
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
