"""Demo tickets, work orders and receipts (群众诉求, 12345工单, 服务评价), made through the real services
with the demo accounts: a complaint at every step of the loop, a returned order, a closed one with
its callback, a merged repeat, receipts rated well and poorly. Idempotent: nothing is added when the
demo county already has tickets. The 12345 platform's own orders arrive from the hotline simulator
that ./run demo starts (simulators/hotline), pulled by the worker or the 12345工单 page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from minzheng.core.audit import audit_record
from minzheng.core.identifiers import DivisionLevel
from minzheng.demo.services import _short_village_name
from minzheng.feedback import grid, receipts, services
from minzheng.feedback.models import GridCell, GridEvent, Ticket, TicketChannel
from minzheng.org.models import Division, DivisionKind, Office, Staff
from minzheng.org.roles import Role

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"
COUNTY = "640202000000"


def _staff(username: str) -> Staff:
    return Staff.objects.select_related("office").get(username=username)


# Seed 003: 大武口区 "共调整设置了337个网格" over its 53 communities and 12 villages.
GRID_CELLS = 337
# The county's villages are laid out on a plan, a township per row (south to north) and its
# villages side by side (west to east), each on a box of these degrees, cut into its grids.
ORIGIN_LAT, ORIGIN_LNG = Decimal("39.010"), Decimal("106.370")
VILLAGE_HEIGHT, VILLAGE_WIDTH = Decimal("0.010"), Decimal("0.020")
# A community holds more grids than a village (more households on less land).
COMMUNITY_WEIGHT, VILLAGE_WEIGHT = 5, 3
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class CellPlan:
    code: str
    name: str
    village_id: str
    worker_id: int | None
    min_lat: Decimal
    max_lat: Decimal
    min_lng: Decimal
    max_lng: Decimal


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` grids over villages by weight (largest remainder, ties by position), at least
    one each; deterministic."""
    if not weights:
        return []
    if total < len(weights):
        raise ValueError("fewer grids than villages")
    spare = total - len(weights)
    whole = sum(weights)
    shares = [spare * w / whole for w in weights]
    counts = [1 + int(share) for share in shares]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def tile(
    south: Decimal, west: Decimal, height: Decimal, width: Decimal, n: int
) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """`n` rectangles (min_lat, max_lat, min_lng, max_lng) that cover the box exactly, without
    overlap: rows of equal height, the last row holding the remainder with wider cells. Shared
    edges are the same decimal, so a point on an edge belongs to both and cell_at takes the first."""
    ratio = float(width / height) * 0.78  # a degree of longitude at 39°N is 0.78 of one of latitude
    cols = max(1, min(n, round(math.sqrt(n * ratio))))
    rows = math.ceil(n / cols)
    lat_edges = [(south + height * r / rows).quantize(MICRO) for r in range(rows + 1)]
    boxes: list[tuple[Decimal, Decimal, Decimal, Decimal]] = []
    for r in range(rows):
        k = cols if r < rows - 1 else n - cols * (rows - 1)
        lng_edges = [(west + width * c / k).quantize(MICRO) for c in range(k + 1)]
        boxes.extend((lat_edges[r], lat_edges[r + 1], lng_edges[c], lng_edges[c + 1]) for c in range(k))
    return boxes


def grid_plan(county: str = COUNTY, total: int = GRID_CELLS) -> list[CellPlan]:
    """The demo county's grids: `total` cells over its villages and communities, each village's box
    tiled by its cells; the village's assistant (if it has one) is the grid worker of its cells."""
    villages = list(
        Division.objects.filter(
            code__startswith=county[:6], level=DivisionLevel.VILLAGE, is_active=True
        ).order_by("code")
    )
    assistants: dict[str, int] = {}
    for staff_id, division_id in (
        Staff.objects.filter(
            is_active=True,
            office__division_id__in=[v.code for v in villages],
            role_grants__role=Role.VILLAGE_ASSISTANT,
        )
        .order_by("pk")
        .values_list("pk", "office__division_id")
    ):
        assistants.setdefault(division_id, staff_id)
    townships = sorted({v.code[:9] for v in villages})
    counts = allocate(
        total, [COMMUNITY_WEIGHT if v.kind == DivisionKind.COMMUNITY else VILLAGE_WEIGHT for v in villages]
    )
    column: dict[str, int] = {}
    plan: list[CellPlan] = []
    for village, n in zip(villages, counts, strict=True):
        row = townships.index(village.code[:9])
        col = column.get(village.code[:9], 0)
        column[village.code[:9]] = col + 1
        south = ORIGIN_LAT + VILLAGE_HEIGHT * row
        west = ORIGIN_LNG + VILLAGE_WIDTH * col
        short = _short_village_name(village.name)
        for number, (s, n_, w, e) in enumerate(tile(south, west, VILLAGE_HEIGHT, VILLAGE_WIDTH, n), 1):
            plan.append(
                CellPlan(
                    code=f"{village.code}{number:02d}",
                    name=f"{short}第{number}网格",
                    village_id=village.code,
                    worker_id=assistants.get(village.code),
                    min_lat=s,
                    max_lat=n_,
                    min_lng=w,
                    max_lng=e,
                )
            )
    return plan


def build_demo_grid(county: str = COUNTY) -> int:
    """The county's 337 grids, set-based: missing cells created in one bulk insert, cells already
    there brought to the plan (name, box, worker) in one bulk update. Returns the cells created."""
    plan = grid_plan(county)
    existing = {c.code: c for c in GridCell.objects.filter(code__in=[p.code for p in plan])}
    fields = ("name", "village_id", "worker_id", "min_lat", "max_lat", "min_lng", "max_lng")
    new = [
        GridCell(code=p.code, **{f: getattr(p, f) for f in fields}) for p in plan if p.code not in existing
    ]
    changed = []
    for p in plan:
        cell = existing.get(p.code)
        if cell is not None and any(getattr(cell, f) != getattr(p, f) for f in fields):
            for f in fields:
                setattr(cell, f, getattr(p, f))
            changed.append(cell)
    GridCell.objects.bulk_create(new, batch_size=500)
    # Boxes are updated in one statement: a CHECK on each row holds (min < max) before and after.
    GridCell.objects.bulk_update(changed, list(fields), batch_size=500)
    if new or changed:
        audit_record(
            actor=None,
            action="feedback.grid_cells_load",
            object_type="feedback.GridCell",
            object_id=county,
            scope_code=county,
            reason="演示数据：网格（种子003，337个网格）",
            after={"created": len(new), "updated": len(changed), "total": len(plan)},
        )
    return len(new)


def _demo_grid() -> None:
    """The county's grids, and an event reported in the demo community's first grid (around
    39.015°N 106.375°E), verified and registered (once)."""
    build_demo_grid()
    if GridEvent.objects.filter(cell__village_id=VILLAGE).exists():
        return
    worker = _staff("dwk_village_assistant")
    event = grid.grid_event_report(
        actor=worker,
        category_code="100801",
        description="小区路灯损坏多日，夜间老人出行不便",
        lat="39.0150",
        lng="106.3750",
    )
    head = _staff("dwk_township_head")
    grid.grid_event_act(actor=head, event_id=event.pk, action="verify")
    grid.grid_event_act(actor=head, event_id=event.pk, action="register")


@transaction.atomic
def build_demo_feedback() -> int:
    """Returns how many tickets were made (0 when the demo already has them)."""
    _demo_grid()
    if Ticket.objects.filter(division__code__startswith=COUNTY[:6]).exists():
        return 0
    clerk, head = _staff("dwk_township_clerk"), _staff("dwk_township_head")
    desk, assistant = _staff("dwk_county_admin"), _staff("dwk_village_assistant")
    township = Office.objects.get(division_id=TOWNSHIP)

    def new(
        actor: Staff, channel: str, kind: str, code: str, title: str, content: str, **kw: object
    ) -> Ticket:
        return services.ticket_register(
            actor=actor,
            channel=channel,
            kind=kind,
            category_code=code,
            title=title,
            content=content,
            division_code=kw.pop("division_code", VILLAGE),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    def act(actor: Staff, ticket: Ticket, action: str, note: str = "", **data: object) -> None:
        services.ticket_act(actor=actor, ticket_id=ticket.pk, action=action, note=note, data=data)

    made = []
    # Received at the window, waiting to be handled.
    made.append(
        new(
            clerk,
            TicketChannel.WINDOW,
            "consultation",
            "100201",
            "咨询高龄津贴发放时间",
            "群众到窗口询问80周岁以上老人高龄津贴何时发放。",
            complainant_name="刘大爷",
        )
    )
    # From the supervision phone, dispatched by the county and signed for by the township.
    signed = new(
        desk,
        TicketChannel.SUPERVISION_PHONE,
        "complaint",
        "100702",
        "临时救助审批慢",
        "来电反映临时救助申请已超过20天未有结果。",
        complainant_name="马女士",
        complainant_phone="13995200001",
    )
    act(desk, signed, "dispatch", office_id=township.pk)
    act(clerk, signed, "sign")
    made.append(signed)
    # Dispatched to the township, returned with its reason, waiting for the county to re-dispatch.
    returned = new(
        desk,
        TicketChannel.LETTERS_VISITS,
        "help",
        "100401",
        "残疾人两项补贴标准咨询",
        "来信询问重度残疾人护理补贴标准及申领渠道。",
        complainant_name="王先生",
    )
    act(desk, returned, "dispatch", office_id=township.pk)
    act(clerk, returned, "return", "来信人户籍在星海镇，请改派星海镇民政办")
    made.append(returned)
    # From the complaint box: handled, replied, called back, closed.
    closed = new(
        clerk,
        TicketChannel.MAILBOX,
        "suggestion",
        "100701",
        "建议增设老年人专用窗口",
        "意见箱来信建议便民服务中心增设老年人优先窗口。",
    )
    act(clerk, closed, "accept")
    act(clerk, closed, "reply", "已于本月起设立老年人优先窗口，并张贴指引。")
    act(head, closed, "callback", satisfaction=5)
    act(head, closed, "close", decision="upheld")
    made.append(closed)
    # A repeated call about the same matter, merged into the first.
    repeat = new(
        clerk,
        TicketChannel.PHONE,
        "complaint",
        "100702",
        "再次反映临时救助审批慢",
        "同一来电人再次来电催问。",
        complainant_name="马女士",
    )
    act(head, repeat, "merge", into_id=signed.pk)
    made.append(repeat)
    # A grid worker's report, urgent.
    made.append(
        new(
            assistant,
            TicketChannel.GRID,
            "help",
            "100801",
            "独居老人家中漏水",
            "网格员巡查发现独居老人家中水管破裂，需要协调维修。",
            urgent=True,
        )
    )
    # Receipts: one rated well, one poorly (a 差评 ticket for the township head), one not yet rated.
    good = receipts.receipt_issue(actor=clerk, office=township, service_name="最低生活保障", channel="window")
    receipts.receipt_rate(code=good.code, rating=5, comment="办事快，态度好")
    poor = receipts.receipt_issue(actor=clerk, office=township, service_name="临时救助", channel="window")
    receipts.receipt_rate(
        code=poor.code, rating=2, comment="材料要求没有一次说清楚，跑了两趟", contact_phone="13995200002"
    )
    receipts.receipt_issue(actor=clerk, office=township, service_name="高龄津贴", channel="window")
    return len(made) + 1
