"""Settings shared by every environment.

Values come from the environment (django-environ). A bad value fails loudly at start-up;
secrets never live in code. Integrations have a module each: celery.py, allauth.py.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A persistent connection (CONN_MAX_AGE > 0) that PostgreSQL has dropped (a restart, a
# failover, an idle timeout) is noticed before the request uses it and replaced, rather than
# failing that request with a 500. Costs one "SELECT 1" on a reused connection per request.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "rules.apps.AutodiscoverRulesConfig",
    "django_htmx",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "accounts",
    "consultations",
    "comments",
    "audit",
    "consolidation",
    "notifications",
    "api",
    "transfer",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.ApiProblemMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "accounts.middleware.StaffMfaMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "consultations:list"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("vi", _("Vietnamese"))]
# English dates day-month-year with a 24-hour clock (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", default="UTC")

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Content-Security-Policy (django-csp) on every page, in every environment, so that the browser
# tests see what production serves: scripts and styles only from this site's own files, no
# inline script, handler or style attribute, no eval. The one inline script, Swagger UI's set-up
# at /api/docs/, carries the per-request nonce (templates/drf_spectacular/swagger_ui.html).
# Images also as data: URIs (the TOTP QR code, Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# E-mail: EMAIL_URL such as smtp://user:pass@host:587 or consolemail://
_email_settings = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email_settings)
EMAIL_BACKEND = _email_settings["EMAIL_BACKEND"]  # named here so other settings modules can import it
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Consultation platform <noreply@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Uploaded draft documents: anything larger is refused before it is parsed.
DRAFT_UPLOAD_MAX_BYTES = env.int("DRAFT_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Comments: at most this many new comments or replies a minute from one person (then 429),
# and how long replies wait before they go out as one digest e-mail.
COMMENT_RATE_PER_MINUTE = env.int("COMMENT_RATE_PER_MINUTE", default=30)
# Notifications (notifications app): "closing soon" reaches those who comment this many hours
# before their organisation's deadline; the daily digest goes out at this hour (UTC: 7 a.m. in
# Ha Noi and Bangkok, 8 a.m. in Manila and Kuala Lumpur).
NOTIFY_CLOSING_SOON_HOURS = env.int("NOTIFY_CLOSING_SOON_HOURS", default=48)
NOTIFY_DIGEST_HOUR_UTC = env.int("NOTIFY_DIGEST_HOUR_UTC", default=0)
NEAR_DUPLICATE_THRESHOLD = env.float("NEAR_DUPLICATE_THRESHOLD", default=85.0)
# A consolidation run is split into chunks of sections of about this many comments (at most
# CONSOLIDATION_MAX_CHUNKS), each grouped by its own Celery task (docs/performance.md, line 2).
CONSOLIDATION_CHUNK_COMMENTS = env.int("CONSOLIDATION_CHUNK_COMMENTS", default=2000)
CONSOLIDATION_MAX_CHUNKS = env.int("CONSOLIDATION_MAX_CHUNKS", default=32)
# Once the chunks are done, the candidate pairs across chunks are verified by this many tasks
# (each one a share of the LSH bands; at most one per chunk), before the merge.
CONSOLIDATION_LINK_TASKS = env.int("CONSOLIDATION_LINK_TASKS", default=8)
# An incremental run maps its round's band index (hundreds of MB at a million comments) from a
# file this machine keeps of it, instead of reading it from PostgreSQL each time
# (consolidation.services.band_index); the oldest files go beyond GROUPING_CACHE_BYTES. Empty:
# always read from the database.
GROUPING_CACHE_DIR = env.str("GROUPING_CACHE_DIR", default=str(VAR_DIR / "cache" / "grouping"))
GROUPING_CACHE_BYTES = env.int("GROUPING_CACHE_BYTES", default=4 * 1024**3)

# The cache holds rate-limit counters: Redis in production (CACHE_URL=redis://...).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"  # one Redis client per pool, not per call

# Carry-over: the lowest fuzzy-match score (0-100) at which an edited passage still counts
# as the one a comment quoted; below it the comment is flagged orphaned.
CARRY_OVER_MIN_SCORE = env.float("CARRY_OVER_MIN_SCORE", default=80.0)
# Fonts for PDF reports (config/pdf_text.py): Noto Sans, Noto Sans Thai, Lao, Khmer and Myanmar
# (Debian: fonts-noto-core), DejaVu Sans as the Latin alternative (fonts-dejavu-core).
REPORT_FONT_DIRS = env.list(
    "REPORT_FONT_DIRS", default=["/usr/share/fonts/truetype/noto", "/usr/share/fonts/truetype/dejavu"]
)
# A missing report font fails the report (ImproperlyConfigured) instead of printing empty boxes;
# on in production and in the test suite under CI=true.
REPORT_FONTS_REQUIRED = env.bool("REPORT_FONTS_REQUIRED", default=False)


# Line numbers of a version's text (consultations.line_numbers): characters a line, as OpenSlides'
# fixed line length. A version keeps the length it was published with; changing this numbers only
# versions published afterwards.
LINE_LENGTH = env.int("LINE_LENGTH", default=80)
if not 20 <= LINE_LENGTH <= 300:
    raise ValueError(f"LINE_LENGTH must be between 20 and 300 characters, not {LINE_LENGTH}.")

# How long /healthz waits for Celery workers to answer a ping, in seconds.
HEALTHZ_WORKER_TIMEOUT = env.float("HEALTHZ_WORKER_TIMEOUT", default=1.0)

SITE_NAME = env("SITE_NAME", default="Consultation platform")
# Absolute address used in e-mails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

from .allauth import *  # noqa: E402,F403
from .api import *  # noqa: E402,F403
from .celery import *  # noqa: E402,F403

# seed_demo refuses to run where this is False (production.py).
DEMO_SEED_ALLOWED = True
