"""Service-quality receipts (服务质量回执, 好差评 "一次一评"): every service finished at the window or
online issues a receipt with a short code; the citizen rates it once, on five levels, on a public
page without login. A poor rating (1 or 2) becomes a ticket for the office head, with a callback
(回访核实) due within a working day and rectification (整改) within the configured working days.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import segno
from django.db import transaction
from django.utils import timezone

from minzheng.cases.models import Case, Channel, Outcome
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound
from minzheng.feedback import catalogue
from minzheng.feedback.models import ServiceReceipt, TicketChannel, TicketKind, TicketState
from minzheng.feedback.services import FeedbackAudit, ticket_open
from minzheng.org.models import Office, Staff
from minzheng.workdays.selectors import add_working_days

# No 0/O, 1/I/L: read aloud or typed from paper without mistakes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
POOR = 2  # ratings at or below this are 差评
COMMENT_MAX = 300
# Services that issue a receipt: those a citizen was served in person or online (一次一评, 一事一评).
RECEIPT_CHANNELS = frozenset({Channel.WINDOW, Channel.ONLINE, Channel.PROXY})


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper()[:CODE_LENGTH]


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if not ServiceReceipt.objects.filter(code=code).exists():
            return code


def _window_office(case: Case) -> Office | None:
    """The township office whose window served the case (a village's cases are taken at its township)."""
    township = case.division_id[:9] + "000"
    return (
        Office.objects.filter(division_id=township).first()
        or Office.objects.filter(division_id=case.division_id).first()
    )


@transaction.atomic
def receipt_issue(
    *, actor: Staff | None, office: Office, service_name: str, channel: str, case: Case | None = None
) -> ServiceReceipt:
    if case is not None:
        existing = ServiceReceipt.objects.filter(case=case).first()
        if existing is not None:
            return existing
    receipt = ServiceReceipt.objects.create(
        code=_new_code(),
        case=case,
        office=office,
        staff=actor,
        service_name=service_name[:120],
        channel=channel,
    )
    audit_record(
        actor=actor,
        action=FeedbackAudit.RECEIPT_ISSUE,
        object_type="feedback.ServiceReceipt",
        object_id=receipt.pk,
        scope_code=office.division_id,
        after={"code": receipt.code, "case": case.number if case else "", "service": receipt.service_name},
    )
    return receipt


def receipt_for_closed_case(case: Case, actor: Staff | None) -> object:
    """cases.services.CLOSE_HOOKS: a finished service (decided, refused or transferred and answered)
    at the window or online gets its receipt; a withdrawn application does not."""
    if case.outcome == Outcome.WITHDRAWN or case.channel not in RECEIPT_CHANNELS:
        return None
    office = _window_office(case)
    if office is None:
        return None
    return receipt_issue(
        actor=actor, office=office, service_name=case.item.name, channel=case.channel, case=case
    )


@dataclass(frozen=True)
class PublicReceipt:
    """What the public rating page shows: the service, the office, the day; no names, no numbers."""

    code: str
    service_name: str
    office_name: str
    served_on: str
    rating: int | None
    rating_label: str


def receipt_public(*, code: str) -> PublicReceipt:
    receipt = ServiceReceipt.objects.select_related("office").filter(code=normalise_code(code)).first()
    if receipt is None:
        raise NotFound("回执码不正确")
    return PublicReceipt(
        code=receipt.code,
        service_name=receipt.service_name,
        office_name=receipt.office.name,
        served_on=f"{timezone.localtime(receipt.served_at):%Y-%m-%d}",
        rating=receipt.rating,
        rating_label=RATING_LABELS.get(receipt.rating or 0, ""),
    )


@transaction.atomic
def receipt_rate(*, code: str, rating: int, comment: str = "", contact_phone: str = "") -> ServiceReceipt:
    """One rating per receipt. A poor one opens a 差评 ticket for the office head."""
    receipt = (
        ServiceReceipt.objects.select_for_update(of=("self",))
        .select_related("office", "case")
        .filter(code=normalise_code(code))
        .first()
    )
    if receipt is None:
        raise NotFound("回执码不正确")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput("请选择评价等级", field_errors={"rating": ["应为1至5"]})
    comment = " ".join((comment or "").split())
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("评价意见过长", field_errors={"comment": [f"不超过{COMMENT_MAX}个字"]})
    if rating <= POOR and len(comment) < 2:
        raise InvalidInput("差评请说明不满意的原因", field_errors={"comment": ["请说明原因，便于整改"]})
    if receipt.rating is not None:
        raise Conflict("该回执已评价，每次服务只能评价一次")
    now = timezone.now()
    receipt.rating = rating
    receipt.comment = comment
    receipt.rated_at = now
    if rating <= POOR:
        today = timezone.localdate()
        ticket = ticket_open(
            actor=None,
            channel=TicketChannel.REVIEW,
            external_ref=receipt.code,
            kind=TicketKind.BAD_REVIEW,
            category_code="100700",
            title=f"差评：{receipt.service_name}"[:120],
            content=comment,
            division=receipt.office.division,
            complainant_phone=contact_phone,
            anonymous=not contact_phone.strip(),
            office=receipt.office,
            about_case=receipt.case,
            about_office=receipt.office,
            about_staff=receipt.staff,
            state=TicketState.PROCESSING,
            received_on=today,
        )
        ticket.callback_due = add_working_days(
            today, catalogue.limit("bad_review_callback_workdays", today).value
        )
        ticket.rectify_due = add_working_days(
            today, catalogue.limit("bad_review_rectify_workdays", today).value
        )
        ticket.due_date = ticket.rectify_due
        ticket.save(update_fields=["callback_due", "rectify_due", "due_date"])
        receipt.ticket = ticket
    receipt.save(update_fields=["rating", "comment", "rated_at", "ticket"])
    audit_record(
        actor=None,
        action=FeedbackAudit.RECEIPT_RATE,
        object_type="feedback.ServiceReceipt",
        object_id=receipt.pk,
        scope_code=receipt.office.division_id,
        after={
            "code": receipt.code,
            "rating": rating,
            "ticket": receipt.ticket.number if receipt.ticket else "",
        },
    )
    return receipt


def rating_qr_svg(url: str, *, title: str = "") -> str:
    """The QR code of a receipt's rating address as inline SVG (segno): a viewBox and a path with
    presentation attributes, no style attribute (the Content-Security-Policy allows no inline
    styles; the size comes from the stylesheet). Error correction M survives a creased slip."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("评价地址须为完整网址", field_errors={"url": ["应以http://或https://开头"]})
    return str(
        segno.make(url, error="m", micro=False).svg_inline(
            scale=1, omitsize=True, border=4, svgclass="receipt-qr", lineclass="receipt-qr-line", title=title
        )
    )
