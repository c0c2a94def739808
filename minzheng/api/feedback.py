"""The public's voice over the API: tickets (群众诉求) and their loop, the 12345 platform (pull now),
and the offices' receipt rates. Thin: schemas in, one service or selector call, schemas out."""

from datetime import date, datetime
from typing import Annotated, Literal

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.cases import In
from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.inputs import Code, Line, Text
from minzheng.feedback import catalogue, grid, selectors, services
from minzheng.feedback.models import GridCell, GridEvent, Ticket

router = Router(tags=["群众诉求 feedback"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class TicketOut(Schema):
    id: int
    number: str
    channel: str
    external_ref: str
    kind: str
    category_code: str
    category_name: str
    title: str
    content: str
    division_code: str
    office_id: int | None
    office_name: str
    about_case_id: int | None
    sensitivity: str
    urgent: bool
    state: str
    received_on: date
    due_date: date
    overdue: bool
    reminded_on: date | None
    escalated_on: date | None
    reply: str
    satisfaction: int | None
    decision: str
    case_review_required: bool
    case_review_outcome: str
    merged_into_id: int | None
    repeat_count: int
    return_count: int
    reopen_count: int
    closed_at: datetime | None


def _out(t: Ticket) -> TicketOut:
    category = catalogue.category(t.category_code)
    return TicketOut(
        id=t.pk,
        number=t.number,
        channel=t.channel,
        external_ref=t.external_ref,
        kind=t.kind,
        category_code=t.category_code,
        category_name=category.name if category else "",
        title=t.title,
        content=t.content,
        division_code=t.division_id,
        office_id=t.office_id,
        office_name=t.office.name if t.office_id else "",  # type: ignore[union-attr]
        about_case_id=t.about_case_id,
        sensitivity=t.sensitivity,
        urgent=t.urgent,
        state=t.state,
        received_on=t.received_on,
        due_date=t.due_date,
        overdue=t.is_open and t.due_date < timezone.localdate(),
        reminded_on=t.reminded_on,
        escalated_on=t.escalated_on,
        reply=t.reply,
        satisfaction=t.satisfaction,
        decision=t.decision,
        case_review_required=t.case_review_required,
        case_review_outcome=t.case_review_outcome,
        merged_into_id=t.merged_into_id,
        repeat_count=t.repeat_count,
        return_count=t.return_count,
        reopen_count=t.reopen_count,
        closed_at=t.closed_at,
    )


class _TicketPage:
    def __init__(self, qs: QuerySet[Ticket]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[TicketOut]:
        return [_out(t) for t in self.qs[index]]


class TicketFilter(Schema):
    state: Line = Field("", max_length=20)
    overdue: bool = False
    search: Line = Field("", max_length=40)


@router.get("/feedback/tickets", response={200: list[TicketOut], 403: ErrorOut}, summary="群众诉求列表")
@paginate(BoundedPageNumberPagination, page_size=50)
def ticket_list(request: HttpRequest, filters: Query[TicketFilter]) -> object:
    qs = selectors.tickets(
        actor=actor(request), state=filters.state, overdue=filters.overdue, search=filters.search
    )
    return _TicketPage(qs)


@router.get("/feedback/tickets/{ticket_id}", response={200: TicketOut, **_READ_ERRORS}, summary="一件诉求")
def ticket_get(request: HttpRequest, ticket_id: Id) -> TicketOut:
    return _out(selectors.ticket_get(actor=actor(request), ticket_id=ticket_id))


class TicketIn(In):
    channel: Literal["window", "phone", "online", "mailbox", "supervision_phone", "grid", "letters_visits"]
    kind: Line = Field(max_length=16)
    category_code: Code = Field(min_length=6, max_length=6)
    title: Line = Field(min_length=1, max_length=120)
    content: Text = Field(min_length=1, max_length=services.TEXT_MAX)
    division_code: Code = Field(min_length=12, max_length=12)
    complainant_name: Line = Field("", max_length=60)
    complainant_phone: Line = Field("", max_length=20)
    anonymous: bool = False
    urgent: bool = False
    sensitivity: Literal["standard", "sensitive", "highly_sensitive"] = "standard"
    about_case_id: Id | None = None
    about_office_id: Id | None = None
    about_staff_id: Id | None = None


@router.post("/feedback/tickets", response={201: TicketOut, **_WRITE_ERRORS}, summary="登记诉求")
def ticket_create(request: HttpRequest, payload: TicketIn) -> Status[TicketOut]:
    ticket = services.ticket_register(actor=actor(request), **payload.dict())
    return Status(201, _out(selectors.ticket_get(actor=actor(request), ticket_id=ticket.pk)))


class TicketActionIn(In):
    action: Literal[
        "dispatch", "sign", "return", "accept", "reply", "callback", "rectify", "close", "reopen", "merge"
    ]
    note: Text = Field("", max_length=services.TEXT_MAX)
    office_id: Id | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    decision: Line = Field("", max_length=20)
    into_id: Id | None = None


@router.post(
    "/feedback/tickets/{ticket_id}/actions",
    response={200: TicketOut, **_WRITE_ERRORS},
    summary="办理一步（派单、签收、退单、答复、回访、办结…）",
)
def ticket_action(request: HttpRequest, ticket_id: Id, payload: TicketActionIn) -> TicketOut:
    data = {
        k: v for k, v in payload.dict().items() if k in ("office_id", "satisfaction", "decision", "into_id")
    }
    services.ticket_act(
        actor=actor(request), ticket_id=ticket_id, action=payload.action, note=payload.note, data=data
    )
    return _out(selectors.ticket_get(actor=actor(request), ticket_id=ticket_id))


class CaseReviewIn(In):
    outcome: Literal["kept", "changed", "revoked"]
    note: Line = Field(min_length=1, max_length=300)


@router.post(
    "/feedback/tickets/{ticket_id}/case-review",
    response={200: TicketOut, **_WRITE_ERRORS},
    summary="录入所涉案件的复查结论",
)
def ticket_case_review(request: HttpRequest, ticket_id: Id, payload: CaseReviewIn) -> TicketOut:
    services.ticket_case_review(
        actor=actor(request), ticket_id=ticket_id, outcome=payload.outcome, note=payload.note
    )
    return _out(selectors.ticket_get(actor=actor(request), ticket_id=ticket_id))


class HotlinePullOut(Schema):
    created: list[str]
    merged: list[str]
    refused: dict[str, str]
    evaluated: list[str]


@router.post(
    "/feedback/hotline/pull",
    response={200: HotlinePullOut, 403: ErrorOut, 409: ErrorOut, 502: ErrorOut},
    summary="从12345平台拉取工单",
)
def hotline_pull(request: HttpRequest) -> HotlinePullOut:
    result = services.hotline_pull(actor=actor(request))
    services.hotline_push()
    return HotlinePullOut(
        created=result.created, merged=result.merged, refused=result.refused, evaluated=result.evaluated
    )


class OfficeRatesOut(Schema):
    office: str
    receipts: int
    rated: int
    poor: int
    called_back_in_time: int
    rectified: int
    callback_rate: float | None
    rectification_rate: float | None
    satisfaction_rate: float | None


@router.get(
    "/feedback/receipt-rates",
    response={200: list[OfficeRatesOut], 403: ErrorOut},
    summary="各机构服务评价回访率、整改率",
)
def receipt_rates(request: HttpRequest) -> list[OfficeRatesOut]:
    return [
        OfficeRatesOut(
            office=r.office,
            receipts=r.receipts,
            rated=r.rated,
            poor=r.poor,
            called_back_in_time=r.called_back_in_time,
            rectified=r.rectified,
            callback_rate=r.callback_rate,
            rectification_rate=r.rectification_rate,
            satisfaction_rate=r.satisfaction_rate,
        )
        for r in selectors.office_rates(actor=actor(request))
    ]


# --- The grid loop (网格事件) -----------------------------------------------------------------------------


class GridEventOut(Schema):
    id: int
    number: str
    cell_code: str
    cell_name: str
    village_code: str
    category_code: str
    description: str
    lat: str
    lng: str
    state: str
    office_name: str
    registered_on: date | None
    due_date: date | None
    reject_reason: str
    handling: str
    check_note: str
    closed_on: date | None
    photos: int


def _grid_out(e: GridEvent) -> GridEventOut:
    return GridEventOut(
        id=e.pk,
        number=e.number,
        cell_code=e.cell.code,
        cell_name=e.cell.name,
        village_code=e.cell.village_id,
        category_code=e.category_code,
        description=e.description,
        lat=str(e.lat),
        lng=str(e.lng),
        state=e.state,
        office_name=e.office.name if e.office_id else "",  # type: ignore[union-attr]
        registered_on=e.registered_on,
        due_date=e.due_date,
        reject_reason=e.reject_reason,
        handling=e.handling,
        check_note=e.check_note,
        closed_on=e.closed_on,
        photos=getattr(e, "photo_count", None) or e.photos.count(),
    )


class _GridPage:
    """The grid events, mapped to output rows once the paginator has sliced them."""

    def __init__(self, qs: QuerySet[GridEvent]) -> None:
        self.qs = qs.annotate(photo_count=Count("photos"))

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[GridEventOut]:
        return [_grid_out(e) for e in self.qs[index]]


class GridEventFilter(Schema):
    open_only: bool = False


@router.get(
    "/feedback/grid/events", response={200: list[GridEventOut], 403: ErrorOut}, summary="网格事件列表"
)
@paginate(BoundedPageNumberPagination, page_size=50)
def grid_event_list(request: HttpRequest, filters: Query[GridEventFilter]) -> object:
    return _GridPage(grid.grid_events(actor=actor(request), open_only=filters.open_only))


@router.get(
    "/feedback/grid/events/{grid_event_id}",
    response={200: GridEventOut, **_READ_ERRORS},
    summary="一件网格事件",
)
def grid_event_get(request: HttpRequest, grid_event_id: Id) -> GridEventOut:
    return _grid_out(grid.grid_event_get(actor=actor(request), event_id=grid_event_id))


class GridReportIn(In):
    category_code: Code = Field(min_length=6, max_length=6)
    description: Text = Field(min_length=1, max_length=2000)
    lat: Code = Field(max_length=12)
    lng: Code = Field(max_length=12)


@router.post(
    "/feedback/grid/events",
    response={201: GridEventOut, **_WRITE_ERRORS},
    summary="上报网格事件（照片在网页上传）",
)
def grid_event_report(request: HttpRequest, payload: GridReportIn) -> Status[GridEventOut]:
    event = grid.grid_event_report(actor=actor(request), **payload.dict())
    return Status(201, _grid_out(grid.grid_event_get(actor=actor(request), event_id=event.pk)))


class GridActionIn(In):
    action: Literal["verify", "register", "reject", "dispatch", "handle", "feed_back", "check"]
    note: Text = Field("", max_length=2000)
    office_id: Id | None = None
    passed: bool | None = None


@router.post(
    "/feedback/grid/events/{grid_event_id}/actions",
    response={200: GridEventOut, **_WRITE_ERRORS},
    summary="网格事件办理一步（核实、立案、派遣、处置、反馈、核查…）",
)
def grid_event_action(request: HttpRequest, grid_event_id: Id, payload: GridActionIn) -> GridEventOut:
    grid.grid_event_act(actor=actor(request), event_id=grid_event_id, **payload.dict())
    return _grid_out(grid.grid_event_get(actor=actor(request), event_id=grid_event_id))


class GridRateOut(Schema):
    code: str
    name: str
    village: str
    cells: int
    reported: int
    registered: int
    closed: int
    closed_on_time: int
    still_open: int
    open_overdue: int
    on_time_rate: float | None


def _rate_out(r: grid.GridRate) -> GridRateOut:
    return GridRateOut(
        code=r.code,
        name=r.name,
        village=r.village,
        cells=r.cells,
        reported=r.reported,
        registered=r.registered,
        closed=r.closed,
        closed_on_time=r.closed_on_time,
        still_open=r.still_open,
        open_overdue=r.open_overdue,
        on_time_rate=r.on_time_rate,
    )


class _GridRatePage:
    """The grid cells with their counts, mapped once the paginator has sliced them."""

    def __init__(self, qs: QuerySet[GridCell]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[GridRateOut]:
        return [_rate_out(grid.grid_rate_of(c)) for c in self.qs[index]]


class GridRateFilter(Schema):
    village_code: str = Field("", max_length=12, pattern=r"^([0-9]{12})?$", description="村（社区）代码")


@router.get(
    "/feedback/grid/rates",
    response={200: list[GridRateOut], 403: ErrorOut, 422: ErrorOut},
    summary="各网格按时结案率（上报、结案、按时结案、未结）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def grid_rate_list(request: HttpRequest, filters: Query[GridRateFilter]) -> object:
    return _GridRatePage(grid.grid_rate_rows(actor=actor(request), village_code=filters.village_code))


@router.get(
    "/feedback/grid/village-rates",
    response={200: list[GridRateOut], 403: ErrorOut},
    summary="各村（社区）网格事件按时结案率",
)
def grid_village_rate_list(request: HttpRequest) -> list[GridRateOut]:
    return [_rate_out(r) for r in grid.grid_village_rates(actor=actor(request))]
