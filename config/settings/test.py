"""Test settings.

The suite runs on PostgreSQL whenever one is reachable (always in CI, where a missing server
fails the run). SQLite is only the fallback for a first look on a machine without it.
"""

import os
import socket
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

CI = env.bool("CI", default=False)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if "DATABASE_URL" not in os.environ:
    if _reachable("127.0.0.1", 5432):
        DATABASES = {"default": env.db_url_config("postgres://postgres@127.0.0.1:5432/consultation")}
    elif CI:
        raise ImproperlyConfigured("CI=true but PostgreSQL is not reachable on 127.0.0.1:5432.")
    else:
        DATABASES = {"default": env.db_url_config("sqlite:///:memory:")}

# Each run gets its own test database (two runs at once, or two worktrees, never collide);
# pytest-xdist appends the worker id to it. TEST_DATABASE_NAME pins it when wanted.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=f"test_consultation_{os.getpid()}")}

SECRET_KEY = "test-secret-key-not-for-production"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = ""
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True
REQUIRE_STAFF_MFA = False
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_RATE_LIMITS = False
# Redis used by the integration tests (a live worker and broker); db 15 to stay out of the way.
# Under pytest-xdist each worker takes the database number below the previous one (15, 14...),
# since each starts a Celery worker of its own that must not take the other's tasks.
TEST_REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker.startswith("gw"):
    _base, _, _db = TEST_REDIS_URL.rpartition("/")
    TEST_REDIS_URL = f"{_base}/{int(_db or 0) - int(_xdist_worker[2:])}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# Under CI a missing report font fails the report, as in production (tests/conftest.py fails
# the run before that, for tests marked `fonts`).
REPORT_FONTS_REQUIRED = env.bool("REPORT_FONTS_REQUIRED", default=CI)
# The incremental runs' band index files (consolidation.services.band_index): in the system's
# temporary folder, not the checkout, and few (tests make hundreds of tiny ones).
GROUPING_CACHE_DIR = str(Path(tempfile.gettempdir()) / "consultation-tests" / "grouping")
GROUPING_CACHE_BYTES = 16 * 1024**2
