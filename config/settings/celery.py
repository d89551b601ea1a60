"""Celery: Redis broker in production; with no broker configured, tasks run eagerly in-process."""

from datetime import timedelta

import environ

env = environ.Env()

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With acks_late, a task whose worker died is redelivered once its message is older than
# this. Keep it above the longest task, or a task still running is handed out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# How often beat looks for rounds to open or close and reminders to send. Rounds open and
# close to the second in every write check regardless; this only moves the stored state
# and sends the e-mails.
ROUND_TICK_SECONDS = env.int("ROUND_TICK_SECONDS", default=30)
CELERY_BEAT_SCHEDULE = {
    "advance-rounds": {
        "task": "consultations.tasks.advance_rounds",
        "schedule": timedelta(seconds=ROUND_TICK_SECONDS),
    },
    "reply-digests": {
        "task": "comments.tasks.send_reply_digests",
        "schedule": timedelta(minutes=1),
    },
}
