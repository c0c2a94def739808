"""Background work for the registry: large Excel imports run outside the request.

With the database backend a worker process (`manage.py worker`) picks the task up; the test
settings use the immediate backend, which runs it inline.
"""

from __future__ import annotations

from django_tasks import task

from minzheng.org.models import Staff
from minzheng.registry import excel
from minzheng.registry.models import ImportJob


@task()
def import_households(job_id: int) -> int:
    """Run a queued household import; returns the number of households imported.

    Delivered twice, it imports nothing twice: `import_run` leaves a finished job alone."""
    job = ImportJob.objects.get(pk=job_id)
    return excel.import_run(job=job).households_imported


def import_submit(*, actor: Staff, file_name: str, content: bytes, mode: str) -> tuple[ImportJob, bool]:
    """Record an upload and import it: a small file at once, a large one in the background.
    Returns the job and whether it was queued."""
    prepared = excel.import_prepare(actor=actor, file_name=file_name, content=content, mode=mode)
    job = prepared.job
    if job.finished:
        return job, False
    if prepared.background:
        import_households.enqueue(job.pk)
        job.refresh_from_db()
        return job, True
    return excel.import_run(job=job, content=content), False
