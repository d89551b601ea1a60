"""The Celery task that computes a consolidation run. Thin: it takes an id and owns the retries.

acks_late with reject_on_worker_lost: the message is acknowledged only when the task ends, so
a worker killed mid-run leaves it unacknowledged and the broker delivers it again; the service
takes the run over and recomputes it from scratch (consolidation_execute).
"""

import logging

from celery import shared_task
from django.db import OperationalError

from ..services import aggregation

__all__ = ["consolidate_round"]

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="consolidation.tasks.consolidate_round",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    max_retries=MAX_RETRIES,
    retry_backoff=True,
)
def consolidate_round(self, run_id: int) -> int:
    try:
        run = aggregation.consolidation_execute(run_id=run_id)
    except OperationalError as exc:
        # Retried by autoretry_for; once the retries are spent the run must not stay "running",
        # which would block every later consolidation of the round.
        if self.request.retries >= MAX_RETRIES:
            aggregation.consolidation_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        logger.exception("Consolidation run %s failed", run_id)
        aggregation.consolidation_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return run.pk
