"""Take-up gap (应保尽保, 主动发现): a county's scan of who qualifies and receives nothing, the worklists
per village and township, and an application started from a row (rules.takeup)."""

from datetime import date, datetime
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.cases.models import Channel
from minzheng.cases.services import case_intake
from minzheng.core.inputs import BoundedDate, Code, Line
from minzheng.rules import takeup
from minzheng.rules.bulk import MONTHLY_PROGRAMMES
from minzheng.rules.models import TakeUpGap, TakeUpScan

router = Router(tags=["应保尽保 take-up"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

_ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class TakeUpScanIn(Schema):
    county: Code = Field(max_length=6, description="县（市、区）6位代码")
    day: BoundedDate | None = Field(None, description="排查日期（按该日的家庭情况和标准），默认今天")
    programmes: list[Line] = Field(
        default_factory=lambda: list(MONTHLY_PROGRAMMES), description=" / ".join(MONTHLY_PROGRAMMES)
    )


class TakeUpScanOut(Schema):
    id: int
    county: str
    day: date
    programmes: list[str]
    started_at: datetime
    finished_at: datetime | None
    households: int
    gaps: int
    by_programme: dict[str, int]


class TakeUpGapOut(Schema):
    id: int
    scan_id: int
    household_id: int
    household_number: str
    head_name: str
    division_code: str
    programme: str
    monthly_amount: str = Field(description="测算月金额（元）")
    members: int = Field(description="家庭人数（计算人均收入的人数）")
    income: str = Field(description="家庭月收入（计入部分，元）")
    per_capita_income: str = Field(description="人均月收入（元）")
    standard: str | None = Field(description="低保标准（元/人·月），按家庭所在县和城乡")
    rigid_expenses: str
    financial_assets: str
    taken_up_at: datetime | None
    case_id: int | None
    case_number: str


class TakeUpGapFilter(Schema):
    division: Code = Field("", max_length=12, description="村或乡镇12位代码，默认本机构管辖范围")
    programme: Line = Field("", max_length=40)
    taken_up: bool = Field(False, description="true：已发起申请的")


class TakeUpDivisionOut(Schema):
    code: str
    name: str
    households: int
    gaps: int
    monthly_amount: str


class TakeUpSummaryOut(Schema):
    townships: list[TakeUpDivisionOut]
    villages: list[TakeUpDivisionOut]


class TakeUpStartIn(Schema):
    item_code: Line = Field("", max_length=40, description="申请事项，默认按项目选择")
    applicant_id: Id | None = Field(None, description="申请人（本家庭现有成员），默认户主")
    note: Line = Field("", max_length=300, description="发现情况说明")


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _gap_out(gap: TakeUpGap) -> TakeUpGapOut:
    figures = takeup.figures_of(gap)
    household = gap.household
    return TakeUpGapOut(
        id=gap.pk,
        scan_id=gap.scan_id,
        household_id=gap.household_id,
        household_number=household.number,
        head_name=household.head.name if household.head else "",
        division_code=gap.division_code,
        programme=gap.programme,
        monthly_amount=str(figures["monthly_amount"]),
        members=gap.members,
        income=str(figures["income"]),
        per_capita_income=str(figures["per_capita_income"]),
        standard=_money(figures["standard"]),
        rigid_expenses=str(figures["rigid_expenses"]),
        financial_assets=str(figures["financial_assets"]),
        taken_up_at=gap.taken_up_at,
        case_id=gap.case_id,
        case_number=gap.case_number,
    )


def _scan_out(scan: TakeUpScan) -> TakeUpScanOut:
    return TakeUpScanOut(
        id=scan.pk,
        county=scan.county,
        day=scan.day,
        programmes=list(scan.programmes),
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        households=scan.households,
        gaps=scan.gaps,
        by_programme=dict(scan.by_programme),
    )


class _GapPage:
    def __init__(self, qs: QuerySet[TakeUpGap]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[TakeUpGapOut]:
        return [_gap_out(g) for g in self.qs[index]]


@router.post("/takeup/scans", response={201: TakeUpScanOut, **_ERRORS}, summary="应保尽保排查（县级）")
def scan_create(request: HttpRequest, payload: TakeUpScanIn) -> Status[TakeUpScanOut]:
    """Scan a county: every registered household through the rules, listing those who qualify for a
    monthly programme they neither receive nor have applied for. Replaces the county's open rows."""
    scan = takeup.takeup_scan(
        actor=actor(request),
        county=payload.county,
        day=payload.day or timezone.localdate(),
        programmes=payload.programmes,
    )
    return Status(201, _scan_out(scan))


@router.get("/takeup/scans", response={200: list[TakeUpScanOut], 403: ErrorOut}, summary="最近的排查")
def scan_list(request: HttpRequest) -> list[TakeUpScanOut]:
    return [_scan_out(s) for s in takeup.latest_scans(actor=actor(request))]


@router.get(
    "/takeup/gaps",
    response={200: list[TakeUpGapOut], 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="应保未保清单（按村、乡镇，可按项目筛选）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def gap_list(request: HttpRequest, filters: Query[TakeUpGapFilter]) -> object:
    return _GapPage(
        takeup.takeup_gaps(
            actor=actor(request),
            division=filters.division,
            programme=filters.programme,
            taken_up=filters.taken_up,
        )
    )


@router.get(
    "/takeup/summary",
    response={200: TakeUpSummaryOut, 403: ErrorOut, 422: ErrorOut},
    summary="应保未保：各乡镇、各村户数和测算月金额",
)
def summary(request: HttpRequest, programme: str = "") -> TakeUpSummaryOut:
    townships, villages = takeup.takeup_summary(actor=actor(request), programme=programme[:40])

    def out(rows: list[takeup.DivisionCount]) -> list[TakeUpDivisionOut]:
        return [
            TakeUpDivisionOut(
                code=r.code,
                name=r.name,
                households=r.households,
                gaps=r.gaps,
                monthly_amount=str(r.monthly_amount),
            )
            for r in rows
        ]

    return TakeUpSummaryOut(townships=out(townships), villages=out(villages))


@router.get("/takeup/gaps/{gap_id}", response={200: TakeUpGapOut, 403: ErrorOut, 404: ErrorOut})
def gap_get(request: HttpRequest, gap_id: Id) -> TakeUpGapOut:
    return _gap_out(takeup.takeup_gap_get(actor=actor(request), gap_id=gap_id))


@router.post(
    "/takeup/gaps/{gap_id}/take-up",
    response={200: TakeUpGapOut, **_ERRORS},
    summary="发起申请（主动发现）",
)
def gap_take_up(request: HttpRequest, gap_id: Id, payload: TakeUpStartIn) -> TakeUpGapOut:
    """Start an application for the row's household and programme (channel 主动发现, the row recorded
    in the case's details) and mark the row taken up."""
    gap = takeup.takeup_gap_start(
        actor=actor(request),
        gap_id=gap_id,
        intake=case_intake,
        channel=Channel.DISCOVERY,
        item_code=payload.item_code,
        applicant_id=payload.applicant_id,
        note=payload.note,
    )
    return _gap_out(takeup.takeup_gap_get(actor=actor(request), gap_id=gap.pk))
