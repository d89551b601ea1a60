"""The lifecycle every background job shares: queue after commit, claim, hold a lease, sweep.

A job is a row (ConsolidationRun, Report, ImportJob, CarryOverJob...) committed in the same
transaction as the request that asked for it; the row, not the broker message, is the durable
record. See docs/jobs.md.

* `enqueue_after_commit("app.tasks.name", pk, job=row)`: once the transaction commits, hand the task to the
  broker over a connection of its own with a short timeout and no retries. A broker that is down
  costs the request about JOB_PUBLISH_TIMEOUT_SECONDS, is logged, and leaves `queued_at` empty;
  the sweep publishes it again once the broker is back.
* `claim(model, pk)`: a conditional UPDATE that turns a queued job (or a running one whose lease
  has expired: its worker is gone) into a running one and returns this attempt's number. A
  second delivery of the same message finds nothing to claim and does nothing.
* `lease(model, pk, attempt)`: while the job runs, a heartbeat thread keeps pushing
  `lease_expires_at` forward; a worker killed as a whole stops renewing it, and the lease expires
  after JOB_LEASE_SECONDS. Every write of a result checks that its attempt still holds the job.
* `sweep(...)`: what beat runs every JOB_SWEEP_SECONDS: publish again the jobs that never reached
  a worker and those whose worker is gone; a job re-queued JOB_MAX_REQUEUES times is failed.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

# What a page or the API says of a job whose task could not reach the broker when it was asked for.
WAITING_FOR_QUEUE = gettext_lazy(
    "The task queue cannot be reached just now. Your request is saved and will start by itself as soon as "
    "the queue is back; there is no need to ask again."
)

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def lease_seconds() -> float:
    return float(settings.JOB_LEASE_SECONDS)


def lease_until(now=None):
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())


# --- publishing ----------------------------------------------------------------------------


def task_named(name: str):
    """The registered Celery task called `name`.

    Services queue tasks by name, so that they never import a tasks module (which imports
    them). The web process imports the tasks modules on the first lookup, as a worker does when
    it starts; eager mode (CELERY_TASK_ALWAYS_EAGER) then runs the task as usual.
    """
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def publish(task, *args) -> bool:
    """Hand `task(*args)` to the broker once, quickly; False (logged) if the broker cannot take it.

    `task` is a task or its registered name. Its own connection with no connection retries and a
    short socket timeout, no publish retry, and no result-backend subscription (the job's row holds
    the result): a broker that is down costs at most about JOB_PUBLISH_TIMEOUT_SECONDS instead of
    Celery's ~20 s of retries.
    """
    if isinstance(task, str):
        task = task_named(task)
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args=args)  # no broker: runs here (development and unit tests)
        return True
    timeout = float(settings.JOB_PUBLISH_TIMEOUT_SECONDS)
    try:
        with app.connection_for_write(
            connect_timeout=timeout,
            transport_options={"max_retries": 0, "socket_connect_timeout": timeout, "socket_timeout": timeout},
        ) as conn:
            task.apply_async(args=args, connection=conn, retry=False, ignore_result=True)
    except Exception:
        logger.warning("Could not queue %s%r; the job sweep will queue it again.", task.name, args, exc_info=True)
        return False
    return True


def enqueue_after_commit(task, *args, job: Model | None = None) -> None:
    """Publish `task(*args)` once the current transaction commits; never raises.

    `task` is a task's registered name (what services pass) or the task itself.
    With `job`, a successful publish records `queued_at` on the row (and the instance), so pages
    can say whether the job is with the task queue or waiting for it to be reachable.
    """

    if isinstance(task, str):
        task = task_named(task)  # an unknown name fails now, in the request, not after the commit

    def send() -> None:
        if publish(task, *args) and job is not None:
            now = timezone.now()
            type(job)._default_manager.filter(pk=job.pk, queued_at__isnull=True).update(queued_at=now)
            # A job model has queued_at (consolidation's JobLease, consultations' Invitation): a
            # Model with that field is not a type mypy can spell.
            cast(Any, job).queued_at = now

    transaction.on_commit(send, robust=True)


# --- claiming and leases -------------------------------------------------------------------


def claimable(now=None) -> Q:
    """Queued, or running with an expired (or no) lease: its worker is gone."""
    now = now or timezone.now()
    return Q(status=QUEUED) | Q(status=RUNNING) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))


def claim(model: type[Model], pk: int, **extra) -> int | None:
    """Take job `pk` for this worker; returns the attempt number, or None if it is not ours to run."""
    now = timezone.now()
    with transaction.atomic():
        claimed = model._default_manager.filter(claimable(now), pk=pk).update(
            status=RUNNING, attempts=F("attempts") + 1, started_at=now, lease_expires_at=lease_until(now), **extra
        )
        if not claimed:
            return None
        return model._default_manager.filter(pk=pk).values_list("attempts", flat=True).get()


def held(model: type[Model], pk: int, attempt: int):
    """The job's row as a queryset, only while this attempt still holds it."""
    return model._default_manager.filter(pk=pk, status=RUNNING, attempts=attempt)


def renew(model: type[Model], pk: int, attempt: int, **fields) -> bool:
    """Push the lease forward (and write `fields`, e.g. progress) if this attempt still holds the job."""
    return bool(held(model, pk, attempt).update(lease_expires_at=lease_until(), **fields))


def release(model: type[Model], pk: int, attempt: int) -> None:
    """Give a job back to the queue at once (the task failed and Celery will retry it)."""
    # The error may have been a dropped database connection: start from a fresh one (never
    # inside an outer transaction, which closing would abort).
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    try:
        held(model, pk, attempt).update(status=QUEUED, lease_expires_at=None)
    except Exception:
        logger.warning("Could not release %s %s; its lease will expire.", model.__name__, pk, exc_info=True)


class _Heartbeat(threading.Thread):
    def __init__(self, model: type[Model], pk: int, attempt: int):
        super().__init__(name=f"lease-{model.__name__}-{pk}", daemon=True)
        self.model, self.pk, self.attempt = model, pk, attempt
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(lease_seconds() / 3, 0.2)
        try:
            while not self.stopped.wait(interval):
                try:
                    if not renew(self.model, self.pk, self.attempt):
                        return  # taken over or finished
                except Exception:
                    logger.warning("Lease renewal of %s %s failed", self.model.__name__, self.pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()


@contextmanager
def lease(model: type[Model], pk: int, attempt: int) -> Iterator[None]:
    """Hold the job's lease while the block runs; on an error, give the job back to the queue."""
    heartbeat = _Heartbeat(model, pk, attempt)
    heartbeat.start()
    try:
        yield
    except BaseException:
        heartbeat.stopped.set()
        heartbeat.join()
        release(model, pk, attempt)
        raise
    heartbeat.stopped.set()
    heartbeat.join()


@contextmanager
def keep_alive(model: type[Model], pk: int, attempt: int) -> Iterator[None]:
    """Renew the job's lease while the block runs, for a part of a job (a chunk) run by another task.

    Unlike `lease`, an error does not give the job back to the queue: the part's own task
    retries it, and the job stays with the attempt that split it.
    """
    heartbeat = _Heartbeat(model, pk, attempt)
    heartbeat.start()
    try:
        yield
    finally:
        heartbeat.stopped.set()
        heartbeat.join()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while the block builds a job's data.

    A consolidation builds a few hundred thousand containers (each group's tuple of ids, the
    result's rows) that live until it ends. The collector, triggered by their number, walks all
    of them and everything else the worker holds, again and again: a fifth of an incremental
    run at 100,000 comments (docs/performance.md). Reference counting still frees everything
    that is not a cycle as the block runs; cycles left by it wait for the collector's next pass
    after the block. Nested blocks keep it off until the outermost ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- the sweep -----------------------------------------------------------------------------


def stranded(model: type[Model], *, now=None) -> Q:
    """Jobs whose task will not run by itself: never published, published long ago, or worker gone."""
    now = now or timezone.now()
    publish_grace = now - timedelta(seconds=float(settings.JOB_PUBLISH_GRACE_SECONDS))
    queued_grace = now - timedelta(seconds=float(settings.JOB_QUEUED_GRACE_SECONDS))
    return (
        Q(status=QUEUED, queued_at__isnull=True, requested_at__lt=publish_grace)
        | Q(status=QUEUED, queued_at__lt=queued_grace)
        | Q(status=RUNNING, lease_expires_at__lt=now)
        | Q(status=RUNNING, lease_expires_at__isnull=True, started_at__lt=queued_grace)
    )


def sweep(model: type[Model], task, *, fail: Callable[[int, str], None], message: str) -> dict[str, list[int]]:
    """Queue the stranded jobs of `model` again, or fail those re-queued JOB_MAX_REQUEUES times.

    Each job is taken with a conditional UPDATE, so two sweeps at once queue it once. A job that
    never reached the broker is not held against its limit (the broker was down, not the job).
    """
    now = timezone.now()
    limit = int(settings.JOB_MAX_REQUEUES)
    requeued, failed = [], []
    grace = timedelta(seconds=float(settings.JOB_QUEUED_GRACE_SECONDS))
    for pk, status, queued_at, requeues in model._default_manager.filter(stranded(model, now=now)).values_list(
        "pk", "status", "queued_at", "requeues"
    ):
        counts = queued_at is not None
        if status == QUEUED and counts and queued_at > now - grace * (requeues + 1):
            continue  # published, maybe behind a long queue: wait longer each time before publishing again
        if counts and requeues >= limit:
            fail(pk, message)
            failed.append(pk)
            continue
        taken = (
            model._default_manager.filter(stranded(model, now=now), pk=pk)
            .filter(queued_at=queued_at)
            .update(
                status=QUEUED,
                lease_expires_at=None,
                queued_at=None,
                requeues=F("requeues") + (1 if counts else 0),
            )
        )
        if not taken:
            continue  # another sweep, or its worker, got there first
        if publish(task, pk):
            model._default_manager.filter(pk=pk, queued_at__isnull=True).update(queued_at=timezone.now())
        requeued.append(pk)
    if requeued or failed:
        logger.info("Job sweep of %s: queued again %s, failed %s", model.__name__, requeued, failed)
    return {"requeued": requeued, "failed": failed}
