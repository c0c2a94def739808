"""Reads for the household registry, always within the actor's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from minzheng.core import protect
from minzheng.core.errors import OutOfScope
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require, scoped
from minzheng.registry.circumstances import ALL_KINDS, PERSON_KINDS, DatedRecord
from minzheng.registry.models import Household, Membership, Person


def household_list(*, actor: Staff, search: str = "", division_code: str = "") -> QuerySet[Household]:
    require(actor, Perm.HOUSEHOLD_VIEW)
    qs = scoped(Household.objects.all(), actor).select_related("division", "head")
    if division_code:
        qs = qs.filter(division__code__startswith=division_code)
    search = search.strip()
    if search:
        qs = qs.filter(_household_search(search))
    # A correlated subquery, not a JOIN + GROUP BY: the page's LIMIT applies before members are
    # counted, and count() of the list drops it.
    members = (
        Membership.objects.filter(household=OuterRef("pk"), end_date__isnull=True)
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(member_count=Coalesce(Subquery(members), 0)).order_by("number")


def _members_matching(**person_filter: object) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(end_date__isnull=True, **person_filter).values("household_id")


def _household_search(term: str) -> Q:
    try:
        rid = parse_resident_id(term)
    except InvalidIdentifier:
        if term.isdigit() and len(term) >= 12:
            return Q(number__startswith=term)
        return Q(pk__in=_members_matching(person__name=term)) | Q(number=term)
    return Q(pk__in=_members_matching(person__id_digest=protect.lookup_digest(rid.number)))


def household_get(*, actor: Staff, pk: int) -> Household:
    require(actor, Perm.HOUSEHOLD_VIEW)
    household = (
        scoped(Household.objects.all(), actor)
        .select_related("division__parent", "head")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(end_date__isnull=True)
                .select_related("person")
                .order_by("pk"),
                to_attr="current_memberships",
            )
        )
        .filter(pk=pk)
        .first()
    )
    if household is None:
        raise OutOfScope()
    return household


def person_list(*, actor: Staff, search: str = "") -> QuerySet[Person]:
    require(actor, Perm.HOUSEHOLD_VIEW)
    qs = scoped(Person.objects.all(), actor)
    search = search.strip()
    if search:
        try:
            rid = parse_resident_id(search)
        except InvalidIdentifier:
            qs = qs.filter(name=search)
        else:
            qs = qs.filter(id_digest=protect.lookup_digest(rid.number))
    return qs.order_by("name", "pk")


def person_get(*, actor: Staff, pk: int) -> Person:
    person = person_list(actor=actor).filter(pk=pk).first()
    if person is None:
        raise OutOfScope()
    return person


def household_count(*, actor: Staff) -> int:
    require(actor, Perm.HOUSEHOLD_VIEW)
    return scoped(Household.objects.all(), actor).count()


@dataclass(frozen=True)
class CircumstanceRow:
    kind: str
    kind_label: str
    record: DatedRecord
    subject_name: str

    @property
    def summary(self) -> str:
        return str(self.record)


def household_circumstances(
    *, actor: Staff, household: Household, as_of: date | None = None
) -> list[CircumstanceRow]:
    """Every circumstance of the household and its current members, optionally only those in
    force on `as_of`; newest first. The household must come from household_get (scope-checked)."""
    require(actor, Perm.HOUSEHOLD_VIEW)
    members = {
        m.person_id: m.person.name
        for m in Membership.objects.filter(household=household, end_date__isnull=True).select_related(
            "person"
        )
    }
    rows: list[CircumstanceRow] = []
    for kind, model in ALL_KINDS.items():
        if kind in PERSON_KINDS:
            qs = model.objects.filter(person_id__in=members)  # type: ignore[attr-defined]
        else:
            qs = model.objects.filter(household=household)  # type: ignore[attr-defined]
        if as_of is not None:
            qs = qs.filter(valid_from__lte=as_of).filter(
                Q(valid_until__isnull=True) | Q(valid_until__gte=as_of)
            )
        for record in qs:
            name = members.get(record.person_id, "") if kind in PERSON_KINDS else "全户"
            rows.append(CircumstanceRow(kind, str(model._meta.verbose_name), record, name))
    rows.sort(key=lambda r: (r.record.valid_from, r.record.pk), reverse=True)
    return rows


def circumstance_get(*, actor: Staff, kind: str, pk: int) -> DatedRecord:
    require(actor, Perm.HOUSEHOLD_VIEW)
    if kind not in ALL_KINDS:
        raise OutOfScope()
    model = ALL_KINDS[kind]
    prefix = jurisdiction_of(actor).prefix
    field = "person__division__code" if kind in PERSON_KINDS else "household__division__code"
    record = model.objects.filter(pk=pk, **{f"{field}__startswith": prefix}).first()  # type: ignore[attr-defined]
    if record is None:
        raise OutOfScope()
    return record  # type: ignore[no-any-return]


@dataclass(frozen=True)
class DuplicateGroup:
    name: str
    birth_date: date
    persons: list[Person]


def likely_duplicates(*, actor: Staff, limit: int = 200) -> list[DuplicateGroup]:
    """Different ID numbers, same name and birth date, within the jurisdiction: often one person
    registered twice with a mistyped or old 15-digit number. Listed for staff to review. One
    grouped query finds the keys, one more fetches the people."""
    require(actor, Perm.HOUSEHOLD_VIEW)
    keys = list(
        scoped(Person.objects.all(), actor)
        .values("name", "birth_date")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("name", "birth_date")[:limit]
    )
    if not keys:
        return []
    match = Q()
    for key in keys:
        match |= Q(name=key["name"], birth_date=key["birth_date"])
    people = (
        scoped(Person.objects.filter(match), actor)
        .select_related("division")
        .order_by("name", "birth_date", "pk")
    )
    groups: dict[tuple[str, date], list[Person]] = {}
    for person in people:
        groups.setdefault((person.name, person.birth_date), []).append(person)
    return [DuplicateGroup(name, born, members) for (name, born), members in groups.items()]
