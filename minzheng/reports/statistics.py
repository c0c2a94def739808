"""Computing a period's figures and members inside the database (INSERT ... SELECT over the queries
of `metrics`), and reading the records behind a figure. No permission checks here: the services and
selectors check them."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection

from minzheng.reports.metrics import METRICS, STANDARD, Metric, Window, rows, union_sql
from minzheng.reports.models import StatisticMember, StatisticPeriod, StatisticValue
from minzheng.rules.selectors import parameters_in_force

VALUES = StatisticValue._meta.db_table
MEMBERS = StatisticMember._meta.db_table


def county_code(county: str) -> str:
    return county + "000000"


def compute(period: StatisticPeriod, w: Window) -> int:
    """Replace the period's figures by those of `w`: one grouped INSERT ... SELECT per metric, and
    the standards in force (a few rows, from the dated parameters). The number of figures written."""
    StatisticValue.objects.filter(period=period).delete()
    with connection.cursor() as cursor:
        for metric in METRICS:
            sql, params = union_sql(rows(metric, w))
            figure = "ROUND(SUM(t.r_weight), 2)" if metric.money else "COUNT(DISTINCT t.r_member)"
            cursor.execute(
                f"INSERT INTO {VALUES} (period_id, division_code, metric, dimension, value) "  # noqa: S608
                f"SELECT %s, t.r_unit, %s, t.r_dim, {figure} FROM ({sql}) t GROUP BY t.r_unit, t.r_dim",
                [period.pk, metric.code, *params],
            )
    StatisticValue.objects.bulk_create(standards(period, w))
    return StatisticValue.objects.filter(period=period).count()


def standards(period: StatisticPeriod, w: Window) -> list[StatisticValue]:
    """The money standards in force in the county on the reference day (低保标准, 特困供养标准,
    两项补贴 …), by name and urban/rural."""
    found: list[StatisticValue] = []
    for p in parameters_in_force(day=w.day, place=county_code(w.county)):
        if p.spec.kind != "money" or p.value is None:
            continue
        found.append(
            StatisticValue(
                period=period,
                division_code=county_code(w.county),
                metric=STANDARD,
                dimension=f"{p.spec.name}:{p.area}",
                value=p.value.value,
            )
        )
    return found


def write_members(period: StatisticPeriod, w: Window) -> None:
    """The records each figure counted, one row per (metric, unit, dimension, record): written when
    the month is frozen, in the transaction that computes its figures."""
    StatisticMember.objects.filter(period=period).delete()
    with connection.cursor() as cursor:
        for metric in METRICS:
            sql, params = union_sql(rows(metric, w))
            cursor.execute(
                f"INSERT INTO {MEMBERS} (period_id, division_code, metric, dimension, member_id) "  # noqa: S608
                f"SELECT DISTINCT %s, t.r_unit, %s, t.r_dim, t.r_member FROM ({sql}) t",
                [period.pk, metric.code, *params],
            )


def digest(period: StatisticPeriod) -> str:
    h = hashlib.sha256()
    for row in (
        StatisticValue.objects.filter(period=period)
        .order_by("metric", "division_code", "dimension")
        .values_list("metric", "division_code", "dimension", "value")
    ):
        h.update(("|".join(str(v) for v in row) + "\n").encode())
    return h.hexdigest()


def live_members(
    metric: Metric, w: Window, *, prefix: str, dimension: str, limit: int, offset: int
) -> tuple[int, Any, list[tuple[str, str, int]]]:
    """What the figure counts now: the number of records, their total weight, and one page of
    (unit, dimension, id), by dimension and id."""
    sql, params = union_sql(rows(metric, w, prefix=prefix, dimension=dimension or None))
    distinct = f"SELECT DISTINCT t.r_unit, t.r_dim, t.r_member, t.r_weight FROM ({sql}) t"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), ROUND(SUM(u.r_weight), 2) FROM ({distinct}) u", params)  # noqa: S608
        count, total = cursor.fetchone()
        cursor.execute(
            f"SELECT u.r_unit, u.r_dim, u.r_member FROM ({distinct}) u "  # noqa: S608
            "ORDER BY u.r_dim, u.r_member LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        page = [(str(unit), str(dim), int(member)) for unit, dim, member in cursor.fetchall()]
    return int(count), total, page
