"""A real Celery worker for the integration tests, and the test process's Celery app pointed at its broker.

The worker is a subprocess running the local settings against the pytest test database and the
Redis test db (settings.TEST_REDIS_URL); it writes e-mail to files in a temporary directory so
the tests can read what participants would receive.
"""

import os
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
from kombu import pools

from config.celery import app as celery_app

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
