"""The online applicant's side of a case (网上申请的群众端) and the window's handling of it.

The applicant proves who they are with the case number and their ID number (or the phone number
they gave); the status page then remembers them for a short while by a signed token. They see each
step of the workflow with its working-day due date, the one-time notice of missing materials
(一次性告知), their inbox, and upload the missing files, which attach to the case for the window
clerk (who still marks the materials provided and accepts the case). Nothing shown names a member of
staff or any other person.

At the window, the clerk links an online application to the household in the registry that holds the
applicant (matched by the keyed digest of the ID number, within the clerk's jurisdiction only), or
registers a new household from the application's data through the registry's own service.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minzheng.cases import notifications
from minzheng.cases.models import (
    ApplicantNotification,
    Case,
    Channel,
    Document,
    MaterialCheck,
    MaterialStatus,
    NotificationKind,
)
from minzheng.cases.services import _audit, _event, _locked, missing_materials
from minzheng.cases.workflows import WORKFLOWS, State, state_label
from minzheng.core import protect
from minzheng.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OutOfScope,
    PermissionDenied,
    TransitionNotAllowed,
)
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.core.uploads import Upload, check_document
from minzheng.org.models import Staff
from minzheng.org.scope import require, scoped
from minzheng.registry import services as registry_services
from minzheng.registry.models import Household, Membership, Person, Relationship

NOT_FOUND = "受理编号或身份证号不正确"
TOKEN_SALT = "minzheng.cases.applicant"  # noqa: S105 (a signing namespace, not a secret)
UPLOAD_STATES = ("submitted", "incomplete")  # before the window has accepted the application
# States never on the way forward from another (alternatives shown only when reached).
_SIDE_STATES = frozenset({"submitted", "incomplete", "objection", "refusal_notice", "refused", "withdrawn"})


# --- Who the applicant is ----------------------------------------------------------------------------


def applicant_identify(*, number: str, secret: str) -> Case:
    """The case whose number and applicant's ID number (or given phone number) both match; the same
    NotFound whether the number exists or not."""
    secret = "".join(secret.split())
    qs = Case.objects.select_related("item").filter(number=number.strip())
    try:
        rid = parse_resident_id(secret)
    except InvalidIdentifier:
        case = qs.first()
        # A phone number: compared in constant time; only an 11-digit mobile number counts.
        if case is None or not (secret.isdigit() and len(secret) == 11 and case.applicant_phone):
            raise NotFound(NOT_FOUND) from None
        if not hmac.compare_digest(secret.encode(), case.applicant_phone.strip().encode()):
            raise NotFound(NOT_FOUND) from None
        return case
    case = qs.filter(applicant_id_digest=protect.lookup_digest(rid.number)).first()
    if case is None:
        raise NotFound(NOT_FOUND)
    return case


def applicant_token(case: Case) -> str:
    """A signed, short-lived proof that this browser (or API client) identified as the applicant."""
    return signing.dumps({"case": case.pk, "number": case.number}, salt=TOKEN_SALT, compress=True)


def applicant_case(*, token: str) -> Case:
    """The case a token was issued for, while it is fresh (MINZHENG_APPLICANT_SESSION_SECONDS)."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=settings.MINZHENG_APPLICANT_SESSION_SECONDS)
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise PermissionDenied("查询已过期或无效，请重新输入受理编号和身份证号") from exc
    case = (
        Case.objects.select_related("item").filter(pk=value.get("case"), number=value.get("number")).first()
    )
    if case is None:
        raise PermissionDenied("查询已过期或无效，请重新输入受理编号和身份证号")
    return case


# --- What the applicant sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    label: str
    status: str  # done / current / overdue / upcoming
    started_on: date | None
    due_date: date | None
    completed_on: date | None
    limit_text: str


@dataclass(frozen=True)
class MissingView:
    requirement_id: int
    name: str
    pledge_allowed: bool
    uploaded: list[str]


@dataclass(frozen=True)
class UploadView:
    file_name: str
    material: str
    size: int
    uploaded_at: datetime


@dataclass(frozen=True)
class NoticeView:
    kind: str
    state_label: str
    created_at: datetime
    sms: str  # "" when no text message was recorded; else its status


@dataclass(frozen=True)
class ApplicantView:
    number: str
    item_name: str
    state: str
    state_label: str
    closed: bool
    submitted_on: date
    due_date: date | None
    steps: list[StepView]
    missing: list[MissingView]
    missing_notified: bool
    uploads: list[UploadView]
    notices: list[NoticeView]
    can_upload: bool
    uploads_left: int
    phone_masked: str


def _upcoming(case: Case) -> list[State]:
    """The states still ahead on the usual path (in the workflow's order), for orientation."""
    workflow = WORKFLOWS.get(case.workflow)
    if workflow is None or not case.is_open:
        return []
    codes = list(workflow.states)
    if case.state not in codes:
        return []
    ahead = codes[codes.index(case.state) + 1 :] if case.state not in ("submitted", "incomplete") else codes
    result = []
    for code in ahead:
        state = workflow.states[code]
        if code in _SIDE_STATES or code == case.state:
            continue
        if code == "township_review" and "county_review" in workflow.states and not case.decided_at_township:
            continue
        if code == "county_review" and case.decided_at_township and "township_review" in workflow.states:
            continue
        if state.final and code != "approved" and code != "closed":
            continue
        result.append(state)
    return result


def _limit(state: State) -> str:
    if state.limit is None:
        return state.limit_text
    kind, n = state.limit
    return f"{n}个{'工作日' if kind == 'working' else '自然日'}"


def applicant_view(case: Case, *, today: date | None = None) -> ApplicantView:
    """Everything the applicant may see of their case (no staff names, no other person's data)."""
    today = today or timezone.localdate()
    workflow = WORKFLOWS.get(case.workflow)
    steps: list[StepView] = []
    for step in case.steps.order_by("pk"):
        state = workflow.states.get(step.state) if workflow else None
        if step.completed_on is not None:
            status = "done"
        elif step.due_date is not None and step.due_date < today:
            status = "overdue"
        else:
            status = "current"
        steps.append(
            StepView(
                label=state_label(case.workflow, step.state),
                status=status,
                started_on=step.started_on,
                due_date=step.due_date,
                completed_on=step.completed_on,
                limit_text=_limit(state) if state else step.limit_text,
            )
        )
    steps += [
        StepView(
            label=s.label,
            status="upcoming",
            started_on=None,
            due_date=None,
            completed_on=None,
            limit_text=_limit(s),
        )
        for s in _upcoming(case)
    ]
    uploads = list(
        Document.objects.filter(case=case, from_applicant=True)
        .select_related("requirement")
        .defer("content")
        .order_by("uploaded_at", "pk")
    )
    missing = [
        MissingView(
            requirement_id=m.requirement_id,
            name=m.requirement.name,
            pledge_allowed=m.requirement.pledge_allowed,
            uploaded=[d.file_name for d in uploads if d.requirement_id == m.requirement_id],
        )
        for m in missing_materials(case)
    ]
    notices = [
        NoticeView(
            kind=n.kind,
            state_label=state_label(case.workflow, n.state),
            created_at=n.created_at,
            sms=getattr(getattr(n, "sms", None), "status", ""),
        )
        for n in ApplicantNotification.objects.filter(case=case)
        .select_related("sms")
        .order_by("-created_at", "-pk")
    ]
    limit = settings.MINZHENG_APPLICANT_UPLOAD_MAX_FILES
    return ApplicantView(
        number=case.number,
        item_name=case.item.name,
        state=case.state,
        state_label=state_label(case.workflow, case.state),
        closed=not case.is_open,
        submitted_on=timezone.localtime(case.submitted_at).date(),
        due_date=case.due_date,
        steps=steps,
        missing=missing,
        missing_notified=case.state == "incomplete",
        uploads=[
            UploadView(
                file_name=d.file_name,
                material=d.requirement.name if d.requirement else d.kind,
                size=d.size,
                uploaded_at=d.uploaded_at,
            )
            for d in uploads
        ],
        notices=notices,
        can_upload=case.is_open and case.state in UPLOAD_STATES and bool(missing),
        uploads_left=max(limit - len(uploads), 0),
        phone_masked=notifications.mask_phone(case.applicant_phone) if case.applicant_phone else "",
    )


# --- The applicant uploads a missing material ------------------------------------------------------


@transaction.atomic
def applicant_document_upload(
    *, case_id: int, requirement_id: int, file_name: str, content_type: str, content: bytes
) -> Document:
    """An online applicant's upload of a material the one-time notice listed as missing: checked
    (type, first bytes, size, count), stored with the case, shown to the window, audited. The
    material stays missing until the clerk has checked it (case_materials_update)."""
    case = Case.objects.select_for_update().select_related("item").filter(pk=case_id).first()
    if case is None:
        raise NotFound(NOT_FOUND)
    if not case.is_open:
        raise TransitionNotAllowed("申请已办结，不能再上传材料")
    if case.state not in UPLOAD_STATES:
        raise TransitionNotAllowed("申请已受理，材料已审查完毕；如需补充，请联系受理窗口")
    check = (
        MaterialCheck.objects.select_related("requirement")
        .filter(case=case, requirement_id=requirement_id, status=MaterialStatus.MISSING)
        .first()
    )
    if check is None:
        raise InvalidInput("请选择一次性告知中所缺的材料", field_errors={"requirement": ["该材料无需补交"]})
    limit = settings.MINZHENG_APPLICANT_UPLOAD_MAX_FILES
    if Document.objects.filter(case=case, from_applicant=True).count() >= limit:
        raise InvalidInput(
            _("网上补交的文件最多%(n)s个，请到受理窗口提交其余材料") % {"n": limit},
            field_errors={"file": [_("已达上限")]},
        )
    problem = check_document(
        Upload(file_name=file_name, content_type=content_type, content=content),
        max_bytes=settings.MINZHENG_APPLICANT_UPLOAD_MAX_BYTES,
    )
    if problem:
        raise InvalidInput("上传的文件不符合要求", field_errors={"file": [problem]})
    name = "".join(ch for ch in file_name if ch.isprintable())[-200:] or "upload"
    document = Document.objects.create(
        case=case,
        kind=check.requirement.name[:40],
        file_name=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=None,
        from_applicant=True,
        requirement=check.requirement,
    )
    check.note = "申请人已网上补交，待窗口核验"
    check.save(update_fields=["note"])
    _event(
        case,
        None,
        "applicant_document",
        f"申请人网上补交材料：{check.requirement.name}",
        case.state,
        case.state,
        "",
        {"document_id": document.pk, "requirement_id": check.requirement_id},
    )
    _audit(case, None, "applicant_document_uploaded", file=document.file_name, sha256=document.sha256)
    notifications.notify(case=case, kind=NotificationKind.MATERIALS_RECEIVED)
    return document


# --- The window links the application to the registry ------------------------------------------------


def household_candidates(*, actor: Staff, case: Case) -> QuerySet[Household]:
    """Households in the actor's jurisdiction that hold the applicant now (by the ID number's keyed
    digest): the ones the application may be linked to. Nothing outside the jurisdiction is listed."""
    require(actor, Perm.HOUSEHOLD_VIEW)
    holding = Membership.objects.filter(
        person__id_digest=case.applicant_id_digest, end_date__isnull=True
    ).values("household_id")
    return (
        scoped(Household.objects.filter(pk__in=holding), actor)
        .select_related("division", "head")
        .order_by("number")
    )


def _check_linkable(case: Case) -> None:
    if case.channel != Channel.ONLINE:
        raise InvalidInput("只有网上申请需要关联家庭档案（窗口受理时已选择家庭）")
    if not case.is_open:
        raise TransitionNotAllowed("申请已办结，不能再关联家庭档案")
    if case.household_id is not None:
        raise Conflict(f"该申请已关联家庭档案（户编号{case.household.number}）")  # type: ignore[union-attr]


def _link(case: Case, actor: Staff, household: Household, person: Person, how: str) -> Case:
    before = {"household": None, "division": case.division_id}
    case.household = household
    case.applicant = person
    if household.division_id != case.division_id:
        case.division = household.division
    case.save(update_fields=["household", "applicant", "division"])
    label = "关联已登记家庭档案" if how == "linked" else "依申请登记新家庭并关联"
    _event(
        case,
        actor,
        "link_household",
        label,
        case.state,
        case.state,
        f"户编号{household.number}",
        {"household_id": household.pk, "how": how, "division_before": before["division"]},
    )
    _audit(case, actor, "household_linked", how=how, household=household.number)
    return case


@transaction.atomic
def case_link_household(*, actor: Staff, case_id: int, household_id: int) -> Case:
    """Link an online application to a registered household in scope that holds the applicant."""
    require(actor, Perm.CASE_INTAKE)
    case = _locked(actor, case_id)
    _check_linkable(case)
    household = household_candidates(actor=actor, case=case).filter(pk=household_id).first()
    if household is None:
        if not scoped(Household.objects.filter(pk=household_id), actor).exists():
            raise OutOfScope("没有找到该家庭")
        raise InvalidInput(
            "申请人（按身份证号）不是该家庭的现有成员",
            field_errors={"household_id": ["请选择申请人所在家庭"]},
        )
    person = Person.objects.get(
        id_digest=case.applicant_id_digest,
        memberships__household=household,
        memberships__end_date__isnull=True,
    )
    return _link(case, actor, household, person, "linked")


@transaction.atomic
def case_register_household(*, actor: Staff, case_id: int, id_number: str, address: str, area: str) -> Case:
    """Register a new household in the registry from the application (the applicant as its head, the
    ID number re-entered from the card at the window and checked against the application's), then
    link the application to it."""
    require(actor, Perm.CASE_INTAKE)
    case = _locked(actor, case_id)
    _check_linkable(case)
    try:
        rid = parse_resident_id(id_number)
    except InvalidIdentifier as exc:
        raise InvalidInput(exc.message, field_errors={"id_number": [exc.message]}) from exc
    if not hmac.compare_digest(protect.lookup_digest(rid.number), case.applicant_id_digest):
        raise InvalidInput(
            "身份证号与申请人不符", field_errors={"id_number": ["与网上申请填写的身份证号不一致"]}
        )
    if Person.objects.filter(id_digest=case.applicant_id_digest).exists():
        raise Conflict("申请人已在家庭档案中登记，请关联其所在家庭（不在本辖区的，请联系其户籍所在地）")
    household = registry_services.household_create(
        actor=actor,
        division_code=case.division_id,
        address=address,
        area=area,
        members=[
            registry_services.MemberInput(
                name=case.applicant_name,
                id_number=rid.number,
                relationship=Relationship.HEAD,
                phone=case.applicant_phone,
            )
        ],
        phone=case.applicant_phone,
        reason=f"网上申请{case.number}登记",
    )
    person = Person.objects.get(id_digest=case.applicant_id_digest)
    return _link(case, actor, household, person, "registered")


def case_notifications(*, actor: Staff, case: Case) -> QuerySet[ApplicantNotification]:
    """The applicant's notifications of a case in scope, with their text messages (masked numbers)."""
    require(actor, Perm.CASE_VIEW)
    return (
        ApplicantNotification.objects.filter(case=case).select_related("sms").order_by("-created_at", "-pk")
    )
