"""Monthly statistics (月度统计): the dashboard of the caller's jurisdiction, a county's figures for a
month, the records behind a figure (drill-down), and the county's recompute and freeze."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from minzheng.api.cases import In
from minzheng.api.org import ErrorOut, actor
from minzheng.reports import selectors, services
from minzheng.reports.models import StatisticPeriod

router = Router(tags=["统计报表 reports"])

_READ_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Month = Annotated[str, Field(default="", max_length=10, description="月份 YYYY-MM；空为本月")]
Code = Annotated[str, Field(default="", max_length=12)]


class ReportPeriodOut(Schema):
    county: str
    month: date
    state: str
    computed_at: datetime | None
    frozen_at: datetime | None
    frozen_by: str | None = Field(default=None)

    @staticmethod
    def resolve_frozen_by(obj: StatisticPeriod) -> str | None:
        return obj.frozen_by.username if obj.frozen_by_id else None  # type: ignore[union-attr]


class ReportColumnOut(Schema):
    code: str
    name: str
    county: str
    state: str = Field(description="统计状态：空（尚未统计）、open、frozen")
    rank: int | None
    figures: dict[str, Decimal | None]


class ReportDashboardOut(Schema):
    level: str = Field(description="township、county、city 或 region")
    name: str
    month: date
    rank_by: str
    columns: list[ReportColumnOut]
    totals: dict[str, Decimal | None]
    trend_months: list[date]
    trend: dict[str, list[Decimal | None]]


class ReportRowOut(Schema):
    metric: str
    label: str
    dimension: str
    dimension_label: str
    values: list[Decimal | None] = Field(description="各统计单位的数值，最后一项为合计")
    money: bool
    rate: bool


class ReportGroupOut(Schema):
    group: str
    label: str
    rows: list[ReportRowOut]


class ReportSheetOut(Schema):
    county: str
    county_name: str
    month: date
    state: str
    computed_at: datetime | None
    units: list[list[str]] = Field(description="统计单位（代码，名称）")
    groups: list[ReportGroupOut]
    standards: list[ReportRowOut]


class ReportMemberOut(Schema):
    id: int
    unit: str
    dimension: str
    title: str
    who: str
    where: str
    what: str
    amount: Decimal | None


class ReportMembersOut(Schema):
    county: str
    month: date
    metric: str
    label: str
    kind: str
    unit: str
    dimension: str
    frozen: bool
    figure: Decimal | None
    count: int
    total: Decimal | None
    page: int
    pages: int
    items: list[ReportMemberOut]


class ReportPeriodIn(In):
    county: str = Field(max_length=6, description="县（区）代码（6位）")
    month: date = Field(description="统计月份（该月任一日期）")


@router.get("/reports/dashboard", response={200: ReportDashboardOut, **_READ_ERRORS})
def dashboard(
    request: HttpRequest,
    month: Month = "",
    rank_by: Annotated[str, Query(max_length=40)] = "households_covered",
) -> selectors.Dashboard:
    """本辖区看板：乡镇、县（区）看本辖区各乡镇，市、区（自治区）看所辖县（区）并排比较和排名，近12个月趋势。"""
    return selectors.dashboard(actor=actor(request), month=selectors.parse_month(month), rank_by=rank_by)


@router.get("/reports/statistics", response={200: ReportSheetOut, **_READ_ERRORS})
def statistics(request: HttpRequest, county: Code, month: Month = "", unit: Code = "") -> dict[str, object]:
    """一个县（区）一个月的统计数据（月报）：按乡镇（街道）或承办机构列示。"""
    found = selectors.sheet(
        actor=actor(request), county=county, month=selectors.parse_month(month), unit=unit
    )
    return {
        "county": found.county,
        "county_name": found.county_name,
        "month": found.month,
        "state": found.period.state if found.period else "",
        "computed_at": found.period.computed_at if found.period else None,
        "units": [list(u) for u in found.units],
        "groups": [{"group": g, "label": label, "rows": rows} for g, label, rows in found.groups],
        "standards": found.standards,
    }


@router.get("/reports/members", response={200: ReportMembersOut, **_READ_ERRORS})
def members(
    request: HttpRequest,
    county: Code,
    month: Month = "",
    metric: Annotated[str, Query(max_length=40, description="指标代码；空为保障户数")] = "",
    unit: Code = "",
    dimension: Annotated[str, Query(max_length=80)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> dict[str, object]:
    """一个统计数所统计的记录（下钻）：已冻结月份为冻结时保存的记录，条数等于该数。"""
    found = selectors.members(
        actor=actor(request), county=county, month=selectors.parse_month(month), metric=metric,
        unit=unit, dimension=dimension, page=page,
    )  # fmt: skip
    return {**found.__dict__, "items": found.rows}


@router.post("/reports/periods/recompute", response={200: ReportPeriodOut, **_WRITE_ERRORS})
def recompute(request: HttpRequest, payload: ReportPeriodIn) -> StatisticPeriod:
    """重算一个县（区）一个月的统计（已冻结的月份不再重算）。"""
    return services.period_recompute(actor=actor(request), county=payload.county, month=payload.month)


@router.post("/reports/periods/freeze", response={200: ReportPeriodOut, **_WRITE_ERRORS})
def freeze(request: HttpRequest, payload: ReportPeriodIn) -> StatisticPeriod:
    """冻结已结束的月份：此后该月的统计数和下钻名单不再变化。"""
    return services.period_freeze(actor=actor(request), county=payload.county, month=payload.month)
