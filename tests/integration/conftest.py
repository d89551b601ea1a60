"""A real Celery worker for the integration tests, and the test process's Celery app pointed at its broker.

The worker is a subprocess running the local settings against the pytest test database and the
Redis test db (settings.TEST_REDIS_URL); it writes e-mail to files in a temporary directory so
the tests can read what participants would receive.

For the fault tests: `start_worker` starts one more worker (in a process group of its own, so a
test can SIGKILL it as a whole) on any broker, and `PrivateRedis` is a redis-server of the
test's own on a free port, which a test may stop and start again (never the shared one).
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from kombu import exceptions as kombu_exceptions
from kombu import pools

from comments.models import Comment
from config.celery import app as celery_app
from tests import factories
from tests.helpers.services import redis_server_path, require

REPO_ROOT = Path(__file__).resolve().parents[2]
CELERY_BIN = Path(sys.executable).with_name("celery")
WORKER_SITE_URL = "https://consult.example.org"
WORKER_START_TIMEOUT = 30


def _flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _reset_celery_connections() -> None:
    """Forget the broker pool, producers and result backend, which Celery builds once and caches."""
    # kombu keeps one pool per broker address in a global registry; reset() closes and forgets them.
    pools.reset()
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local = threading.local()


@contextmanager
def celery_app_using(broker_url: str) -> Iterator[None]:
    """Send tasks and control messages through broker_url instead of running them eagerly."""
    keys = ("task_always_eager", "broker_url", "result_backend")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(task_always_eager=False, broker_url=broker_url, result_backend=broker_url)
    _reset_celery_connections()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _reset_celery_connections()


class LiveWorker:
    def __init__(self, process: subprocess.Popen, name: str, log_path: Path, mail_dir: Path):
        self.process = process
        self.name = name
        self.log_path = log_path
        self.mail_dir = mail_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def messages(self) -> list[EmailMessage]:
        """Every e-mail the worker has sent so far (the file backend appends them, 79 dashes apart)."""
        found = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    found.append(message_from_bytes(chunk.lstrip(), policy=policy.default))
        return found


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += ":" + db["PASSWORD"]
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, tmp_path_factory) -> Iterator[LiveWorker]:
    """Start `celery worker` on the test database and the Redis test db; stop it afterwards."""
    broker_url = settings.TEST_REDIS_URL
    base = tmp_path_factory.mktemp("celery-worker")
    mail_dir, log_path = base / "mail", base / "worker.log"
    mail_dir.mkdir()
    name = f"integ-{os.getpid()}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        # settings.DATABASES now names the test database pytest-django created.
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        # Four slashes: django-environ drops the first character of the path.
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "SITE_URL": WORKER_SITE_URL,
        "PYTHONPATH": str(REPO_ROOT),
        "DJANGO_DEBUG": "false",
    }
    _flush_redis(broker_url)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                str(CELERY_BIN),
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                name,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    worker = LiveWorker(process, name, log_path, mail_dir)
    try:
        with celery_app_using(broker_url):
            deadline = time.monotonic() + WORKER_START_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(f"The Celery worker exited with {process.returncode}:\n{worker.log()}")
                replies = celery_app.control.ping(destination=[name], timeout=0.5) or []
                if any(name in reply for reply in replies):
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"The Celery worker did not answer a ping within {WORKER_START_TIMEOUT} s:\n{worker.log()}"
                    )
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _flush_redis(broker_url)


@pytest.fixture
def celery_broker(celery_worker) -> Iterator[str]:
    """The test process sends tasks through the live worker's broker for the duration of a test."""
    with celery_app_using(settings.TEST_REDIS_URL):
        yield settings.TEST_REDIS_URL


# --- a closed round with comments ------------------------------------------------------------


@pytest.fixture
def comments(closed_round, version, vn_delegate, vn_focal_point, th_delegate, partner) -> list[int]:
    """A round of 300 comments over 12 clauses: duplicates, drafts, withdrawn, endorsed, hidden.

    Returns the ids of the submitted ones.
    """
    clauses = list(version.sections.filter(kind="clause")) + [
        factories.SectionFactory(version=version, key=f"clause-{n}", number=f"2.{n}", position=10 + n)
        for n in range(10)
    ]
    authors = [vn_delegate, vn_focal_point, th_delegate, partner]
    randomly = random.Random(2030)
    letters = "abcdefghijklmnopqrstuvwxyz"
    # Each block of six comments on one clause shares a text (exact duplicates); in every
    # other block one of them adds a word (a near-duplicate). Blocks differ from each other.
    blocks = [
        " ".join("".join(randomly.choices(letters, k=randomly.randint(3, 9))) for _ in range(14)) for _ in range(50)
    ]
    rows = []
    for n in range(300):
        author = authors[n % len(authors)]
        block = n // 6
        body = blocks[block] + (" indeed" if block % 2 and n % 6 == 5 else "")
        status = Comment.Status.SUBMITTED
        if n % 25 == 0:
            status = Comment.Status.DRAFT
        elif n % 31 == 0:
            status = Comment.Status.WITHDRAWN
        rows.append(
            Comment(
                round=closed_round,
                section=clauses[block % len(clauses)],
                author=author,
                organisation_id=author.organisation_id,
                type=["ge", "te", "ed"][n % 3],
                body=body.capitalize() + ".",
                status=status,
                is_endorsed=status == Comment.Status.SUBMITTED and author == vn_focal_point and n % 3 == 0,
                is_hidden=n % 47 == 0,
                submitted_at=timezone.now() if status != Comment.Status.DRAFT else None,
            )
        )
    Comment.objects.bulk_create(rows)
    return sorted(Comment.objects.filter(round=closed_round, status="submitted").values_list("pk", flat=True))


# --- fault tests: workers of their own, a Redis of their own ---------------------------------


def worker_env(broker_url: str, mail_dir: Path | None = None, **extra: str) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if key != "TEST_SLOW_SECTIONS_MS"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "EMAIL_URL": f"filemail:///{mail_dir}" if mail_dir else "consolemail://",
        "SITE_URL": WORKER_SITE_URL,
        "PYTHONPATH": str(REPO_ROOT),
        "DJANGO_DEBUG": "false",
        **extra,
    }


def wait_for_worker(process: subprocess.Popen, name: str, log_path: Path) -> None:
    """Until the worker answers a ping through the test process's Celery app (already pointed at its broker)."""
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"The worker exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            replies = celery_app.control.ping(destination=[name], timeout=0.5) or []
        except (redis.ConnectionError, OSError, kombu_exceptions.OperationalError):
            _reset_celery_connections()  # a broker that was restarted: pooled connections are stale
            replies = []
        if any(name in reply for reply in replies):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"The worker did not answer a ping:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group: the main process and its pool children at once."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@contextmanager
def start_worker(
    name: str, log_path: Path, broker_url: str, *, pool: str = "solo", mail_dir: Path | None = None, **extra_env: str
) -> Iterator[subprocess.Popen]:
    """A worker (and, with pool="prefork", one pool child) in a process group of its own; gone on exit."""
    args = [str(CELERY_BIN), "-A", "config", "worker", f"--pool={pool}", "--concurrency=1", "--loglevel=INFO"]
    args += ["--without-gossip", "--without-mingle", "-n", name]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=worker_env(broker_url, mail_dir, **extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_worker(process, name, log_path)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_group(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server on a free port, without persistence: stopping it loses every queued message."""

    def __init__(self, workdir: Path):
        binary = redis_server_path()
        require(binary, "redis-server is not installed (apt-get install redis-server)")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("The private redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
