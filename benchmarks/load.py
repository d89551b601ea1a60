"""Line 8: comment POSTs under 50 concurrent clients against gunicorn, vs a trivial view.

gunicorn serves the bench settings (benchmarks.settings, so the bench database and the bench-only
reference view) on a free local port. A pool of 50 threads, each an http.client connection with
its own logged-in session, sends requests for DURATION seconds: first GETs of the trivial view
(loads the session and the user, returns JSON), then comment POSTs (htmx, submitted) spread over
the sections of the main consultation. Figures: errors, requests/s, p95 latency.
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from .data import Built
from .lines import Line, compared

CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session_for(user) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def _run(port: int, requests: list, duration: float) -> dict:
    """requests: one (method, path_fn, body_fn, headers) per client. Returns latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def worker(spec) -> None:
        method, path_fn, body_fn, headers = spec
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad = [], []
        while time.monotonic() < stop:
            body = body_fn()
            start = time.perf_counter()
            try:
                conn.request(method, path_fn(), body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    bad.append(str(response.status))
            except (OSError, http.client.HTTPException) as exc:
                bad.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        list(pool.map(worker, requests))
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p95": p95,
        "rps": len(latencies) / duration,
    }


def line_comment_post(built: Built, duration: float) -> Line:
    from accounts.models import User
    from consultations.models import Section

    users = list(User.objects.filter(pk__in=built.commenter_ids).order_by("pk"))
    keys = list(
        Section.objects.filter(version__consultation__slug=built.main_slug)
        .exclude(key=built.hot_key)
        .values_list("key", flat=True)
    )
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=str(settings.BASE_DIR),
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.2)
        csrf = secrets.token_hex(16)  # 32 characters: an unmasked secret, as the cookie holds
        specs_trivial, specs_post = [], []
        for i in range(CLIENTS):
            user = users[i % len(users)]
            headers = {
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={_session_for(user)}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "X-CSRFToken": csrf,
                "Host": "127.0.0.1",
            }
            specs_trivial.append(("GET", lambda: "/bench/trivial/", lambda: None, headers))
            rng = random.Random(i)
            post_headers = {**headers, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"}
            specs_post.append(
                (
                    "POST",
                    lambda rng=rng: (
                        f"/consultations/{built.main_slug}/rounds/{built.main_round_id}/sections/{rng.choice(keys)}/comments/"
                    ),
                    lambda rng=rng: urlencode(
                        {
                            "type": "te",
                            "language": "en",
                            "action": "submit",
                            "body": f"Load test comment {rng.random()}.",
                        }
                    ),
                    post_headers,
                )
            )
        _run(port, specs_trivial[:4], 2.0)  # warm the workers
        trivial = _run(port, specs_trivial, duration)
        posts = _run(port, specs_post, duration)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return compared(
        f"8. comment POST, {CLIENTS} clients x {duration:.0f} s, p95 vs trivial view",
        posts["p95"],
        trivial["p95"],
        3,
        holds=posts["errors"] == 0,
        target="0 errors, <= 3x",
        unit="s (p95)",
        note=f"POST {posts['rps']:.0f}/s, {posts['errors']} errors {posts['error_kinds']}; "
        f"trivial {trivial['rps']:.0f}/s, "
        f"{trivial['errors']} errors; gunicorn {workers} sync workers",
        details={"posts": posts, "trivial": trivial},
    )
