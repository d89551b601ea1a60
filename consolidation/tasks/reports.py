"""Celery tasks for reports and template imports. Thin: they take ids and call a service.

Both are queued with transaction.on_commit by the services and are safe to run twice: a
report is made again over the old file; an import that already finished does nothing.
acks_late with reject_on_worker_lost: a worker that dies mid-run gives the job back.
"""

from celery import shared_task

from ..services import exports, imports

__all__ = ["generate_report", "import_template"]


@shared_task(name="consolidation.tasks.generate_report", bind=True, acks_late=True, reject_on_worker_lost=True)
def generate_report(self, report_id: int) -> str | None:
    # A redelivered message means the worker that had it is gone: take the report over.
    redelivered = bool((getattr(self.request, "delivery_info", None) or {}).get("redelivered"))
    report = exports.report_generate(report_id=report_id, takeover=redelivered)
    return report.status if report else None


@shared_task(name="consolidation.tasks.import_template", bind=True, acks_late=True, reject_on_worker_lost=True)
def import_template(self, job_id: int) -> str | None:
    job = imports.import_execute(job_id=job_id)
    return job.status if job else None
