"""Beat's job sweep for the consolidation app: re-drive the jobs a fault stranded (config.jobs)."""

from celery import shared_task
from django.utils.translation import gettext as _

from config import jobs

from ..models import CarryOverJob, ConsolidationRun, ImportJob, Report
from ..services import aggregation, carry_over, exports, imports
from .carry_over import carry_over_version
from .consolidate import consolidate_round
from .reports import generate_report, import_template

__all__ = ["sweep_jobs"]


def _gave_up() -> str:
    return _("This job was started again and again and never finished, so it was stopped. Ask for it again.")


@shared_task(name="consolidation.tasks.sweep_jobs")
def sweep_jobs() -> dict:
    message = _gave_up()
    return {
        "consolidations": jobs.sweep(
            ConsolidationRun,
            consolidate_round,
            fail=lambda pk, error: aggregation.consolidation_fail(run_id=pk, error=error),
            message=message,
        ),
        "reports": jobs.sweep(
            Report,
            generate_report,
            fail=lambda pk, error: exports.report_fail(report_id=pk, error=error),
            message=message,
        ),
        "imports": jobs.sweep(
            ImportJob,
            import_template,
            fail=lambda pk, error: imports.import_fail(job_id=pk, error=error),
            message=message,
        ),
        "carry_overs": jobs.sweep(
            CarryOverJob,
            carry_over_version,
            fail=lambda pk, error: carry_over.carry_over_fail(version_id=pk, error=error),
            message=message,
        ),
    }
