"""Line 8: comment POSTs under 50 concurrent clients against gunicorn, vs a trivial view.

gunicorn serves the bench settings (benchmarks.settings, so the bench database and the bench-only
reference view) on a free local port, set up as production runs it: persistent database
connections, and the cache shared by every worker in Redis (BENCH_CACHE_URL, default
redis://127.0.0.1:6379/12; production refuses a per-process cache, and the comment rate limit
is counted there). Sync workers by default (BENCH_GUNICORN_WORKERS, 4 = 2 per core);
BENCH_GUNICORN_THREADS > 1 runs gthread workers instead.

A pool of 50 threads, each an http.client connection with its own logged-in session, sends
requests: GETs of the trivial view (loads the session and the user, returns JSON) and comment
POSTs (htmx, submitted, on the sections of the main consultation other than `hot` and `quiet`;
one in three on a passage of the section's text, which also sends the text's highlights back).
The two alternate in SLICES slices of DURATION / SLICES seconds each, so that a change in the
machine's load (it is shared) weighs on both alike. Figures: errors, requests/s, p95 latency;
during the POSTs, what PostgreSQL's backends wait on (pg_stat_activity, sampled).
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
SLICES = 3
ANCHORED_EVERY = 3  # one POST in three quotes a passage of the section
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/12"


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
            path, body = path_fn(), body_fn()
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
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
    return {"latencies": latencies, "errors": errors, "seconds": duration}


def _summary(runs: list[dict]) -> dict:
    latencies = sorted(x for run in runs for x in run["latencies"])
    errors = [e for run in runs for e in run["errors"]]
    seconds = sum(run["seconds"] for run in runs)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "p50": latencies[int(0.5 * (len(latencies) - 1))] if latencies else float("nan"),
        "rps": len(latencies) / seconds,
    }


class _WaitSampler(threading.Thread):
    """What the bench database's backends are doing, sampled every 50 ms while `active` is set:
    running, waiting on a lock (the audit chain's advisory lock), on WAL sync (a commit's fsync)..."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.active = threading.Event()
        self.done = threading.Event()
        self.samples = 0
        self.counts: dict[str, int] = {}

    def run(self) -> None:
        import psycopg

        db = settings.DATABASES["default"]
        conninfo = psycopg.conninfo.make_conninfo(
            dbname="postgres",
            host=db.get("HOST") or "127.0.0.1",
            port=str(db.get("PORT") or 5432),
            user=db.get("USER") or "postgres",
            password=db.get("PASSWORD") or None,
        )
        sql = (
            "SELECT coalesce(wait_event_type || ':' || wait_event, 'running') FROM pg_stat_activity "
            "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while not self.done.is_set():
                if self.active.wait(0.2):
                    for (what,) in conn.execute(sql, [db["NAME"]]).fetchall():
                        self.counts[what] = self.counts.get(what, 0) + 1
                    self.samples += 1
                    time.sleep(0.05)

    def average(self) -> dict[str, float]:
        """Backends in each state, on average over the samples."""
        return {k: round(v / max(1, self.samples), 2) for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1])}


def _cache_url() -> str:
    """The shared cache the server uses, as in production (Redis); empty when none answers."""
    url = os.environ.get("BENCH_CACHE_URL", DEFAULT_CACHE_URL)
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:
        return ""
    return url


class _Writer:
    """One client's comments: a random section each time, one in ANCHORED_EVERY on a passage of it."""

    def __init__(self, built: Built, bodies: dict[str, str], rng: random.Random) -> None:
        self.built, self.bodies, self.rng = built, bodies, rng
        self.keys = sorted(bodies)
        self.key = self.keys[0]
        self.count = 0

    def path(self) -> str:
        self.key = self.rng.choice(self.keys)
        built = self.built
        return f"/consultations/{built.main_slug}/rounds/{built.main_round_id}/sections/{self.key}/comments/"

    def body(self) -> str:
        from comments.anchoring import anchor_at

        self.count += 1
        fields = {"type": "te", "language": "en", "action": "submit", "body": f"Load test {self.rng.random()}."}
        text = self.bodies[self.key]
        if self.count % ANCHORED_EVERY == 0 and len(text) > 40:
            start = self.rng.randrange(0, len(text) - 30)
            anchor = anchor_at(text, start, start + 24)
            fields["quote_exact"], fields["quote_prefix"], fields["quote_suffix"] = (
                anchor.exact,
                anchor.prefix,
                anchor.suffix,
            )
            fields["position_start"], fields["position_end"] = str(anchor.start), str(anchor.end)
        return urlencode(fields)


def line_comment_post(built: Built, duration: float) -> Line:
    from accounts.models import User
    from consultations.models import Section

    users = list(User.objects.filter(pk__in=built.commenter_ids).order_by("pk"))
    bodies = dict(
        Section.objects.filter(version__consultation__slug=built.main_slug)
        .exclude(key__in=[built.hot_key, built.quiet_key])
        .values_list("key", "body")
    )
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    cache_url = _cache_url()
    if cache_url:
        env["CACHE_URL"] = cache_url
    workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_GUNICORN_THREADS", "1"))
    kind = "sync" if threads <= 1 else "gthread"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    server = subprocess.Popen(command, env=env, cwd=str(settings.BASE_DIR))
    sampler = _WaitSampler()
    sampler.start()
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.2)
        csrf = secrets.token_hex(16)  # 32 characters: an unmasked secret, as the cookie holds
        page = f"/consultations/{built.main_slug}/versions/{built.main_version}/sections/"
        specs_trivial, specs_post = [], []
        for i in range(CLIENTS):
            user = users[i % len(users)]
            headers = {
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={_session_for(user)}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "X-CSRFToken": csrf,
                "Host": "127.0.0.1",
            }
            specs_trivial.append(("GET", lambda: "/bench/trivial/", lambda: None, headers))
            writer = _Writer(built, bodies, random.Random(i))
            post_headers = {**headers, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"}
            # The section page the writer has open (page 1 of all comments): its window's highlights.
            post_headers["HX-Current-URL"] = f"http://127.0.0.1{page}"
            specs_post.append(("POST", writer.path, writer.body, post_headers))
        _run(port, specs_trivial[:4], 2.0)  # warm the workers
        _run(port, specs_post[:4], 2.0)
        trivial_runs, post_runs = [], []
        for _ in range(SLICES):
            trivial_runs.append(_run(port, specs_trivial, duration / SLICES))
            sampler.active.set()
            post_runs.append(_run(port, specs_post, duration / SLICES))
            sampler.active.clear()
        trivial, posts = _summary(trivial_runs), _summary(post_runs)
    finally:
        sampler.done.set()
        server.terminate()
        server.wait(timeout=30)
    waits = sampler.average()
    setup = f"gunicorn {workers} {kind} workers" + (f" x {threads} threads" if threads > 1 else "")
    setup += ", cache " + ("Redis" if cache_url else "per process (no Redis answered)")
    return compared(
        f"8. comment POST, {CLIENTS} clients x {duration:.0f} s, p95 vs trivial view",
        posts["p95"],
        trivial["p95"],
        3,
        holds=posts["errors"] == 0,
        target="0 errors, <= 3x",
        unit="s (p95)",
        note=f"POST {posts['rps']:.0f}/s, {posts['errors']} errors {posts['error_kinds']}; "
        f"trivial {trivial['rps']:.0f}/s, {trivial['errors']} errors; {setup}; "
        f"PostgreSQL backends during the POSTs, on average: "
        + (", ".join(f"{v:g} {k}" for k, v in waits.items()) or "none active"),
        details={"posts": posts, "trivial": trivial, "postgres_active_backends": waits, "setup": setup},
    )
