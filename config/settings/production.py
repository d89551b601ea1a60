"""Production: every secret from the environment, secure cookies, MFA for staff.

Start-up refuses (ImproperlyConfigured, listing every problem at once) a configuration that
cannot be run safely: see docs/production.md for the variables and an example.
"""

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, EMAIL_BACKEND, env

# Keys published in this repository (config/settings/local.py, test.py): never in production.
PUBLISHED_SECRET_KEYS = {"local-development-key-not-for-production", "test-secret-key-not-for-production"}
# Caches that each process keeps to itself (or none): login lockouts and API throttles counted
# there reset on another gunicorn worker, so they do not hold.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}
# E-mail backends that never deliver: invitations and password resets would be lost.
UNDELIVERED_EMAIL = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
SITE_URL = env("SITE_URL", default="")

_problems = []
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    _problems.append(
        "SECRET_KEY must be a random value of at least 50 characters, e.g. from "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
elif SECRET_KEY in PUBLISHED_SECRET_KEYS:
    _problems.append("SECRET_KEY is a key published in this repository; generate your own.")
if not os.environ.get("DATABASE_URL"):
    _problems.append("DATABASE_URL must be set (postgres://user:password@host:5432/name).")
elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    # The audit log's append-only trigger, row locks and full-text search are PostgreSQL's.
    _problems.append("DATABASE_URL must name a PostgreSQL database (postgres://...).")
if not env("CELERY_BROKER_URL", default=""):
    _problems.append("CELERY_BROKER_URL must be set (redis://host:6379/0).")
if not os.environ.get("CACHE_URL") or CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES:
    _problems.append(
        "CACHE_URL must name a cache shared by every process (redis://host:6379/1): login lockouts, "
        "comment rate limits and API throttles are counted there."
    )
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    _problems.append("ALLOWED_HOSTS must list the public host names (e.g. consult.example.org), not '*'.")
if not SITE_URL.startswith("https://"):
    _problems.append("SITE_URL must be the public https:// address; it goes into every e-mailed link.")
if not os.environ.get("EMAIL_URL") or EMAIL_BACKEND in UNDELIVERED_EMAIL:
    _problems.append("EMAIL_URL must name a server that delivers mail (smtp+tls://user:password@smtp.example.org:587).")
if _problems:
    raise ImproperlyConfigured(
        "Production settings (config.settings.production) refuse to start:\n- " + "\n- ".join(_problems)
    )

# Persistent connections by default; base.py turns on their health checks.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

REQUIRE_STAFF_MFA = env.bool("REQUIRE_STAFF_MFA", default=True)
# A PDF report fails rather than print a script in empty boxes (docs/production.md: fonts).
REPORT_FONTS_REQUIRED = env.bool("REPORT_FONTS_REQUIRED", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS: a year, sub-domains included. Preload is a promise to the browsers' built-in list that
# is slow to take back, so it is the operator's choice (SECURE_HSTS_PRELOAD=true); without it,
# check --deploy's reminder about it (security.W021) is silenced, and only that one.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Generated reports and uploaded templates: an S3-compatible bucket when one is configured
# (django-storages; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT_URL for non-AWS),
# else the local MEDIA_ROOT.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# seed_demo creates accounts with a published password: never in production.
DEMO_SEED_ALLOWED = False
