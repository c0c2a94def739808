"""Stuck work brought back without a shell: each app registers a sweep (a function that finds its
work whose process died — a payroll run, an import — and queues it again or ends it, returning how
many it handled); the background worker (`manage.py worker`) calls every sweep every
`MINZHENG_RECOVERY_SECONDS`. Sweeps must be idempotent and safe to run from several worker hosts
at once (they decide under the database's locks, not on local state)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import close_old_connections

logger = logging.getLogger("minzheng.recovery")

Sweep = Callable[[], int]
_SWEEPS: dict[str, Sweep] = {}


def register(name: str, sweep: Sweep) -> None:
    """Add a sweep (an AppConfig.ready() calls this); registering a name again replaces it."""
    _SWEEPS[name] = sweep


def sweeps() -> dict[str, Sweep]:
    return dict(_SWEEPS)


def sweep_all() -> dict[str, int]:
    """Run every sweep once; what each handled. A sweep that fails is logged and the others run."""
    handled: dict[str, int] = {}
    for name, sweep in sorted(_SWEEPS.items()):
        close_old_connections()
        try:
            handled[name] = sweep()
        except Exception:
            logger.exception("recovery sweep %s failed", name)
            handled[name] = -1
        if handled[name]:
            logger.warning("recovery sweep %s handled %s", name, handled[name])
    return handled
