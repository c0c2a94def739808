"""The monthly programmes over a whole population at once (Polars), agreeing with the single-household
path (`engine.calculate`) to the fen.

Scope. Household-level monthly benefits only: dibao, extreme_poverty, elderly_allowance,
disability_subsidy and child_allowance, for whole households as registered. Not here, on purpose:
individual (single-person, 单人户) dibao applications — a case decision for one member of a
near-poor family, made on an application — and temporary and medical assistance, which are one-off
calculations on a case's own facts (an emergency, a bill). Those go through `engine.calculate`.

Input. Two frames for one day (`population.read_population` reads them from the registry):

members (one row per member; only household_id and birth_date are required, every other column
defaults as `facts.Member` does when missing or null)
    household_id Int64, birth_date Date, disability_category (DISABILITY_CATEGORY),
    disability_grade Int8 (1-4, with the category), serious_illness Boolean,
    labour_capacity (LABOUR_CAPACITY), self_care (SELF_CARE), in_school_full_time Boolean,
    counted_income_fen Int64 (the member's counted income items summed, 元 x 100),
    has_able_supporter Boolean, support_mode (SUPPORT_MODE),
    extreme_poverty_supported Boolean, child_status (CHILD_STATUS), child_care (CHILD_CARE),
    other_child_payments_fen Int64. Further columns (member_id, ...) are ignored.
households (one row per household; region and area required)
    household_id Int64, region String (12- or 6-digit division code), area (AREA),
    rigid_expenses_fen Int64, financial_assets_fen Int64, household_status (HOUSEHOLD_STATUS).
Every household needs at least one member and every member a household. String columns may be
given as String, Categorical or the Enum types below (Enum is fastest).

Output. One row per household, sorted by household_id: `<programme>_eligible` (Boolean) and
`<programme>_amount_fen` (Int64) for each programme asked for, and `dibao_status` (DIBAO_STATUS).

How it stays equal to the single path.
- Parameters are read through the same `ParameterView` (so the same region fallback and the same
  what-if overrides), once per distinct (county = region[:6], area), into a small frame: money as
  integer fen, rates as integer units of RATE_SCALE, tables (dibao.tiers, elderly.bands) expanded
  into columns in the order the programme scans them. Every amount that depends on parameters only
  (a tier's per-person amount, fixed or standard-percent top-ups, extreme-poverty basic and care
  standards) is computed there with the programmes' own Decimal `fen()` rounding.
- Amounts that depend on the household are integer arithmetic in Int64, never floats:
  fen(x * rate) == half_up_div(x_fen * rate_units, RATE_SCALE), fen(base / n) == half_up_div(base_fen, n),
  and a comparison such as `assessed < threshold * multiple` becomes
  `assessed_fen * RATE_SCALE < threshold_fen * multiple_units`. Inputs and parameters are checked
  first so that no product can leave the Int64 range (InvalidInput otherwise).
- Ages are completed years as in `Member.age_on`: age >= N on the day exactly when the birth date is
  on or before the latest birth date that gives N (`age_cutoff`), so each age test is one date
  comparison (29 February births turn older on 1 March in common years, as in the single path).
- Member results are summed per household with running totals read at each household's last
  member (members sorted by household). Facts few members have (a disability, an orphan status, the
  age for an elderly allowance, lost self-care) are computed for those members only; the dibao
  top-up and the category top-ups (one per member, the highest, on the per-capita top-up) for the
  eligible households and their members only. A parameter whose value differs between groups is
  attached as a column once per frame; one that does not is a literal.

One difference, by design: the single path reads a parameter only when a household reaches the step
that needs it, so a parameter with no value in force fails only those households. Here every
parameter a requested programme can read (given the group's modes) must be in force for every
(county, area) present, or the whole call is refused with the same InvalidInput(parameter_missing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from minzheng.core.errors import InvalidInput
from minzheng.rules.money import RATE_SCALE, fen, rate_units, to_fen
from minzheng.rules.policy import ParameterUsed, ParameterView, PolicyError, PolicyTable

MONTHLY_PROGRAMMES = (
    "dibao",
    "extreme_poverty",
    "elderly_allowance",
    "disability_subsidy",
    "child_allowance",
)

DISABILITY_CATEGORY = pl.Enum(
    ["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
)
LABOUR_CAPACITY = pl.Enum(["full", "partial", "none"])
SELF_CARE = pl.Enum(["self_care", "partly_lost", "fully_lost"])
SUPPORT_MODE = pl.Enum(["home", "institutional"])
CHILD_STATUS = pl.Enum(["orphan", "unsupported"])
CHILD_CARE = pl.Enum(["scattered", "institutional"])
AREA = pl.Enum(["urban", "rural"])
HOUSEHOLD_STATUS = pl.Enum(["none", "dibao", "near_poor", "extreme_poverty"])
DIBAO_STATUS = pl.Enum(["eligible", "near_poor", "not_eligible"])

# column: (dtype, default when missing or null; None = stays null)
MEMBER_COLUMNS: dict[str, tuple[pl.DataType, Any]] = {
    "household_id": (pl.Int64(), None),
    "birth_date": (pl.Date(), None),
    "disability_category": (DISABILITY_CATEGORY, None),
    "disability_grade": (pl.Int8(), None),
    "serious_illness": (pl.Boolean(), False),
    "labour_capacity": (LABOUR_CAPACITY, None),
    "self_care": (SELF_CARE, None),
    "in_school_full_time": (pl.Boolean(), False),
    "counted_income_fen": (pl.Int64(), 0),
    "has_able_supporter": (pl.Boolean(), False),
    "support_mode": (SUPPORT_MODE, "home"),
    "extreme_poverty_supported": (pl.Boolean(), False),
    "child_status": (CHILD_STATUS, None),
    "child_care": (CHILD_CARE, "scattered"),
    "other_child_payments_fen": (pl.Int64(), 0),
}
HOUSEHOLD_COLUMNS: dict[str, tuple[pl.DataType, Any]] = {
    "household_id": (pl.Int64(), None),
    "region": (pl.String(), None),
    "area": (AREA, None),
    "rigid_expenses_fen": (pl.Int64(), 0),
    "financial_assets_fen": (pl.Int64(), 0),
    "household_status": (HOUSEHOLD_STATUS, "none"),
}
REQUIRED = {"household_id", "birth_date", "region", "area"}
MEMBER_MONEY = ("counted_income_fen", "other_child_payments_fen")
HOUSEHOLD_MONEY = ("rigid_expenses_fen", "financial_assets_fen")

# No integer intermediate may reach this (Int64 holds up to 2**63 - 1).
INT_LIMIT = 2**62
NEVER = -(10**9)  # an age cutoff (days since 1970-01-01) no birth date is on or before

_EPOCH = date(1970, 1, 1)
_TOPUP_CATEGORIES = ("elderly", "minor", "disabled", "ill")
_TOPUP_NONE, _TOPUP_PER_CAPITA, _TOPUP_CONSTANT = 0, 1, 2
_RIGID = {"none": 0, "full": 1, "capped": 2}
_CARE = [(mode, level) for mode in ("home", "institutional") for level in ("partly_lost", "fully_lost")]


def age_cutoff(day: date, years: int) -> int:
    """The latest birth date (days since 1970-01-01) of a person aged at least `years` completed years
    on `day` under `Member.age_on`: born in year day.year - years on or before day's month and day,
    where 29 February in a common year means 28 February (so a 29 February birth turns older on
    1 March)."""
    year = day.year - years
    if year < 1:
        return NEVER
    try:
        cutoff = date(year, day.month, day.day)
    except ValueError:
        cutoff = date(year, 2, 28)
    return (cutoff - _EPOCH).days


# --- Parameters, once per (county, area) ---------------------------------------------------------


@dataclass
class ParameterGroup:
    """The parameters of one (county, area) on the day, as integers the frame arithmetic uses."""

    county: str
    area: str
    values: dict[str, int | bool] = field(default_factory=dict)
    tiers: list[tuple[int, int]] = field(default_factory=list)  # (min_gap units, per-person fen), scan order
    bands: list[tuple[int, int]] = field(default_factory=list)  # (birth-date cutoff, amount fen), scan order
    used: list[ParameterUsed] = field(default_factory=list)


def _read_group(
    table: PolicyTable,
    *,
    day: date,
    county: str,
    area: str,
    programmes: Sequence[str],
    overrides: Mapping[str, Any] | None,
) -> ParameterGroup:
    """Read, through ParameterView, every parameter the programmes can read for this group — the
    conditional ones only when the group's modes lead to them, as the programmes do."""
    try:
        view = ParameterView(table, day=day, place=county, area=area, overrides=overrides)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field_errors={"overrides": [str(exc)]}) from exc
    group = ParameterGroup(county=county, area=area)
    v = group.values
    try:
        if "dibao" in programmes or "extreme_poverty" in programmes:
            standard = view.money("dibao.standard")
            v["standard"] = to_fen(standard)
            v["asset_months"] = view.integer("dibao.asset_limit_months")
        if "dibao" in programmes:
            _read_dibao(view, standard, group)
        if "extreme_poverty" in programmes:
            _read_extreme_poverty(view, standard, day, group)
        # The elderly allowance and the disability living subsidy are both welfare living allowances:
        # a person qualifying for both takes the higher (国发〔2015〕52号), so each reads the other's.
        if "elderly_allowance" in programmes or "disability_subsidy" in programmes:
            bands = sorted(view.table_rows("elderly.bands"), key=lambda b: b["from_age"])
            group.bands = [(age_cutoff(day, b["from_age"]), to_fen(b["amount"])) for b in reversed(bands)]
            v["living_covers_near_poor"] = view.choice("disability.living.coverage") == "dibao_or_near_poor"
            v["living_amount"] = to_fen(view.money("disability.living.amount"))
        if "disability_subsidy" in programmes:
            v["care_severe"] = to_fen(view.money("disability.care.severe_amount"))
            covers = view.flag("disability.care.covers_grade34_intellectual_mental")
            v["care_nonsevere"] = to_fen(view.money("disability.care.nonsevere_amount")) if covers else 0
        if "child_allowance" in programmes:
            v["child_cutoff"] = age_cutoff(day, view.integer("child.max_age"))
            v["orphan_scattered"] = to_fen(view.money("child.orphan_scattered"))
            v["orphan_institutional"] = to_fen(view.money("child.orphan_institutional"))
            v["unsupported"] = to_fen(view.money("child.unsupported"))
    except PolicyError as exc:
        raise InvalidInput(str(exc), code="parameter_missing", field_errors={"date": [str(exc)]}) from exc
    group.used = view.parameters_used()
    return group


def _read_dibao(view: ParameterView, standard: Decimal, group: ParameterGroup) -> None:
    v = group.values
    v["near_poor_units"] = rate_units(view.rate("dibao.near_poor_multiple"))
    rigid = view.choice("dibao.rigid_expense_deduction")
    v["rigid_mode"] = _RIGID[rigid]
    v["rigid_cap"] = to_fen(view.money("dibao.rigid_expense_cap")) if rigid == "capped" else 0
    v["tiered"] = view.choice("dibao.payment_method") == "tiered"
    if v["tiered"]:
        tiers = sorted(view.table_rows("dibao.tiers"), key=lambda t: t["min_gap"], reverse=True)
        group.tiers = [(rate_units(t["min_gap"]), to_fen(fen(standard * t["pay"]))) for t in tiers]
    v["dibao_elderly_cutoff"] = age_cutoff(view.day, view.integer("dibao.elderly_age"))
    v["dibao_minor_cutoff"] = age_cutoff(view.day, view.integer("dibao.minor_age"))
    for category in _TOPUP_CATEGORIES:
        mode = view.choice(f"dibao.topup.{category}.mode")
        kind, units, constant = _TOPUP_NONE, 0, 0
        if mode != "none":
            value = view.rate(f"dibao.topup.{category}.value")
            if mode == "per_capita_topup_percent":
                kind, units = _TOPUP_PER_CAPITA, rate_units(value)
            else:
                kind = _TOPUP_CONSTANT
                constant = to_fen(fen(standard * value) if mode == "standard_percent" else fen(value))
        v[f"topup_{category}_kind"] = kind
        v[f"topup_{category}_units"] = units
        v[f"topup_{category}_fen"] = constant


def _read_extreme_poverty(view: ParameterView, standard: Decimal, day: date, group: ParameterGroup) -> None:
    v = group.values
    v["ep_elderly_cutoff"] = age_cutoff(day, view.integer("extreme_poverty.elderly_age"))
    v["ep_minor_cutoff"] = age_cutoff(day, view.integer("extreme_poverty.minor_age"))
    v["ep_continued_cutoff"] = age_cutoff(day, view.integer("extreme_poverty.continued_age"))
    if view.choice("extreme_poverty.basic.mode") == "fixed":
        v["ep_basic"] = to_fen(view.money("extreme_poverty.basic.amount"))
    else:
        v["ep_basic"] = to_fen(fen(standard * view.rate("extreme_poverty.basic.multiple")))
    rates = {(mode, level): view.rate(f"extreme_poverty.care.{mode}.{level}_rate") for mode, level in _CARE}
    wage = view.money("minimum_wage.monthly")
    for (mode, level), rate in rates.items():
        v[f"ep_care_{mode}_{level}"] = to_fen(fen(wage * rate))


def _groups_frame(groups: Sequence[ParameterGroup]) -> pl.DataFrame:
    """One row per group (row number = group index), tiers and bands padded to the longest: a
    padded tier never matches (null gap), a padded band is never reached (cutoff NEVER)."""
    rows: list[dict[str, Any]] = []
    n_tiers = max((len(g.tiers) for g in groups), default=0)
    n_bands = max((len(g.bands) for g in groups), default=0)
    for g in groups:
        row: dict[str, Any] = dict(g.values)
        for k in range(n_tiers):
            gap, pay = g.tiers[k] if k < len(g.tiers) else (None, 0)
            row[f"tier{k}_gap"], row[f"tier{k}_fen"] = gap, pay
        for k in range(n_bands):
            cutoff, amount = g.bands[k] if k < len(g.bands) else (NEVER, 0)
            row[f"band{k}_cutoff"], row[f"band{k}_fen"] = cutoff, amount
        rows.append(row)
    schema: dict[str, pl.DataType] = {}
    for name in rows[0]:
        values = [row[name] for row in rows if row[name] is not None]
        if isinstance(rows[0][name], bool):
            schema[name] = pl.Boolean()
        else:
            # Int32 halves the columns attached to every member; any product with it involves an
            # Int64 column (sizes, counts, incomes), and a sum of two stays below 2**31.
            schema[name] = pl.Int32() if all(abs(v) < 2**30 for v in values) else pl.Int64()
    return pl.DataFrame(rows, schema=schema, orient="row")


VARIES = object()  # _Params.uniform: the groups' values differ
PARAM = "_p:"  # a column holding a parameter that varies between groups, one value per row


class _Params:
    """Expressions for a parameter: a literal when every group has the same value, else the column
    PARAM + name, which _Population attaches (picked by the row's `_group`) to the frame that
    evaluates the expression — once per frame, not once per expression."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.values: dict[str, list[Any]] = frame.to_dict(as_series=False)
        self.schema = frame.schema
        self._exprs: dict[str, pl.Expr] = {}

    def uniform(self, name: str) -> Any:
        """The value all groups share, or VARIES."""
        values = self.values[name]
        return values[0] if len(set(values)) == 1 else VARIES

    def __call__(self, name: str) -> pl.Expr:
        if name not in self._exprs:
            value = self.uniform(name)
            dtype = self.schema[name]
            if value is not VARIES:
                self._exprs[name] = pl.lit(value, dtype=dtype)
            else:
                self._exprs[name] = pl.col(PARAM + name)
        return self._exprs[name]

    def attach(self, frame: pl.LazyFrame, exprs: Iterable[pl.Expr]) -> pl.LazyFrame:
        """The frame with the varying parameters `exprs` read, unless it has them already."""
        needed = {r for e in exprs for r in e.meta.root_names() if r.startswith(PARAM)}
        if not needed:
            return frame
        needed -= set(frame.collect_schema().names())
        return frame.with_columns(
            pl.lit(self.frame[name.removeprefix(PARAM)]).gather(pl.col("_group")).alias(name)
            for name in sorted(needed)
        )

    def count(self, prefix: str) -> int:
        return sum(1 for c in self.values if c.startswith(prefix) and c.endswith("_fen"))

    def largest(self, names: Iterable[str]) -> int:
        return max((abs(int(x)) for c in names for x in self.values[c] if x is not None), default=0)


# --- Input ---------------------------------------------------------------------------------------


def _conform(frame: pl.DataFrame, columns: Mapping[str, tuple[pl.DataType, Any]], what: str) -> pl.DataFrame:
    missing = sorted(c for c in columns if c in REQUIRED and c not in frame.columns)
    if missing:
        raise InvalidInput(f"{what}缺少列：{'、'.join(missing)}", field_errors={what: missing})
    exprs = []
    for name, (dtype, default) in columns.items():
        if name not in frame.columns:
            exprs.append(pl.lit(default, dtype=dtype).alias(name))
            continue
        column = pl.col(name)
        if name == "region":
            exprs.append(column if frame.schema[name] in (pl.String, pl.Categorical) else column.cast(dtype))
            continue
        if frame.schema[name] != dtype:
            column = column.cast(dtype, strict=True)
        if default is not None and frame[name].null_count():
            column = column.fill_null(pl.lit(default, dtype=dtype))
        exprs.append(column)
    try:
        out = frame.select(exprs)
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput(f"{what}的列类型或取值不正确：{exc}", field_errors={what: [str(exc)]}) from exc
    nulls = [c for c in columns if c in REQUIRED and out[c].null_count()]
    if nulls:
        raise InvalidInput(f"{what}的以下列不能为空：{'、'.join(nulls)}", field_errors={what: nulls})
    return out


def _prepare(members: pl.DataFrame, households: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    members = _conform(members, MEMBER_COLUMNS, "members")
    households = _conform(households, HOUSEHOLD_COLUMNS, "households")
    checks = members.select(
        bad_grade=(
            (pl.col("disability_category").is_null() != pl.col("disability_grade").is_null())
            | ~pl.col("disability_grade").is_between(1, 4)
        ).any(),
        negative=pl.min_horizontal(*MEMBER_MONEY).min() < 0,
    ).row(0)
    if checks[0]:
        raise InvalidInput(
            "残疾类别和等级（1-4级）须同时填写", field_errors={"members": ["disability_grade"]}
        )
    if checks[1] or households.select(pl.min_horizontal(*HOUSEHOLD_MONEY).min() < 0).item():
        raise InvalidInput("金额不能为负数", field_errors={"members": ["金额不能为负数"]})
    if not households["household_id"].is_sorted():
        households = households.sort("household_id")
    if not members["household_id"].is_sorted():
        members = members.sort("household_id")
    return members, households


def _check_keys(members: pl.DataFrame, households: pl.DataFrame, run_values: pl.Series) -> None:
    if run_values.len() == households.height and run_values.equals(households["household_id"]):
        return
    ids = households["household_id"]
    if ids.n_unique() != ids.len():
        raise InvalidInput(
            "households 中的 household_id 有重复", field_errors={"households": ["household_id"]}
        )
    orphans = run_values.filter(~run_values.is_in(ids.implode()))
    if orphans.len():
        raise InvalidInput(
            f"{orphans.len()} 个成员所属家庭不在 households 中（如 {orphans[0]}）",
            field_errors={"members": ["household_id"]},
        )
    empty = ids.filter(~ids.is_in(run_values.implode()))
    raise InvalidInput(
        f"{empty.len()} 个家庭没有成员（如 {empty[0] if empty.len() else '?'}）",
        field_errors={"households": ["household_id"]},
    )


def _group_index(
    households: pl.DataFrame,
    table: PolicyTable,
    day: date,
    programmes: Sequence[str],
    overrides: Mapping[str, Any] | None,
) -> tuple[pl.Series, list[ParameterGroup]]:
    """The group index of every household and the groups' parameters, read once per (county, area)."""
    region = households["region"]
    if region.dtype != pl.Categorical:
        region = region.cast(pl.Categorical)
    area = households["area"]
    key = region.to_physical().cast(pl.Int64) * 2 + area.to_physical().cast(pl.Int64)
    first = key.arg_unique()
    distinct = pl.DataFrame(
        {"key": key.gather(first), "region": region.gather(first).cast(pl.String), "area": area.gather(first)}
    )
    bad = distinct.filter(~pl.col("region").str.contains(r"^\d{6}(\d{6})?$"))
    if bad.height:
        raise InvalidInput(
            f"区划代码须为6位或12位数字：{bad['region'][0]!r}", field_errors={"households": ["region"]}
        )
    pairs = list(
        distinct.select(pl.col("region").str.slice(0, 6), pl.col("area").cast(pl.String)).iter_rows()
    )
    group_keys = sorted(set(pairs))
    index = {k: i for i, k in enumerate(group_keys)}
    groups = [
        _read_group(table, day=day, county=c, area=a, programmes=programmes, overrides=overrides)
        for c, a in group_keys
    ]
    if len(groups) == 1:
        return pl.zeros(households.height, pl.UInt32, eager=True).alias("_group"), groups
    keys = distinct["key"].to_list()
    if max(keys) < 4 * households.height + 1024:
        lookup = [0] * (max(keys) + 1)  # a dense table: one gather
        for k, pair in zip(keys, pairs, strict=True):
            lookup[k] = index[pair]
        group = pl.Series(lookup, dtype=pl.UInt32).gather(key)
    else:
        group = key.replace_strict(keys, [index[pair] for pair in pairs], return_dtype=pl.UInt32)
    return group.alias("_group"), groups


def _is_money_param(name: str) -> bool:
    return name.endswith("_fen") or name.startswith(("ep_basic", "ep_care_")) or name in _MONEY_PARAMS


_MONEY_PARAMS = frozenset(
    {"standard", "rigid_cap", "living_amount", "care_severe", "care_nonsevere"}
    | {"orphan_scattered", "orphan_institutional", "unsupported"}
)


def _check_range(members: pl.DataFrame, households: pl.DataFrame, sizes: pl.Series, P: _Params) -> None:
    """Refuse input or parameters so large that an Int64 intermediate could overflow: the bounds
    below follow every product and sum the calculation forms, with Python's unbounded integers."""
    n = int(sizes.max() or 0)  # type: ignore[arg-type]

    money_in = max(
        members.select(pl.max_horizontal(pl.col(MEMBER_MONEY).max())).item() or 0,
        households.select(pl.max_horizontal(pl.col(HOUSEHOLD_MONEY).max())).item() or 0,
    )
    money_p = P.largest(c for c in P.values if _is_money_param(c))
    units = P.largest(c for c in P.values if c.endswith(("_units", "_gap")))
    months = P.largest(c for c in P.values if c == "asset_months")
    threshold = money_p * n  # also bounds a household's base amount, tiered or not
    topup = (threshold * units) // RATE_SCALE + 1 + money_p
    per_member = max(money_in, 2 * money_p, topup)
    worst = (
        per_member * members.height,  # running totals over all members
        money_in * n * RATE_SCALE,  # assessed income x RATE_SCALE
        threshold * max(months, units, RATE_SCALE),  # asset limit, near-poor and tier comparisons
        (2 * threshold + n) * max(units, 1),  # per-capita top-ups
    )
    if max(worst) >= INT_LIMIT:
        raise InvalidInput(
            "金额或参数过大，超出批量计算的精确整数范围", field_errors={"members": ["金额过大"]}
        )


# --- Calculation ---------------------------------------------------------------------------------


def _half_up_div(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """money.half_up_div for non-negative numerators and positive denominators, in Int64."""
    return (numerator * 2 + denominator) // (pl.lit(2) * denominator)


def _segment_sums(frame: pl.DataFrame, columns: Sequence[str], ends: pl.Series) -> pl.DataFrame:
    """Per-household sums of member columns (members sorted by household, `ends` = index of each
    household's last member): the running total at each end minus the one at the end before.
    Int64 arithmetic wraps, so a difference is exact whenever the household's own sum fits."""
    at_ends = frame.select(
        (pl.col(c).cast(pl.UInt32) if frame.schema[c] == pl.Boolean else pl.col(c).cast(pl.Int64))
        .cum_sum()
        .gather(ends)
        for c in columns
    )
    return at_ends.select(pl.col(c) - pl.col(c).shift(1, fill_value=0) for c in columns)


def _when_chain(cases: Iterable[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    chain: Any = None
    for condition, value in cases:
        chain = pl.when(condition).then(value) if chain is None else chain.when(condition).then(value)
    return otherwise if chain is None else chain.otherwise(otherwise)


@dataclass
class _Population:
    """The prepared frames: members (sorted by household, with _born = days since 1970, _slot = the
    household's row in `households`, _group) and households (with _group and _size)."""

    members: pl.DataFrame
    households: pl.DataFrame
    ends: pl.Series
    P: _Params

    def dense(self, exprs: Mapping[str, pl.Expr], *, keep: Sequence[str] = ()) -> pl.DataFrame:
        """Per-household sums of member expressions over all members; `keep` also stays on the
        members frame."""
        frame = self.P.attach(self.members.lazy(), exprs.values())
        values = frame.select(e.alias(k) for k, e in exprs.items()).collect()
        if keep:
            self.members = self.members.with_columns(values.select(keep))
        return _segment_sums(values, list(exprs), self.ends)

    def sparse_rows(self, where: pl.Expr, exprs: Mapping[str, pl.Expr]) -> tuple[pl.Series, pl.DataFrame]:
        """Sums of member expressions over the members `where` holds, per household that has such
        members: (their household rows, the sums)."""
        frame = self.P.attach(self.members.lazy(), [where]).filter(where)
        subset = (
            self.P.attach(frame, exprs.values())
            .select(pl.col("_slot"), *(e.alias(k) for k, e in exprs.items()))
            .collect()
        )
        runs = subset["_slot"].rle()
        ends = (runs.struct.field("len").cum_sum() - 1).cast(pl.UInt32)
        return runs.struct.field("value"), _segment_sums(subset, list(exprs), ends)

    def sparse(self, where: pl.Expr, exprs: Mapping[str, pl.Expr]) -> pl.DataFrame:
        """Per-household sums of member expressions over the members `where` holds: for facts few
        members have (a disability, an orphan status, 80 years of age), only those are computed."""
        rows, sums = self.sparse_rows(where, exprs)
        return self.scatter(rows, sums)

    def scatter(self, rows: pl.Series, values: pl.DataFrame) -> pl.DataFrame:
        """Household columns holding `values` at `rows` and 0 elsewhere."""
        height = self.households.height
        return pl.DataFrame(
            {
                k: pl.zeros(height, values.schema[k], eager=True).scatter(rows, values[k])
                if values.height
                else pl.zeros(height, pl.Int64, eager=True)
                for k in values.columns
            }
        )

    def households_where(self, where: pl.Expr, exprs: Mapping[str, pl.Expr]) -> pl.DataFrame:
        """Household expressions computed only where `where` holds, with their rows (`_row`)."""
        frame = self.P.attach(self.households.lazy().with_row_index("_row"), [where]).filter(where)
        return (
            self.P.attach(frame, exprs.values())
            .select(pl.col("_row"), *(e.alias(k) for k, e in exprs.items()))
            .collect()
        )

    def set(self, columns: pl.DataFrame | None = None, **exprs: pl.Expr) -> None:
        """Add household columns: sums from dense/sparse, or expressions over households."""
        households = self.households if columns is None else self.households.with_columns(columns)
        self.households = self.P.attach(households.lazy(), exprs.values()).with_columns(**exprs).collect()

    def on_members(self, column: str) -> pl.Expr:
        """A household column on member rows."""
        return pl.lit(self.households[column]).gather(pl.col("_slot"))


def _disability_flags() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(disabled, severe, means no labour capacity) as DisabilityFacts.is_severe and
    .means_no_labour_capacity (民发〔2021〕57号, 43号 第八条)."""
    category = pl.col("disability_category")
    grade = pl.col("disability_grade")
    disabled = category.is_not_null()
    intellectual_mental = category.is_in(["intellectual", "mental"])
    severe = disabled & ((grade <= 2) | ((grade == 3) & intellectual_mental)).fill_null(False)
    no_capacity = disabled & (
        (intellectual_mental & (grade <= 3))
        | ((category == "physical") & (grade <= 2))
        | ((category == "visual") & (grade == 1))
    ).fill_null(False)
    return disabled, severe, no_capacity


_LOST_SELF_CARE = pl.col("self_care").is_in(["partly_lost", "fully_lost"]).fill_null(False)


def _extreme_poverty(pop: _Population) -> list[str]:
    """extreme_poverty.calculate: support = basic + care for each member with no capacity to work,
    own income below the dibao standard and nobody able to support them, if household assets are
    within the limit. Per household: basic x qualifying members + the care standards (few)."""
    P = pop.P
    born = pl.col("_born")
    _, _, disability_no_capacity = _disability_flags()
    # A supported minor keeps support to the continued age, and beyond while in full-time school.
    continued = pl.col("extreme_poverty_supported") & (
        (born > P("ep_continued_cutoff")) | pl.col("in_school_full_time")
    )
    no_capacity = (
        (born <= P("ep_elderly_cutoff"))
        | (born > P("ep_minor_cutoff"))
        | continued
        | disability_no_capacity
        | (pl.col("labour_capacity") == "none").fill_null(False)
    )
    qualifies = no_capacity & (pl.col("counted_income_fen") < P("standard")) & ~pl.col("has_able_supporter")
    counts = pop.dense({"_ep_ok": qualifies}, keep=["_ep_ok"])
    institutional = pl.col("support_mode") == "institutional"
    care = _when_chain(
        (
            (
                (institutional if mode == "institutional" else ~institutional)
                & (pl.col("self_care") == level),
                P(f"ep_care_{mode}_{level}"),
            )
            for mode, level in _CARE
        ),
        pl.lit(0, dtype=pl.Int64),
    )
    cares = pop.sparse(pl.col("_ep_ok") & _LOST_SELF_CARE, {"_ep_care": care})
    assets_ok = pl.col("financial_assets_fen") <= P("standard") * pl.col("_size") * P("asset_months")
    pop.set(
        pl.DataFrame([counts["_ep_ok"].alias("_ep_members"), cares["_ep_care"]]),
        extreme_poverty_eligible=assets_ok & (pl.col("_ep_members") > 0),
        extreme_poverty_amount_fen=pl.when(assets_ok)
        .then(P("ep_basic") * pl.col("_ep_members") + pl.col("_ep_care"))
        .otherwise(0),
    )
    return ["extreme_poverty_eligible", "extreme_poverty_amount_fen"]


def _elderly_band(pop: _Population) -> pl.Expr:
    """The member's elderly allowance: the amount of the highest band reached, null below the first."""
    P = pop.P
    born = pl.col("_born")
    return _when_chain(
        ((born <= P(f"band{k}_cutoff"), P(f"band{k}_fen")) for k in range(P.count("band"))),
        pl.lit(None, dtype=pl.Int64),
    )


def _living_subsidy_basis(pop: _Population) -> pl.Expr:
    """disability.living_basis: a disabled member of a covered household, not in extreme-poverty
    support and not protected as an orphan or unsupported child."""
    P = pop.P
    status = pop.on_members("household_status")
    in_extreme = pl.col("extreme_poverty_supported") | (status == "extreme_poverty")
    covered = (status == "dibao") | (P("living_covers_near_poor") & (status == "near_poor"))
    return (
        pl.col("disability_category").is_not_null() & covered & ~in_extreme & pl.col("child_status").is_null()
    )


def _elderly_allowance(pop: _Population) -> list[str]:
    """elderly.calculate: each member in the highest band reached, unless the disability living
    subsidy they also qualify for is higher (the higher of the two, not both)."""
    P = pop.P
    born = pl.col("_born")
    bands = P.count("band")
    reached = _elderly_band(pop)
    living_higher = _living_subsidy_basis(pop) & (P("living_amount") > reached)
    band = pl.when(living_higher).then(pl.lit(None, dtype=pl.Int64)).otherwise(reached)
    # only members old enough for some band of some group are looked at
    oldest = max((c for k in range(bands) for c in P.values[f"band{k}_cutoff"]), default=NEVER)
    sums = pop.sparse(born <= oldest, {"_elderly_members": band.is_not_null(), "_elderly": band.fill_null(0)})
    pop.set(
        sums,
        elderly_allowance_eligible=pl.col("_elderly_members") > 0,
        elderly_allowance_amount_fen=pl.col("_elderly"),
    )
    return ["elderly_allowance_eligible", "elderly_allowance_amount_fen"]


def _disability_subsidy(pop: _Population) -> list[str]:
    """disability.calculate: living subsidy for disabled members of covered households not in
    extreme-poverty support; care subsidy by grade, not on top of an extreme-poverty care standard."""
    P = pop.P
    category = pl.col("disability_category")
    grade = pl.col("disability_grade")
    status = pop.on_members("household_status")
    in_extreme = pl.col("extreme_poverty_supported") | (status == "extreme_poverty")
    elderly = _elderly_band(pop)
    living_ok = _living_subsidy_basis(pop) & ~(elderly.is_not_null() & (elderly >= P("living_amount")))
    care_amount = (
        pl.when(grade <= 2)
        .then(P("care_severe"))
        .when(category.is_in(["intellectual", "mental"]))
        .then(P("care_nonsevere"))
        .otherwise(0)
    )
    care_ok = (care_amount > 0) & ~(in_extreme & _LOST_SELF_CARE)
    amount = pl.when(living_ok).then(P("living_amount")).otherwise(0) + pl.when(care_ok).then(
        care_amount
    ).otherwise(0)
    sums = pop.sparse(
        category.is_not_null(), {"_disability_members": living_ok | care_ok, "_disability": amount}
    )
    pop.set(
        sums,
        disability_subsidy_eligible=pl.col("_disability_members") > 0,
        disability_subsidy_amount_fen=pl.col("_disability"),
    )
    return ["disability_subsidy_eligible", "disability_subsidy_amount_fen"]


def _child_allowance(pop: _Population) -> list[str]:
    """child.calculate: the standard minus other payments of the same kind, under the age limit."""
    P = pop.P
    status = pl.col("child_status")
    standard = (
        pl.when((status == "orphan") & (pl.col("child_care") == "institutional"))
        .then(P("orphan_institutional"))
        .when(status == "orphan")
        .then(P("orphan_scattered"))
        .otherwise(P("unsupported"))
    )
    amount = (
        pl.when(pl.col("_born") > P("child_cutoff"))
        .then((standard - pl.col("other_child_payments_fen")).clip(lower_bound=0))
        .otherwise(0)
    )
    sums = pop.sparse(status.is_not_null(), {"_child_members": amount > 0, "_child": amount})
    pop.set(
        sums,
        child_allowance_eligible=pl.col("_child_members") > 0,
        child_allowance_amount_fen=pl.col("_child"),
    )
    return ["child_allowance_eligible", "child_allowance_amount_fen"]


def _dibao(pop: _Population) -> list[str]:
    """dibao.calculate for a household application: the household top-up (or tier), then the
    category top-ups — one per member, the highest — once the per-capita top-up is known."""
    P = pop.P
    n = pl.col("_size")
    income = pl.col("_income")
    rigid = pl.col("rigid_expenses_fen")
    threshold = P("standard") * n
    pop.set(pop.dense({"_income": pl.col("counted_income_fen")}), _threshold=threshold)
    threshold = pl.col("_threshold")
    deduction = (
        pl.when((rigid == 0) | (P("rigid_mode") == _RIGID["none"]))
        .then(0)
        .when(P("rigid_mode") == _RIGID["full"])
        .then(pl.min_horizontal(rigid, income))
        .otherwise(pl.min_horizontal(rigid, income, P("rigid_cap")))
    )
    pop.set(_assessed=income - deduction)
    assessed = pl.col("_assessed")
    assets_ok = pl.col("financial_assets_fen") <= threshold * P("asset_months")
    pop.set(dibao_eligible=(assessed < threshold) & assets_ok)
    eligible = pl.col("dibao_eligible")
    near_poor = assets_ok & (assessed * RATE_SCALE < threshold * P("near_poor_units"))
    statuses = pl.Series(DIBAO_STATUS.categories, dtype=DIBAO_STATUS)
    pop.set(
        dibao_status=pl.lit(statuses).gather(pl.when(eligible).then(0).when(near_poor).then(1).otherwise(2))
    )
    top_up = threshold - assessed
    tiered = _when_chain(
        (
            (top_up * RATE_SCALE >= P(f"tier{k}_gap") * threshold, P(f"tier{k}_fen") * n)
            for k in range(P.count("tier"))
        ),
        pl.lit(0, dtype=pl.Int64),
    )
    method = P.uniform("tiered")
    if method is VARIES:
        base = pl.when(P("tiered")).then(tiered).otherwise(top_up)
    else:
        base = tiered if method else top_up
    # The top-up (by tier or not) and the category top-ups: for the eligible households (a few per
    # cent) and their members only.
    bases = pop.households_where(eligible, {"_base": base, "_n": n}).with_columns(
        _per_capita=_half_up_div(pl.col("_base"), pl.col("_n"))
    )
    # Every eligible household has members, so the members' households line up with `bases`.
    per_capita = pl.lit(bases["_per_capita"]).gather(pl.col("_slot").rle_id())
    rows, topups = pop.sparse_rows(
        pop.on_members("dibao_eligible"), {"_topups": _category_topup(pop, per_capita)}
    )
    if not rows.equals(bases["_row"], check_names=False, check_dtypes=False):
        raise AssertionError("dibao: eligible households and their members do not line up")
    amounts = pl.DataFrame({"dibao_amount_fen": bases["_base"] + topups["_topups"]})
    pop.set(pop.scatter(bases["_row"], amounts))
    return ["dibao_eligible", "dibao_amount_fen", "dibao_status"]


def _category_topup(pop: _Population, per_capita: pl.Expr) -> pl.Expr:
    """dibao.member_categories and category_amount: the highest top-up of the member's categories."""
    P = pop.P
    born = pl.col("_born")
    _, severe, _ = _disability_flags()
    flags = {
        "elderly": born <= P("dibao_elderly_cutoff"),
        "minor": born > P("dibao_minor_cutoff"),
        "disabled": severe,
        "ill": pl.col("serious_illness"),
    }
    terms = []
    for name in _TOPUP_CATEGORIES:
        kind = P.uniform(f"topup_{name}_kind")
        if kind == _TOPUP_NONE:
            continue
        per_capita_amount = _half_up_div(per_capita * P(f"topup_{name}_units"), RATE_SCALE)
        if kind == _TOPUP_PER_CAPITA:
            amount = per_capita_amount
        elif kind == _TOPUP_CONSTANT:
            amount = P(f"topup_{name}_fen")
        else:
            amount = (
                pl.when(P(f"topup_{name}_kind") == _TOPUP_PER_CAPITA)
                .then(per_capita_amount)
                .otherwise(P(f"topup_{name}_fen"))
            )
        terms.append(pl.when(flags[name]).then(amount).otherwise(0))
    if not terms:
        return pl.lit(0, dtype=pl.Int64)
    return pl.max_horizontal(pl.lit(0, dtype=pl.Int64), *terms)


_PROGRAMMES: dict[str, Callable[[_Population], list[str]]] = {
    "dibao": _dibao,
    "extreme_poverty": _extreme_poverty,
    "elderly_allowance": _elderly_allowance,
    "disability_subsidy": _disability_subsidy,
    "child_allowance": _child_allowance,
}


def calculate(
    members: pl.DataFrame,
    households: pl.DataFrame,
    table: PolicyTable,
    *,
    day: date,
    programmes: Sequence[str] = MONTHLY_PROGRAMMES,
    overrides: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """The monthly programmes for every household on `day` (see the module docstring for the frames).
    `overrides` are what-if parameter values, exactly as for engine.calculate."""
    unknown = sorted(set(programmes) - set(MONTHLY_PROGRAMMES))
    if unknown:
        raise InvalidInput(
            f"批量计算只包括按月发放的项目，不包括：{'、'.join(unknown)}",
            field_errors={"programmes": unknown},
        )
    programmes = [p for p in MONTHLY_PROGRAMMES if p in programmes]
    members, households = _prepare(members, households)
    runs = members["household_id"].rle()
    _check_keys(members, households, runs.struct.field("value"))
    sizes = runs.struct.field("len").cast(pl.Int64).alias("_size")
    group, groups = _group_index(households, table, day, programmes, overrides)
    P = _Params(_groups_frame(groups))
    _check_range(members, households, sizes, P)
    slot = members.select(pl.col("household_id").rle_id().alias("_slot")).to_series()
    pop = _Population(
        members=members.with_columns(
            slot,
            _born=pl.col("birth_date").cast(pl.Int32),
            _group=group.gather(slot) if len(groups) > 1 else pl.lit(0, dtype=pl.UInt32),
        ),
        households=households.with_columns(group, sizes),
        ends=(sizes.cum_sum() - 1).cast(pl.UInt32),
        P=P,
    )
    out = ["household_id"]
    for programme in programmes:
        out += _PROGRAMMES[programme](pop)
    return pop.households.select(out)


def parameters_used(
    households: pl.DataFrame,
    table: PolicyTable,
    *,
    day: date,
    programmes: Sequence[str] = MONTHLY_PROGRAMMES,
    overrides: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """The parameters the bulk calculation reads, per (county, area) present in `households`: what
    an explanation of a bulk run shows, like Result.parameters for one household."""
    households = _conform(households, HOUSEHOLD_COLUMNS, "households")
    _, groups = _group_index(
        households, table, day, [p for p in MONTHLY_PROGRAMMES if p in programmes], overrides
    )
    rows = [{"county": g.county, "group_area": g.area, **p.as_dict()} for g in groups for p in g.used]
    return pl.DataFrame(rows)
