"""The audit trail: written with the change, hash-chained, and tampering is found."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction

from minzheng.core.audit import audit_record, verify_chain
from minzheng.core.models import AuditChainHead, AuditEvent
from minzheng.core.tests.tamper import as_audit_owner, tamper

pytestmark = pytest.mark.django_db


def _record(n: int) -> list[AuditEvent]:
    events = []
    for i in range(n):
        with transaction.atomic():
            events.append(
                audit_record(
                    actor=None,
                    action="test.change",
                    object_type="test.thing",
                    object_id=i,
                    reason=f"原因{i}",
                    before={"amount": "650.00"},
                    after={"amount": f"{700 + i}.00"},
                )
            )
    return events


def _raw(sql: str, params: list[Any]) -> None:
    """Tamper as someone with the audit owner's rights would, past the append-only guard."""
    tamper(sql, params)


def test_events_chain_in_sequence() -> None:
    events = _record(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash) == (3, events[2].hash)
    assert verify_chain().ok
    assert verify_chain().checked == 3


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=None, action="test.change")


def _change_that_fails() -> None:
    with transaction.atomic():
        audit_record(actor=None, action="test.change")
        raise ZeroDivisionError


def test_event_rolls_back_with_the_change() -> None:
    with pytest.raises(ZeroDivisionError):
        _change_that_fails()
    assert AuditEvent.objects.count() == 0
    assert AuditChainHead.objects.get().last_seq == 0


def test_model_refuses_update_and_delete() -> None:
    event = _record(1)[0]
    event.reason = "改过"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


@pytest.mark.postgresql
@pytest.mark.parametrize("sql", ["UPDATE core_auditevent SET reason = 'x'", "DELETE FROM core_auditevent"])
def test_postgresql_trigger_refuses_even_the_audit_owner(sql: str) -> None:
    """The app's own role may not even try (test_audit_storage); the owner is stopped by the trigger."""
    _record(1)
    with (
        as_audit_owner(trigger_off=False) as cursor,
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
    ):
        cursor.execute(sql)


def test_altered_row_is_reported() -> None:
    _record(5)
    _raw("UPDATE core_auditevent SET after = %s WHERE seq = 3", ['{"amount": "9999.00"}'])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (3, "altered")


def test_altered_row_with_recomputed_hash_is_reported_as_break_in_chain() -> None:
    from minzheng.core.audit import event_hash

    _record(5)
    forged = AuditEvent.objects.get(seq=2)
    forged.reason = "伪造"
    new_hash = event_hash(forged)
    _raw("UPDATE core_auditevent SET reason = %s, hash = %s WHERE seq = 2", ["伪造", new_hash])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (3, "inserted")


def test_deleted_row_is_reported() -> None:
    _record(5)
    _raw("DELETE FROM core_auditevent WHERE seq = 4", [])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (4, "deleted")


def test_deleted_tail_is_reported() -> None:
    _record(5)
    _raw("DELETE FROM core_auditevent WHERE seq = 5", [])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (5, "deleted")


def test_inserted_row_is_reported() -> None:
    events = _record(3)
    # Move the last row up and slip a forged one in its place.
    _raw("UPDATE core_auditevent SET seq = 4 WHERE seq = 3", [])
    _raw(
        "INSERT INTO core_auditevent (seq, at, actor_username, office_code, action, object_type, object_id,"
        " scope_code, reason, prev_hash, hash) VALUES (3, %s, 'x', '', 'test.change', '', '', '', '', %s, %s)",
        [events[2].at, events[1].hash, "f" * 64],
    )
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (3, "altered")


def test_verify_command_reports_first_tampered_row() -> None:
    _record(3)
    call_command("verify_audit_chain")
    _raw("UPDATE core_auditevent SET reason = %s WHERE seq = 2", ["改过"])
    with pytest.raises(CommandError, match="第 2 号记录 \\[altered\\]"):
        call_command("verify_audit_chain")


def test_missing_head_starts_a_chain_only_when_there_are_no_events() -> None:
    _raw("DELETE FROM core_auditchainhead", [])
    first = _record(1)[0]
    assert (first.seq, first.prev_hash) == (1, "0" * 64)
    _raw("DELETE FROM core_auditchainhead", [])
    report = verify_chain()
    assert report.problem is not None
    assert report.problem.kind == "head"
    with pytest.raises(RuntimeError, match="head is missing"), transaction.atomic():
        audit_record(actor=None, action="test.change")
