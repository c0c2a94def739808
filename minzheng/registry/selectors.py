"""Reads for the household registry, always within the actor's jurisdiction."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from minzheng.core import protect
from minzheng.core.errors import OutOfScope
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff
from minzheng.org.scope import require, scoped
from minzheng.registry.models import Household, Membership, Person


def household_list(*, actor: Staff, search: str = "", division_code: str = "") -> QuerySet[Household]:
    require(actor, Perm.HOUSEHOLD_VIEW)
    qs = scoped(Household.objects.all(), actor).select_related("division", "head")
    if division_code:
        qs = qs.filter(division__code__startswith=division_code)
    search = search.strip()
    if search:
        qs = qs.filter(_household_search(search))
    return qs.annotate(
        member_count=Count("memberships", filter=Q(memberships__end_date__isnull=True))
    ).order_by("number")


def _household_search(term: str) -> Q:
    try:
        rid = parse_resident_id(term)
    except InvalidIdentifier:
        if term.isdigit() and len(term) >= 12:
            return Q(number__startswith=term)
        return Q(memberships__person__name=term, memberships__end_date__isnull=True) | Q(number=term)
    return Q(
        memberships__person__id_digest=protect.lookup_digest(rid.number), memberships__end_date__isnull=True
    )


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
