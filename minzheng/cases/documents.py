"""The written decisions of a case — 审批决定书 (approval) and 不予批准告知书 (refusal) — as content:
built once here, printed by the web page and returned by the API, so both say the same. Read-only.

A written decision tells the applicant what was decided, by which organ, on what legal basis, and how
to challenge it: administrative reconsideration before the county people's government or a lawsuit
before the county people's court, each within its statutory time limit. An approval states the amount
and how it was reached (the stored calculation: line items, the conditions checked, the standards
used); a refusal states its reasons (《社会救助暂行办法》第十一条: 不予批准的，书面说明理由).

The stored calculation names members by registry person id ("成员123"); here every such reference
becomes the person's name. ID numbers never appear, and parameters appear by their description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from minzheng.cases import selectors
from minzheng.cases.models import Case, Decision, Outcome
from minzheng.core.errors import NotFound
from minzheng.org.models import Division, DivisionKind, Staff
from minzheng.org.scope import scoped
from minzheng.registry.models import Person
from minzheng.rules.policy import PolicyError, parameter_specs

# --- Remedies: statutory and national, the same for every county ----------------------------------

# 《中华人民共和国行政复议法》（2023年修订）第二十条第一款: an application for reconsideration within
# sixty days of knowing of the act.
RECONSIDERATION_DAYS = 60
# 第二十四条: the county-level people's government hears reconsideration of its departments' acts (the
# civil-affairs bureau), of township governments' acts and of its street offices' (派出机关) acts.
RECONSIDERATION_BASIS = "《中华人民共和国行政复议法》（2023年修订）第二十条、第二十四条"
# 《中华人民共和国行政诉讼法》第四十六条第一款: a lawsuit brought directly within six months of knowing
# of the act; 第十八条: before the court where the organ that acted is located.
LITIGATION_MONTHS = 6
LITIGATION_BASIS = "《中华人民共和国行政诉讼法》第四十六条"

DOCUMENTS = ("decision", "refusal")  # the written decisions; the decision's outcome says which exists
_OUTCOME_OF = {"decision": Outcome.APPROVED, "refusal": Outcome.REFUSED}

# How the rules engine names a member in its texts ("成员123的工资性收入", "成员123：65周岁"); a count
# ("成员2人") is not a reference.
_MEMBER_REF = re.compile(r"成员(\d+)(?![\d人名户个位])")
_DIGITS = "零一二三四五六七八九"


# --- Content ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentLine:
    """One line of the calculation: what, how much (yuan, as decided), how it was reached, for whom."""

    label: str
    amount: str
    explanation: str
    member: str  # the member's name; "" for the household as a whole


@dataclass(frozen=True)
class DocumentFinding:
    """A condition the calculation checked, as found."""

    text: str
    met: bool
    member: str


@dataclass(frozen=True)
class DocumentStandard:
    """A standard the calculation used, by its description (never its internal name)."""

    description: str
    value: str
    unit: str
    effective_from: date | None
    reference: str


@dataclass(frozen=True)
class Remedies:
    """The applicant's remedies: to whom and within which time limit, with the law that says so."""

    statement: str
    reconsideration_body: str
    reconsideration_days: int
    reconsideration_basis: str
    court: str
    litigation_months: int
    litigation_basis: str


@dataclass(frozen=True)
class CaseDocument:
    document: str  # "decision" or "refusal"
    title: str
    case_id: int
    case_number: str
    applicant_name: str
    item_name: str
    submitted_on: date
    county_name: str
    township_name: str
    deciding_organ: str
    decided_on: date
    opening: str
    reasons: str
    amount: Decimal | None
    period: str  # "month", "once" or ""
    amount_text: str
    start_month: date | None
    amount_summary: str
    payment: str
    lines: tuple[DocumentLine, ...]
    findings: tuple[DocumentFinding, ...]
    standards: tuple[DocumentStandard, ...]
    rounding: str
    legal_basis: tuple[str, ...]
    remedies: Remedies
    notice_due: date | None
    closing: str


# --- Reads --------------------------------------------------------------------------------------------


def case_document(*, actor: Staff, case_id: int, document: str) -> CaseDocument:
    """The document of a case in the actor's scope; NotFound when the case has no such document."""
    case = selectors.case_get(actor=actor, case_id=case_id)
    return document_for(actor=actor, case=case, document=document)


def document_exists(case: Case, document: str) -> bool:
    decision = _decision(case)
    return document in _OUTCOME_OF and decision is not None and decision.outcome == _OUTCOME_OF[document]


def document_for(*, actor: Staff, case: Case, document: str) -> CaseDocument:
    """The document of `case` (already read through the scoped selector)."""
    decision = _decision(case)
    if decision is None or not document_exists(case, document):
        raise NotFound(_("该申请暂无此文书"))
    divisions = {
        code: (name, kind)
        for code, name, kind in Division.objects.filter(
            code__in=(_county_code(case), _township_code(case))
        ).values_list("code", "name", "kind")
    }
    county = divisions.get(_county_code(case), ("", ""))[0]
    township, township_kind = divisions.get(_township_code(case), ("", ""))
    result: Mapping[str, Any] = decision.calculation.result if decision.calculation_id else {}  # type: ignore[union-attr]
    members = _member_names(actor=actor, case=case, decision=decision, result=result)
    approved = document == "decision"
    submitted_on = timezone.localtime(case.submitted_at).date()
    decided_on = timezone.localtime(decision.decided_at).date()
    period = decision.period if approved else ""
    amount = decision.amount if approved else None
    return CaseDocument(
        document=document,
        title=_("审批决定书") if approved else _("不予批准告知书"),
        case_id=case.pk,
        case_number=case.number,
        applicant_name=case.applicant_name,
        item_name=case.item.name,
        submitted_on=submitted_on,
        county_name=county,
        township_name=township,
        deciding_organ=_deciding_organ(decision, county, township, township_kind),
        decided_on=decided_on,
        opening=(
            _("您于%(date)s提出的%(item)s申请，经调查核实、审核，决定予以批准。")
            if approved
            else _("您于%(date)s提出的%(item)s申请，经调查核实和审核，决定不予批准。理由如下：")
        )
        % {"date": date_format(submitted_on), "item": case.item.name},
        reasons=_named(decision.reasons, members),
        amount=amount,
        period=period,
        amount_text=_amount_text(amount, period) if amount is not None else "",
        start_month=decision.start_month if approved else None,
        amount_summary=_amount_summary(amount, period, decision.start_month) if amount is not None else "",
        payment=_payment(period) if approved else "",
        lines=tuple(
            DocumentLine(
                label=str(line.get("label", "")),
                amount=str(line.get("amount", "")),
                explanation=_named(str(line.get("explanation", "")), members),
                member=_member(line.get("member"), members),
            )
            for line in result.get("lines", [])
        ),
        findings=tuple(
            DocumentFinding(
                text=_named(str(reason.get("text", "")), members),
                met=bool(reason.get("met")),
                member=_member(reason.get("member"), members),
            )
            for reason in result.get("reasons", [])
        ),
        standards=tuple(_standard(p) for p in result.get("parameters", [])),
        rounding=str(result.get("rounding", "")),
        legal_basis=tuple(line.strip() for line in case.item.legal_basis.splitlines() if line.strip()),
        remedies=remedies(county=county, document=document),
        notice_due=decision.notice_due if not approved else None,
        closing="" if approved else _("家庭经济状况等情况发生变化、符合条件的，可以重新提出申请。"),
    )


def remedies(*, county: str, document: str = "decision") -> Remedies:
    """The rights statement (复议、诉讼权利告知): the county's government and court, the statutory limits."""
    body = _("%(county)s人民政府") % {"county": county}
    court = _("%(county)s人民法院") % {"county": county}
    statement = _(
        "如对本决定不服，可以自收到本%(paper)s之日起%(days)s日内向%(body)s申请行政复议，"
        "或者在%(months)s个月内直接向%(court)s提起行政诉讼。"
    ) % {
        "paper": _("决定书") if document == "decision" else _("告知书"),
        "days": _count(RECONSIDERATION_DAYS),
        "body": body,
        "months": _count(LITIGATION_MONTHS),
        "court": court,
    }
    return Remedies(
        statement=statement,
        reconsideration_body=body,
        reconsideration_days=RECONSIDERATION_DAYS,
        reconsideration_basis=RECONSIDERATION_BASIS,
        court=court,
        litigation_months=LITIGATION_MONTHS,
        litigation_basis=LITIGATION_BASIS,
    )


# --- Helpers ------------------------------------------------------------------------------------------


def _decision(case: Case) -> Decision | None:
    try:
        return case.decision
    except Decision.DoesNotExist:
        return None


def _county_code(case: Case) -> str:
    return case.division_id[:6] + "000000"


def _township_code(case: Case) -> str:
    return case.division_id[:9] + "000"


def _deciding_organ(decision: Decision, county: str, township: str, township_kind: str) -> str:
    """County decisions are the civil-affairs bureau's; delegated ones the township government's or,
    for a street, its office's (街道办事处)."""
    if decision.level == "township":
        if township_kind == DivisionKind.STREET:
            return _("%(township)s办事处") % {"township": township}
        return _("%(township)s人民政府") % {"township": township}
    return _("%(county)s民政局") % {"county": county}


def _member_names(
    *, actor: Staff, case: Case, decision: Decision, result: Mapping[str, Any]
) -> dict[str, str]:
    """Member id (as the calculation stored it) -> what the document calls them: the name of the
    person of the case's household, in the actor's scope; otherwise their place in the household."""
    facts_members = [str(m.get("id", "")) for m in result.get("facts", {}).get("members", [])]
    ids = set(facts_members)
    ids.update(
        str(x["member"]) for x in (*result.get("lines", []), *result.get("reasons", [])) if x.get("member")
    )
    household_id = (
        decision.calculation.household_id  # type: ignore[union-attr]
        if decision.calculation_id and decision.calculation.household_id  # type: ignore[union-attr]
        else case.household_id
    )
    names: dict[str, str] = {}
    numeric = [int(i) for i in ids if i.isdigit()]
    if numeric and household_id is not None:
        persons = scoped(Person.objects.all(), actor).filter(
            pk__in=numeric, memberships__household_id=household_id
        )
        names = {str(pk): name for pk, name in persons.values_list("pk", "name").distinct()}
    for position, member_id in enumerate(facts_members, start=1):
        names.setdefault(member_id, _("第%(n)s名家庭成员") % {"n": position})
    for member_id in ids:
        names.setdefault(member_id, _("其他家庭成员"))
    return names


def _named(text: str, members: Mapping[str, str]) -> str:
    """The engine's "成员<id>" references replaced by the member's name."""
    return _MEMBER_REF.sub(lambda m: members.get(m.group(1), m.group(0)), text)


def _member(member_id: object, members: Mapping[str, str]) -> str:
    return members.get(str(member_id), "") if member_id else ""


def _standard(parameter: Mapping[str, Any]) -> DocumentStandard:
    spec = parameter_specs().get(str(parameter.get("name", "")))
    raw = str(parameter.get("value", ""))
    value = raw
    if spec is not None and spec.kind == "choice":
        value = _(spec.choices[raw]) if raw in spec.choices else raw
    elif spec is not None and spec.kind == "boolean":
        value = _("是") if raw == "true" else _("否")
    elif spec is not None and spec.kind == "table":
        try:
            value = _table_text(spec.parse(raw), spec.columns)
        except PolicyError:  # a stored value older than the table's present columns: shown as kept
            value = raw
    effective = parameter.get("effective_from")
    description = str(parameter.get("description") or (spec.description if spec else ""))
    return DocumentStandard(
        description=_(description) if description else "",
        value=value,
        unit=str(parameter.get("unit", "")),
        effective_from=date.fromisoformat(effective) if effective else None,
        reference=str(parameter.get("reference", "")),
    )


def _table_text(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str:
    # The description names the columns (e.g. "年满 from_age 周岁按 amount 元"), so rows keep them.
    cols = list(columns)
    return "；".join("，".join(f"{c} {row[c]}" for c in cols) for row in rows)


def _count(n: int) -> str:
    """A small count as the language writes it in a legal text: 六十 in Chinese, 60 otherwise."""
    if not (get_language() or "zh").startswith("zh") or not 0 < n < 100:
        return str(n)
    tens, units = divmod(n, 10)
    text = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return text + (_DIGITS[units] if units else "")


def _amount_text(amount: Decimal, period: str) -> str:
    if period == "month":
        return _("%(amount)s元/月") % {"amount": amount}
    if period == "once":
        return _("%(amount)s元（一次性）") % {"amount": amount}
    return _("%(amount)s元") % {"amount": amount}


def _amount_summary(amount: Decimal, period: str, start_month: date | None) -> str:
    if period == "month" and start_month is not None:
        return _("核定每月发放%(amount)s元，自%(month)s起按月发放。") % {
            "amount": amount,
            "month": date_format(start_month, "YEAR_MONTH_FORMAT"),
        }
    if period == "once":
        return _("核定一次性发放%(amount)s元。") % {"amount": amount}
    return _("核定金额%(amount)s元。") % {"amount": amount}


def _payment(period: str) -> str:
    if period == "month":
        return _(
            "保障金按月发放至您的社会保障卡或银行账户。家庭人口、收入、财产状况发生变化的，"
            "请及时告知村（社区）或乡镇（街道），将按规定定期复核。"
        )
    # 民发〔2018〕23号: temporary assistance paid in full, socially (to the person's own account).
    return _("救助金一次性足额发放，直接支付至您本人的社会保障卡或银行账户。")
