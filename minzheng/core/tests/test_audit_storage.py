"""On PostgreSQL the application's own connection cannot rewrite the audit trail (migration core
0003 gives the tables to `<app role>_audit_owner`; .ci/run lets the test role do that handover)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from minzheng.core.audit import audit_record, verify_chain
from minzheng.core.audit_storage import audit_protection
from minzheng.core.models import AuditEvent
from minzheng.core.tests.tamper import audit_owner

pytestmark = pytest.mark.django_db


def _one_event() -> AuditEvent:
    with transaction.atomic():
        return audit_record(actor=None, action="test.change", after={"amount": "650.00"})


def _refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(caught.value)


@pytest.mark.postgresql
def test_audit_tables_belong_to_the_audit_owner_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
    assert audit_owner() == f"{me}_audit_owner"
    protection = audit_protection()
    assert protection.enforced, protection.risks
    assert protection.owner == f"{me}_audit_owner"


@pytest.mark.postgresql
def test_app_connection_still_appends_and_reads() -> None:
    event = _one_event()
    assert AuditEvent.objects.get(seq=event.seq).hash == event.hash
    assert verify_chain().ok


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE core_auditevent SET after = \'{"amount": "65000.00"}\'',
        "DELETE FROM core_auditevent",
        "TRUNCATE core_auditevent",
        "TRUNCATE core_auditevent CASCADE",
        "DELETE FROM core_auditchainhead",
        "TRUNCATE core_auditchainhead",
    ],
)
def test_app_connection_cannot_change_or_remove_events(sql: str) -> None:
    _one_event()
    assert "permission denied" in _refused(sql)
    assert AuditEvent.objects.count() == 1


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only",
        "ALTER TABLE core_auditevent DISABLE TRIGGER ALL",
        "DROP TRIGGER core_auditevent_append_only ON core_auditevent",
        "ALTER TABLE core_auditevent OWNER TO CURRENT_USER",
        "ALTER TABLE core_auditevent RENAME TO core_auditevent_old",
        "CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$"
        " LANGUAGE plpgsql",
    ],
)
def test_app_connection_cannot_disable_or_replace_the_guard(sql: str) -> None:
    message = _refused(sql)
    assert "must be owner" in message or "permission denied" in message


def test_sqlite_says_the_database_does_not_enforce_it() -> None:
    if connection.vendor == "postgresql":
        assert audit_protection().enforced
    else:
        protection = audit_protection()
        assert not protection.enforced
        assert "SQLite" in protection.risks[0]
