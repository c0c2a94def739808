"""Parameters as data: names and kinds (parameters.yaml), dated regional values (packs/*.yaml or the
database), and the lookup every calculation uses. Pure: no database access here.

Lookup of parameter P on day D for place C (a 12- or 6-digit division code) and area A:
the most specific region that has a value in force wins — county (6 digits), then city (4), then
province (2), then the national pack ("") — and within a region the value with the latest
effective date on or before D; a value for A (urban/rural) is preferred to one for both areas
when both start on the same day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from minzheng.rules.money import parse_money, parse_rate

T = TypeVar("T")
RULES_DIR = Path(__file__).resolve().parent
PACKS_DIR = RULES_DIR / "packs"
AREAS = ("urban", "rural")
ALL_AREAS = "all"
KINDS = ("money", "rate", "integer", "choice", "boolean", "table")


class PolicyError(ValueError):
    """A parameter file or value is malformed, or no value is in force."""


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    description: str
    unit: str
    kind: str
    by_area: bool = False
    choices: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)

    def parse(self, raw: Any) -> Any:
        """The typed value (Decimal, int, str, bool or a tuple of row dicts) from YAML or JSON text."""
        try:
            return _parse_kind(self.kind, raw, self.choices, self.columns)
        except (ValueError, TypeError) as exc:
            raise PolicyError(f"{self.name}：{exc}") from exc

    def dump(self, value: Any) -> str:
        """The canonical text stored in the database and shown in explanations."""
        if self.kind == "table":
            return json.dumps([{k: str(v) for k, v in row.items()} for row in value], ensure_ascii=False)
        if self.kind == "boolean":
            return "true" if value else "false"
        return str(value)


def _parse_kind(kind: str, raw: Any, choices: Mapping[str, str], columns: Mapping[str, str]) -> Any:
    if kind == "money":
        return parse_money(raw)
    if kind == "rate":
        return parse_rate(raw)
    if kind == "integer":
        if isinstance(raw, bool) or not str(raw).strip().isdigit():
            raise ValueError("必须是非负整数")
        return int(str(raw).strip())
    if kind == "boolean":
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ValueError("必须是 true 或 false")
        return text == "true"
    if kind == "choice":
        text = str(raw).strip()
        if text not in choices:
            raise ValueError(f"必须是以下之一：{'、'.join(choices)}")
        return text
    if kind == "table":
        rows = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(rows, list) or not rows:
            raise ValueError("必须是至少一行的表")
        parsed = []
        for row in rows:
            if not isinstance(row, Mapping) or set(row) != set(columns):
                raise ValueError(f"每行必须恰好包含列：{'、'.join(columns)}")
            parsed.append({col: _parse_kind(columns[col], row[col], {}, {}) for col in columns})
        return tuple(parsed)
    raise ValueError(f"未知的参数类型 {kind}")


@cache
def parameter_specs() -> dict[str, ParameterSpec]:
    raw = yaml.safe_load((RULES_DIR / "parameters.yaml").read_text(encoding="utf-8"))
    specs: dict[str, ParameterSpec] = {}
    for name, body in raw.items():
        if body.get("kind") not in KINDS:
            raise PolicyError(f"{name}: unknown kind {body.get('kind')!r}")
        specs[name] = ParameterSpec(
            name=name,
            description=body["description"],
            unit=body.get("unit", ""),
            kind=body["kind"],
            by_area=bool(body.get("by_area", False)),
            choices=dict(body.get("choices", {})),
            columns=dict(body.get("columns", {})),
        )
    return specs


def spec_for(name: str) -> ParameterSpec:
    try:
        return parameter_specs()[name]
    except KeyError:
        raise PolicyError(f"未知的参数名称：{name}") from None


@dataclass(frozen=True)
class PolicyValue:
    """One dated value of a parameter for a region ("" national, 2/4/6-digit codes) and area."""

    name: str
    region: str
    area: str
    effective_from: date
    value: Any
    reference: str
    provisional: bool = False
    source: str = ""

    @property
    def value_text(self) -> str:
        return spec_for(self.name).dump(self.value)


@dataclass(frozen=True)
class ParameterUsed:
    """A parameter as it entered a calculation — what the explanation shows and decisions store."""

    name: str
    description: str
    unit: str
    value: str
    region: str
    area: str
    effective_from: date | None
    reference: str
    provisional: bool = False
    overridden: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "value": self.value,
            "region": self.region,
            "area": self.area,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "reference": self.reference,
            "provisional": self.provisional,
            "overridden": self.overridden,
        }


def region_chain(code: str) -> tuple[str, ...]:
    """County, city, province and national keys for a 12- or 6-digit division code."""
    county = code[:6]
    return (county, county[:4], county[:2], "")


class PolicyTable:
    """All values of all parameters, indexed for lookup. Immutable once built."""

    def __init__(self, values: Iterable[PolicyValue]) -> None:
        index: dict[tuple[str, str], list[PolicyValue]] = {}
        for value in values:
            index.setdefault((value.name, value.region), []).append(value)
        for entries in index.values():
            entries.sort(key=lambda v: (v.effective_from, v.area != ALL_AREAS))
        self._index = index

    def lookup(self, name: str, day: date, place: str, area: str) -> PolicyValue:
        for region in region_chain(place):
            entries = self._index.get((name, region))
            if not entries:
                continue
            found = None
            for entry in entries:
                if entry.effective_from > day:
                    break
                if entry.area in (area, ALL_AREAS):
                    found = entry
            if found is not None:
                return found
        raise PolicyError(
            f"参数“{spec_for(name).description}”（{name}）在{day.isoformat()}没有适用于该地区的生效值"
        )

    def values(self) -> list[PolicyValue]:
        return [v for entries in self._index.values() for v in entries]


def _typed(name: str, value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise PolicyError(f"参数 {name} 的类型不是 {kind.__name__}")
    return value


class ParameterView:
    """Parameters for one calculation: a day, a place and an area, with optional what-if overrides.
    Records every parameter read, in order, for the explanation."""

    def __init__(
        self,
        table: PolicyTable,
        *,
        day: date,
        place: str,
        area: str,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.day = day
        self.place = place
        self.area = area
        self.overrides: dict[str, Any] = {}
        for name, raw in (overrides or {}).items():
            self.overrides[name] = spec_for(name).parse(raw)
        self.used: dict[tuple[str, str], ParameterUsed] = {}

    def get(self, name: str, *, area: str | None = None) -> Any:
        spec = spec_for(name)
        area = area or self.area
        key = (name, area if spec.by_area else ALL_AREAS)
        if name in self.overrides:
            value = self.overrides[name]
            if key not in self.used:
                self.used[key] = ParameterUsed(
                    name=name,
                    description=spec.description,
                    unit=spec.unit,
                    value=spec.dump(value),
                    region=self.place[:6],
                    area=key[1],
                    effective_from=self.day,
                    reference="假设值（测算用，非生效标准）",
                    overridden=True,
                )
            return value
        found = self.table.lookup(name, self.day, self.place, area)
        if key not in self.used:
            self.used[key] = ParameterUsed(
                name=name,
                description=spec.description,
                unit=spec.unit,
                value=found.value_text,
                region=found.region,
                area=found.area,
                effective_from=found.effective_from,
                reference=found.reference,
                provisional=found.provisional,
            )
        return found.value

    def money(self, name: str, *, area: str | None = None) -> Decimal:
        value = self.get(name, area=area)
        return _typed(name, value, Decimal)

    def rate(self, name: str) -> Decimal:
        value = self.get(name)
        return _typed(name, value, Decimal)

    def integer(self, name: str) -> int:
        value = self.get(name)
        return _typed(name, value, int)

    def choice(self, name: str) -> str:
        value = self.get(name)
        return _typed(name, value, str)

    def flag(self, name: str) -> bool:
        return bool(self.get(name))

    def table_rows(self, name: str) -> tuple[dict[str, Any], ...]:
        value = self.get(name)
        return _typed(name, value, tuple)

    def parameters_used(self) -> list[ParameterUsed]:
        return list(self.used.values())


# --- Packs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyPack:
    pack: str
    title: str
    region: str
    values: tuple[PolicyValue, ...]


def _as_date(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        raise PolicyError(f"{where}：日期格式不正确 {raw!r}") from exc


def parse_pack(text: str, *, origin: str = "") -> PolicyPack:
    """Validate a pack file completely; the first problem raises PolicyError naming the place."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not {"pack", "title", "region", "parameters"} <= set(raw):
        raise PolicyError(f"{origin}: a pack needs pack, title, region and parameters")
    region = str(raw["region"])
    if region and not (region.isdigit() and len(region) in (2, 4, 6)):
        raise PolicyError(f"{origin}: region must be '' or a 2/4/6-digit code, not {region!r}")
    values: list[PolicyValue] = []
    for name, body in raw["parameters"].items():
        spec = spec_for(name)
        by_area: dict[str, Any]
        if spec.by_area:
            if not isinstance(body, dict) or not set(body) <= {*AREAS, ALL_AREAS}:
                raise PolicyError(f"{origin} {name}: values must be keyed by urban/rural")
            by_area = body
        else:
            by_area = {ALL_AREAS: body}
        for area, dated in by_area.items():
            if not isinstance(dated, dict):
                raise PolicyError(f"{origin} {name}: expected effective dates")
            for day, entry in dated.items():
                where = f"{origin} {name} {area} {day}"
                if not isinstance(entry, dict) or "value" not in entry or not entry.get("reference"):
                    raise PolicyError(f"{where}: each value needs value and reference")
                values.append(
                    PolicyValue(
                        name=name,
                        region=region,
                        area=area,
                        effective_from=_as_date(day, where),
                        value=spec.parse(entry["value"]),
                        reference=str(entry["reference"]),
                        provisional=bool(entry.get("provisional", False)),
                        source=f"pack:{raw['pack']}",
                    )
                )
    return PolicyPack(pack=str(raw["pack"]), title=str(raw["title"]), region=region, values=tuple(values))


@cache
def shipped_packs() -> tuple[PolicyPack, ...]:
    return tuple(
        parse_pack(path.read_text(encoding="utf-8"), origin=path.name)
        for path in sorted(PACKS_DIR.glob("*.yaml"))
    )


@cache
def shipped_policy() -> PolicyTable:
    """The packs as shipped in the repository — for tests, scenarios and the CLI without a database."""
    return PolicyTable(v for pack in shipped_packs() for v in pack.values)
