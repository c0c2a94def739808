"""A partner department asks the assistance status of a person it serves (e.g. the disability
federation asks whether an applicant for the disability living subsidy lives in a dibao household).

The answer carries the statuses alone (minzheng.rules.standing): which, and from when to when — no
names of other members, no amounts, nothing of the household's record. A person who is not
registered, whose household lies outside the account's jurisdiction, or who has no status gets the
same answer, so the inquiry cannot be used to find out who is registered where. Every inquiry
states its purpose (用途), is recorded (StatusInquiry, with a keyed digest of the ID number, never
the number) and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput, TooManyRequests
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.inquiries.models import InquiryChannel, StatusInquiry
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require
from minzheng.registry.models import Membership
from minzheng.rules.standing import statuses_of

PURPOSE_MIN_LENGTH = 4
PURPOSE_MAX_LENGTH = 200
# Said for "not registered", "outside your jurisdiction" and "no status" alike.
NO_STATUS = "未查到该人员的救助身份"


class InquiryAudit(StrEnum):
    """The audit actions of this app."""

    STATUS_INQUIRY = "inquiry.status"


@dataclass(frozen=True)
class StatusAnswer:
    status: str
    label: str
    subject: str  # "person": the person's own status; "household": their household's
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True)
class InquiryResult:
    inquiry: StatusInquiry
    on: date
    statuses: list[StatusAnswer]

    @property
    def message(self) -> str:
        return "" if self.statuses else NO_STATUS


def _household_on(id_digest: str, on: date) -> tuple[int, int, str] | None:
    """(person id, household id, village code) of the person's household on `on`."""
    row = (
        Membership.objects.filter(person__id_digest=id_digest, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .order_by("-start_date")
        .values_list("person_id", "household_id", "household__division_id")
        .first()
    )
    if row is None:
        return None
    return (int(row[0]), int(row[1]), str(row[2]))


def _answers(actor: Staff, id_digest: str, on: date) -> list[StatusAnswer]:
    found = _household_on(id_digest, on)
    if found is None:
        return []
    person_id, household_id, village = found
    if not jurisdiction_of(actor).contains(village):
        return []
    return [
        StatusAnswer(
            status=row.status,
            label=row.label,
            subject="household" if row.person_id is None else "person",
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )
        for row in statuses_of(household_id, on=on)
        if row.person_id is None or row.person_id == person_id
    ]


def daily_limit() -> int:
    """How many persons one account may ask about in 24 hours (MINZHENG_STATUS_INQUIRY_DAILY_LIMIT,
    default 200): a department serves its own applicants one by one; more is trawling the registry."""
    return int(getattr(settings, "MINZHENG_STATUS_INQUIRY_DAILY_LIMIT", 200))


def _within_daily_limit(actor: Staff) -> None:
    """Counted from the inquiries' own log (the database, the same for every host), the account's
    inquiries of the last 24 hours; the caller's transaction holds the account's row so that two
    inquiries at once cannot both take the last one."""
    Staff.objects.select_for_update().filter(pk=actor.pk).first()
    since = timezone.now() - timedelta(hours=24)
    used = StatusInquiry.objects.filter(asked_by=actor, asked_at__gte=since).count()
    if used >= daily_limit():
        raise TooManyRequests(
            f"本账号24小时内已查询{used}次，达到上限（{daily_limit()}次），请次日再查询或联系民政部门"
        )


@transaction.atomic
def status_inquire(
    *, actor: Staff, id_number: str, purpose: str, on: date, channel: str = InquiryChannel.WEB
) -> InquiryResult:
    """Answer one department's question about one person's assistance status on `on`."""
    require(actor, Perm.STATUS_INQUIRY)
    purpose = " ".join(purpose.split())
    if len(purpose) < PURPOSE_MIN_LENGTH:
        raise InvalidInput(
            "须说明查询用途", field_errors={"purpose": [f"请说明查询用途（不少于{PURPOSE_MIN_LENGTH}个字）"]}
        )
    if len(purpose) > PURPOSE_MAX_LENGTH:
        raise InvalidInput("查询用途过长", field_errors={"purpose": [f"不超过{PURPOSE_MAX_LENGTH}个字"]})
    try:
        rid = parse_resident_id(id_number.strip())
    except InvalidIdentifier as exc:
        raise InvalidInput("身份证号无效", field_errors={"id_number": [exc.message]}) from exc
    if channel not in InquiryChannel.values:
        raise InvalidInput("未知的查询方式", field_errors={"channel": ["未知"]})
    _within_daily_limit(actor)
    id_digest = protect.lookup_digest(rid.number)
    statuses = _answers(actor, id_digest, on)
    inquiry = StatusInquiry.objects.create(
        asked_by=actor,
        department=actor.department,
        scope_code=actor.office_code,
        id_digest=id_digest,
        on=on,
        purpose=purpose,
        channel=channel,
        result_count=len(statuses),
    )
    audit_record(
        actor=actor,
        action=InquiryAudit.STATUS_INQUIRY,
        object_type="inquiries.statusinquiry",
        object_id=inquiry.pk,
        scope_code=actor.office_code,
        reason=purpose,
        after={"on": on.isoformat(), "channel": channel, "result_count": len(statuses)},
    )
    return InquiryResult(inquiry=inquiry, on=on, statuses=statuses)
