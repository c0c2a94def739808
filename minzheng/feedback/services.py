"""Every write of the public's voice: tickets registered from any channel, the work-order loop
(派单 → 签收/退单 → 办理 → 答复 → 回访 → 办结/重新办理), merging repeated requests, the deadline sweep
(催办 the day after a limit passes, 通报 later) and the 12345 hotline platform (orders pulled, statuses
reported back through an outbox).

The loop is one transitions table (MOVES) applied by one function (`ticket_act`), which refuses an
illegal move with a typed error and writes the ticket's event, its audit row and — for a hotline
order — the status to report back, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from minzheng.cases.models import Case, Outcome
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.permissions import Perm
from minzheng.feedback import catalogue, counters, hotline
from minzheng.feedback.models import (
    OPEN_STATES,
    CaseReviewOutcome,
    Decision,
    Dispatch,
    HotlinePlatform,
    HotlineSync,
    Sensitivity,
    SyncStatus,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketKind,
    TicketState,
)
from minzheng.org.models import Division, Office, Staff
from minzheng.org.scope import jurisdiction_of, require, require_in_scope
from minzheng.workdays.selectors import add_working_days, working_days_between

logger = logging.getLogger("minzheng.feedback")

TEXT_MAX = 2000
REASON_MIN = 2


class FeedbackAudit(StrEnum):
    """The audit actions of this app (one vocabulary, for reports and auditors)."""

    REGISTER = "feedback.ticket_register"
    DISPATCH = "feedback.ticket_dispatch"
    SIGN = "feedback.ticket_sign"
    RETURN = "feedback.ticket_return"
    ACCEPT = "feedback.ticket_accept"
    REPLY = "feedback.ticket_reply"
    CALLBACK = "feedback.ticket_callback"
    RECTIFY = "feedback.ticket_rectify"
    CLOSE = "feedback.ticket_close"
    REOPEN = "feedback.ticket_reopen"
    MERGE = "feedback.ticket_merge"
    CASE_REVIEW = "feedback.ticket_case_review"
    REMIND = "feedback.ticket_remind"
    ESCALATE = "feedback.ticket_escalate"
    HOTLINE_CONNECT = "feedback.hotline_connect"
    HOTLINE_PULL = "feedback.hotline_pull"
    RECEIPT_ISSUE = "feedback.receipt_issue"
    RECEIPT_RATE = "feedback.receipt_rate"


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str
    perm: Perm
    label: str


_OPEN = frozenset(str(s) for s in OPEN_STATES)
# The work-order loop. "callback" lands in called_back or reopened (satisfied or not); a poor rating's
# callback (回访核实) leaves it in processing; both are decided in `ticket_act`.
MOVES: dict[str, Move] = {
    "dispatch": Move(frozenset({"received", "returned"}), "dispatched", Perm.FEEDBACK_DISPATCH, "派单"),
    "sign": Move(frozenset({"dispatched"}), "processing", Perm.FEEDBACK_HANDLE, "签收"),
    "return": Move(frozenset({"dispatched"}), "returned", Perm.FEEDBACK_HANDLE, "退单"),
    "accept": Move(frozenset({"received"}), "processing", Perm.FEEDBACK_HANDLE, "本机构直接办理"),
    "reply": Move(frozenset({"processing", "reopened"}), "replied", Perm.FEEDBACK_HANDLE, "答复"),
    "callback": Move(frozenset({"replied", "processing"}), "called_back", Perm.FEEDBACK_DISPATCH, "回访"),
    "rectify": Move(frozenset({"processing", "replied"}), "", Perm.FEEDBACK_HANDLE, "整改"),
    "close": Move(
        frozenset({"replied", "called_back", "processing"}), "closed", Perm.FEEDBACK_DISPATCH, "办结"
    ),
    "reopen": Move(frozenset({"closed", "called_back"}), "reopened", Perm.FEEDBACK_DISPATCH, "重新办理"),
    "merge": Move(_OPEN, "merged", Perm.FEEDBACK_DISPATCH, "并单"),
}
ACTION_LABELS: dict[str, str] = {a: m.label for a, m in MOVES.items()} | {
    "register": "登记",
    "case_review": "案件复查",
    "remind": "催办",
    "escalate": "通报",
    "repeat": "重复诉求并入",
}


def _today() -> date:
    return timezone.localdate()


def _text(value: str, name: str, label: str, *, required: bool = True, max_length: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and len(value) < REASON_MIN:
        raise InvalidInput(f"请填写{label}", field_errors={name: [f"请填写{label}"]})
    if len(value) > max_length:
        raise InvalidInput(f"{label}过长", field_errors={name: [f"不超过{max_length}个字"]})
    return value


def _number(on: date) -> str:
    return f"MZT-{on:%Y%m%d}-{counters.next_number(counters.TICKET, on):05d}"


def _event(
    ticket: Ticket, actor: Staff | None, action: str, before: str, note: str = "", **data: Any
) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        actor_name=actor.full_name if actor else "系统",
        action=action,
        from_state=before,
        to_state=ticket.state,
        note=note,
        data=data,
    )


def _audit(ticket: Ticket, actor: Staff | None, action: FeedbackAudit, note: str = "", **after: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="feedback.Ticket",
        object_id=ticket.pk,
        scope_code=ticket.office.division_id if ticket.office_id else ticket.division_id,  # type: ignore[union-attr]
        reason=note,
        after={"number": ticket.number, "state": ticket.state, **after},
    )


def _sync(ticket: Ticket, status: str, **payload: Any) -> None:
    """Queue the status for the hotline platform (sent after commit, retried by the sweep)."""
    if ticket.channel != TicketChannel.HOTLINE or not ticket.external_ref:
        return
    HotlineSync.objects.create(
        ticket=ticket,
        status=status,
        payload={"at": timezone.now().isoformat(), "ticket_number": ticket.number, **payload},
    )
    transaction.on_commit(_push_soon)


def _push_soon() -> None:
    try:
        hotline_push()
    except Exception:  # the sweep sends it later; the change itself is committed
        logger.exception("hotline status push failed")


def in_jurisdiction(actor: Staff) -> Q:
    """Tickets the actor's jurisdiction holds: the place concerned, or the responsible office."""
    prefix = jurisdiction_of(actor).prefix
    return Q(division__code__startswith=prefix) | Q(office__division__code__startswith=prefix)


def _locked(actor: Staff, ticket_id: int) -> Ticket:
    require(actor, Perm.FEEDBACK_VIEW)
    if not actor.is_active:
        raise NotFound()
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("office", "division")
        .filter(in_jurisdiction(actor), pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound("没有找到该诉求")
    return ticket


# --- Registration -------------------------------------------------------------------------------


def _due(kind: str, urgent: bool, received_on: date) -> tuple[date, str]:
    limit = catalogue.reply_limit(kind, urgent=urgent, on=received_on)
    return add_working_days(received_on, limit.value), f"{limit.value}个工作日（{limit.reference}）"


def _check_category(category_code: str, kind: str) -> None:
    problems: dict[str, list[str]] = {}
    if catalogue.category(category_code) is None:
        problems["category_code"] = [f"未知的诉求分类：{category_code[:12]}"]
    if kind not in TicketKind.values:
        problems["kind"] = [f"未知的诉求类型：{kind[:20]}"]
    if problems:
        raise InvalidInput("诉求分类或类型无效", field_errors=problems)


def ticket_open(
    *,
    actor: Staff | None,
    channel: str,
    kind: str,
    category_code: str,
    title: str,
    content: str,
    division: Division,
    complainant_name: str = "",
    complainant_phone: str = "",
    anonymous: bool = False,
    urgent: bool = False,
    sensitivity: str = Sensitivity.STANDARD,
    external_ref: str = "",
    office: Office | None = None,
    about_case: Case | None = None,
    about_office: Office | None = None,
    about_staff: Staff | None = None,
    state: str = TicketState.RECEIVED,
    received_on: date | None = None,
) -> Ticket:
    """A ticket opened by the system or a caller that has checked the actor (the hotline's orders,
    a poor rating, ticket_register); inside the caller's transaction."""
    _check_category(category_code, kind)
    if channel not in TicketChannel.values:
        raise InvalidInput("未知的来源渠道", field_errors={"channel": ["未知"]})
    if sensitivity not in Sensitivity.values:
        raise InvalidInput("未知的敏感程度", field_errors={"sensitivity": ["未知"]})
    title = _text(title, "title", "标题", max_length=120)
    content = _text(content, "content", "诉求内容")
    received_on = received_on or _today()
    due, reference = _due(kind, urgent, received_on)
    ticket = Ticket.objects.create(
        number=_number(received_on),
        channel=channel,
        external_ref=external_ref,
        kind=kind,
        category_code=category_code,
        title=title,
        content=content,
        complainant_name="" if anonymous else complainant_name.strip()[:60],
        complainant_phone="" if anonymous else complainant_phone.strip()[:20],
        anonymous=anonymous,
        division=division,
        office=office,
        about_case=about_case,
        about_office=about_office,
        about_staff=about_staff,
        sensitivity=sensitivity,
        urgent=urgent,
        state=state,
        received_on=received_on,
        due_date=due,
        limit_reference=reference[:200],
        # A complaint about a benefit decision opens a review of that case; the ticket closes only
        # with the review's outcome (the decision stays with the case's reviewers).
        case_review_required=bool(
            about_case is not None
            and kind in (TicketKind.COMPLAINT, TicketKind.REPORT)
            and about_case.outcome in (Outcome.APPROVED, Outcome.REFUSED)
        ),
        created_by=actor,
    )
    _event(ticket, actor, "register", "", channel=channel, due_date=due.isoformat())
    _audit(ticket, actor, FeedbackAudit.REGISTER, channel=channel, category=category_code, due=due)
    return ticket


@transaction.atomic
def ticket_register(
    *,
    actor: Staff,
    channel: str,
    kind: str,
    category_code: str,
    title: str,
    content: str,
    division_code: str,
    complainant_name: str = "",
    complainant_phone: str = "",
    anonymous: bool = False,
    urgent: bool = False,
    sensitivity: str = Sensitivity.STANDARD,
    about_case_id: int | None = None,
    about_office_id: int | None = None,
    about_staff_id: int | None = None,
) -> Ticket:
    """A request received at the window, by phone, in the complaint box, on the supervision phone, in
    a letter or visit, or online: registered in the actor's jurisdiction, with its time limit."""
    require(actor, Perm.FEEDBACK_INTAKE)
    if channel in (TicketChannel.HOTLINE, TicketChannel.REVIEW):
        raise InvalidInput(
            "12345工单由热线平台推送，差评工单由服务评价产生", field_errors={"channel": ["不能手工登记"]}
        )
    division = Division.objects.filter(code=division_code, is_active=True).first()
    if division is None or not jurisdiction_of(actor).contains(division.code):
        raise InvalidInput("所涉区划不存在或不在管辖范围内", field_errors={"division_code": ["无效"]})
    about_case = None
    if about_case_id is not None:
        about_case = Case.objects.filter(pk=about_case_id).first()
        if about_case is None or not jurisdiction_of(actor).contains(about_case.division_id):
            raise InvalidInput("所涉案件不存在或不在管辖范围内", field_errors={"about_case_id": ["无效"]})
    about_office = None
    if about_office_id is not None:
        about_office = Office.objects.filter(pk=about_office_id).first()
        if about_office is None or not jurisdiction_of(actor).contains(about_office.division_id):
            raise InvalidInput("所涉机构不存在或不在管辖范围内", field_errors={"about_office_id": ["无效"]})
    about_staff = None
    if about_staff_id is not None:
        about_staff = Staff.objects.select_related("office").filter(pk=about_staff_id).first()
        if about_staff is None or not jurisdiction_of(actor).contains(about_staff.office.division_id):
            raise InvalidInput(
                "所涉工作人员不存在或不在管辖范围内", field_errors={"about_staff_id": ["无效"]}
            )
    return ticket_open(
        actor=actor,
        channel=channel,
        kind=kind,
        category_code=category_code,
        title=title,
        content=content,
        division=division,
        complainant_name=complainant_name,
        complainant_phone=complainant_phone,
        anonymous=anonymous,
        urgent=urgent,
        sensitivity=sensitivity,
        about_case=about_case,
        about_office=about_office,
        about_staff=about_staff,
    )


# --- The loop -------------------------------------------------------------------------------------


def _dispatch_office(actor: Staff, data: Mapping[str, Any]) -> Office:
    try:
        office_id = int(data.get("office_id") or 0)
    except (TypeError, ValueError):
        office_id = 0
    office = Office.objects.filter(pk=office_id, is_active=True).first()
    if office is None or not jurisdiction_of(actor).contains(office.division_id):
        raise InvalidInput("请选择管辖范围内的承办机构", field_errors={"office_id": ["无效"]})
    return office


def _current_dispatch(ticket: Ticket) -> Dispatch | None:
    return (
        Dispatch.objects.select_for_update()
        .filter(ticket=ticket, signed_at__isnull=True, returned_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def _close_problems(ticket: Ticket, decision: str) -> list[str]:
    problems = []
    if decision not in Decision.values:
        problems.append("办结须作出处理结论")
    if ticket.case_review_required and not ticket.case_review_outcome:
        problems.append("本诉求涉及救助决定，须先录入所涉案件的复查结论")
    if ticket.channel == TicketChannel.HOTLINE and ticket.called_back_at is None:
        problems.append("12345工单须先回访")
    if ticket.kind == TicketKind.BAD_REVIEW:
        if ticket.called_back_at is None:
            problems.append("差评须先回访核实")
        if decision in (Decision.UPHELD, Decision.PARTIALLY_UPHELD) and ticket.rectified_at is None:
            problems.append("差评属实的，须先录入整改情况")
    elif ticket.state == TicketState.PROCESSING:
        problems.append("须先答复诉求人")
    return problems


@transaction.atomic
def ticket_act(
    *, actor: Staff | None, ticket_id: int, action: str, note: str = "", data: Mapping[str, Any] | None = None
) -> Ticket:
    """Apply one step of the loop, or refuse with a typed error (nothing changes then).

    `actor` None is the system (the hotline platform's callback result)."""
    data = data or {}
    move = MOVES.get(action)
    if move is None:
        raise InvalidInput("未知的操作", field_errors={"action": [action[:40]]})
    if actor is not None:
        ticket = _locked(actor, ticket_id)
        if not actor.can(move.perm):
            raise PermissionDenied(f"您没有“{move.label}”的权限")
    else:
        found = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if found is None:
            raise NotFound("没有找到该诉求")
        ticket = found
    if ticket.state not in move.sources:
        raise TransitionNotAllowed(
            f"当前状态“{TicketState(ticket.state).label}”不能{move.label}", field_errors={"action": [action]}
        )
    before = ticket.state
    now = timezone.now()
    extra: dict[str, Any] = {}
    sync: dict[str, Any] = {}
    if action == "dispatch":
        office = _dispatch_office(actor, data) if actor is not None else None
        if office is None:
            raise InvalidInput("请选择承办机构", field_errors={"office_id": ["必填"]})
        Dispatch.objects.create(ticket=ticket, office=office, dispatched_by=actor)
        ticket.office = office
        extra = sync = {"office": office.name}
    elif action in ("sign", "return"):
        dispatch = _current_dispatch(ticket)
        if dispatch is None:
            raise TransitionNotAllowed("没有待签收的派单")
        if actor is not None and not jurisdiction_of(actor).contains(dispatch.office.division_id):
            raise PermissionDenied("只有承办机构可以签收或退单")
        if action == "sign":
            dispatch.signed_at = now
        else:
            note = _text(note, "note", "退单理由", max_length=300)
            dispatch.returned_at = now
            dispatch.return_reason = note
            ticket.return_count += 1
            ticket.office = None
            sync = {"reason": note}
        dispatch.save()
        extra = {"office": dispatch.office.name}
    elif action == "accept":
        if actor is None:
            raise PermissionDenied()
        ticket.office = actor.office
        extra = {"office": actor.office.name}
    elif action == "reply":
        note = _text(note, "note", "答复内容")
        ticket.reply = note
        ticket.replied_at = now
        sync = {"reply": note}
    elif action == "callback":
        extra = _callback(ticket, data)
        sync = dict(extra)
    elif action == "rectify":
        if ticket.kind != TicketKind.BAD_REVIEW:
            raise TransitionNotAllowed("只有差评工单需要录入整改情况")
        note = _text(note, "note", "整改情况")
        ticket.rectification = note
        ticket.rectified_at = now
    elif action == "close":
        decision = str(data.get("decision", ""))
        problems = _close_problems(ticket, decision)
        if problems:
            raise TransitionNotAllowed("；".join(problems), field_errors={"decision": problems})
        ticket.decision = decision
        ticket.closed_at = now
        extra = sync = {"decision": decision}
    elif action == "reopen":
        note = _text(note, "note", "重新办理的理由", max_length=300)
        ticket.reopen_count += 1
        ticket.decision = ""
        ticket.closed_at = None
        sync = {"reason": note}
    elif action == "merge":
        extra = _merge(ticket, actor, data)
        sync = {"merged_into": extra["into"]}
    if action != "callback" and move.target:
        ticket.state = move.target
    ticket.save()
    _event(ticket, actor, action, before, note, **extra)
    _audit(ticket, actor, FeedbackAudit(f"feedback.ticket_{action}"), note, from_state=before, **extra)
    _sync(ticket, action, note=note if action not in ("reply",) else "", **sync)
    return ticket


def _callback(ticket: Ticket, data: Mapping[str, Any]) -> dict[str, Any]:
    """回访: satisfaction 1–5; 1–2 is unsatisfied and the request is handled again (重新办理). A
    poor rating's callback (回访核实) only records that the rater was reached."""
    try:
        satisfaction = int(data.get("satisfaction", 0))
    except (TypeError, ValueError):
        satisfaction = 0
    if not 1 <= satisfaction <= 5:
        raise InvalidInput("请选择满意度（1至5）", field_errors={"satisfaction": ["应为1至5"]})
    if ticket.state == TicketState.PROCESSING and ticket.kind != TicketKind.BAD_REVIEW:
        raise TransitionNotAllowed("须先答复，再回访")
    if ticket.state == TicketState.REPLIED and ticket.kind == TicketKind.BAD_REVIEW and ticket.called_back_at:
        raise TransitionNotAllowed("已回访")
    ticket.satisfaction = satisfaction
    ticket.called_back_at = timezone.now()
    if ticket.kind == TicketKind.BAD_REVIEW:
        return {"satisfaction": satisfaction}
    if satisfaction <= 2:
        ticket.state = TicketState.REOPENED
        ticket.reopen_count += 1
    else:
        ticket.state = TicketState.CALLED_BACK
    return {"satisfaction": satisfaction, "satisfied": satisfaction > 2}


def _merge(ticket: Ticket, actor: Staff | None, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        into_id = int(data.get("into_id") or 0)
    except (TypeError, ValueError):
        into_id = 0
    visible = Ticket.objects.filter(pk=into_id)
    if actor is not None:
        visible = visible.filter(in_jurisdiction(actor))
    # Locked by key alone: PostgreSQL cannot lock through the outer join of the jurisdiction filter.
    into = (
        Ticket.objects.select_for_update().filter(pk__in=list(visible.values_list("pk", flat=True))).first()
    )
    if into is None or into.pk == ticket.pk:
        raise InvalidInput("请选择要并入的诉求", field_errors={"into_id": ["无效"]})
    while into.merged_into_id is not None:  # always into the first of the chain
        into = Ticket.objects.select_for_update().get(pk=into.merged_into_id)
    if into.pk == ticket.pk:
        raise InvalidInput("不能并入本诉求", field_errors={"into_id": ["无效"]})
    ticket.merged_into = into
    Ticket.objects.filter(pk=into.pk).update(repeat_count=F("repeat_count") + 1 + ticket.repeat_count)
    TicketEvent.objects.create(
        ticket=into,
        actor=actor,
        actor_name=actor.full_name if actor else "系统",
        action="repeat",
        from_state=into.state,
        to_state=into.state,
        note=f"{ticket.number} 并入",
    )
    return {"into": into.number}


@transaction.atomic
def ticket_case_review(*, actor: Staff, ticket_id: int, outcome: str, note: str) -> Ticket:
    """The outcome of the review a complaint about a benefit decision opened (复查结论), recorded by
    a reviewer who may review that case; the ticket may then close."""
    if not (actor.can(Perm.CASE_REVIEW_TOWNSHIP) or actor.can(Perm.CASE_REVIEW_COUNTY)):
        raise PermissionDenied("只有审核人员可以录入案件复查结论")
    ticket = _locked(actor, ticket_id)
    if not ticket.case_review_required or ticket.about_case_id is None:
        raise TransitionNotAllowed("本诉求不涉及救助决定的复查")
    require_in_scope(actor, ticket.about_case.division_id)  # type: ignore[union-attr]
    if not ticket.is_open:
        raise TransitionNotAllowed("诉求已办结或已并单")
    if outcome not in CaseReviewOutcome.values:
        raise InvalidInput("请选择复查结论", field_errors={"outcome": ["无效"]})
    note = _text(note, "note", "复查说明", max_length=300)
    ticket.case_review_outcome = outcome
    ticket.case_review_note = note
    ticket.save(update_fields=["case_review_outcome", "case_review_note"])
    _event(ticket, actor, "case_review", ticket.state, note, outcome=outcome, case=ticket.about_case.number)  # type: ignore[union-attr]
    _audit(ticket, actor, FeedbackAudit.CASE_REVIEW, note, outcome=outcome, case_id=ticket.about_case_id)
    return ticket


# --- Deadlines -------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.reminded) + len(self.escalated)


@transaction.atomic
def deadlines_run(*, today: date | None = None) -> SweepResult:
    """催办 every open ticket whose limit has passed (the day after it) and 通报 those still open the
    configured number of working days later. Idempotent: each happens once per ticket."""
    today = today or _today()
    result = SweepResult()
    escalate_after = catalogue.limit("escalate_after_workdays", today).value
    overdue = Ticket.objects.select_for_update(skip_locked=True).filter(
        state__in=OPEN_STATES, due_date__lt=today
    )
    for ticket in overdue.filter(reminded_on__isnull=True):
        ticket.reminded_on = today
        ticket.save(update_fields=["reminded_on"])
        note = f"已超过办理时限（{ticket.due_date:%Y-%m-%d}），请尽快办理"
        _event(ticket, None, "remind", ticket.state, note)
        _audit(ticket, None, FeedbackAudit.REMIND, note, due=ticket.due_date)
        result.reminded.append(ticket.number)
    for ticket in overdue.filter(escalated_on__isnull=True):
        if working_days_between(ticket.due_date, today) < escalate_after:
            continue
        ticket.escalated_on = today
        ticket.save(update_fields=["escalated_on"])
        note = f"超过办理时限{escalate_after}个工作日仍未办结，通报"
        _event(ticket, None, "escalate", ticket.state, note)
        _audit(ticket, None, FeedbackAudit.ESCALATE, note, due=ticket.due_date)
        result.escalated.append(ticket.number)
    return result


def deadlines_sweep() -> int:
    """The worker's periodic sweep (minzheng.core.recovery)."""
    return len(deadlines_run())


# --- The 12345 hotline platform ----------------------------------------------------------------------


@transaction.atomic
def hotline_connect(*, actor: Staff | None, url: str, default_division_code: str) -> HotlinePlatform:
    """Register (or update) the hotline platform from its key directory (GET {url}/.well-known/keys)."""
    if actor is not None:
        require(actor, Perm.FEEDBACK_DISPATCH)
    division = Division.objects.filter(code=default_division_code).first()
    if division is None:
        raise InvalidInput("区划不存在", field_errors={"default_division_code": ["无效"]})
    directory = hotline.directory(url)
    platform, _ = HotlinePlatform.objects.update_or_create(
        code=directory.code,
        defaults={
            "name": directory.name,
            "base_url": url.rstrip("/"),
            "public_key_pem": directory.public_key_pem,
            "default_division": division,
            "active": True,
        },
    )
    audit_record(
        actor=actor,
        action=FeedbackAudit.HOTLINE_CONNECT,
        object_type="feedback.HotlinePlatform",
        object_id=platform.pk,
        scope_code=division.code,
        after={"code": platform.code, "url": platform.base_url},
    )
    return platform


def active_platform() -> HotlinePlatform | None:
    return HotlinePlatform.objects.filter(active=True).order_by("pk").first()


@dataclass
class PullResult:
    created: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # order number -> reason
    evaluated: list[str] = field(default_factory=list)


def _order_ticket(platform: HotlinePlatform, order: Mapping[str, Any]) -> tuple[Ticket, bool]:
    """A work order as a ticket (created, or the one it already is); True when created now."""
    order_no = str(order.get("order_no", "")).strip()
    if not order_no or len(order_no) > 40:
        raise InvalidInput("工单号无效", field_errors={"order_no": ["无效"]})
    existing = Ticket.objects.filter(channel=TicketChannel.HOTLINE, external_ref=order_no).first()
    if existing is not None:
        return existing, False
    code = str(order.get("division_code", "") or platform.default_division_id)
    division = Division.objects.filter(code=code).first()
    if division is None or not division.code.startswith(platform.default_division.prefix):
        raise InvalidInput("工单所涉区划不在本系统管辖范围内", field_errors={"division_code": [code[:12]]})
    category_code = str(order.get("category_code", ""))
    known = catalogue.category(category_code)
    kind = str(order.get("kind", "") or (known.kind if known else TicketKind.CONSULTATION))
    try:
        received_on = date.fromisoformat(str(order.get("received_on", "")))
    except ValueError:
        received_on = _today()
    ticket = ticket_open(
        actor=None,
        channel=TicketChannel.HOTLINE,
        external_ref=order_no,
        kind=kind,
        category_code=category_code,
        title=str(order.get("title", ""))[:120],
        content=str(order.get("content", "")),
        division=division,
        complainant_name=str(order.get("citizen_name", "")),
        complainant_phone=str(order.get("citizen_phone", "")),
        anonymous=bool(order.get("anonymous", False)),
        urgent=bool(order.get("urgent", False)),
        received_on=min(received_on, _today()),
    )
    repeat_of = str(order.get("repeat_of", "") or "")
    if repeat_of:
        original = Ticket.objects.filter(channel=TicketChannel.HOTLINE, external_ref=repeat_of).first()
        if original is not None:
            ticket_act(
                actor=None,
                ticket_id=ticket.pk,
                action="merge",
                note="重复诉求并单",
                data={"into_id": original.pk},
            )
            ticket.refresh_from_db()
    return ticket, True


def _take_order(platform: HotlinePlatform, order: Mapping[str, Any], result: PullResult) -> None:
    order_no = str(order.get("order_no", ""))[:40]
    try:
        with transaction.atomic():
            ticket, created = _order_ticket(platform, order)
    except InvalidInput as exc:
        reasons = [m for ms in exc.field_errors.values() for m in ms]
        result.refused[order_no] = f"{exc.message}：{'；'.join(reasons)}" if reasons else exc.message
        return
    if created:
        (result.merged if ticket.state == TicketState.MERGED else result.created).append(ticket.number)


def _take_evaluation(evaluation: Mapping[str, Any], result: PullResult) -> None:
    """The platform's own callback (回访) of a replied order: its satisfaction, recorded once."""
    order_no = str(evaluation.get("order_no", ""))
    ticket = Ticket.objects.filter(channel=TicketChannel.HOTLINE, external_ref=order_no).first()
    if ticket is None or ticket.state != TicketState.REPLIED:
        return
    try:
        ticket_act(
            actor=None,
            ticket_id=ticket.pk,
            action="callback",
            note=str(evaluation.get("comment", ""))[:300],
            data={"satisfaction": evaluation.get("score")},
        )
    except (InvalidInput, TransitionNotAllowed):
        return
    result.evaluated.append(ticket.number)


def hotline_pull(*, actor: Staff | None) -> PullResult:
    """Fetch the platform's new work orders and callback results; take each (a known category, a
    division within the system) or refuse it with its reason; acknowledge both to the platform. An
    order taken twice is one ticket (its order number is unique)."""
    if actor is not None:
        require(actor, Perm.FEEDBACK_DISPATCH)
    platform = active_platform()
    if platform is None:
        raise Conflict("尚未接入12345热线平台")
    batch = hotline.fetch(platform)
    result = PullResult()
    for order in batch.orders:
        _take_order(platform, order, result)
    for evaluation in batch.evaluations:
        _take_evaluation(evaluation, result)
    with transaction.atomic():
        HotlinePlatform.objects.filter(pk=platform.pk).update(last_pulled_at=timezone.now())
        audit_record(
            actor=actor,
            action=FeedbackAudit.HOTLINE_PULL,
            object_type="feedback.HotlinePlatform",
            object_id=platform.pk,
            scope_code=platform.default_division_id,
            after={
                "created": result.created,
                "merged": result.merged,
                "refused": result.refused,
                "evaluated": result.evaluated,
            },
        )
    taken = [
        str(o.get("order_no", "")) for o in batch.orders if str(o.get("order_no", "")) not in result.refused
    ]
    hotline.acknowledge(
        platform,
        taken=taken,
        refused=result.refused,
        evaluations=[str(e.get("id", "")) for e in batch.evaluations],
    )
    return result


def hotline_push(*, limit: int = 200) -> int:
    """Send the queued statuses to the platform, oldest first; stop at the first failure (order
    matters: a reply must not arrive before its signing). Returns how many were sent."""
    platform = active_platform()
    if platform is None:
        return 0
    sent = 0
    pending = HotlineSync.objects.filter(state=SyncStatus.PENDING).select_related("ticket").order_by("pk")
    for sync in pending[:limit]:
        with transaction.atomic():
            row = (
                HotlineSync.objects.select_for_update(skip_locked=True)
                .filter(pk=sync.pk, state=SyncStatus.PENDING)
                .first()
            )
            if row is None:
                continue
            try:
                hotline.report(
                    platform, order_no=sync.ticket.external_ref, status=row.status, payload=row.payload
                )
            except hotline.HotlineError as exc:
                HotlineSync.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1, last_error=exc.message[:300]
                )
                return sent
            HotlineSync.objects.filter(pk=row.pk).update(
                state=SyncStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
            sent += 1
    return sent


def hotline_sweep() -> int:
    """The worker's periodic exchange with the platform: report what is queued, take what is new."""
    if active_platform() is None:
        return 0
    handled = hotline_push()
    try:
        pulled = hotline_pull(actor=None)
    except hotline.HotlineError:
        logger.warning("hotline platform unreachable")
        return handled
    return handled + len(pulled.created) + len(pulled.merged) + len(pulled.evaluated)
