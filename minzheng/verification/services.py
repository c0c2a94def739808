"""Verification of a household's economic status against other departments' data (核对).

1. Authorisation (`authorisation_record`): every current member of the case's household signs (a
   guardian for a minor), and any person with a duty of support. Without a complete set no request is
   sent (`authorisation_missing` names who is missing).
2. Request (`request_send`): one per case, to every active department at once, each a
   `DepartmentQuery` with its time limit in working days (the dated parameter
   `verification.department_working_days`). The request is committed first; then each department
   is asked over the exchange (`exchange.services.send_search`, a signed search answered later by a
   signed callback), outside our transaction, so that a department that answers at once finds it.
   A refusal or failure is kept on the query (with the exchange's log); `request_resend` asks the
   failed ones again.
3. Answers (`take_answer`, the exchange's "on-search" handler): each record matched to the member by
   the keyed digest of the ID number (old 15-digit numbers too), never by the number itself; a record
   for a person not asked about is refused. Each becomes a `Finding`, compared with what the
   household declared in the registry on the day of the request; a difference is a discrepancy.
4. Dispositions (`finding_dispose`): every discrepancy is accepted or explained before the report can
   be issued.
5. Report (`report_issue`): the findings and dispositions frozen as content, sealed with a digest,
   numbered; queries not answered in time are stated as such (`queries_time_out`).

The report states facts; the decision stays in the case (DOMAIN.md §11).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from minzheng.cases.models import Case
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.i18n import as_stored
from minzheng.core.identifiers import InvalidIdentifier
from minzheng.core.permissions import Perm
from minzheng.exchange import services as exchange
from minzheng.exchange.matching import person_key
from minzheng.exchange.models import Counterparty, Message, Mode
from minzheng.org.models import Staff
from minzheng.org.scope import require_in_scope
from minzheng.payments.models import Enrolment, EnrolmentStatus, ReviewTask
from minzheng.registry.circumstances import EXCLUDED_INCOME, Asset, IncomeItem
from minzheng.registry.models import Membership, Person
from minzheng.rules.policy import PolicyError, parameter_specs
from minzheng.rules.selectors import policy_table
from minzheng.verification.models import (
    Authorisation,
    DepartmentQuery,
    Disposition,
    Finding,
    QueryStatus,
    Report,
    RequestStatus,
    SignerRole,
    VerificationRequest,
)
from minzheng.workdays.selectors import add_working_days

DAYS_PARAMETER = "verification.department_working_days"
FINAL = (QueryStatus.ANSWERED, QueryStatus.REJECTED, QueryStatus.TIMED_OUT)
ADULT_AGE = 18

# What a department's record means here: our item, and what the household declared to compare it
# with — a member's income items of these categories (monthly amounts), or the household's assets
# of these kinds (values; a count for real estate). None: stated in the report, nothing to compare.
ITEMS: dict[tuple[str, str], tuple[str, str, tuple[str, ...]] | None] = {
    ("tax_income", "wage"): ("wage_income", "income", ("wages",)),
    ("tax_income", "business"): ("business_income", "income", ("business",)),
    ("social_insurance_benefit", "pension_employee"): ("pension", "income", ("pension",)),
    ("social_insurance_benefit", "pension_resident"): (
        "resident_pension",
        "income",
        ("resident_basic_pension",),
    ),
    ("social_insurance_benefit", "unemployment"): (
        "unemployment_benefit",
        "income",
        ("unemployment_benefit",),
    ),
    ("real_estate", "dwelling"): ("real_estate", "count", ("real_estate",)),
    ("vehicle", "car"): ("vehicle", "assets", ("vehicle",)),
    ("market_entity", "sole_trader"): ("business_entity", "assets", ("business",)),
    ("market_entity", "shareholder"): ("business_entity", "assets", ("business",)),
    ("bank_deposit", "balance"): ("deposit", "assets", ("deposit",)),
    ("wealth_product", "wealth"): ("securities", "assets", ("securities",)),
    ("death", "death"): ("death", "death", ()),
}
ITEM_LABELS = {
    "wage_income": "工资性收入（月均）",
    "business_income": "经营所得（月均）",
    "pension": "离退休金、养老金",
    "resident_pension": "城乡居民基础养老金（不计入收入）",
    "unemployment_benefit": "失业保险金",
    "real_estate": "不动产（套）",
    "vehicle": "机动车",
    "business_entity": "市场主体登记",
    "deposit": "存款",
    "securities": "理财、有价证券",
    "death": "死亡注销",
    "other": "其他信息",
}


def _require(actor: Staff, perm: Perm, message: str) -> None:
    if not actor.can(perm):
        raise PermissionDenied(message)


def _case(actor: Staff, case_id: int, *, lock: bool = False) -> Case:
    found = (Case.objects.select_for_update() if lock else Case.objects).filter(pk=case_id).first()
    if found is None:
        raise NotFound("没有找到该申请")
    require_in_scope(actor, found.division_id)
    return found


def verifiable(case: Case) -> bool:
    """A case under way, or one whose benefit is still paid (its recipients are re-checked)."""
    return (
        case.is_open
        or Enrolment.objects.filter(case=case).exclude(status=EnrolmentStatus.TERMINATED).exists()
    )


def _scope(request: VerificationRequest) -> str:
    """The division a request belongs to: its case's village (township staff see their own), else
    its county."""
    return request.case.division_id if request.case is not None else request.county


def members_on(case: Case, on: date | None = None) -> list[Person]:
    day = on or timezone.localdate()
    if case.household_id is None:
        return []
    return [
        m.person
        for m in Membership.objects.filter(household_id=case.household_id, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("person")
        .order_by("person_id")
    ]


def _audit(actor: Staff | None, action: str, request: VerificationRequest, **after: Any) -> None:
    audit_record(
        actor=actor,
        action=f"verification.{action}",
        object_type="verification.VerificationRequest",
        object_id=request.pk,
        scope_code=request.county,
        after=after,
    )


# --- Authorisation ------------------------------------------------------------------------------


@transaction.atomic
def authorisation_record(
    *,
    actor: Staff,
    case_id: int,
    person_id: int,
    role: str,
    signer_name: str,
    signed_on: date,
    reference: str = "",
) -> Authorisation:
    """A signed verification authorisation of a member (or, for a minor, their guardian's) or of a
    person with a duty of support, kept with the case."""
    _require(actor, Perm.CASE_INVESTIGATE, "您没有登记核对授权的权限")
    case = _case(actor, case_id, lock=True)
    if case.household_id is None or not verifiable(case):
        raise Conflict("只有已关联家庭、尚未办结（或仍在发放）的申请可以登记核对授权")
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound("没有找到该人员")
    errors: dict[str, list[str]] = {}
    members = {p.pk for p in members_on(case)}
    if role not in SignerRole.values:
        errors["role"] = ["请选择签署身份"]
    elif role != SignerRole.SUPPORTER and person.pk not in members:
        errors["person_id"] = ["该人员不是本家庭的现有成员（赡养、抚养、扶养义务人请选择相应身份）"]
    elif role == SignerRole.SUPPORTER and person.pk in members:
        errors["role"] = ["本家庭成员应以本人或监护人身份签署"]
    today = timezone.localdate()
    minor = person.birth_date is not None and _age(person.birth_date, signed_on) < ADULT_AGE
    if minor and role == SignerRole.MEMBER:
        errors["role"] = ["未成年人的授权由其监护人签署"]
    if not signer_name.strip():
        errors["signer_name"] = ["请填写签署人"]
    if signed_on > today:
        errors["signed_on"] = ["签署日期不能晚于今天"]
    if errors:
        raise InvalidInput("核对授权信息有误", field_errors=errors)
    if Authorisation.objects.filter(case=case, person=person).exists():
        raise Conflict("该人员的核对授权已登记")
    found = Authorisation.objects.create(
        case=case,
        person=person,
        role=role,
        signer_name=signer_name.strip()[:60],
        signed_on=signed_on,
        reference=reference.strip()[:60],
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="verification.authorisation_recorded",
        object_type="cases.Case",
        object_id=case.pk,
        scope_code=case.division_id,
        after={"person": person.pk, "role": role, "signed_on": signed_on},
    )
    return found


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def authorisation_missing(case: Case) -> list[Person]:
    """The current members of the case's household without a signed authorisation."""
    signed = set(Authorisation.objects.filter(case=case).values_list("person_id", flat=True))
    return [p for p in members_on(case) if p.pk not in signed]


# --- Request ------------------------------------------------------------------------------------


def _departments() -> list[Counterparty]:
    return list(Counterparty.objects.filter(active=True).order_by("code"))


def department_days(code: str, day: date, county: str) -> int:
    """A department's time limit in working days: its own dated parameter where one exists
    (``verification.department_working_days.<code>``, e.g. the banks), else the general one."""
    table = policy_table()
    own = f"{DAYS_PARAMETER}.{code}"
    if own in parameter_specs():
        with suppress(PolicyError):
            return int(table.lookup(own, day, county, "urban").value)
    return int(table.lookup(DAYS_PARAMETER, day, county, "urban").value)


@transaction.atomic
def _create_request(actor: Staff, case_id: int) -> VerificationRequest:
    case = _case(actor, case_id, lock=True)
    if case.household_id is None or not verifiable(case):
        raise Conflict("只有已关联家庭、尚未办结（或仍在发放）的申请可以提请核对")
    missing = authorisation_missing(case)
    if missing:
        names = "、".join(p.name for p in missing)
        raise InvalidInput(
            f"核对授权不完整，尚缺：{names}", field_errors={"authorisations": [f"尚缺{names}的授权"]}
        )
    if VerificationRequest.objects.filter(
        case=case, status__in=(RequestStatus.OPEN, RequestStatus.ANSWERED)
    ).exists():
        raise Conflict("该申请已有进行中的核对")
    departments = _departments()
    if not departments:
        raise Conflict("尚未接入任何核对部门，请联系系统管理员")
    today = timezone.localdate()
    county = case.division_id[:6]
    days = {d.code: department_days(d.code, today, county) for d in departments}
    request = VerificationRequest.objects.create(
        case=case,
        household_id=case.household_id,
        county=county,
        transaction_id=uuid.uuid4().hex,
        as_of=today,
        requested_by=actor,
    )
    DepartmentQuery.objects.bulk_create(
        DepartmentQuery(request=request, counterparty=d.code, due_on=add_working_days(today, days[d.code]))
        for d in departments
    )
    _audit(actor, "request_created", request, departments=[d.code for d in departments], due_days=days)
    return request


def _asked(request: VerificationRequest) -> list[Person]:
    """Whom a request asks about: the members on its day; for a re-check, those whose findings were
    contested."""
    assert request.case is not None  # noqa: S101 (a case's request)
    members = members_on(request.case, request.as_of)
    if request.supersedes_id is None:
        return members
    contested = set(
        Finding.objects.filter(
            request_id=request.supersedes_id, disposition=Disposition.CONTESTED
        ).values_list("person_id", flat=True)
    )
    return [p for p in members if p.pk in contested]


def _queries_for(request: VerificationRequest) -> list[dict[str, Any]]:
    out = []
    for person in _asked(request):
        number = protect.decrypt(person.id_encrypted)
        out.append(
            {
                "reference_id": str(person.pk),
                "id_number": number,
                "name": person.name,
                "as_of": request.as_of.isoformat(),
                "consent": f"case:{request.case_id}",
            }
        )
    return out


def callback_url(site: str, code: str) -> str:
    """Where department `code` posts its answers: our exchange callback (api/exchange.py)."""
    return f"{site.rstrip('/')}/api/v1/exchange/{code}/callback"


def _send(request: VerificationRequest, query: DepartmentQuery, site: str) -> None:
    """Ask one department, outside any transaction of ours; the query's new state saved after."""
    file_mode = Counterparty.objects.filter(code=query.counterparty, mode=Mode.FILE).exists()
    try:
        if file_mode:  # a request file; its result file is fetched later (`collect`)
            receipt = exchange.send_batch(
                counterparty_code=query.counterparty,
                transaction_id=request.transaction_id,
                queries=_queries_for(request),
            )
            ack = {"message": {"correlation_id": receipt["batch_id"]}}
        else:
            ack = exchange.send_search(
                counterparty_code=query.counterparty,
                transaction_id=request.transaction_id,
                queries=_queries_for(request),
                callback_url=callback_url(site, query.counterparty),
            )
    except exchange.ExchangeError as exc:
        query_not_sent(query, exc)
        return
    query_acknowledged(query, str(ack["message"].get("correlation_id", "")))


def query_not_sent(query: DepartmentQuery, exc: exchange.ExchangeError) -> None:
    """A department refused the query (final) or could not be reached (tried again later)."""
    refused = getattr(exc, "code", "") == "exchange.refused"
    DepartmentQuery.objects.filter(pk=query.pk).exclude(status__in=FINAL).update(
        status=QueryStatus.REJECTED if refused else QueryStatus.FAILED,
        attempts=query.attempts + 1,
        sent_at=timezone.now(),
        error=str(exc.message)[:300],
    )


def query_acknowledged(query: DepartmentQuery, correlation_id: str) -> None:
    """The department took the query; its answer comes by callback or result file."""
    DepartmentQuery.objects.filter(pk=query.pk, status__in=(QueryStatus.QUEUED, QueryStatus.FAILED)).update(
        status=QueryStatus.ACKNOWLEDGED,
        attempts=query.attempts + 1,
        sent_at=timezone.now(),
        correlation_id=correlation_id[:100],
        error="",
    )


def request_send(*, actor: Staff, case_id: int, site: str) -> VerificationRequest:
    """Create the case's request (complete authorisations required) and ask every department, each
    to answer at our callback under `site` (the address departments reach us at)."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请家庭经济状况核对的权限")
    request = _create_request(actor, case_id)
    for query in request.queries.all():
        _send(request, query, site)
    _refresh_status(request.pk)
    request.refresh_from_db()
    return request


def recipient_recheck_send(*, actor: Staff, enrolment_id: int, site: str) -> VerificationRequest:
    """A recipient household verified again on its re-review (复核: yearly, half-yearly for unstable
    income): a request for the enrolment's case while its re-review task is open. What it finds is
    for the re-review to decide (keep, change or stop, with the notice); a finding never stops a
    payment by itself."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请家庭经济状况核对的权限")
    enrolment = Enrolment.objects.filter(pk=enrolment_id).first()
    if enrolment is None:
        raise NotFound("没有找到该在保对象")
    require_in_scope(actor, enrolment.division_id)
    if not ReviewTask.objects.filter(enrolment=enrolment, done_at__isnull=True).exists():
        raise Conflict("该在保对象没有待办的复核任务，复核时方可提请核对")
    return request_send(actor=actor, case_id=enrolment.case_id, site=site)


def request_resend(*, actor: Staff, request_id: int, site: str) -> VerificationRequest:
    """Ask again the departments whose query failed (not those that refused or answered)."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请家庭经济状况核对的权限")
    request = VerificationRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise NotFound("没有找到该核对请求")
    require_in_scope(actor, _scope(request))
    if request.status != RequestStatus.OPEN:
        raise Conflict("该核对已不在进行中")
    failed = list(request.queries.filter(status=QueryStatus.FAILED))
    if not failed:
        raise Conflict("没有发送失败的部门查询")
    for query in failed:
        _send(request, query, site)
    _audit(actor, "request_resent", request, departments=[q.counterparty for q in failed])
    _refresh_status(request.pk)
    request.refresh_from_db()
    return request


def _refresh_status(request_id: int) -> None:
    """OPEN while a department is still to answer; ANSWERED once every query is final."""
    with transaction.atomic():
        request = VerificationRequest.objects.select_for_update().get(pk=request_id)
        if request.status == RequestStatus.OPEN and not request.queries.exclude(status__in=FINAL).exists():
            request.status = RequestStatus.ANSWERED
            request.save(update_fields=["status"])


# --- Answers ------------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _declared(
    request: VerificationRequest, person: Person, comparison: str, kinds: tuple[str, ...]
) -> Decimal | None:
    """What the household declared for an item on the day of the request."""
    day = request.as_of
    in_force = Q(valid_from__lte=day) & (Q(valid_until__isnull=True) | Q(valid_until__gte=day))
    if comparison == "income":
        total = IncomeItem.objects.filter(in_force, person=person, category__in=kinds).aggregate(
            t=Sum("monthly_amount")
        )
        return total["t"] or Decimal("0.00")
    if comparison == "assets":
        total = Asset.objects.filter(in_force, household_id=request.household_id, kind__in=kinds).aggregate(
            t=Sum("value")
        )
        return total["t"] or Decimal("0.00")
    if comparison == "count":
        count = Asset.objects.filter(in_force, household_id=request.household_id, kind__in=kinds).count()
        return Decimal(count)
    return None


def take_answer(*, record: Message, header: dict[str, Any], message: dict[str, Any]) -> None:
    """The exchange's on-search handler: a department's answer to one of our requests, as findings.
    Unknown transaction: NotFound (the exchange logs and refuses it). A second answer of the same
    department is ignored (the exchange also refuses a repeated message id)."""
    request = (
        VerificationRequest.objects.select_for_update()
        .filter(transaction_id=str(message.get("transaction_id", "")))
        .first()
    )
    if request is None:
        raise NotFound("没有该核对事务")
    query = (
        DepartmentQuery.objects.select_for_update()
        .filter(request=request, counterparty=record.counterparty.code)
        .first()
    )
    if query is None:
        raise NotFound("该部门不在本次核对范围内")
    _take(request, query, message.get("search_response") or [])


def _take(request: VerificationRequest, query: DepartmentQuery, responses: list[dict[str, Any]]) -> None:
    """A department's answers (search responses, from a callback, a status query or a result file)
    as findings; the query answered. Both rows locked by the caller. Taken once."""
    if query.status in (QueryStatus.ANSWERED, QueryStatus.TIMED_OUT) or request.status not in (
        RequestStatus.OPEN,
        RequestStatus.ANSWERED,
    ):
        return
    asked = {str(p.pk): p for p in _asked(request)} if request.case else {}
    findings: list[Finding] = []
    for response in responses:
        person = asked.get(str(response.get("reference_id", "")))
        if person is None:
            raise InvalidInput("反馈中含有未查询的人员")
        data = response.get("data") or {}
        number = str(((data.get("person") or {}).get("identifier_value")) or "")
        try:
            key = person_key(number) if number else person.id_digest
        except InvalidIdentifier as exc:
            raise InvalidInput("反馈中的证件号码无效") from exc
        if key != person.id_digest:
            raise InvalidInput("反馈中的证件号码与查询人员不符")
        if response.get("status") != "succ":
            continue
        for raw in data.get("reg_records") or []:
            findings.append(_finding(request, query, person, key, raw))
    Finding.objects.bulk_create(findings)
    query.status = QueryStatus.ANSWERED
    query.answered_at = timezone.now()
    query.save(update_fields=["status", "answered_at"])
    if not request.queries.exclude(status__in=FINAL).exists():
        request.status = RequestStatus.ANSWERED
        request.save(update_fields=["status"])
    _audit(None, "answer_taken", request, department=query.counterparty, findings=len(findings))


def _finding(
    request: VerificationRequest, query: DepartmentQuery, person: Person, key: str, raw: dict[str, Any]
) -> Finding:
    mapped = ITEMS.get((str(raw.get("category", "")), str(raw.get("item_type", ""))))
    item, comparison, kinds = mapped if mapped else ("other", "", ())
    amount = _decimal(raw.get("amount"))
    quantity = _decimal(raw.get("quantity"))
    declared = _declared(request, person, comparison, kinds) if comparison else None
    if comparison == "death":
        discrepancy = True  # a member the registry still lists
    elif comparison == "count":
        discrepancy = declared is not None and declared < 1
    elif comparison in ("income", "assets") and amount is not None and declared is not None:
        discrepancy = amount > declared
    else:
        discrepancy = False
    return Finding(
        request=request,
        query=query,
        person=person,
        person_key=key,
        item=item,
        description=str(raw.get("description", ""))[:200],
        amount=amount,
        quantity=quantity,
        unit=str(raw.get("unit", ""))[:20],
        period_start=_date(raw.get("period_start")),
        period_end=_date(raw.get("period_end")),
        source_ref=str(raw.get("source_ref", ""))[:100],
        declared=declared,
        discrepancy=discrepancy,
    )


def queries_time_out(*, today: date | None = None) -> int:
    """Queries still unanswered after their time limit: TIMED_OUT (stated so in the report)."""
    from minzheng.verification import recheck

    day = today or timezone.localdate()
    late = DepartmentQuery.objects.filter(
        status__in=(QueryStatus.QUEUED, QueryStatus.ACKNOWLEDGED, QueryStatus.FAILED), due_on__lt=day
    )
    ids = list(late.values_list("request_id", "batch_id"))
    count = late.update(status=QueryStatus.TIMED_OUT, error="超过反馈期限未反馈")
    for request_id in {r for r, _ in ids if r is not None}:
        _refresh_status(request_id)
    for batch_id in {b for _, b in ids if b is not None}:
        recheck.refresh_status(batch_id)
    return count


def _file_responses(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """A result file's rows (one per record, or one per person without any) as search responses."""
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        response = grouped.setdefault(
            row.get("reference_id", ""),
            {
                "reference_id": row.get("reference_id", ""),
                # A file row says found/none (answered) or not_found/invalid (no such person).
                "status": "succ" if row.get("status") in ("found", "none") else "rjct",
                "data": {"person": {"identifier_value": row.get("id_number", "")}, "reg_records": []},
            },
        )
        if row.get("category"):
            response["data"]["reg_records"].append(
                {
                    k: row.get(k) or None
                    for k in (
                        "category",
                        "item_type",
                        "description",
                        "amount",
                        "quantity",
                        "unit",
                        "period_start",
                        "period_end",
                        "source_ref",
                    )
                }
            )
    return list(grouped.values())


def collect(*, query_id: int) -> bool:
    """An acknowledged query's answer fetched rather than waited for: a file department's result
    file, or an API department's answer through a status query (a callback that never arrived).
    True when it was taken."""
    from minzheng.verification import recheck

    query = DepartmentQuery.objects.select_related("request").filter(pk=query_id).first()
    if query is None or query.status != QueryStatus.ACKNOWLEDGED:
        return False
    if query.batch_id is not None:
        return recheck.batch_collect(query_id=query_id)
    request = query.request
    assert request is not None  # noqa: S101 (a query of a request or of a batch)
    if Counterparty.objects.filter(code=query.counterparty, mode=Mode.FILE).exists():
        result = exchange.fetch_batch_result(
            counterparty_code=query.counterparty, batch_id=query.correlation_id
        )
        if result is None:
            return False
        responses = _file_responses(result.rows)
    else:
        status = exchange.txn_status(
            counterparty_code=query.counterparty, transaction_id=request.transaction_id
        )
        answer = status["message"].get("txnstatus_response") or {}
        if answer.get("txn_status") != "succ":
            return False
        responses = list(answer.get("search_response") or [])
    with transaction.atomic():
        locked_request = VerificationRequest.objects.select_for_update().get(pk=request.pk)
        locked = DepartmentQuery.objects.select_for_update().get(pk=query.pk)
        _take(locked_request, locked, responses)
    return True


def sweep(*, older_than_minutes: int = 10) -> int:
    """The worker's periodic sweep (core.recovery): queries past their time limit end TIMED_OUT;
    acknowledged ones waiting longer than `older_than_minutes` are collected (result files, lost
    callbacks). A department that cannot be reached now is tried at the next sweep."""
    handled = queries_time_out()
    since = timezone.now() - timedelta(minutes=older_than_minutes)
    for query_id in DepartmentQuery.objects.filter(
        status=QueryStatus.ACKNOWLEDGED, sent_at__lt=since
    ).values_list("pk", flat=True)[:500]:
        try:
            handled += int(collect(query_id=query_id))
        except (exchange.ExchangeError, exchange.BadSignature):
            continue  # logged by the exchange; tried again at the next sweep
    return handled


# --- Dispositions and the report ------------------------------------------------------------------


@transaction.atomic
def finding_dispose(*, actor: Staff, finding_id: int, disposition: str, note: str) -> Finding:
    """A discrepancy accepted (the department's figure stands) or explained (with the reason it does
    not, e.g. a one-off payment), before the report."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有处理核对结果的权限")
    finding = Finding.objects.select_for_update().select_related("request").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound("没有找到该核对发现")
    require_in_scope(actor, _scope(finding.request))
    if finding.request.status == RequestStatus.REPORTED or finding.request.status == RequestStatus.SUPERSEDED:
        raise Conflict("核对报告已出具，不能再处理")
    if disposition not in (Disposition.ACCEPTED, Disposition.EXPLAINED):
        raise InvalidInput("请选择处理方式", field_errors={"disposition": ["采信或说明"]})
    if not note.strip():
        raise InvalidInput("请填写处理说明", field_errors={"note": ["必填"]})
    finding.disposition = disposition
    finding.disposition_note = note.strip()[:300]
    finding.disposed_by = actor
    finding.disposed_at = timezone.now()
    finding.save(update_fields=["disposition", "disposition_note", "disposed_by", "disposed_at"])
    _audit(actor, "finding_disposed", finding.request, finding=finding.pk, disposition=disposition)
    return finding


@dataclass(frozen=True)
class ReportLine:
    person: str
    item: str
    description: str
    amount: str
    declared: str
    discrepancy: bool
    disposition: str
    note: str
    department: str


def _content(request: VerificationRequest) -> dict[str, Any]:
    names = dict(Counterparty.objects.values_list("code", "name"))
    findings = request.findings.select_related("person", "query").order_by("person_id", "item", "pk")
    return {
        "transaction_id": request.transaction_id,
        "case": request.case.number if request.case else "",
        "household": request.household_id,
        "as_of": request.as_of.isoformat(),
        "departments": [
            {
                "code": q.counterparty,
                "name": names.get(q.counterparty, q.counterparty),
                "status": q.status,
                "status_label": as_stored(QueryStatus(q.status).label),
                "answered_at": q.answered_at.isoformat() if q.answered_at else None,
                "note": q.error,
            }
            for q in request.queries.order_by("counterparty")
        ],
        "findings": [
            {
                "person": f.person.name if f.person else "",
                "item": f.item,
                "item_label": ITEM_LABELS.get(f.item, f.item),
                "description": f.description,
                "amount": str(f.amount) if f.amount is not None else None,
                "quantity": str(f.quantity) if f.quantity is not None else None,
                "unit": f.unit,
                "period": [
                    f.period_start.isoformat() if f.period_start else None,
                    f.period_end.isoformat() if f.period_end else None,
                ],
                "declared": str(f.declared) if f.declared is not None else None,
                "discrepancy": f.discrepancy,
                "disposition": f.disposition,
                "disposition_label": as_stored(Disposition(f.disposition).label),
                "note": f.disposition_note,
                "department": names.get(f.query.counterparty, f.query.counterparty),
            }
            for f in findings
        ],
    }


@transaction.atomic
def report_issue(*, actor: Staff, request_id: int) -> Report:
    """The report of an answered request: every department answered, refused or timed out, every
    discrepancy disposed. Its content is frozen and sealed with a SHA-256 digest."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有出具核对报告的权限")
    request = VerificationRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound("没有找到该核对请求")
    require_in_scope(actor, _scope(request))
    if request.status == RequestStatus.REPORTED:
        raise Conflict("核对报告已出具")
    waiting = request.queries.exclude(status__in=FINAL)
    if waiting.exists():
        names = "、".join(waiting.values_list("counterparty", flat=True))
        raise Conflict(f"仍有部门未反馈：{names}")
    pending = request.findings.filter(discrepancy=True, disposition=Disposition.PENDING).count()
    if pending:
        raise Conflict(f"尚有{pending}项与申报不符的核对结果未处理")
    content = _content(request)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    today = timezone.localdate()
    sequence = Report.objects.filter(request__county=request.county, issued_at__date=today).count() + 1
    report = Report.objects.create(
        request=request,
        number=f"HD{request.county}{today:%Y%m%d}{sequence:04d}",
        content=content,
        sha256=digest,
        issued_by=actor,
    )
    request.status = RequestStatus.REPORTED
    request.save(update_fields=["status"])
    if request.supersedes_id is not None:
        VerificationRequest.objects.filter(pk=request.supersedes_id).update(status=RequestStatus.SUPERSEDED)
    recorded = _record_verified(request, report)
    _audit(actor, "report_issued", request, report=report.number, sha256=digest, registry_records=recorded)
    return report


def _record_verified(request: VerificationRequest, report: Report) -> int:
    """The accepted figures that differ from the declaration, taken into the registry from the report's
    date as dated circumstances (source: the report), so that every calculation reads the verified
    figures: a member's income of the category (their open items of it end the day before), the
    household's assets of the kind (likewise). Deaths and real estate counts are stated in the report
    for the case worker; nothing is changed for them here."""
    day = timezone.localdate()
    source = f"核对报告{report.number}"[:80]
    accepted = request.findings.filter(
        discrepancy=True, disposition=Disposition.ACCEPTED, amount__isnull=False
    )
    incomes: dict[tuple[int, str], Decimal] = {}
    assets: dict[str, Decimal] = {}
    for finding in accepted.select_related("person"):
        mapped = next((m for m in ITEMS.values() if m and m[0] == finding.item), None)
        if mapped is None or finding.amount is None or finding.person_id is None:
            continue
        _, comparison, kinds = mapped
        if comparison == "income":
            key = (finding.person_id, kinds[0])
            incomes[key] = incomes.get(key, Decimal("0")) + finding.amount
        elif comparison == "assets":
            assets[kinds[0]] = assets.get(kinds[0], Decimal("0")) + finding.amount
    ended = day - timedelta(days=1)
    for (person_id, category), amount in incomes.items():
        IncomeItem.objects.filter(
            person_id=person_id, category=category, valid_until__isnull=True, valid_from__lte=ended
        ).update(valid_until=ended)
        IncomeItem.objects.create(
            person_id=person_id,
            category=category,
            monthly_amount=amount,
            counted=category not in EXCLUDED_INCOME,
            valid_from=day,
            source=source,
            note="依核对报告采信的部门数据",
            recorded_by=report.issued_by,
        )
    for kind, value in assets.items():
        Asset.objects.filter(
            household_id=request.household_id, kind=kind, valid_until__isnull=True, valid_from__lte=ended
        ).update(valid_until=ended)
        Asset.objects.create(
            household_id=request.household_id,
            kind=kind,
            value=value,
            description="依核对报告采信的部门数据",
            valid_from=day,
            source=source,
            recorded_by=report.issued_by,
        )
    return len(incomes) + len(assets)


# --- Contest and re-check -----------------------------------------------------------------------


@transaction.atomic
def finding_contest(*, actor: Staff, finding_id: int, statement: str, evidence: str) -> Finding:
    """The applicant contests a finding of an issued report, with their statement and evidence
    (recorded by the township or county): it will be checked again by `recheck_send`."""
    _require(actor, Perm.CASE_INVESTIGATE, "您没有登记核对异议的权限")
    finding = Finding.objects.select_for_update().select_related("request").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound("没有找到该核对发现")
    require_in_scope(actor, _scope(finding.request))
    if finding.request.status != RequestStatus.REPORTED:
        raise Conflict("只有已出具报告的核对结果可以提出异议")
    if not statement.strip() or not evidence.strip():
        raise InvalidInput(
            "请填写异议内容和证明材料",
            field_errors={
                **({"statement": ["必填"]} if not statement.strip() else {}),
                **({"evidence": ["必填"]} if not evidence.strip() else {}),
            },
        )
    finding.disposition = Disposition.CONTESTED
    finding.disposition_note = f"异议：{statement.strip()}；材料：{evidence.strip()}"[:300]
    finding.disposed_by = actor
    finding.disposed_at = timezone.now()
    finding.save(update_fields=["disposition", "disposition_note", "disposed_by", "disposed_at"])
    _audit(actor, "finding_contested", finding.request, finding=finding.pk)
    return finding


@transaction.atomic
def _create_recheck(actor: Staff, request_id: int) -> VerificationRequest:
    old = VerificationRequest.objects.select_for_update().filter(pk=request_id).first()
    if old is None:
        raise NotFound("没有找到该核对请求")
    require_in_scope(actor, _scope(old))
    if old.status != RequestStatus.REPORTED:
        raise Conflict("只有已出具报告的核对可以复核")
    contested = list(old.findings.filter(disposition=Disposition.CONTESTED).select_related("query"))
    if not contested:
        raise Conflict("没有提出异议的核对结果，无需复核")
    if hasattr(old, "superseded_by"):
        raise Conflict("该核对已在复核")
    today = timezone.localdate()
    days = int(policy_table().lookup(DAYS_PARAMETER, today, old.county, "urban").value)
    recheck = VerificationRequest.objects.create(
        case=old.case,
        household_id=old.household_id,
        county=old.county,
        transaction_id=uuid.uuid4().hex,
        as_of=today,
        supersedes=old,
        requested_by=actor,
    )
    DepartmentQuery.objects.bulk_create(
        DepartmentQuery(request=recheck, counterparty=code, due_on=add_working_days(today, days))
        for code in sorted({f.query.counterparty for f in contested})
    )
    _audit(actor, "recheck_created", recheck, supersedes=old.pk, contested=[f.pk for f in contested])
    return recheck


def recheck_send(*, actor: Staff, request_id: int, site: str) -> VerificationRequest:
    """Check the contested items again: a new request to the departments that gave them, about the
    members concerned only; its report supersedes the old one (both kept)."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请复核的权限")
    recheck = _create_recheck(actor, request_id)
    for query in recheck.queries.all():
        _send(recheck, query, site)
    _refresh_status(recheck.pk)
    recheck.refresh_from_db()
    return recheck
