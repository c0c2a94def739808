"""The monthly re-check of recipients against the department simulator (a real process): one request
file per department, result files verified and taken whole, hits against the declarations opening
re-review tasks (never a stop), bad files refused with nothing changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

import polars as pl
import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import Conflict, InvalidInput, OutOfScope, PermissionDenied
from minzheng.exchange.testing import DepartmentSimulator, wait_for
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import build_tree, make_staff
from minzheng.payments.models import Enrolment, EnrolmentStatus, ReviewTask
from minzheng.payments.testing import county_people, enrolled_household, wide_payroll_window
from minzheng.registry.circumstances import IncomeItem
from minzheng.registry.models import Household, Membership
from minzheng.verification import recheck
from minzheng.verification.models import (
    DepartmentQuery,
    QueryStatus,
    RecheckBatch,
    RecheckHit,
    RecheckSubject,
    RequestStatus,
)

pytestmark = pytest.mark.django_db(transaction=True)

VILLAGE = "640202001001"


@pytest.fixture
def people(transactional_db: None) -> dict[str, Staff]:
    build_tree()
    catalogue_load(actor=None)
    wide_payroll_window()
    return county_people("rc")


def this_month() -> date:
    return timezone.localdate().replace(day=1)


def due(enrolment: Enrolment) -> Enrolment:
    """The enrolment's re-review falls due this month."""
    Enrolment.objects.filter(pk=enrolment.pk).update(next_review=this_month())
    enrolment.refresh_from_db()
    return enrolment


def test_a_month_of_recipients_is_re_checked_with_every_department(
    people: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    from minzheng.exchange.models import Counterparty

    Counterparty.objects.update(active=False)  # enrolled before the county was connected
    due_one = due(enrolled_household(people, "到期户"))
    later = enrolled_household(people, "未到期户")  # reviewed a year from now: not in this month's batch
    Counterparty.objects.update(active=True)
    batch = recheck.batch_create(actor=people["county_reviewer"], county="640202", month=this_month())
    members = set(
        Membership.objects.filter(household_id=due_one.household_id).values_list("person_id", flat=True)
    )
    assert set(batch.subjects.values_list("person_id", flat=True)) == members
    assert (batch.households, batch.persons) == (1, len(members))
    assert later.household_id not in set(batch.subjects.values_list("household_id", flat=True))
    queries = {q.counterparty: q for q in batch.queries.all()}
    assert len(queries) == 8
    # Each department its own time limit: the banks 10 working days, the others 4.
    assert queries["bank"].due_on > queries["tax"].due_on

    with pytest.raises(Conflict):  # once per county and month
        recheck.batch_create(actor=people["county_reviewer"], county="640202", month=this_month())

    batch = recheck.batch_send(batch_id=batch.pk, actor=people["county_reviewer"])
    assert set(batch.queries.values_list("status", flat=True)) == {QueryStatus.ACKNOWLEDGED}
    # Every department got one file of the same persons, whichever way it answers single cases.
    files = department_simulator.state()["batches"]
    assert len([f for f in files if f["transaction_id"] == batch.transaction_id]) == 8

    from minzheng.verification import services

    for query_id in batch.queries.values_list("pk", flat=True):
        wait_for(partial(services.collect, query_id=query_id), timeout=30)
    batch.refresh_from_db()
    assert batch.status == RequestStatus.ANSWERED
    taken = DepartmentQuery.objects.filter(batch=batch)
    assert set(taken.values_list("status", flat=True)) == {QueryStatus.ANSWERED}
    assert sum(taken.values_list("records", flat=True)) > 0

    hits = RecheckHit.objects.filter(batch=batch)
    if hits.exists():  # the simulated departments hold something undeclared: the township re-reviews
        task = ReviewTask.objects.get(enrolment=due_one, kind="recheck", done_at__isnull=True)
        assert task.office_code == "640202001000"
    due_one.refresh_from_db()
    assert due_one.status == EnrolmentStatus.ACTIVE  # never a stop by itself


def subjects_frame(batch: RecheckBatch, rows: list[tuple[str, str, str, str, str, str]]) -> pl.DataFrame:
    """A result file as the exchange hands it over: text columns, empty fields as empty strings."""
    columns = ("reference_id", "id_number", "status", "category", "item_type", "amount")
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String()), orient="row")
    return frame.with_columns(
        pl.lit("").alias(c)
        for c in ("description", "quantity", "unit", "period_start", "period_end", "source_ref")
    )


def number_of(subject: RecheckSubject) -> str:
    from minzheng.core import protect

    return protect.decrypt(subject.person.id_encrypted)


def test_hits_are_what_differs_from_the_declaration(people: dict[str, Staff]) -> None:
    from minzheng.exchange.models import Counterparty, Mode

    enrolment = due(enrolled_household(people, "申报户"))
    Counterparty.objects.create(
        code="tax", name="税务局", base_url="http://127.0.0.1:9", mode=Mode.API, public_key_pem="x"
    )
    household = Household.objects.get(pk=enrolment.household_id)
    head, other = (m.person for m in Membership.objects.filter(household=household).order_by("person_id"))
    IncomeItem.objects.create(
        person=head,
        category="wages",
        monthly_amount=Decimal("800.00"),
        counted=True,
        valid_from=date(2020, 1, 1),
    )
    batch = recheck.batch_create(actor=people["county_reviewer"], county="640202", month=this_month())
    s_head = batch.subjects.get(person=head)
    s_other = batch.subjects.get(person=other)
    rows = [
        (str(s_head.pk), number_of(s_head), "found", "tax_income", "wage", "800.00"),  # as declared
        (str(s_other.pk), number_of(s_other), "found", "tax_income", "wage", "1200.50"),  # undeclared
        (str(s_other.pk), number_of(s_other), "found", "tax_income", "wage", "0.50"),
    ]
    query = DepartmentQuery.objects.get(batch=batch, counterparty="tax")
    with transaction.atomic():
        taken = recheck.take_file(query, subjects_frame(batch, rows))
    assert (taken.records, taken.hits, taken.tasks) == (3, 1, 1)
    assert list(RecheckHit.objects.values_list("subject_id", "item", "amount", "records", "declared")) == [
        (s_other.pk, "wage_income", Decimal("1201.00"), 2, Decimal("0.00"))
    ]
    assert ReviewTask.objects.filter(enrolment=enrolment, kind="recheck", done_at__isnull=True).count() == 1
    query.refresh_from_db()
    assert (query.status, query.records) == (QueryStatus.ANSWERED, 3)

    # The township's re-review shows what was found, and decides; the benefit is still paid.
    task = ReviewTask.objects.get(enrolment=enrolment, kind="recheck")
    client = Client()
    client.force_login(people["reviewer"])
    page = client.get(reverse("web:payment_review", args=[task.pk])).content.decode()
    assert 'data-testid="review-hits"' in page
    assert "1201.00" in page
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ACTIVE


def test_a_file_that_names_someone_not_asked_or_the_wrong_number_changes_nothing(
    people: dict[str, Staff],
) -> None:
    from minzheng.exchange.models import Counterparty, Mode
    from minzheng.registry.testing import resident_id

    due(enrolled_household(people, "错号户"))
    Counterparty.objects.create(
        code="tax", name="税务局", base_url="http://127.0.0.1:9", mode=Mode.API, public_key_pem="x"
    )
    batch = recheck.batch_create(actor=people["county_reviewer"], county="640202", month=this_month())
    subject = batch.subjects.first()
    assert subject is not None
    query = DepartmentQuery.objects.get(batch=batch, counterparty="tax")
    stranger = [("999999999", number_of(subject), "found", "tax_income", "wage", "100")]
    with pytest.raises(InvalidInput, match="未查询的人员"), transaction.atomic():
        recheck.take_file(query, subjects_frame(batch, stranger))
    wrong = [(str(subject.pk), resident_id("640202", date(1970, 1, 1)), "found", "tax_income", "wage", "100")]
    with pytest.raises(InvalidInput, match="不符"), transaction.atomic():
        recheck.take_file(query, subjects_frame(batch, wrong))
    assert not RecheckHit.objects.exists()
    assert not ReviewTask.objects.filter(kind="recheck").exists()
    query.refresh_from_db()
    assert query.status == QueryStatus.QUEUED


def test_only_county_reviewers_in_scope_create_a_batch(people: dict[str, Staff]) -> None:
    with pytest.raises(PermissionDenied):
        recheck.batch_create(actor=people["clerk"], county="640202", month=this_month())
    other = make_staff("rc_other", "640205000000", [Role.COUNTY_REVIEWER])
    with pytest.raises(OutOfScope):
        recheck.batch_create(actor=other, county="640202", month=this_month())
    with pytest.raises(InvalidInput):
        recheck.batch_create(actor=people["county_reviewer"], county="6402", month=this_month())
    assert not RecheckBatch.objects.exists()
