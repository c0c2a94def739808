"""Every write to a case: intake (window, proxy, online), the one transition function, visits,
calculations, documents, objections, transfers and the conflict-of-interest register."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from minzheng.cases import notifications, selectors
from minzheng.cases.care import COUNTY_SAMPLE_SHARE, care_plan_for_case
from minzheng.cases.models import (
    Case,
    CaseCounter,
    CaseEvent,
    CaseStep,
    Channel,
    ConflictRegistration,
    Decision,
    Document,
    MaterialCheck,
    MaterialStatus,
    Objection,
    Outcome,
    PublicNotice,
    Transfer,
    Visit,
)
from minzheng.cases.workflows import WORKFLOWS, State, Transition, Workflow, workflow_for_item
from minzheng.catalogue.models import IntakeMode, MaterialRequirement, ServiceItem
from minzheng.catalogue.selectors import item_get, item_materials
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_resident_id
from minzheng.core.inputs import InputRuleError, check_phone
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.roles import APPROVED_WORK
from minzheng.org.scope import jurisdiction_of, require, require_in_scope
from minzheng.org.services import require_independent_checker
from minzheng.registry.models import Household, Person
from minzheng.rules.facts import HouseholdFacts, parse_facts
from minzheng.rules.models import Calculation
from minzheng.rules.population import household_facts
from minzheng.rules.selectors import policy_table
from minzheng.rules.services import calculation_record
from minzheng.workdays.selectors import add_calendar_days, add_working_days

NOTICE_DAYS = 7  # 公示期 7 calendar days, 民发〔2021〕57号
DOCUMENT_TYPES = {
    "application/pdf": b"%PDF",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
CASE_WORK_PERMS = (
    Perm.CASE_INTAKE,
    Perm.CASE_INVESTIGATE,
    Perm.CASE_REVIEW_TOWNSHIP,
    Perm.CASE_APPROVE_TOWNSHIP,
    Perm.CASE_REVIEW_COUNTY,
    Perm.CASE_APPROVE_COUNTY,
)


def _today() -> date:
    return timezone.localdate()


def _number(county: str) -> str:
    year = _today().year
    counter, _ = CaseCounter.objects.select_for_update().get_or_create(county=county, year=year)
    CaseCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db()
    return f"{county}{year}{counter.last:06d}"


def _open_step(case: Case, state: State, on: date) -> None:
    due = None
    if state.limit is not None:
        kind, n = state.limit
        due = add_working_days(on, n) if kind == "working" else add_calendar_days(on, n)
    CaseStep.objects.create(
        case=case, state=state.code, started_on=on, due_date=due, limit_text=state.limit_text
    )


def _close_step(case: Case, on: date) -> None:
    CaseStep.objects.filter(case=case, completed_on__isnull=True).update(completed_on=on)


def _event(
    case: Case,
    actor: Staff | None,
    action: str,
    label: str,
    frm: str,
    to: str,
    note: str,
    data: dict[str, Any],
) -> None:
    CaseEvent.objects.create(
        case=case,
        actor=actor,
        actor_name=actor.full_name if actor else case.applicant_name,
        action=action,
        label=label,
        from_state=frm,
        to_state=to,
        note=note,
        data=data,
    )


def _audit(case: Case, actor: Staff | None, action: str, note: str = "", **after: Any) -> None:
    audit_record(
        actor=actor,
        action=f"cases.{action}",
        object_type="cases.Case",
        object_id=case.pk,
        scope_code=case.division_id,
        reason=note,
        after={"number": case.number, "state": case.state, **after},
    )


# --- Intake ----------------------------------------------------------------------------------------


def _conflict(household: Household | None, id_digest: str) -> tuple[bool, str]:
    digests = {id_digest}
    if household is not None:
        digests |= set(
            Person.objects.filter(
                memberships__household=household, memberships__end_date__isnull=True
            ).values_list("id_digest", flat=True)
        )
    found = list(ConflictRegistration.objects.filter(id_digest__in=digests))
    if not found:
        return False, ""
    names = "、".join(f"{r.name}（{r.position}）" for r in found)
    return True, f"申请家庭成员与备案人员相关：{names}；按规定单独登记，由县级直接调查"


def _materials(item: ServiceItem, given: Mapping[int, str]) -> list[tuple[MaterialRequirement, str]]:
    result = []
    for req in item_materials(item=item):
        status = given.get(req.pk)
        if status is None:
            status = MaterialStatus.FETCHED if req.fetchable_by_office else MaterialStatus.MISSING
        if status not in MaterialStatus.values:
            raise InvalidInput(
                "材料情况不正确",
                field_errors={f"materials.{req.pk}": ["应为已提交、共享获取、告知承诺或缺少"]},
            )
        if status == MaterialStatus.PLEDGED and not req.pledge_allowed:
            raise InvalidInput(
                f"“{req.name}”不适用告知承诺", field_errors={f"materials.{req.pk}": ["该材料不能以承诺代替"]}
            )
        result.append((req, status))
    unknown = set(given) - {req.pk for req, _ in result}
    if unknown:
        raise InvalidInput("材料不属于该事项", field_errors={"materials": [f"未知材料：{sorted(unknown)}"]})
    return result


def missing_materials(case: Case) -> list[MaterialCheck]:
    return [
        m
        for m in case.materials.select_related("requirement").order_by("requirement__order")
        if m.status == MaterialStatus.MISSING and m.requirement.required
    ]


def _create_case(
    *,
    item: ServiceItem,
    division: Division,
    household: Household | None,
    applicant: Person | None,
    applicant_name: str,
    id_digest: str,
    id_masked: str,
    phone: str,
    channel: str,
    proxy_name: str,
    proxy_relation: str,
    mandate: str,
    details: dict[str, Any],
    materials: Mapping[int, str],
    actor: Staff | None,
    online: bool,
) -> Case:
    transfer = item.intake_mode == IntakeMode.TRANSFER
    workflow = workflow_for_item(item.code, transfer=transfer)
    checks = _materials(item, materials)
    incomplete = any(status == MaterialStatus.MISSING and req.required for req, status in checks)
    if transfer:
        state = "received"
    elif online:
        state = "submitted"
    else:
        state = "incomplete" if incomplete else "accepted"
    conflict, conflict_note = _conflict(household, id_digest)
    today = _today()
    accepted = state in ("accepted", "received")
    details = {k: v for k, v in details.items() if k not in ("calculation_id", "repeat_of")}
    if workflow.code in TEMPORARY_WORKFLOWS and (
        repeat := _repeated_aid(details, id_digest=id_digest, county=division.code[:6], today=today)
    ):
        # Flagged at intake: the calculation then counts the months since (the rules' not_repeated).
        details["repeat_of"] = repeat
        details["temporary"] = {**details["temporary"], "months_since_same_cause": repeat["months"]}
    case = Case.objects.create(
        number=_number(division.code[:6]),
        item=item,
        workflow=workflow.code,
        division=division,
        household=household,
        applicant=applicant,
        applicant_name=applicant_name,
        applicant_id_digest=id_digest,
        applicant_id_masked=id_masked,
        applicant_phone=phone,
        channel=channel,
        proxy_name=proxy_name,
        proxy_relation=proxy_relation,
        mandate=mandate,
        # The calculation a decision rests on is set by case_calculate only, never by the applicant.
        details=details,
        state=state,
        accepted_on=today if accepted else None,
        due_date=_total_due(workflow, item, today, conflict) if accepted else None,
        conflict_of_interest=conflict,
        conflict_note=conflict_note,
        decided_at_township=item.decided_at_township and not conflict,
        created_by=actor,
    )
    MaterialCheck.objects.bulk_create(
        [MaterialCheck(case=case, requirement=req, status=s) for req, s in checks]
    )
    _open_step(case, workflow.states[state], today)
    label = {
        "window": "窗口受理",
        "proxy": "村（居）代办受理",
        "online": "网上提交申请",
        "discovery": "主动发现，依线索发起申请",
    }[channel]
    if state == "incomplete":
        label += "（材料不全，已一次性告知）"
    note = conflict_note
    if "repeat_of" in details:
        repeat = details["repeat_of"]
        note = "；".join(
            filter(
                None, [note, f"{repeat['accepted_on']}已因同一事由获临时救助（受理编号{repeat['number']}）"]
            )
        )
    _event(case, actor, "intake", label, "", state, note, {"channel": channel})
    _audit(case, actor, "intake", channel=channel, conflict=conflict)
    notifications.state_changed(case, "")  # the online applicant's inbox (and text message)
    return case


TEMPORARY_WORKFLOWS = ("temporary_emergency", "temporary_expense")


def _cause_key(details: Mapping[str, Any]) -> tuple[str, str]:
    temporary = details.get("temporary") or {}
    return str(temporary.get("type", "")), "".join(str(temporary.get("cause", "")).split()).casefold()


def _repeated_aid(
    details: dict[str, Any], *, id_digest: str, county: str, today: date
) -> dict[str, Any] | None:
    """The earlier temporary assistance of the same applicant for the same cause (type and cause as
    stated) within the configured interval (temporary.repeat_interval_months, dated and regional),
    if any: such aid is normally given once (DOMAIN.md §5). The intake records it on the case and
    the calculation reads it (months_since_same_cause), so the township sees it before deciding."""
    kind, cause = _cause_key(details)
    if not kind or not id_digest:
        return None
    table = policy_table()
    interval = int(table.lookup("temporary.repeat_interval_months", today, county, "urban").value)
    since = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(interval - 1):
        since = (since - timedelta(days=1)).replace(day=1)
    earlier = (
        Case.objects.filter(
            applicant_id_digest=id_digest,
            workflow__in=TEMPORARY_WORKFLOWS,
            state__in=("aided", "approved"),
            accepted_on__gte=since,
        )
        .select_related("decision")
        .order_by("-accepted_on", "-pk")
    )
    for other in earlier:
        other_kind, other_cause = _cause_key(other.details)
        if other_kind == kind and (not cause or not other_cause or other_cause == cause):
            decided = other.accepted_on or today
            months = (today.year - decided.year) * 12 + today.month - decided.month
            return {"number": other.number, "accepted_on": decided.isoformat(), "months": months}
    return None


def _total_due(workflow: Workflow, item: ServiceItem, accepted_on: date, conflict: bool) -> date:
    days = workflow.total_limit_working_days
    if workflow.code == "dibao" and item.decided_at_township and not conflict:
        days = 20  # 审核确认权限下放乡镇的，20个工作日内办结
    return add_working_days(accepted_on, days)


@transaction.atomic
def case_intake(
    *,
    actor: Staff,
    item_code: str,
    household: Household,
    applicant: Person,
    channel: str = Channel.WINDOW,
    proxy_name: str = "",
    proxy_relation: str = "",
    mandate: str = "",
    phone: str = "",
    details: dict[str, Any] | None = None,
    materials: Mapping[int, str] | None = None,
) -> Case:
    """Accept an application at the township window or by the village assistant on the resident's
    behalf (代办, with the mandate recorded). Anything required and missing puts the case on hold with
    a one-time notice listing all of it."""
    require(actor, Perm.CASE_INTAKE)
    require_in_scope(actor, household.division_id)
    if channel not in (Channel.WINDOW, Channel.PROXY, Channel.DISCOVERY):
        raise InvalidInput("受理方式应为窗口受理、代办或主动发现", field_errors={"channel": ["无效"]})
    if channel == Channel.DISCOVERY and not (details or {}).get("source"):
        raise InvalidInput("主动发现的申请须注明线索来源", field_errors={"channel": ["缺少线索来源"]})
    if channel == Channel.PROXY and not (proxy_name.strip() and mandate.strip()):
        raise InvalidInput(
            "代办须登记代办人和委托情况",
            field_errors={"proxy_name": ["请填写代办人"], "mandate": ["请填写委托书或授权说明"]},
        )
    if not applicant.memberships.filter(household=household, end_date__isnull=True).exists():
        raise InvalidInput("申请人不是该家庭的现有成员", field_errors={"applicant": ["请选择本家庭成员"]})
    try:
        phone = check_phone(phone)
    except InputRuleError as exc:
        raise InvalidInput(exc.message, field_errors={"phone": [exc.message]}) from exc
    item = _item(item_code)
    return _create_case(
        item=item,
        division=household.division,
        household=household,
        applicant=applicant,
        applicant_name=applicant.name,
        id_digest=applicant.id_digest,
        id_masked=applicant.id_masked,
        phone=phone or household.phone,
        channel=channel,
        proxy_name=proxy_name.strip(),
        proxy_relation=proxy_relation.strip(),
        mandate=mandate.strip(),
        details=details or {},
        materials=materials or {},
        actor=actor,
        online=False,
    )


def _item(code: str) -> ServiceItem:
    try:
        return item_get(code=code)
    except NotFound as exc:
        raise InvalidInput("没有该服务事项", field_errors={"item_code": [str(exc.message)]}) from exc


@transaction.atomic
def case_submit_online(
    *,
    item_code: str,
    division_code: str,
    applicant_name: str,
    id_number: str,
    phone: str,
    details: dict[str, Any] | None = None,
) -> Case:
    """A citizen applies online: the case waits for the township window to check and accept it."""
    errors: dict[str, list[str]] = {}
    try:
        rid = parse_resident_id(id_number)
    except InvalidIdentifier as exc:
        errors["id_number"] = [exc.message]
    if not applicant_name.strip():
        errors["applicant_name"] = ["请填写姓名"]
    if not phone.strip():
        errors["phone"] = ["请填写联系电话，便于告知办理情况"]
    else:
        try:
            phone = check_phone(phone)
        except InputRuleError as exc:
            errors["phone"] = [exc.message]
    division = Division.objects.filter(code=division_code, level=DivisionLevel.VILLAGE).first()
    if division is None:
        errors["division_code"] = ["请选择所在村（社区）"]
    if errors:
        raise InvalidInput("申请信息有误", field_errors=errors)
    assert division is not None  # noqa: S101 - narrowed by the checks above
    item = _item(item_code)
    if not item.accepts_at_township:
        raise InvalidInput("该事项不在乡镇（街道）受理", field_errors={"item_code": ["请到县级窗口办理"]})
    digest = protect.lookup_digest(rid.number)
    person = Person.objects.filter(id_digest=digest).first()
    household = None
    if person is not None:
        membership = person.memberships.filter(end_date__isnull=True).select_related("household").first()
        household = membership.household if membership else None
    return _create_case(
        item=item,
        division=division,
        household=household,
        applicant=person,
        applicant_name=applicant_name.strip(),
        id_digest=digest,
        id_masked=rid.masked,
        phone=phone.strip(),
        channel=Channel.ONLINE,
        proxy_name="",
        proxy_relation="",
        mandate="",
        details=details or {},
        materials={},
        actor=None,
        online=True,
    )


@transaction.atomic
def case_materials_update(*, actor: Staff, case_id: int, materials: Mapping[int, str]) -> Case:
    """Record what the applicant has now provided (before acceptance)."""
    case = _locked(actor, case_id)
    require(actor, Perm.CASE_INTAKE)
    if case.state not in ("submitted", "incomplete"):
        raise TransitionNotAllowed("已受理的申请不再修改材料清单")
    checks = dict(_materials(case.item, materials))
    for check in case.materials.select_related("requirement"):
        if check.requirement_id in materials:
            check.status = checks[check.requirement]
            check.save(update_fields=["status"])
    _event(
        case, actor, "materials", "更新材料情况", case.state, case.state, "", {"materials": dict(materials)}
    )
    _audit(case, actor, "materials_updated")
    return case


# --- The transition function -------------------------------------------------------------------------


def _latest_calculation(case: Case) -> Calculation | None:
    calc_id = case.details.get("calculation_id")
    return Calculation.objects.filter(pk=calc_id).first() if calc_id else None


def latest_calculation(case: Case) -> Calculation | None:
    """The calculation the case's next decision rests on (the latest kept with the case)."""
    return _latest_calculation(case)


# Called with (case, actor) inside the workflow's transaction when a case is approved, or when its
# emergency aid is given first: the payments layer registers here what follows a decision (the
# payment order of one-off aid, payments.orders) without the cases layer importing it.
DECISION_HOOKS: list[Callable[[Case, Staff], object]] = []
# Guards a higher layer checks (by name in a transition's guards): None when it holds, else the reason
# in Chinese. The verification app registers "verification_report_issued".
GUARD_HOOKS: dict[str, Callable[[Case], str | None]] = {}
# Who may take a transition without its permission, by (case, actor, action): cases.departments lets a
# partner department's account record the feedback of the items transferred to its own department.
ACTOR_HOOKS: list[Callable[[Case, Staff, str], bool]] = []
# Called with (case, actor) inside the workflow's transaction when a case closes (its final state):
# the feedback app issues the service-quality receipt (服务质量回执) of a finished service.
CLOSE_HOOKS: list[Callable[[Case, Staff], object]] = []


def _after_decision(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    for hook in DECISION_HOOKS:
        hook(case, actor)


def _guard(case: Case, name: str, actor: Staff, note: str, data: Mapping[str, Any]) -> str | None:
    """None when the guard holds, else the reason in Chinese."""
    if name == "materials_complete":
        missing = missing_materials(case)
        return f"仍缺少材料：{'、'.join(m.requirement.name for m in missing)}" if missing else None
    if name == "investigator_level":
        if case.conflict_of_interest and len(jurisdiction_of(actor).prefix) > 6:
            return "申请人为经办人员或村干部近亲属，须由县级民政部门直接调查"
        return None
    if name == "visit_recorded":
        ok = any(len(v.investigators) >= 2 and v.signed_by_applicant for v in case.visits.all())
        return None if ok else "须先录入不少于2名调查人员、经申请人签字确认的入户调查记录"
    if name == "calculation_eligible":
        calc = _latest_calculation(case)
        if calc is None:
            return "须先进行待遇测算并保存测算结果"
        return None if calc.eligible else "测算结果为不符合条件，不能提出或作出批准决定"
    if name == "within_township_limit":
        calc = _latest_calculation(case)
        level = calc.result.get("approval_level", "") if calc else ""
        return "救助金额超出乡镇（街道）审批权限，须报县级审批" if level == "county" else None
    if name == "reasons_given":
        return None if note.strip() else "须填写理由"
    if name == "notice_over":
        notice = case.notices.filter(kind="preliminary").order_by("-starts_on", "-pk").first()
        if notice is None:
            return "没有公示记录"
        return None if _today() > notice.ends_on else f"公示期至{notice.ends_on:%Y年%m月%d日}，期满后方可报批"
    if name == "county_route":
        return "审核确认权限已下放乡镇（街道），请按乡镇审核确认办理" if case.decided_at_township else None
    if name == "township_route":
        return None if case.decided_at_township else "该事项须报县级审核确认"
    if name == "county_visit_if_sampled":
        if case.sampled_for_county_visit and not case.visits.filter(by_county=True).exists():
            return "本案被抽中县级入户核查，须先录入县级入户调查记录"
        return None
    if name == "feedback_given":
        return None if str(data.get("feedback", "")).strip() else "须填写承办部门的反馈结果"
    if name in GUARD_HOOKS:
        return GUARD_HOOKS[name](case)
    raise AssertionError(f"unknown guard {name}")


@transaction.atomic
def case_transition(
    *, actor: Staff, case_id: int, action: str, note: str = "", data: Mapping[str, Any] | None = None
) -> Case:
    """Apply one action of the item's transitions table, or refuse with a typed error."""
    data = data or {}
    case = _locked(actor, case_id)
    workflow = WORKFLOWS[case.workflow]
    transition = workflow.transition(case.state, action)
    if transition is None:
        raise TransitionNotAllowed(
            f"当前环节“{workflow.states[case.state].label}”不能执行该操作", field_errors={"action": [action]}
        )
    if not actor.can(transition.perm) and not any(hook(case, actor, action) for hook in ACTOR_HOOKS):
        raise PermissionDenied(f"您没有“{transition.label}”的权限")
    if transition.perm in APPROVED_WORK:
        for maker in _makers(case, workflow, transition.perm):
            require_independent_checker(maker=maker, checker=actor)
    problems = [p for g in transition.guards if (p := _guard(case, g, actor, note, data))]
    if problems:
        raise TransitionNotAllowed("；".join(problems), field_errors={"action": problems})
    _apply(case, workflow, transition, actor, note.strip(), data)
    return case


def _makers(case: Case, workflow: Workflow, approving: Perm) -> list[Staff]:
    """Whose work a decision approves (maker-checker by person): the intake, and everyone whose step
    needed a permission this approval checks (investigation, visits, reviews)."""
    maker_perms = APPROVED_WORK[approving]
    actions = {t.action for t in workflow.transitions if t.perm in maker_perms} | {"visit"}
    ids = set(case.events.filter(action__in=actions, actor__isnull=False).values_list("actor_id", flat=True))
    if case.created_by_id is not None:
        ids.add(case.created_by_id)
    return list(Staff.objects.filter(pk__in=ids))


def _apply(
    case: Case, workflow: Workflow, t: Transition, actor: Staff, note: str, data: Mapping[str, Any]
) -> None:
    today = _today()
    before = case.state
    case.state = t.target
    _close_step(case, today)
    target = workflow.states[t.target]
    if t.target == "accepted" and case.accepted_on is None:
        case.accepted_on = today
        case.due_date = _total_due(workflow, case.item, today, case.conflict_of_interest)
    EFFECTS.get(t.action, _no_effect)(case, workflow, actor, note, data)
    if t.target == "county_review" and workflow.code == "extreme_poverty":
        case.sampled_for_county_visit = _sample_for_county_visit(case)
    if target.final:
        case.closed_at = timezone.now()
        case.outcome = {
            "approved": Outcome.APPROVED,
            "refused": Outcome.REFUSED,
            "withdrawn": Outcome.WITHDRAWN,
        }.get(t.target, Outcome.TRANSFERRED)
        for hook in CLOSE_HOOKS:
            hook(case, actor)
    else:
        _open_step(case, target, today)
    case.save()
    _event(case, actor, t.action, t.label, before, t.target, note, dict(data))
    _audit(case, actor, t.action, note, from_state=before)
    notifications.state_changed(case, before)


def _no_effect(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    return None


def _notice_content(case: Case, amount: str) -> dict[str, Any]:
    """Only what the rules allow: the applicant's name, household size and amount (民发〔2021〕57号)."""
    size = 0
    if case.household_id is not None:
        size = case.household.memberships.filter(end_date__isnull=True).count()  # type: ignore[union-attr]
    return {
        "applicant": case.applicant_name,
        "household_size": size,
        "amount": amount,
        "item": case.item.name,
    }


def _publish_notice(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    if not workflow.public_notice:
        return
    calc = _latest_calculation(case)
    starts = _today()
    PublicNotice.objects.create(
        case=case,
        division=case.division,
        kind="preliminary",
        starts_on=starts,
        ends_on=starts + timedelta(days=NOTICE_DAYS - 1),
        content=_notice_content(case, calc.result["amount"] if calc else "0.00"),
    )


def _objection(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    notice = case.notices.filter(kind="preliminary").order_by("-starts_on", "-pk").first()
    content = str(data.get("content", "")).strip() or note
    if notice is None or not content:
        raise InvalidInput("须填写异议内容", field_errors={"content": ["请填写异议内容"]})
    Objection.objects.create(
        notice=notice,
        received_on=_today(),
        raised_by=str(data.get("raised_by", ""))[:60],
        content=content,
        recorded_by=actor,
    )


def _handle_objection(handling: str) -> Callable[..., None]:
    def effect(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
        objection = Objection.objects.filter(notice__case=case, handling="").order_by("-pk").first()
        if objection is not None:
            objection.handling = handling
            objection.outcome = note
            objection.save(update_fields=["handling", "outcome"])

    return effect


def _already_decided(case: Case, programme: str) -> Case | None:
    """Another case of the household with an approved monthly decision in the same programme whose
    benefit has not ended: a second decision could never be paid (one enrolment per household and
    programme), so the change goes through the enrolment (an amount change) instead."""
    if case.household_id is None:
        return None
    return (
        Case.objects.filter(
            household_id=case.household_id,
            decision__outcome=Outcome.APPROVED,
            decision__period="month",
            decision__calculation__programme=programme,
        )
        .exclude(pk=case.pk)
        .exclude(enrolment__status="terminated")
        .order_by("-pk")
        .first()
    )


def _approve(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    calc = _latest_calculation(case)
    assert calc is not None  # noqa: S101 - the calculation_eligible guard ran
    if calc.result.get("period") == "month" and (other := _already_decided(case, calc.programme)):
        raise Conflict(
            f"该家庭已有批准的同一项目（{workflow.label}，受理编号{other.number}），"
            "两项补贴等在同一决定中一并核定；如需调整金额，请在在保对象中办理待遇调整"
        )
    today = _today()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    Decision.objects.create(
        case=case,
        outcome=Outcome.APPROVED,
        level=_level(actor),
        amount=calc.amount,
        period=calc.result.get("period", ""),
        start_month=next_month if calc.result.get("period") == "month" else None,
        reasons=note or "经审核，符合条件",
        calculation=calc,
        decided_by=actor,
    )
    _after_decision(case, workflow, actor, note, data)
    care_plan_for_case(case, actor=actor, on=today)  # home-supported extreme poverty: visits (探访)
    if workflow.public_notice:
        PublicNotice.objects.create(
            case=case,
            division=case.division,
            kind="result",
            starts_on=today,
            ends_on=today + timedelta(days=NOTICE_DAYS - 1),
            content=_notice_content(case, str(calc.amount)),
        )


def _level(actor: Staff) -> str:
    return "county" if len(jurisdiction_of(actor).prefix) <= 6 else "township"


def _refuse(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    today = _today()
    Decision.objects.create(
        case=case,
        outcome=Outcome.REFUSED,
        level=_level(actor),
        reasons=note,
        # The calculation seen, if any: a dibao refusal that found the household near-poor gives it
        # that status (rules.standing).
        calculation=_latest_calculation(case),
        decided_by=actor,
        notice_due=add_working_days(today, 3),
    )


def _refusal_sent(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    Decision.objects.filter(case=case).update(notice_sent_on=_today())


def _transfer(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    today = _today()
    Transfer.objects.create(
        case=case, department=case.item.department, sent_on=today, feedback_due=add_working_days(today, 10)
    )


def _feedback(case: Case, workflow: Workflow, actor: Staff, note: str, data: Mapping[str, Any]) -> None:
    Transfer.objects.filter(case=case).update(feedback_on=_today(), feedback=str(data["feedback"]).strip())


EFFECTS: dict[str, Callable[[Case, Workflow, Staff, str, Mapping[str, Any]], None]] = {
    "propose_approval": _publish_notice,
    "record_objection": _objection,
    "reinvestigate": _handle_objection("reinvestigate"),
    "appraisal_upheld": _handle_objection("appraisal"),
    "appraisal_upheld_delegated": _handle_objection("appraisal"),
    "approve": _approve,
    "approve_township": _approve,
    "complete_paperwork": _approve,
    "aid_first": _after_decision,
    "propose_refusal": _refuse,
    "refuse": _refuse,
    "refuse_township": _refuse,
    "send_refusal_notice": _refusal_sent,
    "transfer": _transfer,
    "record_feedback": _feedback,
}


def _sample_for_county_visit(case: Case) -> bool:
    """Keep the county's share of visited extreme-poverty cases this year at 30% or more: a case is
    sampled whenever the share so far would otherwise fall below it."""
    year_cases = Case.objects.filter(
        workflow="extreme_poverty",
        division__code__startswith=case.division_id[:6],
        accepted_on__year=_today().year,
        state__in=("county_review", "approved", "refusal_notice", "refused"),
    ).exclude(pk=case.pk)
    total = year_cases.count() + 1
    sampled = year_cases.filter(sampled_for_county_visit=True).count()
    return Decimal(sampled) / total < COUNTY_SAMPLE_SHARE


def _locked(actor: Staff, case_id: int) -> Case:
    case = Case.objects.select_for_update().select_related("item", "division").filter(pk=case_id).first()
    if case is None:
        raise NotFound("没有找到该申请")
    require_in_scope(actor, case.division_id)
    return case


# --- Evidence --------------------------------------------------------------------------------------


@transaction.atomic
def visit_record(
    *,
    actor: Staff,
    case_id: int,
    visited_on: date,
    investigators: list[str],
    findings: str,
    signed_by_applicant: bool,
) -> Visit:
    require(actor, Perm.CASE_INVESTIGATE)
    case = _locked(actor, case_id)
    names = [n.strip() for n in investigators if n.strip()]
    errors: dict[str, list[str]] = {}
    if len(set(names)) < 2:
        errors["investigators"] = ["入户调查人员不少于2人"]
    if not findings.strip():
        errors["findings"] = ["请填写调查情况"]
    if visited_on > _today():
        errors["visited_on"] = ["调查日期不能晚于今天"]
    if errors:
        raise InvalidInput("入户调查记录不完整", field_errors=errors)
    if not case.is_open:
        raise TransitionNotAllowed("已办结的申请不能再录入调查记录")
    visit = Visit.objects.create(
        case=case,
        visited_on=visited_on,
        investigators=names,
        by_county=_level(actor) == "county",
        findings=findings.strip(),
        signed_by_applicant=signed_by_applicant,
        recorded_by=actor,
    )
    _event(case, actor, "visit", "录入入户调查记录", case.state, case.state, "", {"investigators": names})
    _audit(case, actor, "visit_recorded", investigators=names)
    return visit


def case_facts(case: Case, on: date) -> HouseholdFacts:
    """The calculation input for a case: the household as registered on the day with its assistance
    statuses (rules.standing: derived from decisions, enrolments and the registry, never typed in),
    plus what the application itself states (temporary or medical need, individual application,
    the chosen form of extreme-poverty support)."""
    if case.household is None:
        raise InvalidInput(
            "申请尚未关联到已登记的家庭，请先在家庭档案中登记并关联", field_errors={"household": ["未关联"]}
        )
    facts = household_facts(case.household, on)
    extra: dict[str, Any] = {k: case.details[k] for k in ("temporary", "medical") if k in case.details}
    if case.details.get("individual") and case.applicant_id is not None:
        extra["individual_applicant"] = str(case.applicant_id)
    mode = case.details.get("support_mode")
    if mode in ("home", "institutional") and case.applicant_id is not None:
        # Extreme-poverty support: institutional or home support, the person's choice (cases.care).
        applicant = str(case.applicant_id)
        extra["members"] = [
            {**m, "support_mode": mode} if m["id"] == applicant else m
            for m in facts.model_dump(mode="json")["members"]
        ]
    if not extra:
        return facts
    return parse_facts({**facts.model_dump(mode="json"), **extra}, prefix="details.")


@transaction.atomic
def case_calculate(*, actor: Staff, case_id: int, on: date | None = None) -> Calculation:
    """Calculate the item's programme for the case's household with the standards in force, and
    keep the explanation with the case (the decision will store it)."""
    case = _locked(actor, case_id)
    if not any(actor.can(p) for p in CASE_WORK_PERMS):
        raise PermissionDenied("您没有待遇测算的权限")  # read-only roles must not replace the calculation
    workflow = WORKFLOWS[case.workflow]
    if not workflow.programme:
        raise InvalidInput("转办事项不需要待遇测算")
    if not case.is_open:
        raise TransitionNotAllowed("已办结的申请不能重新测算")
    calc = calculation_record(
        actor=actor,
        programme=workflow.programme,
        facts=case_facts(case, on or _today()),
        household=case.household,
    )
    case.details = {**case.details, "calculation_id": calc.pk}
    case.save(update_fields=["details"])
    _event(
        case,
        actor,
        "calculate",
        "待遇测算",
        case.state,
        case.state,
        "",
        {"calculation_id": calc.pk, "eligible": calc.eligible, "amount": str(calc.amount)},
    )
    return calc


@transaction.atomic
def document_download(*, actor: Staff, case_id: int, document_id: int) -> Document:
    """An uploaded document of a case in scope, for download; every download is audited (it
    holds personal data: ID cards, income certificates, medical records)."""
    document = selectors.document_get(actor=actor, case_id=case_id, document_id=document_id)
    _audit(document.case, actor, "document_downloaded", file=document.file_name, sha256=document.sha256)
    return document


@transaction.atomic
def document_upload(
    *, actor: Staff, case_id: int, kind: str, file_name: str, content_type: str, content: bytes
) -> Document:
    require(actor, Perm.CASE_VIEW)
    case = _locked(actor, case_id)
    if not (
        actor.can(Perm.CASE_INTAKE)
        or actor.can(Perm.CASE_INVESTIGATE)
        or actor.can(Perm.CASE_REVIEW_TOWNSHIP)
    ):
        raise PermissionDenied("您没有上传材料的权限")
    errors: dict[str, list[str]] = {}
    magic = DOCUMENT_TYPES.get(content_type)
    if magic is None:
        errors["file"] = ["只接受 PDF、JPG、PNG 文件"]
    elif not content.startswith(magic):
        errors["file"] = ["文件内容与类型不符"]
    if not content:
        errors["file"] = ["文件为空"]
    elif len(content) > DOCUMENT_MAX_BYTES:
        errors["file"] = ["文件不能超过10MB"]
    if not kind.strip():
        errors["kind"] = ["请选择材料类型"]
    if errors:
        raise InvalidInput("上传的文件不符合要求", field_errors=errors)
    doc = Document.objects.create(
        case=case,
        kind=kind.strip()[:40],
        file_name=file_name[-200:],
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=actor,
    )
    _event(
        case, actor, "document", f"上传材料：{doc.kind}", case.state, case.state, "", {"document_id": doc.pk}
    )
    _audit(case, actor, "document_uploaded", file=doc.file_name, sha256=doc.sha256)
    return doc


@transaction.atomic
def conflict_register(
    *, actor: Staff, division_code: str, name: str, position: str, id_number: str
) -> ConflictRegistration:
    """Register a case worker or village cadre whose relatives' applications are handled separately."""
    require(actor, Perm.CASE_REVIEW_TOWNSHIP)
    require_in_scope(actor, division_code)
    if not Division.objects.filter(code=division_code).exists():
        raise InvalidInput("没有该区划", field_errors={"division_code": ["请选择所在村（社区）或机构"]})
    try:
        rid = parse_resident_id(id_number)
    except InvalidIdentifier as exc:
        raise InvalidInput(exc.message, field_errors={"id_number": [exc.message]}) from exc
    if not name.strip() or not position.strip():
        raise InvalidInput("请填写姓名和职务", field_errors={"name": ["必填"], "position": ["必填"]})
    digest = protect.lookup_digest(rid.number)
    if ConflictRegistration.objects.filter(id_digest=digest).exists():
        raise InvalidInput("该人员已备案", field_errors={"id_number": ["已备案"]})
    entry = ConflictRegistration.objects.create(
        division_id=division_code,
        name=name.strip(),
        position=position.strip(),
        id_digest=digest,
        registered_by=actor,
    )
    audit_record(
        actor=actor,
        action="cases.conflict_registered",
        object_type="cases.ConflictRegistration",
        object_id=entry.pk,
        scope_code=division_code,
        after={"name": entry.name, "position": entry.position, "id_masked": rid.masked},
    )
    return entry
