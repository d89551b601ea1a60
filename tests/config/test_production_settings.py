"""Production settings refuse to start unsafe, and `check --deploy` finds nothing in them.

Each case imports config.settings.production (or runs manage.py, make, honcho) in a subprocess
with only the environment given, as an operator's start-up would.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
REFUSED = "refuse to start"


def production_env(**overrides: str | None) -> dict[str, str]:
    """A realistic, complete production environment; None removes a variable."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://consult:secret@db.internal:5432/consult",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "CACHE_URL": "redis://redis.internal:6379/1",
        "ALLOWED_HOSTS": "consult.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://consult.example.org",
        "SITE_URL": "https://consult.example.org",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def import_production(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import json, config.settings.production as s; print(json.dumps({"
        "'DEBUG': s.DEBUG, 'CACHE': s.CACHES['default']['BACKEND'], 'HSTS': s.SECURE_HSTS_SECONDS, "
        "'HSTS_SUB': s.SECURE_HSTS_INCLUDE_SUBDOMAINS, 'HSTS_PRELOAD': s.SECURE_HSTS_PRELOAD, "
        "'MFA': s.REQUIRE_STAFF_MFA, 'CONN_MAX_AGE': s.DATABASES['default']['CONN_MAX_AGE'], "
        "'CONN_HEALTH_CHECKS': s.DATABASES['default']['CONN_HEALTH_CHECKS']}))"
    )
    return run([sys.executable, "-c", code], env)


def test_a_complete_environment_starts_with_safe_values():
    result = import_production(production_env())

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["CACHE"] == "config.cache.RedisCache"
    assert values["HSTS"] >= 365 * 24 * 3600
    assert values["HSTS_SUB"] is True
    assert values["HSTS_PRELOAD"] is False
    assert values["MFA"] is True
    assert values["CONN_MAX_AGE"] > 0
    assert values["CONN_HEALTH_CHECKS"] is True


def test_hsts_preload_is_the_operators_choice():
    result = import_production(production_env(SECURE_HSTS_PRELOAD="true"))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["HSTS_PRELOAD"] is True


UNSAFE = [
    ({"CACHE_URL": None}, "CACHE_URL"),
    ({"CACHE_URL": "locmemcache://"}, "CACHE_URL"),
    ({"CACHE_URL": "dummycache://"}, "CACHE_URL"),
    ({"CACHE_URL": "filecache:///tmp/consult-cache"}, "CACHE_URL"),
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "too-short-a-key-for-production-use"}, "SECRET_KEY"),
    ({"SECRET_KEY": "a" * 60}, "SECRET_KEY"),
    ({"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)}, "SECRET_KEY"),
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:////tmp/consult.sqlite3"}, "DATABASE_URL"),
    ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
    ({"SITE_URL": None}, "SITE_URL"),
    ({"SITE_URL": "http://consult.example.org"}, "SITE_URL"),
    ({"EMAIL_URL": None}, "EMAIL_URL"),
    ({"EMAIL_URL": "consolemail://"}, "EMAIL_URL"),
]

# Imports the settings afresh once per environment in one interpreter (Django's own import is
# the slow part), printing for each the ImproperlyConfigured message or "started".
IMPORT_EACH = """
import importlib, json, os, sys
results = []
for env in json.loads(sys.stdin.read()):
    os.environ.clear()
    os.environ.update(env)
    for name in [m for m in sys.modules if m.startswith("config.settings")]:
        del sys.modules[name]
    try:
        importlib.import_module("config.settings.production")
        results.append("started")
    except Exception as error:
        results.append(type(error).__name__ + ": " + str(error))
print(json.dumps(results))
"""


def test_an_unsafe_environment_is_refused_with_the_variable_named():
    # The complete environment first: the same interpreter does start with it.
    cases = [production_env()] + [production_env(**overrides) for overrides, _named in UNSAFE]
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH],
        cwd=BASE_DIR,
        env=production_env(),
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)

    assert messages[0] == "started"
    for (overrides, named), message in zip(UNSAFE, messages[1:], strict=True):
        assert message.startswith("ImproperlyConfigured: "), (overrides, message)
        assert REFUSED in message
        assert named in message, (overrides, message)
        assert message.count("\n- ") == 1, message  # only what is wrong is listed


def test_every_problem_is_listed_at_once():
    result = import_production({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})

    assert result.returncode != 0
    message = result.stderr[result.stderr.index(REFUSED) :]
    for name in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "ALLOWED_HOSTS", "SITE_URL"):
        assert name in message
    assert "EMAIL_URL" in message


@pytest.mark.parametrize("preload", ["false", "true"])
def test_check_deploy_reports_nothing(preload):
    env = production_env(DJANGO_SETTINGS_MODULE="config.settings.production", SECURE_HSTS_PRELOAD=preload)

    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_make_serve_refuses_to_start_without_the_production_environment():
    """`make serve` as docs/production.md once showed it: database and broker only."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/consultation",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        # Even asked for, the development settings are not what `make serve` runs.
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }

    # -o: do not reinstall the (shared) virtualenv when requirements*.txt is newer.
    result = run(["make", "-o", ".venv/.installed", "serve"], env)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert REFUSED in output
    assert "SECRET_KEY" in output
    assert "Booting worker" not in output  # nothing was served


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_every_procfile_process_runs_production_settings(process):
    """Started by honcho (as make serve does) without secrets, each process refuses to run."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}

    result = run([str(BASE_DIR / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile", process], env)

    output = result.stdout + result.stderr
    assert f"{process}.1" in output
    assert REFUSED in output
