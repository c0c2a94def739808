"""Demo tickets, work orders and receipts (群众诉求, 12345工单, 服务评价), made through the real services
with the demo accounts: a complaint at every step of the loop, a returned order, a closed one with
its callback, a merged repeat, receipts rated well and poorly. Idempotent: nothing is added when the
demo county already has tickets. The 12345 platform's own orders arrive from the hotline simulator
that ./run demo starts (simulators/hotline), pulled by the worker or the 12345工单 page."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from minzheng.feedback import grid, receipts, services
from minzheng.feedback.models import GridCell, Ticket, TicketChannel
from minzheng.org.models import Office, Staff

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"
COUNTY = "640202000000"


def _staff(username: str) -> Staff:
    return Staff.objects.select_related("office").get(username=username)


def _demo_grid() -> None:
    """Two grids of the demo community (长胜社区, around 39.01°N 106.38°E) with their worker, and an
    event reported in one of them, verified and registered."""
    if GridCell.objects.filter(village_id=VILLAGE).exists():
        return
    worker = _staff("dwk_village_assistant")
    for n, (south, west) in enumerate(
        ((Decimal("39.010"), Decimal("106.370")), (Decimal("39.010"), Decimal("106.380"))), 1
    ):
        GridCell.objects.create(
            code=f"{VILLAGE}{n:02d}",
            name=f"长胜社区第{n}网格",
            village_id=VILLAGE,
            worker=worker,
            min_lat=south,
            max_lat=south + Decimal("0.01"),
            min_lng=west,
            max_lng=west + Decimal("0.01"),
        )
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
