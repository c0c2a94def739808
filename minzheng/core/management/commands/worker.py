"""The background worker: django-tasks' `db_worker`, plus a thread that sweeps for stuck work
(`core.recovery`) every MINZHENG_RECOVERY_SECONDS, so that a run or an import whose process died is
resumed by the workers on their own."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from minzheng.core import recovery


def _sweep_forever(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            recovery.sweep_all()
        finally:
            connection.close()


class Command(DbWorkerCommand):
    help = (
        "运行后台任务（发放名册计算、导入等），并定期找回进程中断的任务。"
        + " "
        + (DbWorkerCommand.help or "")
    )

    def handle(self, *args: Any, **options: Any) -> None:
        every = float(getattr(settings, "MINZHENG_RECOVERY_SECONDS", 60))
        stop = threading.Event()
        recovery.sweep_all()  # at start: what a worker that died left behind
        connection.close()
        sweeper = threading.Thread(target=_sweep_forever, args=(stop, every), name="recovery", daemon=True)
        sweeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
