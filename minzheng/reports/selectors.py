"""Reads of the monthly statistics, always within the actor's jurisdiction: a county's figures for a
month (the bulletin), the dashboard of a township, county, city or region (units side by side, a
ranking, the last twelve months), and the records behind any figure (the drill-down)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minzheng.cases.models import Case
from minzheng.catalogue.models import ServiceItem
from minzheng.core.errors import InvalidInput, OutOfScope
from minzheng.core.permissions import Perm
from minzheng.feedback.catalogue import categories
from minzheng.feedback.models import Ticket
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of, require
from minzheng.payments.models import Enrolment, FundEntry, FundKind, PayrollLine
from minzheng.payments.months import add_months, first_of_month
from minzheng.registry.models import Area, Household, Person
from minzheng.reports import statistics
from minzheng.reports.metrics import BY_CODE, GROUPS, METRICS, RATES, STANDARD, window
from minzheng.reports.models import StatisticMember, StatisticPeriod, StatisticValue
from minzheng.reports.services import check_month
from minzheng.rules.policy import parameter_specs
from minzheng.rules.programmes import PROGRAMMES

# The figures a dashboard compares side by side and follows over twelve months.
KEY_METRICS = (
    "households_covered",
    "persons_covered",
    "payroll_amount",
    "cases_in_progress",
    "cases_overdue",
    "warnings_open",
    "warnings_overdue",
    "tickets_received",
)
KEY_RATES = ("cases_on_time_rate", "tickets_on_time_rate", "tickets_satisfaction_rate")
# Where a lower figure ranks first.
LOWER_IS_BETTER = {
    "cases_overdue",
    "warnings_open",
    "warnings_overdue",
    "tickets_repeat_rate",
    "tickets_return_rate",
}
TREND_MONTHS = 12


# --- Labels -----------------------------------------------------------------------------------------


def metric_label(code: str) -> str:
    if code in BY_CODE:
        return str(BY_CODE[code].label)
    for rate, label, *_rest in RATES:
        if rate == code:
            return str(label)
    if code == STANDARD:
        return _("保障标准")
    raise InvalidInput(_("没有该统计指标"), field_errors={"metric": [_("指标代码无效")]})


def dimension_label(metric: str, dimension: str) -> str:
    """The dimension in words: a programme and urban/rural, a service item, a ticket category, a fund."""
    if not dimension:
        return _("合计")
    head, _sep, tail = dimension.partition(":")
    if metric == STANDARD:
        spec = parameter_specs().get(head)
        text = spec.description if spec else head
        return f"{_(text)}（{Area(tail).label!s}）" if tail in Area.values else _(text)
    if head in PROGRAMMES:
        text = _(PROGRAMMES[head].label)
        return f"{text}·{Area(tail).label!s}" if tail in Area.values else text
    if metric.startswith("tickets_"):
        found = categories().get(head + "00")
        return f"{head}00 {_(found.name)}" if found else head
    if metric == "fund_paid" and head in FundKind.values:
        return str(FundKind(head).label)
    if metric.startswith("cases_"):
        item = ServiceItem.objects.filter(code=head).values_list("name", flat=True).first()
        return _(item) if item else head
    return head


def _names(codes: set[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


# --- Scope ------------------------------------------------------------------------------------------


def counties_in_scope(*, actor: Staff) -> list[Division]:
    """The counties the actor's statistics cover: those under its jurisdiction, or its own county."""
    require(actor, Perm.REPORT_VIEW)
    prefix = jurisdiction_of(actor).prefix
    if len(prefix) >= 6:
        return list(Division.objects.filter(code=statistics.county_code(prefix[:6])))
    return list(Division.objects.filter(level=3, code__startswith=prefix, is_active=True).order_by("code"))


def _unit_prefix(actor: Staff, county: str, unit: str) -> str:
    """The division prefix a read covers: `unit` (a county or township of `county`) if given, else
    the actor's jurisdiction within the county. Outside the actor's jurisdiction: OutOfScope."""
    mine = jurisdiction_of(actor).prefix
    if not unit:
        return mine if mine.startswith(county) else county
    division = Division.objects.filter(code=unit).first()
    if division is None or not division.code.startswith(county) or division.level > 4:
        raise InvalidInput(_("统计单位无效"), field_errors={"unit": [_("请选择本县（区）或其乡镇（街道）")]})
    if not division.prefix.startswith(mine):
        raise OutOfScope()
    return division.prefix


def _county(actor: Staff, county: str) -> str:
    """The county asked for, within the actor's statistics; the first of them when none is named."""
    county = (county or "").strip()
    if not county:
        mine = counties_in_scope(actor=actor)
        if not mine:
            raise InvalidInput(
                _("您的管辖范围内没有县（区）"), field_errors={"county": [_("请填写6位县（区）代码")]}
            )
        return mine[0].code[:6]
    for found in counties_in_scope(actor=actor):
        if found.code[:6] == county:
            return county
    if len(county) != 6 or not county.isdigit():
        raise InvalidInput(_("县（区）代码无效"), field_errors={"county": [_("请填写6位县（区）代码")]})
    raise OutOfScope()


def parse_month(text: str | None) -> date:
    """A month written YYYY-MM (or a date in it); the current month when empty. Not a future one."""
    if not text:
        return first_of_month(timezone.localdate())
    try:
        parts = [int(p) for p in str(text).strip().split("-")[:2]]
        month = date(parts[0], parts[1], 1)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(_("月份格式应为YYYY-MM"), field_errors={"month": [_("格式应为YYYY-MM")]}) from exc
    return check_month(month)


# --- A county's month (the bulletin) ---------------------------------------------------------------


@dataclass
class Row:
    metric: str
    label: str
    dimension: str
    dimension_label: str
    values: list[Any]  # per unit, then the total (None: no figure)
    money: bool = False
    rate: bool = False
    drill: bool = True


@dataclass
class Sheet:
    county: str
    county_name: str
    month: date
    period: StatisticPeriod | None
    units: list[tuple[str, str]]  # (code, name), the columns before the total
    groups: list[tuple[str, str, list[Row]]]
    standards: list[Row] = field(default_factory=list)

    @property
    def frozen(self) -> bool:
        return self.period is not None and self.period.frozen


def _rate(numerator: Decimal | None, denominator: Decimal | None, complement: bool) -> Decimal | None:
    if not denominator:
        return None
    top = (denominator - (numerator or 0)) if complement else (numerator or 0)
    return (Decimal(top) * 100 / Decimal(denominator)).quantize(Decimal("0.1"))


def sheet(*, actor: Staff, county: str, month: date, unit: str = "") -> Sheet:
    """A county's figures for a month as the bulletin prints them: rows per metric (a total row and
    one per dimension), columns per unit (township or office) in the actor's jurisdiction and the
    total; the rates beside the counts; the standards in force."""
    county = _county(actor, county)
    month = check_month(month)
    prefix = _unit_prefix(actor, county, unit)
    period = (
        StatisticPeriod.objects.filter(county=county, month=month)
        .select_related("frozen_by", "computed_by")
        .first()
    )
    values: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    standards: list[Row] = []
    if period is not None:
        for metric, code, dim, value in StatisticValue.objects.filter(period=period).values_list(
            "metric", "division_code", "dimension", "value"
        ):
            if metric == STANDARD:
                standards.append(
                    Row(metric, metric_label(metric), dim, dimension_label(metric, dim), [value], money=True)
                )
                continue
            if not code.startswith(prefix):
                continue
            values[(metric, dim)][code] = value
    unit_codes = sorted({code for per_unit in values.values() for code in per_unit})
    # Every township of the jurisdiction is a column, counted or not.
    townships = Division.objects.filter(code__startswith=prefix, level=4, is_active=True).values_list(
        "code", flat=True
    )
    unit_codes = sorted(set(unit_codes) | set(townships))
    names = _names(set(unit_codes))
    units = [(code, names.get(code, code)) for code in unit_codes]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    groups: list[tuple[str, str, list[Row]]] = []
    for group, group_label in GROUPS:
        rows: list[Row] = []
        for definition in (m for m in METRICS if m.group == group):
            dims = sorted({dim for (m, dim) in values if m == definition.code})
            by_unit: dict[str, Decimal] = defaultdict(Decimal)
            for dim in dims:
                for code, value in values[(definition.code, dim)].items():
                    by_unit[code] += value
            total = sum(by_unit.values(), Decimal(0))
            totals[definition.code] = total
            rows.append(
                Row(
                    definition.code, str(definition.label), "", _("合计"),
                    [by_unit.get(code, Decimal(0)) for code in unit_codes] + [total], money=definition.money,
                )
            )  # fmt: skip
            for dim in dims:
                if dim == "":
                    continue
                per = values[(definition.code, dim)]
                rows.append(
                    Row(
                        definition.code, str(definition.label), dim, dimension_label(definition.code, dim),
                        [per.get(code, Decimal(0)) for code in unit_codes] + [sum(per.values(), Decimal(0))],
                        money=definition.money,
                    )
                )  # fmt: skip
        for rate, label, numerator, denominator, complement in RATES:
            if BY_CODE[numerator].group != group:
                continue
            per_unit = [
                _rate(_value(values, numerator, code), _value(values, denominator, code), complement)
                for code in unit_codes
            ]
            per_unit.append(_rate(totals.get(numerator), totals.get(denominator), complement))
            rows.append(Row(rate, str(label), "", "%", per_unit, rate=True, drill=False))
        groups.append((group, str(group_label), rows))
    county_name = _names({statistics.county_code(county)}).get(statistics.county_code(county), county)
    standards.sort(key=lambda r: r.dimension)
    return Sheet(county, county_name, month, period, units, groups, standards)


def _fen(value: Decimal | None) -> Decimal | None:
    """A stored figure as the API and pages give it on every backend: two places (SQLite's SUM
    drops trailing zeros that PostgreSQL's numeric keeps)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _value(values: dict[tuple[str, str], dict[str, Decimal]], metric: str, code: str) -> Decimal:
    return sum((per.get(code, Decimal(0)) for (m, _dim), per in values.items() if m == metric), Decimal(0))


# --- Dashboards ------------------------------------------------------------------------------------


@dataclass
class Column:
    code: str  # a township (county dashboards) or a county's 12-digit code (city and region)
    name: str
    county: str
    state: str  # "" (not computed), open or frozen
    figures: dict[str, Decimal | None]
    rank: int | None = None


@dataclass
class Dashboard:
    level: str  # township, county, city or region
    name: str
    month: date
    columns: list[Column]
    rank_by: str
    trend_months: list[date]
    trend: dict[str, list[Decimal | None]]
    totals: dict[str, Decimal | None]
    periods: list[StatisticPeriod]

    @property
    def compares_counties(self) -> bool:
        return self.level in ("city", "region")


def _with_rates(figures: dict[str, Decimal | None]) -> dict[str, Decimal | None]:
    for rate, _label, numerator, denominator, complement in RATES:
        figures[rate] = _rate(figures.get(numerator), figures.get(denominator), complement)
    return figures


RATE_INPUTS = sorted({m for _r, _l, n, d, _c in RATES for m in (n, d)})


def dashboard(*, actor: Staff, month: date, rank_by: str = "households_covered") -> Dashboard:
    """The actor's dashboard for a month: a township sees itself, a county its townships, a city or
    region its counties side by side, ranked by `rank_by`; and the jurisdiction's key figures over
    the last twelve months. Read from the stored figures (the sweep keeps the current month
    current)."""
    require(actor, Perm.REPORT_VIEW)
    month = check_month(month)
    if rank_by not in KEY_METRICS and rank_by not in KEY_RATES:
        raise InvalidInput(_("排名指标无效"), field_errors={"rank_by": [_("请选择看板上的指标")]})
    where = jurisdiction_of(actor)
    prefix = where.prefix
    level = {2: "region", 4: "city", 6: "county"}.get(len(prefix), "township")
    counties = [d.code[:6] for d in counties_in_scope(actor=actor)]
    wanted = [*KEY_METRICS, *RATE_INPUTS]
    values = StatisticValue.objects.filter(
        period__county__in=counties,
        period__month=month,
        metric__in=wanted,
        division_code__startswith=prefix[:9],
    )
    periods = list(StatisticPeriod.objects.filter(county__in=counties, month=month).order_by("county"))
    state = {p.county: p.state for p in periods}
    grouped: dict[str, dict[str, Decimal | None]] = defaultdict(dict)
    if level in ("city", "region"):
        for row in values.values("period__county", "metric").annotate(total=Sum("value")).order_by():
            grouped[row["period__county"]][row["metric"]] = _fen(row["total"])
        names = _names({statistics.county_code(c) for c in counties})
        columns = [
            Column(
                statistics.county_code(c),
                names.get(statistics.county_code(c), c),
                c,
                state.get(c, ""),
                _with_rates(grouped[c]),
            )
            for c in counties
        ]
    else:
        for row in values.values("division_code", "metric").annotate(total=Sum("value")).order_by():
            grouped[row["division_code"]][row["metric"]] = _fen(row["total"])
        townships = set(
            Division.objects.filter(code__startswith=prefix[:9], level=4, is_active=True).values_list(
                "code", flat=True
            )
        )
        codes = sorted(set(grouped) | townships)
        names = _names(set(codes))
        county = counties[0] if counties else prefix[:6]
        columns = [
            Column(c, names.get(c, c), county, state.get(county, ""), _with_rates(grouped[c])) for c in codes
        ]
    ranked = [c for c in columns if c.figures.get(rank_by) is not None]
    ranked.sort(key=lambda c: c.figures[rank_by] or 0, reverse=rank_by not in LOWER_IS_BETTER)
    for i, column in enumerate(ranked, start=1):
        column.rank = i
    columns.sort(key=lambda c: (c.rank is None, c.rank or 0, c.code))
    totals: dict[str, Decimal | None] = {}
    for metric in wanted:
        present = [c.figures.get(metric) for c in columns if c.figures.get(metric) is not None]
        totals[metric] = sum((p for p in present if p is not None), Decimal(0)) if present else None
    _with_rates(totals)
    trend_months = [add_months(month, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    trend: dict[str, list[Decimal | None]] = {m: [None] * TREND_MONTHS for m in KEY_METRICS}
    index = {m: i for i, m in enumerate(trend_months)}
    for row in (
        StatisticValue.objects.filter(
            period__county__in=counties,
            period__month__in=trend_months,
            metric__in=KEY_METRICS,
            division_code__startswith=prefix[:9],
        )
        .values("period__month", "metric")
        .annotate(total=Sum("value"))
        .order_by()
    ):
        trend[row["metric"]][index[row["period__month"]]] = row["total"]
    return Dashboard(level, where.name, month, columns, rank_by, trend_months, trend, totals, periods)


# --- Drill-down -----------------------------------------------------------------------------------


@dataclass
class Members:
    county: str
    month: date
    metric: str
    label: str
    kind: str
    unit: str
    unit_name: str
    dimension: str
    dimension_label: str
    frozen: bool
    figure: Decimal | None  # the stored figure (None: never computed)
    count: int  # the records listed
    total: Decimal | None  # their summed amount (money figures)
    money: bool
    rows: list[dict[str, Any]]
    page: int
    pages: int
    computed_at: Any


PAGE_SIZE = 50


def members(
    *, actor: Staff, county: str, month: date, metric: str, unit: str = "", dimension: str = "", page: int = 1
) -> Members:
    """The records a figure counts, one page at a time. A frozen month lists the records kept when it
    was frozen; a month still open lists what its queries find now (the figure's own queries), so the
    list's length equals the figure as last computed unless the data changed since."""
    require(actor, Perm.REPORT_VIEW)
    metric = metric or "households_covered"
    if metric not in BY_CODE:
        raise InvalidInput(_("没有该统计指标"), field_errors={"metric": [_("指标代码无效")]})
    county = _county(actor, county)
    month = check_month(month)
    prefix = _unit_prefix(actor, county, unit)
    definition = BY_CODE[metric]
    page = max(1, page)
    period = StatisticPeriod.objects.filter(county=county, month=month).first()
    figure: Decimal | None = None
    if period is not None:
        stored = StatisticValue.objects.filter(period=period, metric=metric, division_code__startswith=prefix)
        if dimension:
            stored = stored.filter(Q(dimension=dimension) | Q(dimension__startswith=dimension + ":"))
        figure = _fen(stored.aggregate(total=Sum("value"))["total"] or Decimal(0))
    offset = (page - 1) * PAGE_SIZE
    if period is not None and period.frozen:
        kept = StatisticMember.objects.filter(period=period, metric=metric, division_code__startswith=prefix)
        if dimension:
            kept = kept.filter(Q(dimension=dimension) | Q(dimension__startswith=dimension + ":"))
        count = kept.count()
        listed = list(
            kept.order_by("dimension", "member_id").values_list("division_code", "dimension", "member_id")[
                offset : offset + PAGE_SIZE
            ]
        )
        total = figure if definition.money else None
    else:
        count, total, listed = statistics.live_members(
            definition,
            window(county, month),
            prefix=prefix,
            dimension=dimension,
            limit=PAGE_SIZE,
            offset=offset,
        )
    unit_code = prefix.ljust(12, "0")
    return Members(
        county=county,
        month=month,
        metric=metric,
        label=str(definition.label),
        kind=definition.kind,
        unit=unit_code,
        unit_name=_names({unit_code}).get(unit_code, unit_code),
        dimension=dimension,
        dimension_label=dimension_label(metric, dimension) if dimension else _("合计"),
        frozen=period is not None and period.frozen,
        figure=figure,
        count=count,
        total=Decimal(str(total or 0)).quantize(Decimal("0.01")) if definition.money else None,
        money=definition.money,
        rows=_describe(definition.kind, listed, metric),
        page=page,
        pages=max(1, (count + PAGE_SIZE - 1) // PAGE_SIZE),
        computed_at=period.computed_at if period else None,
    )


def _describe(kind: str, listed: list[tuple[str, str, int]], metric: str) -> list[dict[str, Any]]:
    """One display row per record listed: its id, a number or name, where it is, and what it is."""
    ids = [member for _unit, _dim, member in listed]
    found: dict[int, dict[str, Any]] = {}
    if kind == "households":
        for h in Household.objects.filter(pk__in=ids).select_related("division", "head"):
            found[h.pk] = {
                "title": h.number,
                "who": h.head.name if h.head else "",
                "where": h.division.name,
                "what": h.get_area_display(),
                "link": ("web:household", h.pk),
            }
    elif kind == "persons":
        for p in Person.objects.filter(pk__in=ids).select_related("division"):
            found[p.pk] = {
                "title": p.id_masked,
                "who": p.name,
                "where": p.division.name if p.division else "",
                "what": "",
                "link": None,
            }
    elif kind == "enrolments":
        for e in Enrolment.objects.filter(pk__in=ids).select_related("division", "payee", "household"):
            found[e.pk] = {
                "title": e.household.number,
                "who": e.payee.name,
                "where": e.division.name,
                "what": f"{e.get_status_display()} {e.monthly_amount}",
                "link": ("web:enrolment", e.pk),
            }
    elif kind == "lines":
        for line in PayrollLine.objects.filter(pk__in=ids).select_related("payee"):
            found[line.pk] = {
                "title": f"{line.run_id}-{line.pk}",
                "who": line.payee.name,
                "where": line.division_code,
                "what": line.get_status_display(),
                "amount": line.amount,
                "link": ("web:payroll_run", line.run_id),
            }
    elif kind == "entries":
        for entry in FundEntry.objects.filter(pk__in=ids).select_related("fund"):
            found[entry.pk] = {
                "title": f"{entry.fund.township_code}",
                "who": entry.note,
                "where": entry.fund.township_code,
                "what": entry.get_kind_display(),
                "amount": entry.amount,
                "link": None,
            }
    elif kind == "cases":
        for c in Case.objects.filter(pk__in=ids).select_related("division", "item"):
            found[c.pk] = {
                "title": c.number,
                "who": c.applicant_name,
                "where": c.division.name,
                "what": f"{_(c.item.name)} {c.due_date or ''}",
                "link": ("web:case", c.pk),
            }
    elif kind == "warnings":
        for w in MonitoringWarning.objects.filter(pk__in=ids).select_related("person"):
            found[w.pk] = {
                "title": w.number,
                "who": w.person.name,
                "where": w.village_code,
                "what": f"{w.get_state_display()} {w.due_on}",
                "link": ("web:monitoring_warning", w.pk),
            }
    elif kind == "tickets":
        for t in Ticket.objects.filter(pk__in=ids).select_related("division"):
            found[t.pk] = {
                "title": t.number,
                "who": t.title,
                "where": t.division.name,
                "what": t.get_state_display(),
                "link": ("web:feedback_ticket", t.pk),
            }
    rows: list[dict[str, Any]] = []
    for unit, dim, member in listed:
        row = {
            "id": member,
            "unit": unit,
            "dimension": dimension_label(metric, dim),
            "title": "",
            "who": "",
            "where": "",
            "what": "",
            "amount": None,
            "link": None,
        }
        row.update(found.get(member, {"title": _("（记录已不存在）")}))
        rows.append(row)
    return rows
