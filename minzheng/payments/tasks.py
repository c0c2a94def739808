"""Background work for payments: computing a payroll run outside the request, and bringing back
runs whose computing process died.

With the database backend a worker process (`manage.py worker`) picks the task up; the test
settings use the immediate backend, which runs it inline. The worker also sweeps for stuck work
every few minutes (`core.recovery`): a run left COMPUTING by a process that died (its lease gone,
`payroll.run_lease`) is queued again and computed, adding only what is missing.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django_tasks import task

from minzheng.core.errors import Conflict
from minzheng.org.models import Staff
from minzheng.payments import services
from minzheng.payments.models import PayrollRun, RunStatus


@task()
def payroll_compute_task(run_id: int) -> int:
    """Compute a requested run; returns its number of lines.

    Delivered twice, it pays nobody twice: the second delivery finds the run computed, or computing
    under another process's lease, and leaves it. An approved run is left alone."""
    run = PayrollRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in (RunStatus.QUEUED, RunStatus.COMPUTING, RunStatus.FAILED):
        return run.line_count if run is not None else 0
    try:
        return services.payroll_compute(run_id=run_id).line_count
    except Conflict as exc:
        if exc.code == "run_busy":  # another process computes it
            return 0
        raise


def _enqueue_after_commit(run_id: int) -> None:
    transaction.on_commit(lambda: payroll_compute_task.enqueue(run_id))


def payroll_run_start(*, actor: Staff, county: str, month: date) -> PayrollRun:
    """Ask for the payroll of a county and month (services.payroll_run_request: permission, scope,
    window, order, one run per county and month) and compute it in the background, once the
    request is committed. A run already computed (or approved) is returned as it is."""
    with transaction.atomic():
        run = services.payroll_run_request(actor=actor, county=county, month=month)
        if run.status == RunStatus.QUEUED:
            _enqueue_after_commit(run.pk)
    run.refresh_from_db()
    return run


def payroll_run_resume(*, actor: Staff, run_id: int) -> PayrollRun:
    """Continue a run that failed or whose computing process died (services.payroll_run_resume),
    in the background."""
    with transaction.atomic():
        run = services.payroll_run_resume(actor=actor, run_id=run_id)
        _enqueue_after_commit(run.pk)
    run.refresh_from_db()
    return run


def recover_stuck_runs() -> int:
    """The worker's sweep: runs whose process died are queued again and computed."""
    with transaction.atomic():
        recovered = services.payroll_runs_recover()
        for run_id in recovered:
            _enqueue_after_commit(run_id)
    return len(recovered)
