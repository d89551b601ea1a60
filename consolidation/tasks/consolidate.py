"""The Celery tasks that compute a consolidation run. Thin: they take ids and own the retries.

`consolidate_round(run_id)` claims the run and splits it into chunks of sections, then hands them
to a chord: one `consolidate_chunk` task per chunk (any worker process, on any machine sharing the
broker and database), then `consolidate_links` once they are all done, which hands a second chord
of `consolidate_link` tasks (each verifies one share of the candidate pairs across chunks) to
`consolidate_merge`, which writes the snapshot in one transaction
(consolidation.services.aggregation). Once it is written, a full run's `consolidate_remember`
keeps what the round's next run needs to be incremental (the run is done already; if that task
is lost, the next run is full).

acks_late with reject_on_worker_lost: a message is acknowledged only when its task ends, so a
worker killed mid-chunk leaves it unacknowledged and the broker delivers it again; chunks are
stored and idempotent, and the merge recomputes any chunk missing or made from other data. If
the chord itself is lost, the run's lease runs out and the sweep queues `consolidate_round`
again: a new attempt, which reuses the chunks already done.
"""

import logging

from celery import chord, shared_task
from django.db import OperationalError

from ..services import aggregation

__all__ = [
    "consolidate_chunk",
    "consolidate_link",
    "consolidate_links",
    "consolidate_merge",
    "consolidate_remember",
    "consolidate_round",
]

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


def _run_task(name: str):
    """Every task of a run: acknowledged when it ends (a killed worker's message is delivered
    again), retried with backoff on a lost database connection."""
    return shared_task(
        bind=True,
        name=name,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=(OperationalError,),
        max_retries=MAX_RETRIES,
        retry_backoff=True,
    )


def _failing(task, run_id: int, exc: Exception) -> None:
    """A run must not stay "running" once a part of it has failed for good (it blocks the round)."""
    if isinstance(exc, OperationalError):
        if task.request.retries >= MAX_RETRIES:
            aggregation.consolidation_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        return  # retried by autoretry_for
    logger.exception("Consolidation run %s failed", run_id)
    aggregation.consolidation_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")


@_run_task("consolidation.tasks.consolidate_round")
def consolidate_round(self, run_id: int) -> int:
    try:
        started = aggregation.consolidation_start(run_id=run_id)
        if started is None:
            return run_id  # done, failed, or held by a live worker
        attempt, indexes = started
        if not indexes:
            aggregation.consolidation_merge(run_id=run_id, attempt=attempt)
            return run_id
        chord(consolidate_chunk.si(run_id, attempt, index) for index in indexes)(consolidate_links.si(run_id, attempt))
    except Exception as exc:
        _failing(self, run_id, exc)
        raise
    return run_id


@_run_task("consolidation.tasks.consolidate_chunk")
def consolidate_chunk(self, run_id: int, attempt: int, index: int) -> int:
    try:
        aggregation.consolidation_chunk(run_id=run_id, attempt=attempt, index=index)
    except Exception as exc:
        _failing(self, run_id, exc)
        raise
    return index


@_run_task("consolidation.tasks.consolidate_links")
def consolidate_links(self, run_id: int, attempt: int) -> int:
    try:
        partitions = aggregation.consolidation_links_plan(run_id=run_id, attempt=attempt)
        if partitions is None:
            return run_id
        if not partitions:
            aggregation.consolidation_merge(run_id=run_id, attempt=attempt)
            return run_id
        chord(consolidate_link.si(run_id, attempt, p) for p in partitions)(consolidate_merge.si(run_id, attempt))
    except Exception as exc:
        _failing(self, run_id, exc)
        raise
    return run_id


@_run_task("consolidation.tasks.consolidate_link")
def consolidate_link(self, run_id: int, attempt: int, partition: int) -> int:
    try:
        aggregation.consolidation_link(run_id=run_id, attempt=attempt, partition=partition)
    except Exception as exc:
        _failing(self, run_id, exc)
        raise
    return partition


@_run_task("consolidation.tasks.consolidate_merge")
def consolidate_merge(self, run_id: int, attempt: int) -> int:
    try:
        aggregation.consolidation_merge(run_id=run_id, attempt=attempt)
    except Exception as exc:
        _failing(self, run_id, exc)
        raise
    return run_id


@_run_task("consolidation.tasks.consolidate_remember")
def consolidate_remember(self, run_id: int) -> bool:
    """After a full run's snapshot: what its round's next run needs to be incremental (the run is done already)."""
    return aggregation.consolidation_remember(run_id=run_id)
