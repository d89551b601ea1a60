"""Celery tasks for reports and template imports. Thin: they take ids and call a service.

Both are queued after commit by the services (config.jobs.enqueue_after_commit) and are safe
to deliver twice: each claims its job with a conditional UPDATE and holds a lease, so a second
delivery finds nothing to do; a job whose worker died is queued again by the sweep.
"""

from typing import Literal, TypedDict

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ..services import exports, imports

__all__ = ["generate_report", "import_template"]


# A database that went away is retried; the job's own claim and lease make a retry safe.
class JobTaskOptions(TypedDict):
    bind: Literal[True]
    acks_late: bool
    reject_on_worker_lost: bool
    autoretry_for: tuple[type[Exception], ...]
    retry_backoff: bool
    max_retries: int


JOB_TASK_OPTIONS: JobTaskOptions = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name="consolidation.tasks.generate_report", **JOB_TASK_OPTIONS)
def generate_report(self, report_id: int) -> str | None:
    report = exports.report_generate(report_id=report_id)
    return report.status if report else None


@shared_task(name="consolidation.tasks.import_template", **JOB_TASK_OPTIONS)
def import_template(self, job_id: int) -> str | None:
    job = imports.import_execute(job_id=job_id)
    return job.status if job else None
