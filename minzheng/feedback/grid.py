"""The grid loop (网格化, seed 003: 案件上报—审核—立案—派遣—反馈结案): a grid worker reports an event
from the phone with photos and the location, which finds its grid; the township verifies it (核实)
and registers it (立案, with its time limit in working days) or rejects it with a reason; dispatches
it (派遣); the office handles it (处置) and feeds back (反馈); the grid worker checks on site (核查):
passed, the event is closed (结案); failed, it goes back to handling. Reads give the on-time closure
per grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.permissions import Perm
from minzheng.core.uploads import Upload, check_photo
from minzheng.feedback import catalogue, counters
from minzheng.feedback.models import GridCell, GridEvent, GridEventState, GridEventStep, GridPhoto
from minzheng.org.models import Office, Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.workdays.selectors import add_working_days

PHOTOS_MAX = 6


@dataclass(frozen=True)
class GridMove:
    sources: frozenset[str]
    perm: Perm
    label: str


GRID_MOVES: dict[str, GridMove] = {
    "verify": GridMove(frozenset({"reported"}), Perm.FEEDBACK_DISPATCH, "核实"),
    "register": GridMove(frozenset({"verified"}), Perm.FEEDBACK_DISPATCH, "立案"),
    "reject": GridMove(frozenset({"reported", "verified"}), Perm.FEEDBACK_DISPATCH, "不予立案"),
    "dispatch": GridMove(frozenset({"registered"}), Perm.FEEDBACK_DISPATCH, "派遣"),
    "handle": GridMove(frozenset({"dispatched", "returned"}), Perm.FEEDBACK_HANDLE, "处置"),
    "feed_back": GridMove(frozenset({"handled"}), Perm.FEEDBACK_HANDLE, "反馈"),
    "check": GridMove(frozenset({"fed_back"}), Perm.FEEDBACK_INTAKE, "核查"),
}
TARGETS = {
    "verify": GridEventState.VERIFIED,
    "register": GridEventState.REGISTERED,
    "reject": GridEventState.REJECTED,
    "dispatch": GridEventState.DISPATCHED,
    "handle": GridEventState.HANDLED,
    "feed_back": GridEventState.FED_BACK,
}


@dataclass(frozen=True)
class Photo:
    content_type: str
    content: bytes


def _coordinate(value: object, name: str, low: int, high: int) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise InvalidInput("位置无效", field_errors={name: ["应为数字"]}) from None
    if not low <= number <= high:
        raise InvalidInput("位置无效", field_errors={name: [f"应在{low}至{high}之间"]})
    return number


def cell_at(lat: Decimal, lng: Decimal) -> GridCell | None:
    return (
        GridCell.objects.filter(
            active=True, min_lat__lte=lat, max_lat__gte=lat, min_lng__lte=lng, max_lng__gte=lng
        )
        .select_related("village")
        .order_by("code")
        .first()
    )


def _photos(event: GridEvent, photos: Sequence[Photo], stage: str) -> None:
    if len(photos) > PHOTOS_MAX:
        raise InvalidInput("照片过多", field_errors={"photos": [f"最多{PHOTOS_MAX}张"]})
    for photo in photos:
        problem = check_photo(Upload("photo", photo.content_type, photo.content))
        if problem:
            raise InvalidInput("照片不符合要求", field_errors={"photos": [problem]})
        GridPhoto.objects.create(
            event=event,
            stage=stage,
            content_type=photo.content_type,
            size=len(photo.content),
            content=photo.content,
        )


def _step(event: GridEvent, actor: Staff, action: str, before: str, note: str = "") -> None:
    GridEventStep.objects.create(
        event=event,
        actor=actor,
        actor_name=actor.full_name,
        action=action,
        from_state=before,
        to_state=event.state,
        note=note,
    )
    audit_record(
        actor=actor,
        action=f"feedback.grid_{action}",
        object_type="feedback.GridEvent",
        object_id=event.pk,
        scope_code=event.cell.village_id,
        reason=note,
        after={"number": event.number, "state": event.state, "from_state": before},
    )


@transaction.atomic
def grid_event_report(
    *,
    actor: Staff,
    category_code: str,
    description: str,
    lat: object,
    lng: object,
    photos: Sequence[Photo] = (),
) -> GridEvent:
    """上报: the grid is found from the location; an event outside every grid in the actor's
    jurisdiction is refused and nothing is kept."""
    require(actor, Perm.FEEDBACK_INTAKE)
    if catalogue.category(category_code) is None:
        raise InvalidInput("未知的事件分类", field_errors={"category_code": [category_code[:12]]})
    description = " ".join((description or "").split())
    if len(description) < 4:
        raise InvalidInput("请描述事件", field_errors={"description": ["不少于4个字"]})
    if len(description) > 2000:
        raise InvalidInput("事件描述过长", field_errors={"description": ["不超过2000个字"]})
    lat_d, lng_d = _coordinate(lat, "lat", -90, 90), _coordinate(lng, "lng", -180, 180)
    cell = cell_at(lat_d, lng_d)
    if cell is None or not jurisdiction_of(actor).contains(cell.village_id):
        raise InvalidInput(
            "该位置不在您负责的任何网格内", field_errors={"lat": ["不在网格内"], "lng": ["不在网格内"]}
        )
    today = timezone.localdate()
    serial = counters.next_number(counters.GRID, today)
    event = GridEvent.objects.create(
        number=f"WG-{today:%Y%m%d}-{serial:06d}",
        cell=cell,
        category_code=category_code,
        description=description,
        lat=lat_d,
        lng=lng_d,
        reported_by=actor,
    )
    _photos(event, photos, "before")
    _step(event, actor, "report", "", description[:200])
    return event


def _locked(actor: Staff, event_id: int) -> GridEvent:
    visible = grid_events(actor=actor).filter(pk=event_id).values_list("pk", flat=True)
    event = GridEvent.objects.select_for_update().filter(pk__in=list(visible)).first()
    if event is None:
        raise NotFound("没有找到该网格事件")
    return event


@transaction.atomic
def grid_event_act(
    *,
    actor: Staff,
    event_id: int,
    action: str,
    note: str = "",
    office_id: int | None = None,
    passed: bool | None = None,
    photos: Sequence[Photo] = (),
) -> GridEvent:
    move = GRID_MOVES.get(action)
    if move is None:
        raise InvalidInput("未知的操作", field_errors={"action": [action[:40]]})
    event = _locked(actor, event_id)
    if not actor.can(move.perm):
        raise PermissionDenied(f"您没有“{move.label}”的权限")
    if event.state not in move.sources:
        raise TransitionNotAllowed(
            f"当前状态“{GridEventState(event.state).label}”不能{move.label}",
            field_errors={"action": [action]},
        )
    before = event.state
    note = (note or "").strip()
    today = timezone.localdate()
    if action in ("reject", "handle", "feed_back") and len(note) < 2:
        label = {"reject": "不予立案的理由", "handle": "处置情况", "feed_back": "反馈内容"}[action]
        raise InvalidInput(f"请填写{label}", field_errors={"note": [f"请填写{label}"]})
    if action == "register":
        limit = catalogue.limit("grid_handle_workdays", today)
        event.registered_on = today
        event.due_date = add_working_days(today, limit.value)
    elif action == "reject":
        event.reject_reason = note[:300]
    elif action == "dispatch":
        office = Office.objects.filter(pk=office_id or 0, is_active=True).first()
        if office is None or not jurisdiction_of(actor).contains(office.division_id):
            raise InvalidInput("请选择管辖范围内的处置机构", field_errors={"office_id": ["无效"]})
        event.office = office
    elif action in ("handle", "feed_back"):
        event.handling = (event.handling + "\n" if event.handling else "") + note
    elif action == "check":
        if actor.pk != event.cell.worker_id and actor.pk != event.reported_by_id:
            raise PermissionDenied("由本网格的网格员现场核查")
        if passed is None:
            raise InvalidInput("请选择核查结果", field_errors={"passed": ["必选"]})
        if not passed and len(note) < 2:
            raise InvalidInput("核查未通过须说明原因", field_errors={"note": ["请说明原因"]})
        _photos(event, photos, "after")
        event.check_note = note[:300]
        if passed:
            event.state = GridEventState.CLOSED
            event.closed_on = today
        else:
            event.state = GridEventState.RETURNED
    if action != "check":
        event.state = TARGETS[action]
    event.save()
    _step(event, actor, action, before, note)
    return event


# --- Reads ------------------------------------------------------------------------------------------


def grid_cells(*, actor: Staff) -> QuerySet[GridCell]:
    require(actor, Perm.FEEDBACK_VIEW)
    return scoped(GridCell.objects.select_related("village", "worker"), actor, field="village__code")


def grid_events(*, actor: Staff, open_only: bool = False) -> QuerySet[GridEvent]:
    if not actor.is_active or not actor.can(Perm.FEEDBACK_VIEW):
        raise PermissionDenied()
    qs = scoped(
        GridEvent.objects.select_related("cell", "cell__village", "office"),
        actor,
        field="cell__village__code",
    )
    if open_only:
        qs = qs.filter(state__in=[s for s in GridEventState.values if s not in ("closed", "rejected")])
    return qs


def grid_event_get(*, actor: Staff, event_id: int) -> GridEvent:
    event = grid_events(actor=actor).filter(pk=event_id).first()
    if event is None:
        raise NotFound("没有找到该网格事件")
    return event


def grid_photo_get(*, actor: Staff, event_id: int, photo_id: int) -> GridPhoto:
    event = grid_event_get(actor=actor, event_id=event_id)
    photo = event.photos.filter(pk=photo_id).first()
    if photo is None:
        raise NotFound()
    return photo


@dataclass(frozen=True)
class GridRate:
    """One grid's events: reported, registered, closed, closed by their due date, still open (and
    of those, past their due date); the on-time closure rate (按时结案率) is closed on time / closed."""

    code: str
    name: str
    village: str
    reported: int
    registered: int
    closed: int
    closed_on_time: int
    still_open: int
    open_overdue: int
    cells: int = 1

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None


_FINISHED = ("closed", "rejected")


def _rate_counts(path: str, today: date) -> dict[str, Any]:
    """The counts of GridRate over the events reached by `path` ("events" from a cell)."""
    e = f"{path}__"
    return {
        "n_reported": Count(path),
        "n_registered": Count(path, filter=Q(**{f"{e}registered_on__isnull": False})),
        "n_closed": Count(path, filter=Q(**{f"{e}state": "closed"})),
        "n_on_time": Count(
            path, filter=Q(**{f"{e}state": "closed", f"{e}closed_on__lte": F(f"{e}due_date")})
        ),
        "n_open": Count(path, filter=~Q(**{f"{e}state__in": _FINISHED})),
        "n_overdue": Count(
            path, filter=Q(**{f"{e}due_date__lt": today}) & ~Q(**{f"{e}state__in": _FINISHED})
        ),
    }


def grid_rate_rows(*, actor: Staff, village_code: str = "", today: date | None = None) -> QuerySet[GridCell]:
    """Per grid cell, in code order, annotated with its counts (one grouped query; lazy, so a page of
    337 cells is sliced in the database). `village_code` narrows to one village's cells."""
    today = today or timezone.localdate()
    qs = grid_cells(actor=actor)
    if village_code:
        if not (village_code.isdigit() and len(village_code) == 12):
            raise InvalidInput("村（社区）代码应为12位数字", field_errors={"village": [village_code[:20]]})
        qs = qs.filter(village_id=village_code)
    return qs.annotate(**_rate_counts("events", today)).order_by("code")


def grid_rate_of(cell: GridCell) -> GridRate:
    """A row of grid_rate_rows as a GridRate."""
    n = cell.__dict__
    return GridRate(
        code=cell.code,
        name=cell.name,
        village=cell.village.name,
        reported=n["n_reported"],
        registered=n["n_registered"],
        closed=n["n_closed"],
        closed_on_time=n["n_on_time"],
        still_open=n["n_open"],
        open_overdue=n["n_overdue"],
    )


def grid_rates(*, actor: Staff, village_code: str = "", today: date | None = None) -> list[GridRate]:
    """On-time closure per grid (按时结案率), every cell of the jurisdiction."""
    return [grid_rate_of(c) for c in grid_rate_rows(actor=actor, village_code=village_code, today=today)]


def grid_village_rates(*, actor: Staff, today: date | None = None) -> list[GridRate]:
    """The same counts per village (the cells inside it added up), with how many cells it has;
    `code` is the village's code. One grouped query."""
    today = today or timezone.localdate()
    rows = (
        grid_cells(actor=actor)
        .values("village_id", "village__name")
        .annotate(n_cells=Count("pk", distinct=True), **_rate_counts("events", today))
        .order_by("village_id")
    )
    return [
        GridRate(
            code=r["village_id"],
            name=r["village__name"],
            village=r["village__name"],
            reported=r["n_reported"],
            registered=r["n_registered"],
            closed=r["n_closed"],
            closed_on_time=r["n_on_time"],
            still_open=r["n_open"],
            open_overdue=r["n_overdue"],
            cells=r["n_cells"],
        )
        for r in rows
    ]
