"""Settings of `make bench`: the test settings on a dedicated PostgreSQL database.

The benchmark creates and drops its own database (BENCH_DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/bench_consultation); it never touches the development or the
test databases. The URLconf adds one bench-only view (benchmarks.urls) to the product's URLs.
"""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import env

BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_consultation")
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = 60
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["*"]
DEBUG = False
# 50 clients post for 30 s from a few accounts: the per-user rate limit would answer 429 to the
# load itself, which is not what line 8 measures (the limit's own cost, a cache counter, stays in).
COMMENT_RATE_PER_MINUTE = 1_000_000
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# An incremental run maps its band index from this machine's copy, as in production (line 3).
GROUPING_CACHE_DIR = str(BASE_DIR / "var" / "cache" / "grouping")  # noqa: F405
GROUPING_CACHE_BYTES = 4 * 1024**3
