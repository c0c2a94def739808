"""A department asks a served person's assistance status: statuses only, within its jurisdiction,
with a purpose, recorded and audited; nobody outside it can be told apart from nobody at all."""

from __future__ import annotations

import pytest
from django.utils import timezone

from minzheng.core.errors import InvalidInput, PermissionDenied
from minzheng.core.models import AuditEvent
from minzheng.inquiries import selectors
from minzheng.inquiries.models import StatusInquiry
from minzheng.inquiries.services import NO_STATUS, status_inquire
from minzheng.inquiries.testing import Served
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.testing import resident_id

PURPOSE = "困难残疾人生活补贴资格审核"


def ask(actor: Staff, id_number: str, purpose: str = PURPOSE) -> list[tuple[str, str]]:
    result = status_inquire(actor=actor, id_number=id_number, purpose=purpose, on=timezone.localdate())
    return [(s.status, s.subject) for s in result.statuses]


def test_the_person_and_household_statuses_are_answered_and_nothing_else(
    served: Served, federation: Staff
) -> None:
    result = status_inquire(
        actor=federation,
        id_number=served.id_number(served.child),
        purpose=PURPOSE,
        on=timezone.localdate(),
    )
    assert sorted((s.status, s.subject) for s in result.statuses) == [
        ("dibao", "household"),
        ("severely_disabled", "person"),
    ]
    assert result.message == ""
    dibao = next(s for s in result.statuses if s.status == "dibao")
    assert dibao.label == "最低生活保障家庭"
    assert dibao.valid_from is not None
    # The head's own answer has the household's dibao but not the child's disability.
    assert ask(federation, served.id_number(served.head)) == [("dibao", "household")]


def test_every_inquiry_is_recorded_with_a_digest_and_audited(served: Served, federation: Staff) -> None:
    number = served.id_number(served.child)
    ask(federation, number)
    inquiry = StatusInquiry.objects.get()
    assert (inquiry.asked_by, inquiry.purpose, inquiry.result_count) == (federation, PURPOSE, 2)
    assert inquiry.department == "disability_federation"
    assert inquiry.scope_code == "640202000000"
    assert inquiry.id_digest == served.child.id_digest
    assert number not in str(StatusInquiry.objects.values().get())
    event = AuditEvent.objects.get(action="inquiry.status")
    assert (event.actor_id, event.reason, event.object_id) == (federation.pk, PURPOSE, str(inquiry.pk))
    assert number not in str(event.after)
    assert list(selectors.status_inquiries(actor=federation)) == [inquiry]


def test_outside_the_jurisdiction_unknown_and_no_status_answer_alike(
    served: Served, federation: Staff
) -> None:
    elsewhere = served.id_number(served.elsewhere.head)  # type: ignore[arg-type]
    unknown = resident_id("640202")
    for number in (elsewhere, unknown):
        result = status_inquire(actor=federation, id_number=number, purpose=PURPOSE, on=timezone.localdate())
        assert result.statuses == []
        assert result.message == NO_STATUS
    assert list(StatusInquiry.objects.values_list("result_count", flat=True)) == [0, 0]


def test_a_purpose_and_a_valid_id_number_are_required(served: Served, federation: Staff) -> None:
    with pytest.raises(InvalidInput) as purpose_missing:
        ask(federation, served.id_number(served.child), purpose="  查 ")
    assert "purpose" in purpose_missing.value.field_errors
    with pytest.raises(InvalidInput) as bad_number:
        ask(federation, "640202199001011234")
    assert "id_number" in bad_number.value.field_errors
    assert not StatusInquiry.objects.exists()


def test_only_accounts_with_the_permission_may_ask(served: Served) -> None:
    clerk = make_staff("asker", "640202001000", [Role.TOWNSHIP_CLERK])
    with pytest.raises(PermissionDenied):
        ask(clerk, served.id_number(served.child))
    with pytest.raises(PermissionDenied):
        selectors.status_inquiries(actor=clerk)
    assert not StatusInquiry.objects.exists()


def test_an_auditor_sees_the_inquiries_asked_in_its_jurisdiction(served: Served, federation: Staff) -> None:
    ask(federation, served.id_number(served.child))
    here = make_staff("auditor_here", "640202000000", [Role.AUDITOR])
    there = make_staff("auditor_there", "640205000000", [Role.AUDITOR])
    assert selectors.status_inquiries(actor=here).count() == 1
    assert selectors.status_inquiries(actor=there).count() == 0


def test_an_account_may_ask_about_so_many_persons_a_day(
    served: Served, federation: Staff, settings: object
) -> None:
    from datetime import timedelta

    from minzheng.core.errors import TooManyRequests

    settings.MINZHENG_STATUS_INQUIRY_DAILY_LIMIT = 2  # type: ignore[attr-defined]
    number = served.id_number(served.child)
    ask(federation, number)
    ask(federation, number)
    with pytest.raises(TooManyRequests) as refused:
        ask(federation, number)
    assert "达到上限（2次）" in refused.value.message
    assert StatusInquiry.objects.count() == 2  # the refused one is not answered, not recorded
    # A day later the oldest has aged out of the window.
    StatusInquiry.objects.update(asked_at=timezone.now() - timedelta(hours=25))
    assert ask(federation, number)
