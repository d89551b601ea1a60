"""A persistent database connection dropped by PostgreSQL does not fail the next request.

A real gunicorn on production settings, with CONN_MAX_AGE > 0, serves an API request (and
keeps its connection); another connection kills that backend with pg_terminate_backend, as a
PostgreSQL restart or failover would; the next request must still answer 200. The control
case turns the health checks off and shows the 500 this guards against.
"""

import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, session_cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url, headers={"Cookie": f"sessionid={session_cookie}", "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _server_backends(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return cursor.fetchone()[0]


def _terminate(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        killed = cursor.fetchone()[0]
    deadline = time.monotonic() + 30
    while _server_backends(application_name) and time.monotonic() < deadline:
        time.sleep(0.1)
    return killed


def _start_gunicorn(tmp_path, *, secret_key: str, application_name: str, health_checks: bool):
    db = connection.settings_dict
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secret_key,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}?application_name={application_name}"
        ),
        "CONN_MAX_AGE": "600",
        "CONN_HEALTH_CHECKS": "true" if health_checks else "false",
        "CELERY_BROKER_URL": django_settings.TEST_REDIS_URL,
        "CACHE_URL": django_settings.TEST_REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://consult.example.org",
        "EMAIL_URL": "smtp://127.0.0.1:2525",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    log = open(tmp_path / "gunicorn.log", "w")  # closed with the process below
    process = subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    if process.poll() is not None:
        raise AssertionError((tmp_path / "gunicorn.log").read_text())
    return process, log, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("health_checks", "after_the_kill"), [(True, 200), (False, 500)])
def test_the_request_after_postgresql_drops_the_connection(
    transactional_db, tmp_path, settings, vn_delegate, consultation, health_checks, after_the_kill
):
    settings.SECRET_KEY = secret_key = secrets.token_urlsafe(50)  # the server's: the session must hold there
    client = Client()
    client.force_login(vn_delegate)
    cookie = client.cookies["sessionid"].value
    application_name = f"conn-health-{uuid.uuid4().hex[:12]}"
    process, log, base_url = _start_gunicorn(
        tmp_path, secret_key=secret_key, application_name=application_name, health_checks=health_checks
    )
    try:
        url = f"{base_url}/api/v1/consultations/"
        status, body = _get(url, cookie)
        assert status == 200, body
        assert consultation.slug in body
        assert _server_backends(application_name) == 1  # the worker kept its connection

        assert _terminate(application_name) == 1

        status, body = _get(url, cookie)
        assert status == after_the_kill, body[:500]
        # Either way the worker is well again afterwards.
        status, body = _get(url, cookie)
        assert status == 200
        assert consultation.slug in body
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
