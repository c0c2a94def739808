"""Signed checkpoints kept outside the database find a recomputed chain and a deleted tail, which
the hash chain alone cannot."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from minzheng.core.audit import GENESIS_HASH, audit_record, event_hash, verify_chain
from minzheng.core.audit_checkpoint import checkpoint_issue, checkpoint_parse, checkpoint_verify
from minzheng.core.errors import InvalidInput
from minzheng.core.models import AuditEvent
from minzheng.core.tests.tamper import as_audit_owner

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(
                actor=None, action="payments.payroll_approve", object_id=i, after={"total": "1000.00"}
            )


def _recompute_from(seq: int) -> None:
    """What the attacker of issue 18 did: change a row, then rewrite every hash after it and the head."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS_HASH
    with as_audit_owner() as cursor:
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            if event.seq == seq:
                event.after = {"total": "100000.00"}  # the payroll total ×100
            event.prev_hash = prev
            event.hash = event_hash(event)
            cursor.execute(
                "UPDATE core_auditevent SET after = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [json.dumps(event.after), event.prev_hash, event.hash, event.seq],
            )
            prev = event.hash
        cursor.execute("UPDATE core_auditchainhead SET last_hash = %s", [prev])


def _delete_tail(keep: int) -> None:
    with as_audit_owner() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq > %s", [keep])
        last = AuditEvent.objects.get(seq=keep).hash
        cursor.execute("UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s", [keep, last])


def test_checkpoint_text_round_trips_and_verifies() -> None:
    _record(3)
    checkpoint = checkpoint_issue()
    assert (checkpoint.last_seq, checkpoint.count) == (3, 3)
    assert checkpoint.last_hash == AuditEvent.objects.get(seq=3).hash
    text = checkpoint.text()
    assert "last_seq: 3" in text
    assert "signature: hmac-sha256:" in text
    parsed = checkpoint_parse("随附说明\n" + text.replace("\n", "\r\n"))
    assert parsed == checkpoint
    report = checkpoint_verify(parsed)
    assert report.ok, report.findings
    assert report.checked == 3


def test_edited_checkpoint_fails_its_signature() -> None:
    _record(3)
    text = checkpoint_issue().text().replace("count: 3", "count: 2")
    report = checkpoint_verify(checkpoint_parse(text))
    assert [f.kind for f in report.findings] == ["signature"]


def test_checkpoint_signed_with_another_key_is_refused(settings: object) -> None:
    _record(1)
    checkpoint = checkpoint_issue()
    settings.MINZHENG_AUDIT_KEY = "another-audit-key-held-elsewhere"  # type: ignore[attr-defined]
    assert not checkpoint.signature_valid
    assert checkpoint_issue().signature != checkpoint.signature


def test_incomplete_checkpoint_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="last_hash"):
        checkpoint_parse("date: 2026-12-01\nlast_seq: 3\ncount: 3\nissued_at: x\nsignature: y\n")


def test_recomputed_chain_passes_the_chain_walk_but_not_the_checkpoint() -> None:
    _record(5)
    kept = checkpoint_issue()
    _recompute_from(2)
    assert verify_chain().ok  # the hole issue 18 found: the chain alone is fooled
    report = checkpoint_verify(kept)
    assert [f.kind for f in report.findings] == ["recomputed"]
    assert "第5号" in report.findings[0].detail


def test_deleted_tail_passes_the_chain_walk_but_not_the_checkpoint() -> None:
    _record(10)
    kept = checkpoint_issue()
    _delete_tail(5)
    assert verify_chain().ok
    report = checkpoint_verify(kept)
    assert [f.kind for f in report.findings] == ["deleted_tail", "count"]
    assert "第6至10号" in report.findings[0].detail


def test_checkpoint_of_a_past_day_stops_at_that_day() -> None:
    _record(2)
    with as_audit_owner() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET at = %s WHERE seq = 1", [timezone.now() - timedelta(days=2)]
        )
    # The moved row no longer hashes: this test looks only at which rows a day's checkpoint covers.
    day = timezone.localdate() - timedelta(days=1)
    checkpoint = checkpoint_issue(day=day)
    assert (checkpoint.day, checkpoint.last_seq, checkpoint.count) == (day, 1, 1)
    with pytest.raises(InvalidInput):
        checkpoint_issue(day=timezone.localdate() + timedelta(days=1))


def test_commands_export_and_check_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _record(6)
    call_command("audit_checkpoint")
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(capsys.readouterr().out, encoding="utf-8")
    call_command("verify_audit_chain", "--checkpoint", str(kept))
    assert "一致" in capsys.readouterr().out
    _delete_tail(4)
    call_command("verify_audit_chain")  # without the checkpoint nothing is seen
    with pytest.raises(CommandError, match="deleted_tail"):
        call_command("verify_audit_chain", "--checkpoint", str(kept))
