"""Reading the registry as calculation input (temporary single-household reader; the set-based
population reader for the bulk engine replaces this module)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Q

from minzheng.core.errors import InvalidInput
from minzheng.registry.circumstances import (
    Asset,
    Disability,
    Illness,
    IncomeItem,
    LabourCapacity,
    RigidExpense,
    Schooling,
    SelfCareAssessment,
)
from minzheng.registry.models import Household, Membership
from minzheng.rules.facts import HouseholdFacts

FINANCIAL_ASSETS = ("deposit", "securities")


def _in_force(day: date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_until__isnull=True) | Q(valid_until__gte=day))


def household_facts(household: Household, day: date) -> HouseholdFacts:
    members = list(
        Membership.objects.filter(household=household, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("person")
        .order_by("pk")
    )
    if not members:
        raise InvalidInput(
            f"该家庭在{day:%Y年%m月%d日}没有登记在册的成员",
            field_errors={"date": ["测算日期早于家庭成员登记日期"]},
        )
    ids = [m.person_id for m in members]
    by_person: dict[int, dict[str, object]] = {pid: {"incomes": []} for pid in ids}
    for d in Disability.objects.filter(_in_force(day), person_id__in=ids).order_by("grade"):
        by_person[d.person_id].setdefault("disability", {"category": d.category, "grade": d.grade})
    for i in Illness.objects.filter(_in_force(day), person_id__in=ids, is_listed_serious=True):
        by_person[i.person_id]["serious_illness"] = True
    for lc in LabourCapacity.objects.filter(_in_force(day), person_id__in=ids):
        by_person[lc.person_id]["labour_capacity"] = lc.level
    for sc in SelfCareAssessment.objects.filter(_in_force(day), person_id__in=ids):
        by_person[sc.person_id]["self_care"] = sc.level
    for s in Schooling.objects.filter(_in_force(day), person_id__in=ids, full_time=True):
        by_person[s.person_id]["in_school_full_time"] = True
    for inc in IncomeItem.objects.filter(_in_force(day), person_id__in=ids):
        by_person[inc.person_id]["incomes"].append(  # type: ignore[attr-defined]
            {"category": inc.category, "monthly_amount": str(inc.monthly_amount)}
        )
    assets = sum(
        (
            a.value
            for a in Asset.objects.filter(_in_force(day), household=household, kind__in=FINANCIAL_ASSETS)
        ),
        Decimal("0"),
    )
    rigid = sum(
        (r.monthly_amount for r in RigidExpense.objects.filter(_in_force(day), household=household)),
        Decimal("0"),
    )
    return HouseholdFacts.model_validate(
        {
            "region": household.division_id,
            "area": household.area,
            "date": day,
            "members": [
                {"id": str(m.person_id), "birth_date": m.person.birth_date, **by_person[m.person_id]}
                for m in members
            ],
            "rigid_expenses": rigid,
            "financial_assets": assets,
        }
    )
