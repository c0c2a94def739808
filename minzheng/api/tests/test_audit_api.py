"""The audit administrator exports and checks checkpoints through the API too."""

from __future__ import annotations

import pytest
from django.test import Client

from minzheng.core.models import AuditEvent
from minzheng.core.tests.tamper import as_audit_owner
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_admin(tree: dict[str, Division]) -> Staff:
    return make_staff("audit_admin", "640202000000", [Role.AUDIT_ADMIN])


def _client(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)  # audit record 1: the sign-in
    return client


def test_checkpoint_export_and_verify(audit_admin: Staff) -> None:
    client = _client(audit_admin)
    made = client.post("/api/v1/audit/checkpoints", {}, content_type="application/json")
    assert made.status_code == 200
    body = made.json()
    assert (body["last_seq"], body["count"]) == (1, 1)
    assert body["text"].startswith("民政通审计链检查点")
    ok = client.post(
        "/api/v1/audit/checkpoints/verify", {"text": body["text"]}, content_type="application/json"
    )
    assert ok.json() == {"ok": True, "checked": 2, "findings": []}
    with as_audit_owner() as cursor:
        cursor.execute("DELETE FROM core_auditevent")
        cursor.execute("UPDATE core_auditchainhead SET last_seq = 0, last_hash = %s", ["0" * 64])
    found = client.post(
        "/api/v1/audit/checkpoints/verify", {"text": body["text"]}, content_type="application/json"
    )
    assert [f["kind"] for f in found.json()["findings"]] == ["deleted_tail", "count"]
    assert AuditEvent.objects.get().action == "audit.checkpoint_verify"


def test_only_the_audit_administrator(auditor: Staff, audit_admin: Staff) -> None:
    refused = _client(auditor).post("/api/v1/audit/checkpoints", {}, content_type="application/json")
    assert refused.status_code == 403
    bad = _client(audit_admin).post(
        "/api/v1/audit/checkpoints/verify", {"text": "不是检查点"}, content_type="application/json"
    )
    assert bad.status_code == 422
