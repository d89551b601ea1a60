"""A real Celery worker consolidates a round, and a worker killed mid-run loses nothing.

Each test starts its own worker subprocess (not the shared `celery_worker` fixture) because
the kill test needs workers it can SIGKILL and replace, and a second live worker on the same
broker would take the redelivered task away from the one under test.

Redelivery: with acks_late the Redis transport keeps a delivered message in its "unacked"
set until the task ends. A worker killed with SIGKILL never gives it back; any worker puts
it back in the queue once it is older than the transport's visibility_timeout (kombu checks
when a worker starts, then periodically). The default timeout is an hour, so the workers
here are started with a short one (CELERY_VISIBILITY_TIMEOUT, applied by the launcher below
until the settings read it; see the report for the settings line).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import override_settings

from comments.models import Comment
from config.celery import app as celery_app
from consolidation.models import ConsolidationChunk, ConsolidationRun, DuplicateGroup, GroupingState, JobStatus
from consolidation.services import aggregation, incremental
from tests.helpers.runs import campaigns, listed

from .conftest import REPO_ROOT, WORKER_START_TIMEOUT, _database_url, _flush_redis, celery_app_using

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

VISIBILITY_TIMEOUT = 1  # seconds
LEASE_SECONDS = 2  # a killed worker's run may be claimed again once its lease has run out
RUN_TIMEOUT = 45
CHUNK_COMMENTS = 30

# Starts a worker with broker_transport_options["visibility_timeout"] from the environment.
# Once config/settings/celery.py reads CELERY_VISIBILITY_TIMEOUT itself this is a no-op.
LAUNCHER = """
import os, sys
from config.celery import app
timeout = os.environ.get("CELERY_VISIBILITY_TIMEOUT")
if timeout:
    options = dict(app.conf.broker_transport_options or {})
    options["visibility_timeout"] = int(timeout)
    app.conf.broker_transport_options = options
slow_ms = os.environ.get("TEST_SLOW_SECTIONS_MS")
if slow_ms:
    # Test-only slow-down, so that a test can kill this worker in the middle of a run: once a
    # task is about to run (Django is set up by then), each section's grouping waits a little.
    from celery.signals import task_prerun

    @task_prerun.connect(weak=False)
    def slow_down(**kwargs):
        import time
        from consolidation.services import aggregation, incremental

        original = aggregation.duplicate_groups
        if getattr(original, "slowed", False):
            return

        def slowed(*args, **kw):
            time.sleep(int(slow_ms) / 1000)
            return original(*args, **kw)

        slowed.slowed = True
        aggregation.duplicate_groups = slowed

app.worker_main(sys.argv[1:])
"""


@contextmanager
def live_worker(name: str, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen]:
    """A solo-pool worker on the test database and Redis test db; killed (if still alive) on exit."""
    inherited = {key: value for key, value in os.environ.items() if key != "TEST_SLOW_SECTIONS_MS"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": _broker(),
        "CELERY_RESULT_BACKEND": _broker(),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "EMAIL_URL": "consolemail://",
        "PYTHONPATH": str(REPO_ROOT),
        "DJANGO_DEBUG": "false",
        # About ten chunks for the 300 comments of `comments`: a chord of several chunk tasks.
        "CONSOLIDATION_CHUNK_COMMENTS": str(CHUNK_COMMENTS),
        **extra_env,
    }
    args = ["worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *args, "-n", name],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"The worker exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
            replies = celery_app.control.ping(destination=[name], timeout=0.5) or []
            if any(name in reply for reply in replies):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"The worker did not answer a ping:\n{log_path.read_text(errors='replace')}")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _broker() -> str:
    from django.conf import settings

    return settings.TEST_REDIS_URL


@pytest.fixture
def broker() -> Iterator[str]:
    _flush_redis(_broker())
    with celery_app_using(_broker()):
        yield _broker()
    _flush_redis(_broker())


def _wait_for(predicate, timeout: float, what: str, log_path: Path):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)


def _groups(run: ConsolidationRun) -> list[tuple]:
    return sorted(
        (g.section_id, g.kind, g.size, g.similarity, tuple(sorted(g.comments.values_list("pk", flat=True))))
        for g in DuplicateGroup.objects.filter(run=run).prefetch_related("comments")
    )


def _listed_ids(run: ConsolidationRun) -> list[int]:
    return sorted(listed(run))


def test_a_real_worker_consolidates_a_round(broker, closed_round, comments, secretariat, tmp_path):
    log_path = tmp_path / "worker.log"
    with live_worker(f"consolidate-{os.getpid()}@localhost", log_path):
        run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.DONE).exists(),
            RUN_TIMEOUT,
            "the run to finish",
            log_path,
        )

    run.refresh_from_db()
    assert run.progress == 100
    assert run.attempts == 1
    assert run.comment_count == len(comments)
    assert _listed_ids(run) == comments
    # Computed as a chord of chunk tasks, and equal to the one-process computation here.
    assert ConsolidationChunk.objects.filter(run=run, done=True).count() == run.chunks.count() > 5
    with override_settings(CONSOLIDATION_CHUNK_COMMENTS=CHUNK_COMMENTS):
        one_process = aggregation.compute_consolidation(engagement_round=closed_round)
    assert run.result == one_process.result
    assert campaigns(run) == campaigns(one_process)
    assert listed(run) == listed(one_process)
    assert _groups(run) == sorted(
        (g.section_id, g.kind, len(g.comment_ids), g.similarity, tuple(sorted(g.comment_ids)))
        for g in one_process.groups
    )
    assert run.fingerprint == aggregation.current_fingerprint(round_id=closed_round.pk)
    submitted = Comment.objects.filter(round=closed_round, status="submitted")
    assert run.result["totals"]["by_type"] == {t: submitted.filter(type=t).count() for t in ("ge", "te", "ed")}
    assert run.result["totals"]["hidden"] == submitted.filter(is_hidden=True).count()
    assert run.result["totals"]["endorsed"] == submitted.filter(is_endorsed=True).count()
    assert (
        DuplicateGroup.objects.filter(run=run).count()
        == run.result["totals"]["exact_groups"] + (run.result["totals"]["near_groups"])
    )
    assert run.result["totals"]["exact_groups"] > 0
    assert run.result["totals"]["near_groups"] > 0
    assert not run.incremental


def test_a_real_worker_folds_the_changes_since_the_last_snapshot(broker, closed_round, comments, secretariat, tmp_path):
    log_path = tmp_path / "worker.log"
    with live_worker(f"incremental-{os.getpid()}@localhost", log_path):
        first = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=first.pk, status=JobStatus.DONE).exists(),
            RUN_TIMEOUT,
            "the first run to finish",
            log_path,
        )
        # Then, the run done, its remember task keeps the state the next run folds into.
        _wait_for(
            lambda: GroupingState.objects.filter(round=closed_round, run_id=first.pk).exists(),
            RUN_TIMEOUT,
            "the first run's incremental state",
            log_path,
        )
        assert not any(bytes(c.sketch) for c in ConsolidationChunk.objects.filter(run=first))
        # Between the two runs: a comment now repeats the text of another block's, one is withdrawn.
        edited, withdrawn, copied = (Comment.objects.get(pk=pk) for pk in (comments[0], comments[1], comments[-1]))
        Comment.objects.filter(pk=edited.pk).update(body=copied.body, revision=edited.revision + 1)
        Comment.objects.filter(pk=withdrawn.pk).update(status="withdrawn", revision=withdrawn.revision + 1)
        second = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=second.pk, status=JobStatus.DONE).exists(),
            RUN_TIMEOUT,
            "the incremental run to finish",
            log_path,
        )

    second.refresh_from_db()
    assert second.incremental
    assert not ConsolidationChunk.objects.filter(run=second).exists()
    one_process = aggregation.compute_consolidation(engagement_round=closed_round)
    assert second.result == one_process.result
    assert listed(second) == listed(one_process)
    assert campaigns(second) == campaigns(one_process)
    assert _groups(second) == sorted(
        (g.section_id, g.kind, len(g.comment_ids), g.similarity, tuple(sorted(g.comment_ids)))
        for g in one_process.groups
    )
    # Together in a group of their section, or in a campaign if they are on two sections.
    groups = [set(members) for *_kind, members in _groups(second)]
    groups += [set(c["comment_ids"]) for c in campaigns(second)]
    assert any({edited.pk, copied.pk} <= members for members in groups)
    assert not any(withdrawn.pk in members for members in groups)


def test_a_run_whose_worker_is_killed_is_finished_by_another_with_a_clean_result(
    broker, closed_round, comments, secretariat, tmp_path
):
    log_path = tmp_path / "workers.log"
    with live_worker(f"doomed-{os.getpid()}@localhost", log_path, TEST_SLOW_SECTIONS_MS="400") as doomed:
        run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING, progress__gt=5).exists(),
            RUN_TIMEOUT,
            "the run to be under way",
            log_path,
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

    # Killed mid-run: still marked running, nothing of a result written.
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING
    assert 5 < run.progress < 100
    assert run.result == {}
    assert not DuplicateGroup.objects.filter(run=run).exists()
    # The message was left unacknowledged; once older than the visibility timeout, the next
    # worker to start puts it back in the queue, and runs it once the dead worker's lease is out.
    time.sleep(max(VISIBILITY_TIMEOUT, LEASE_SECONDS) + 0.5)
    with live_worker(f"rescuer-{os.getpid()}@localhost", log_path):
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.DONE).exists(),
            RUN_TIMEOUT,
            "the redelivered task to finish the run",
            log_path,
        )

    run.refresh_from_db()
    # The same attempt, finished by the rescuer: the killed chunk's message was delivered again,
    # the chunks stored before the kill were kept, and the chord's merge wrote the snapshot.
    assert run.attempts == 1
    assert run.progress == 100
    assert run.comment_count == len(comments)
    assert _listed_ids(run) == comments  # no comment lost or counted twice
    # The same as a clean run on the same data, computed here in the test process (in full: the
    # grouping state the rescued run kept is dropped, or this run would fold into it).
    incremental.forget(round_id=closed_round.pk)
    clean = aggregation.consolidation_execute(run_id=ConsolidationRun.objects.create(round=closed_round).pk)
    assert clean.attempts == 1
    assert not clean.incremental
    assert run.result == clean.result
    assert campaigns(run) == campaigns(clean)
    assert listed(run) == listed(clean)
    assert run.fingerprint == clean.fingerprint
    assert run.as_of == clean.as_of
    assert _groups(run) == _groups(clean)
    assert len(_groups(run)) > 0
