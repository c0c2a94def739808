"""The online applicant's inbox and text messages (申请人消息与短信通知).

Every change of state of an online application (received, missing materials, accepted, decided,
closed …) leaves a notification the applicant sees on the status page, written in the same
transaction as the change. When the SMS gateway is configured (MINZHENG_SMS_GATEWAY_URL), a text
message is recorded beside it and sent after the commit by a background task; a failed send is
retried by the worker's sweep (core.recovery, "cases_sms") with a growing pause, and given up after
MAX_ATTEMPTS. Two workers never send one message twice: a delivery is sent under its row lock, and
the gateway is given the delivery's reference so it can drop a repeat.

The gateway contract: ``POST {url}`` with JSON ``{"to", "text", "ref"}``; 2xx with ``{"id"}`` is
accepted, anything else a failure. The phone number is read from the case when sending and is kept
here only masked.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from minzheng.cases.models import (
    ApplicantNotification,
    Case,
    Channel,
    NotificationKind,
    SmsDelivery,
    SmsStatus,
)
from minzheng.cases.workflows import WORKFLOWS, state_label

logger = logging.getLogger("minzheng.cases.sms")

MAX_ATTEMPTS = 6
SWEEP_BATCH = 200
_MOBILE = re.compile(r"1\d{10}")
DECIDED_STATES = frozenset({"approved", "aided", "refusal_notice"})
# The Chinese text message per kind ({number}: the case number; {state}: the state's label).
SMS_TEXTS = {
    NotificationKind.RECEIVED: "【民政通】您的网上申请（受理编号{number}）已收到，乡镇（街道）窗口将审查材料。",
    NotificationKind.MISSING_MATERIALS: (
        "【民政通】您的申请（受理编号{number}）材料不全，请凭受理编号和身份证号登录办理进度查询，"
        "查看一次性告知并网上补交。"
    ),
    NotificationKind.MATERIALS_RECEIVED: "【民政通】您网上补交的材料（受理编号{number}）已收到，等待窗口核验。",
    NotificationKind.ACCEPTED: "【民政通】您的申请（受理编号{number}）已正式受理。",
    NotificationKind.PROGRESS: "【民政通】您的申请（受理编号{number}）进入新环节：{state}。",
    NotificationKind.DECIDED: "【民政通】您的申请（受理编号{number}）已作出决定：{state}。",
    NotificationKind.CLOSED: "【民政通】您的申请（受理编号{number}）已办结：{state}。",
}


def mask_phone(phone: str) -> str:
    """139****0000 for a mobile number; a landline keeps its last four digits only."""
    digits = phone.strip()
    if _MOBILE.fullmatch(digits):
        return f"{digits[:3]}****{digits[-4:]}"
    return f"****{digits[-4:]}" if len(digits) > 4 else "****"


def kind_for(case: Case, state: str) -> str:
    workflow = WORKFLOWS.get(case.workflow)
    final = bool(workflow and state in workflow.states and workflow.states[state].final)
    if state in ("submitted", "received"):
        return NotificationKind.RECEIVED
    if state == "incomplete":
        return NotificationKind.MISSING_MATERIALS
    if state == "accepted":
        return NotificationKind.ACCEPTED
    if state in DECIDED_STATES or (final and state == "approved"):
        return NotificationKind.DECIDED
    if final:
        return NotificationKind.CLOSED
    return NotificationKind.PROGRESS


def sms_text(case: Case, kind: str, state: str) -> str:
    return SMS_TEXTS[NotificationKind(kind)].format(
        number=case.number, state=state_label(case.workflow, state)
    )


def notify(*, case: Case, kind: str) -> ApplicantNotification:
    """Write a notification for the applicant of an online case (inside the caller's transaction),
    with its text message when the applicant gave a mobile number."""
    notification = ApplicantNotification.objects.create(case=case, kind=kind, state=case.state)
    phone = case.applicant_phone.strip()
    if _MOBILE.fullmatch(phone):
        gateway = bool(settings.MINZHENG_SMS_GATEWAY_URL)
        delivery = SmsDelivery.objects.create(
            notification=notification,
            phone_masked=mask_phone(phone),
            text=sms_text(case, kind, case.state)[:300],
            status=SmsStatus.PENDING if gateway else SmsStatus.OFF,
        )
        if gateway:
            transaction.on_commit(lambda: send_sms.enqueue(delivery.pk))
    return notification


def state_changed(case: Case, before: str) -> ApplicantNotification | None:
    """Called by the cases services after an online case changed state (or was submitted)."""
    if case.channel != Channel.ONLINE or case.state == before:
        return None
    return notify(case=case, kind=kind_for(case, case.state))


# --- Sending -----------------------------------------------------------------------------------------


class GatewayError(Exception):
    pass


def _post(url: str, body: dict[str, str]) -> str:
    request = urllib.request.Request(  # noqa: S310 (the configured gateway)
        url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=settings.MINZHENG_SMS_TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise GatewayError(f"网关返回 {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise GatewayError(f"网关不可用：{exc}") from exc
    if not isinstance(answer, dict) or not answer.get("id"):
        raise GatewayError("网关答复无消息编号")
    return str(answer["id"])[:64]


def _pause(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def sms_deliver(*, delivery_id: int) -> str:
    """Send one text message if it is still due; its status afterwards. Idempotent."""
    with transaction.atomic():
        delivery = (
            SmsDelivery.objects.select_for_update()
            .select_related("notification__case")
            .filter(pk=delivery_id, status__in=(SmsStatus.PENDING, SmsStatus.FAILED))
            .first()
        )
        if delivery is None:
            return SmsDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or ""
        url = settings.MINZHENG_SMS_GATEWAY_URL
        if not url:
            delivery.status = SmsStatus.OFF
            delivery.save(update_fields=["status"])
            return delivery.status
        case = delivery.notification.case
        delivery.attempts += 1
        try:
            delivery.gateway_id = _post(
                url, {"to": case.applicant_phone, "text": delivery.text, "ref": f"minzheng-sms-{delivery.pk}"}
            )
        except GatewayError as exc:
            delivery.last_error = str(exc)[:300]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = SmsStatus.ABANDONED
            else:
                delivery.status = SmsStatus.FAILED
                delivery.next_attempt_at = timezone.now() + _pause(delivery.attempts)
            logger.warning("SMS %s not sent (attempt %s): %s", delivery.pk, delivery.attempts, exc)
        else:
            delivery.status = SmsStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
        return delivery.status


@task()
def send_sms(delivery_id: int) -> str:
    return sms_deliver(delivery_id=delivery_id)


def sms_sweep() -> int:
    """The worker's sweep: send every text message that is due (new ones whose task was lost, failed
    ones whose pause is over). Returns how many were tried."""
    due = list(
        SmsDelivery.objects.filter(
            status__in=(SmsStatus.PENDING, SmsStatus.FAILED), next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in due:
        sms_deliver(delivery_id=pk)
    return len(due)
