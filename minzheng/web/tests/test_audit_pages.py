"""The audit administrator's integrity page (checkpoints) and the audit of sign-ins."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minzheng.core.audit import AuthAction, audit_record
from minzheng.core.models import AuditEvent
from minzheng.core.tests.tamper import as_audit_owner
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, make_staff

pytestmark = pytest.mark.django_db
URL = "/audit/integrity/"


@pytest.fixture
def audit_admin(tree: dict[str, Division]) -> Staff:
    return make_staff("audit_admin", "640202000000", [Role.AUDIT_ADMIN])


def _client(staff: Staff) -> Client:
    """Signed in: the sign-in is itself an audit record (number 1 in these tests)."""
    client = Client()
    client.force_login(staff)
    return client


def _events(n: int) -> None:
    from django.db import transaction

    for i in range(n):
        with transaction.atomic():
            audit_record(actor=None, action="test.change", object_id=i)


def _export(client: Client, day: str = "") -> str:
    from django.utils import timezone

    response = client.post(URL, {"action": "export", "day": day or timezone.localdate().isoformat()})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-checkpoint-')
    return response.content.decode()


def test_page_is_the_audit_administrators(audit_admin: Staff, auditor: Staff) -> None:
    assert reverse("web:audit_integrity") == URL
    page = _client(audit_admin).get(URL)
    assert page.status_code == 200
    assert "导出签名检查点" in page.content.decode()
    assert _client(auditor).get(URL).status_code == 403


def test_exported_checkpoint_verifies_and_the_export_is_audited(audit_admin: Staff) -> None:
    client = _client(audit_admin)
    _events(3)
    text = _export(client)
    assert "last_seq: 4" in text
    exported = AuditEvent.objects.get(action="audit.checkpoint_export")
    assert (exported.seq, exported.actor_username) == (5, "audit_admin")
    page = client.post(URL, {"action": "verify", "text": text})
    assert page.status_code == 200
    assert "与检查点一致" in page.content.decode()
    checked = AuditEvent.objects.get(action="audit.checkpoint_verify")
    assert checked.after == {"date": text.split("date: ")[1][:10], "last_seq": 4, "ok": True, "findings": []}


def test_uploaded_checkpoint_finds_a_deleted_tail(audit_admin: Staff) -> None:
    client = _client(audit_admin)
    _events(7)
    text = _export(client)  # last_seq 8; the export is record 9
    with as_audit_owner() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq > 5")
        last = AuditEvent.objects.get(seq=5).hash
        cursor.execute("UPDATE core_auditchainhead SET last_seq = 5, last_hash = %s", [last])
    upload = SimpleUploadedFile("cp.txt", text.encode(), content_type="text/plain")
    page = client.post(URL, {"action": "verify", "upload": upload})
    body = page.content.decode()
    assert "[deleted_tail]" in body
    assert "第6至8号记录被删除" in body
    checked = AuditEvent.objects.get(action="audit.checkpoint_verify")
    assert checked.after is not None
    assert checked.after["findings"] == ["deleted_tail", "count"]


def test_forged_checkpoint_and_bad_input(audit_admin: Staff) -> None:
    client = _client(audit_admin)
    text = _export(client).replace("count: 1", "count: 9")
    assert "[signature]" in client.post(URL, {"action": "verify", "text": text}).content.decode()
    assert client.post(URL, {"action": "verify", "text": ""}).status_code == 400
    assert client.post(URL, {"action": "verify", "text": "随便写的"}).status_code == 400
    assert client.post(URL, {"action": "export", "day": "2999-01-01"}).status_code == 400


def test_chain_walk_from_the_page(audit_admin: Staff) -> None:
    client = _client(audit_admin)
    _events(2)
    page = client.post(URL, {"action": "walk"})
    assert "哈希链完整：共校验 3 条记录" in page.content.decode()


def _login(client: Client, username: str, password: str) -> int:
    return client.post(reverse("web:login"), {"username": username, "password": password}).status_code


def test_sign_ins_refusals_and_lockouts_are_audited(village_assistant: Staff) -> None:
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert _login(client, "assistant", TEST_PASSWORD) == 302
    signed_in = AuditEvent.objects.get(action=AuthAction.SIGN_IN)
    assert (signed_in.actor_id, signed_in.object_id) == (village_assistant.pk, str(village_assistant.pk))
    assert signed_in.after == {"address": "10.1.2.3", "channel": "web"}

    _login(Client(), "nobody-here", "x")
    unknown = AuditEvent.objects.get(action=AuthAction.SIGN_IN_FAILED)
    assert unknown.actor_id is None
    assert unknown.after == {"address": "127.0.0.1", "username": "nobody-here"}

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "assistant", "wrong-password")
    refused = AuditEvent.objects.filter(action=AuthAction.SIGN_IN_FAILED, actor=village_assistant)
    assert refused.count() == settings.AXES_FAILURE_LIMIT
    lockout = AuditEvent.objects.get(action=AuthAction.LOCKOUT)
    assert lockout.actor_id == village_assistant.pk
    assert lockout.after == {"address": "127.0.0.1", "username": "assistant"}
