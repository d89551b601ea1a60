"""Jobs survive the faults an operator sees: the broker stopped, a worker killed whole, the database
connection killed under a worker. Real services only: a redis-server of the test's own (stopped
and started again), Celery workers and beat as subprocesses in process groups of their own
(SIGKILLed as a whole), and pg_terminate_backend on the worker's PostgreSQL connections.

To catch a worker in the middle of a job without any hook in the code, the test holds an
ACCESS EXCLUSIVE lock on the comments table from a connection of its own: a worker that has
claimed its job (running, lease held) then waits on its first read of the comments.
"""

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.urls import reverse

from config.jobs import WAITING_FOR_QUEUE
from consolidation import selectors_reports
from consolidation.models import ConsolidationRun, DuplicateGroup, JobStatus, Report
from consolidation.services import aggregation, exports
from consolidation.tasks import sweep_jobs
from consultations.models import Invitation
from consultations.tasks import sweep_invitations
from tests.helpers.runs import campaigns, listed

from .conftest import (
    CELERY_BIN,
    REPO_ROOT,
    _flush_redis,
    celery_app_using,
    free_port,
    kill_group,
    start_worker,
    wait_for_worker,
    worker_env,
)

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

LEASE = "3"  # seconds: a worker killed whole is given up after this long
TIMEOUT = 60  # seconds to wait for anything a worker does
QUICK = 5  # a request while the broker is down answers well within this (Celery alone used to take ~19 s)
SHORT_JOBS = {"JOB_LEASE_SECONDS": LEASE, "JOB_PUBLISH_GRACE_SECONDS": "1", "JOB_QUEUED_GRACE_SECONDS": "600"}


def _wait_for(predicate, what: str, log_path: Path, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)


def _psycopg_dsn() -> str:
    db = settings.DATABASES["default"]
    parts = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "dbname": db["NAME"],
    }
    if db.get("PASSWORD"):
        parts["password"] = db["PASSWORD"]
    return " ".join(f"{key}={value}" for key, value in parts.items())


@contextmanager
def comments_locked() -> Iterator[psycopg.Connection]:
    """Hold an ACCESS EXCLUSIVE lock on the comments table until the block ends."""
    with psycopg.connect(_psycopg_dsn()) as conn:
        conn.execute("LOCK TABLE comments_comment IN ACCESS EXCLUSIVE MODE")
        try:
            yield conn
        finally:
            conn.rollback()


def _waiting_on_lock(locker: psycopg.Connection) -> bool:
    """Some other backend is blocked by the test's lock (the worker is inside its job)."""
    with psycopg.connect(_psycopg_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [locker.info.backend_pid]
        ).fetchone()
    return row[0] > 0


def _groups(run: ConsolidationRun) -> list[tuple]:
    return sorted(
        (g.section_id, g.kind, g.size, g.similarity, tuple(sorted(g.comments.values_list("pk", flat=True))))
        for g in DuplicateGroup.objects.filter(run=run).prefetch_related("comments")
    )


def _assert_equals_a_clean_run(run: ConsolidationRun, closed_round, comments: list[int]) -> None:
    assert run.status == JobStatus.DONE and run.progress == 100
    assert run.comment_count == len(comments)
    assert sorted(listed(run)) == comments
    # The same data consolidated here, in the test process, with nothing going wrong.
    clean = aggregation.consolidation_execute(run_id=ConsolidationRun.objects.create(round=closed_round).pk)
    assert clean.attempts == 1
    assert run.result == clean.result
    assert campaigns(run) == campaigns(clean)
    assert listed(run) == listed(clean)
    assert run.fingerprint == clean.fingerprint
    assert run.as_of == clean.as_of
    assert _groups(run) == _groups(clean) != []


@contextmanager
def beat(log_path: Path, broker_url: str, schedule_dir: Path, **extra_env: str) -> Iterator[None]:
    """A real `celery beat`, with whatever sweep interval the test gives it."""
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [str(CELERY_BIN), "-A", "config", "beat", "--loglevel=INFO", "-s", str(schedule_dir / "beat-schedule")],
            cwd=REPO_ROOT,
            env=worker_env(broker_url, **extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield
    finally:
        kill_group(process)


# --- (a) the broker stopped and started again ----------------------------------------------


def test_the_api_says_a_job_waits_for_the_task_queue_while_the_broker_is_down(client, closed_round, secretariat):
    """An app client is told as clearly as a page: saved, will start by itself, no need to ask again."""
    client.force_login(secretariat)
    slug = closed_round.consultation.slug
    with celery_app_using(f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens there
        started = time.monotonic()
        response = client.post(
            reverse("api:report-list", args=[slug]),
            {"kind": "resolution_matrix", "format": "csv", "round": closed_round.pk},
            content_type="application/json",
        )
        took = time.monotonic() - started

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["waiting_for_queue"]) == ("queued", True)
    assert body["notice"] == str(WAITING_FOR_QUEUE)
    assert took < QUICK
    polled = client.get(reverse("api:report-detail", args=[body["id"]])).json()
    assert polled["waiting_for_queue"] is True  # still saved, still waiting: the sweep will send it
    assert Report.objects.get(pk=body["id"]).queued_at is None


@pytest.mark.redis_server
def test_requests_while_the_broker_is_down_answer_at_once_and_finish_once_it_is_back(
    private_redis, tmp_path, client, closed_round, comments, secretariat, orgs
):
    log_path, mail_dir, media = tmp_path / "worker.log", tmp_path / "mail", tmp_path / "media"
    mail_dir.mkdir()
    media.mkdir()
    name = f"outage-{os.getpid()}@localhost"
    client.force_login(secretariat)
    slug = closed_round.consultation.slug
    invitee = "new.delegate@example.org"

    with (
        celery_app_using(private_redis.url),
        start_worker(
            name, log_path, private_redis.url, mail_dir=mail_dir, MEDIA_ROOT=str(media), **SHORT_JOBS
        ) as worker,
    ):
        private_redis.stop()

        asked = {}
        for what, url, data in [
            ("consolidation", reverse("consolidation:run_create", args=[slug, closed_round.pk]), {}),
            (
                "report",
                reverse("consolidation:report_create", args=[slug]),
                {"what": "resolution_matrix:xlsx", "engagement_round": closed_round.pk},
            ),
            (
                "invitation",
                reverse("consultations:participants", args=[slug]),
                {"email": invitee, "organisation": orgs["th"].pk, "role": "member_state"},
            ),
        ]:
            started = time.monotonic()
            response = client.post(url, data, follow=True)
            asked[what] = time.monotonic() - started
            assert response.status_code == 200, (what, response.status_code)
            assert str(WAITING_FOR_QUEUE) in response.content.decode(), what
        assert max(asked.values()) < QUICK, asked

        run = ConsolidationRun.objects.get(round=closed_round)
        report = Report.objects.get(consultation=closed_round.consultation)
        invitation = Invitation.objects.get(email=invitee)
        assert (run.status, run.queued_at) == (JobStatus.QUEUED, None)
        assert (report.status, report.queued_at) == (JobStatus.QUEUED, None)
        assert (invitation.sent_at, invitation.queued_at) == (None, None)

        # Asking again while it waits: a clear refusal that says it will start by itself, not a 500.
        time.sleep(float(settings.JOB_PUBLISH_TIMEOUT_SECONDS) + 1.5)
        again = client.post(reverse("consolidation:run_create", args=[slug, closed_round.pk]), follow=True)
        assert again.status_code == 200
        assert "already queued" in again.content.decode()
        assert ConsolidationRun.objects.filter(round=closed_round).count() == 1

        private_redis.start()  # empty: whatever was in flight is gone, as after a real Redis loss
        wait_for_worker(worker, name, log_path)
        swept = sweep_jobs.delay().get(timeout=TIMEOUT)
        assert swept["consolidations"]["requeued"] == [run.pk]
        assert swept["reports"]["requeued"] == [report.pk]
        assert sweep_invitations.delay().get(timeout=TIMEOUT) == [invitation.pk]

        _wait_for(
            lambda: (
                ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.DONE).exists()
                and Report.objects.filter(pk=report.pk, status=JobStatus.DONE).exists()
                and Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=False).exists()
            ),
            "the consolidation, the report and the invitation",
            log_path,
        )
        # A second sweep finds nothing to do, and nothing runs twice.
        swept = sweep_jobs.delay().get(timeout=TIMEOUT)
        assert all(not part["requeued"] and not part["failed"] for part in swept.values()), swept
        assert sweep_invitations.delay().get(timeout=TIMEOUT) == []
        messages = [m for m in _mails(mail_dir) if invitee in m]

    run.refresh_from_db()
    report.refresh_from_db()
    assert run.attempts == 1 and run.requeues == 0
    assert report.attempts == 1 and report.size > 0
    assert (media / report.file.name).stat().st_size == report.size
    assert len(messages) == 1
    _assert_equals_a_clean_run(run, closed_round, comments)


def _exported(report: Report) -> int:
    """How many comments a clean run of this report holds."""
    return selectors_reports.exported_comments(
        user=report.requested_by, consultation=report.consultation, engagement_round=report.round
    ).count()


def _mails(mail_dir: Path) -> list[str]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        found += [chunk for chunk in path.read_text(errors="replace").split("-" * 79) if chunk.strip()]
    return found


# --- (b) a worker killed as a whole, mid-consolidation and mid-export -----------------------


@pytest.fixture
def broker() -> Iterator[str]:
    url = settings.TEST_REDIS_URL
    _flush_redis(url)
    with celery_app_using(url):
        yield url
    _flush_redis(url)


def test_a_worker_killed_whole_mid_job_is_replaced_and_its_jobs_finish_once(
    broker, tmp_path, closed_round, comments, secretariat
):
    log_path, media = tmp_path / "workers.log", tmp_path / "media"
    media.mkdir()
    # The broker's visibility timeout stays at its hour: only the lease and the sweep bring the jobs back.
    env = {**SHORT_JOBS, "MEDIA_ROOT": str(media)}

    with comments_locked() as locker:
        with start_worker(f"doomed-{os.getpid()}@localhost", log_path, broker, pool="prefork", **env) as doomed:
            run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
            report = exports.report_request(
                actor=secretariat,
                consultation=closed_round.consultation,
                kind=Report.Kind.RESOLUTION_MATRIX,
                format=Report.Format.CSV,
                engagement_round=closed_round,
            )
            _wait_for(
                lambda: (
                    ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING).exists()
                    and _waiting_on_lock(locker)
                ),
                "the consolidation to be under way",
                log_path,
            )
            kill_group(doomed)  # the main process and its pool child, at once
        time.sleep(0.5)
        # Killed mid-run: still marked running under a lease nobody renews; the report still queued.
        run.refresh_from_db()
        assert run.status == JobStatus.RUNNING and run.lease_expires_at is not None
        assert run.result == {}

    # The lease runs out; beat's sweep queues the run again and a new worker runs both jobs.
    with (
        start_worker(f"rescuer-{os.getpid()}@localhost", log_path, broker, **env),
        beat(tmp_path / "beat.log", broker, tmp_path, JOB_SWEEP_SECONDS="1", **env),
    ):
        _wait_for(
            lambda: (
                ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.DONE).exists()
                and Report.objects.filter(pk=report.pk, status=JobStatus.DONE).exists()
            ),
            "the rescued jobs to finish",
            log_path,
        )

    run.refresh_from_db()
    report.refresh_from_db()
    assert run.attempts == 2 and run.requeues == 1
    assert report.attempts == 1
    _assert_equals_a_clean_run(run, closed_round, comments)
    assert report.source["comments"] == _exported(report)


def test_a_worker_killed_whole_mid_export_is_replaced_and_the_file_is_made_once(
    broker, tmp_path, closed_round, comments, secretariat
):
    log_path, media = tmp_path / "workers.log", tmp_path / "media"
    media.mkdir()
    env = {**SHORT_JOBS, "MEDIA_ROOT": str(media)}

    with comments_locked() as locker:
        with start_worker(f"doomed-x-{os.getpid()}@localhost", log_path, broker, pool="prefork", **env) as doomed:
            report = exports.report_request(
                actor=secretariat,
                consultation=closed_round.consultation,
                kind=Report.Kind.RESOLUTION_MATRIX,
                format=Report.Format.XLSX,
                engagement_round=closed_round,
            )
            _wait_for(
                lambda: (
                    Report.objects.filter(pk=report.pk, status=JobStatus.RUNNING).exists() and _waiting_on_lock(locker)
                ),
                "the export to be under way",
                log_path,
            )
            kill_group(doomed)
        report.refresh_from_db()
        assert report.status == JobStatus.RUNNING and not report.file

    with (
        start_worker(f"rescuer-x-{os.getpid()}@localhost", log_path, broker, **env),
        beat(tmp_path / "beat.log", broker, tmp_path, JOB_SWEEP_SECONDS="1", **env),
    ):
        _wait_for(lambda: Report.objects.filter(pk=report.pk, status=JobStatus.DONE).exists(), "the export", log_path)

    report.refresh_from_db()
    assert report.attempts == 2 and report.requeues == 1
    assert report.source["comments"] == _exported(report)
    files = [p for p in media.rglob("*") if p.is_file()]
    assert [p.relative_to(media).as_posix() for p in files] == [report.file.name]  # one file, no leftovers
    assert files[0].stat().st_size == report.size > 0


# --- (c) the database connection killed under a running worker ------------------------------


def test_a_job_whose_database_connection_is_killed_still_finishes_once(
    broker, tmp_path, closed_round, comments, secretariat
):
    log_path = tmp_path / "worker.log"
    with start_worker(f"pg-{os.getpid()}@localhost", log_path, broker, **SHORT_JOBS):
        with comments_locked() as locker:
            run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
            _wait_for(
                lambda: (
                    ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING).exists()
                    and _waiting_on_lock(locker)
                ),
                "the consolidation to be under way",
                log_path,
            )
            with psycopg.connect(_psycopg_dsn(), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s "
                    "AND pid <> %s",
                    [locker.info.backend_pid, _own_backend_pid()],
                ).fetchone()[0]
            assert killed >= 1
        _wait_for(
            lambda: ConsolidationRun.objects.filter(pk=run.pk, status=JobStatus.DONE).exists(),
            "the run to finish after its connection was killed",
            log_path,
        )

    run.refresh_from_db()
    assert run.attempts == 2  # the killed attempt gave the run back; the retry made it
    assert "terminating connection" in log_path.read_text(errors="replace")
    _assert_equals_a_clean_run(run, closed_round, comments)


def _own_backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
