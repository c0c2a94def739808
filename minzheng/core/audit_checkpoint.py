"""Signed checkpoints of the audit chain, kept outside the database (审计链检查点).

The hash chain shows a row changed in place, but someone able to rewrite the table (a database
owner, a restore of an edited dump) can recompute every hash after the change or cut the tail and
the chain is whole again. A checkpoint anchors the chain outside the database: each day the audit
administrator exports the day's last record number, its hash and the count, signed with a key the
database does not hold, and keeps the text (printed, or on another system). Checking the chain
against a kept checkpoint then reports a recomputed chain (the record's hash differs) or a deleted
tail (the record is gone).

The key is MINZHENG_AUDIT_KEY when set, else derived from MINZHENG_SECRET_KEY; neither is stored in
the database, so whoever rewrites the table cannot sign a matching checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from minzheng.core.audit import Actor, audit_record, verify_chain
from minzheng.core.errors import InvalidInput
from minzheng.core.models import AuditEvent

HEADER = "民政通审计链检查点 Minzheng audit checkpoint v1"
EXPORT_ACTION = "audit.checkpoint_export"
VERIFY_ACTION = "audit.checkpoint_verify"
_FIELDS = ("date", "last_seq", "last_hash", "count", "issued_at", "signature")


def _key() -> bytes:
    own = str(getattr(settings, "MINZHENG_AUDIT_KEY", "") or "")
    if own:
        return own.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"minzheng.audit.checkpoint", hashlib.sha256).digest()


@dataclass(frozen=True)
class Checkpoint:
    day: date
    last_seq: int
    last_hash: str
    count: int
    issued_at: str
    signature: str = ""

    def message(self) -> bytes:
        return f"v1|{self.day.isoformat()}|{self.last_seq}|{self.last_hash}|{self.count}|{self.issued_at}".encode()

    def signed(self) -> Checkpoint:
        mac = hmac.new(_key(), self.message(), hashlib.sha256).hexdigest()
        return Checkpoint(self.day, self.last_seq, self.last_hash, self.count, self.issued_at, mac)

    @property
    def signature_valid(self) -> bool:
        return hmac.compare_digest(self.signed().signature, self.signature)

    def text(self) -> str:
        return "\n".join(
            [
                HEADER,
                f"date: {self.day.isoformat()}",
                f"last_seq: {self.last_seq}",
                f"last_hash: {self.last_hash}",
                f"count: {self.count}",
                f"issued_at: {self.issued_at}",
                f"signature: hmac-sha256:{self.signature}",
                "",
            ]
        )


def checkpoint_issue(*, day: date | None = None) -> Checkpoint:
    """The signed checkpoint of the chain at the end of `day` (local time), or now when None.

    Counts the records up to the last one, so a chain missing rows in the middle is also told apart
    when the checkpoint is checked later."""
    now = timezone.localtime()
    events = AuditEvent.objects.all()
    if day is not None:
        if day > now.date():
            raise InvalidInput("检查点日期不能晚于今天")
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        events = events.filter(at__lt=end)
    else:
        day = now.date()
    last = events.order_by("-seq").only("seq", "hash").first()
    last_seq, last_hash = (last.seq, last.hash) if last is not None else (0, "0" * 64)
    count = AuditEvent.objects.filter(seq__lte=last_seq).count()
    issued_at = now.astimezone(UTC).isoformat(timespec="seconds")
    return Checkpoint(day, last_seq, last_hash, count, issued_at).signed()


def checkpoint_parse(text: str) -> Checkpoint:
    """Read a checkpoint as exported (other lines, blank lines and surrounding spaces ignored)."""
    values: dict[str, str] = {}
    for line in text.replace("\r", "").split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip() in _FIELDS and name.strip() not in values:
            values[name.strip()] = value.strip()
    missing = [name for name in _FIELDS if name not in values]
    if missing:
        raise InvalidInput("检查点内容不完整，缺少：" + "、".join(missing))
    signature = values["signature"].removeprefix("hmac-sha256:")
    try:
        return Checkpoint(
            day=date.fromisoformat(values["date"]),
            last_seq=int(values["last_seq"]),
            last_hash=values["last_hash"].lower(),
            count=int(values["count"]),
            issued_at=values["issued_at"],
            signature=signature.lower(),
        )
    except ValueError as exc:
        raise InvalidInput("检查点内容格式不正确") from exc


@dataclass(frozen=True)
class CheckpointFinding:
    kind: str  # "signature" | "deleted_tail" | "recomputed" | "count" | "chain"
    detail: str


@dataclass(frozen=True)
class CheckpointReport:
    checkpoint: Checkpoint
    checked: int
    findings: tuple[CheckpointFinding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def checkpoint_verify(checkpoint: Checkpoint) -> CheckpointReport:
    """Check the chain in the database against a kept checkpoint and its own hashes.

    A forged signature is reported and the database is not compared (an unsigned claim proves
    nothing); otherwise: the checkpoint's record missing (tail deleted), its hash different (chain
    recomputed or rewritten), fewer or more records up to it, and whatever the chain walk finds."""
    if not checkpoint.signature_valid:
        finding = CheckpointFinding("signature", "检查点签名无效：内容被改动，或签名密钥与本系统不同")
        return CheckpointReport(checkpoint, 0, (finding,))
    findings: list[CheckpointFinding] = []
    n = checkpoint.last_seq
    if n > 0:
        row = AuditEvent.objects.filter(seq=n).only("hash").first()
        if row is None:
            top = AuditEvent.objects.aggregate(top=Max("seq"))["top"] or 0
            if top < n:
                detail = f"检查点记录至第{n}号，数据库中最后一条为第{top}号：第{top + 1}至{n}号记录被删除（删除末尾）"
            else:
                detail = f"检查点中的第{n}号记录已不存在（被删除）"
            findings.append(CheckpointFinding("deleted_tail", detail))
        elif row.hash != checkpoint.last_hash:
            findings.append(
                CheckpointFinding(
                    "recomputed",
                    f"第{n}号记录的哈希与检查点不符：该记录或其之前的记录被改写，哈希链被重新计算",
                )
            )
    count = AuditEvent.objects.filter(seq__lte=n).count()
    if count != checkpoint.count:
        findings.append(
            CheckpointFinding("count", f"截至第{n}号应有{checkpoint.count}条记录，数据库中有{count}条")
        )
    chain = verify_chain()
    if chain.problem is not None:
        p = chain.problem
        findings.append(CheckpointFinding("chain", f"第{p.seq}号记录 [{p.kind}] {p.detail}"))
    return CheckpointReport(checkpoint, chain.checked, tuple(findings))


# --- The audit administrator's services (the role is checked by the page and the API) -----------


@transaction.atomic
def checkpoint_export(*, actor: Actor, day: date | None = None) -> Checkpoint:
    """Issue a checkpoint for the audit administrator to keep; the export itself is audited (after
    the checkpoint's last record, so the next checkpoint covers it)."""
    checkpoint = checkpoint_issue(day=day)
    audit_record(
        actor=actor,
        action=EXPORT_ACTION,
        object_type="core.auditcheckpoint",
        object_id=checkpoint.last_seq,
        after={"date": checkpoint.day, "last_seq": checkpoint.last_seq, "count": checkpoint.count},
    )
    return checkpoint


@transaction.atomic
def checkpoint_check(*, actor: Actor, checkpoint: Checkpoint) -> CheckpointReport:
    report = checkpoint_verify(checkpoint)
    audit_record(
        actor=actor,
        action=VERIFY_ACTION,
        object_type="core.auditcheckpoint",
        object_id=checkpoint.last_seq,
        after={
            "date": checkpoint.day,
            "last_seq": checkpoint.last_seq,
            "ok": report.ok,
            "findings": [f.kind for f in report.findings],
        },
    )
    return report
