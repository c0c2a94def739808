"""Reads of the exchange log."""

from __future__ import annotations

from django.db.models import QuerySet

from minzheng.exchange.models import Counterparty, Message


def message_list(
    *, counterparty: str = "", direction: str = "", transaction_id: str = "", signature_ok: bool | None = None
) -> QuerySet[Message]:
    """The log, newest first, without the sealed payloads (digests only)."""
    qs = Message.objects.defer("payload_sealed").order_by("-at", "-id")
    if counterparty:
        qs = qs.filter(counterparty__code=counterparty)
    if direction:
        qs = qs.filter(direction=direction)
    if transaction_id:
        qs = qs.filter(transaction_id=transaction_id)
    if signature_ok is not None:
        qs = qs.filter(signature_ok=signature_ok)
    return qs


def counterparty_list(*, active_only: bool = True) -> QuerySet[Counterparty]:
    qs = Counterparty.objects.order_by("code")
    return qs.filter(active=True) if active_only else qs
