"""Settings of the Celery workers that `make bench` starts for line 2: the bench database, a real broker.

The bench process itself uses benchmarks.settings (tasks eager); these workers take their tasks
from BENCH_REDIS_URL and keep chord state in it, as production workers do.
"""

import os

from benchmarks.settings import *  # noqa: F403

CELERY_BROKER_URL = os.environ["BENCH_REDIS_URL"]
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_ALWAYS_EAGER = False
