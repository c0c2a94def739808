"""Background work for payments: computing a payroll run outside the request.

With the database backend a worker process (`manage.py db_worker`) picks the task up; the test
settings use the immediate backend, which runs it inline. Progress is on the run
(progress_done / progress_total, in enrolments); a run that failed shows FAILED with the error and
is continued where it stopped by starting it again.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django_tasks import task

from minzheng.org.models import Staff
from minzheng.payments import services
from minzheng.payments.models import PayrollRun, RunStatus


@task()
def payroll_compute_task(run_id: int) -> int:
    """Compute a requested run; returns its number of lines.

    Delivered twice, it pays nobody twice: lines are unique per payee, programme and month, and the
    second delivery finds every line written. An approved run is left alone."""
    run = PayrollRun.objects.get(pk=run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.COMPUTING, RunStatus.FAILED):
        return run.line_count
    return services.payroll_compute(run_id=run_id).line_count


def payroll_run_start(*, actor: Staff, county: str, month: date) -> PayrollRun:
    """Ask for the payroll of a county and month (services.payroll_run_request: permission, scope,
    one run per county and month) and compute it in the background, once the request is committed.
    A run already computed (or approved) is returned as it is."""
    with transaction.atomic():
        run = services.payroll_run_request(actor=actor, county=county, month=month)
        if run.status in (RunStatus.QUEUED, RunStatus.FAILED):
            transaction.on_commit(lambda: payroll_compute_task.enqueue(run.pk))
    run.refresh_from_db()
    return run
