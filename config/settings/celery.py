"""Celery: Redis broker in production; with no broker configured, tasks run eagerly in-process."""

from datetime import timedelta

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

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
# this. Recovery does not wait for it: the job's lease and the sweep below bring a job back
# within minutes, and a message redelivered while a live worker holds the job does nothing.
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
    # Notifications: e-mail to those who want it at once (everything new since the last tick),
    # the daily digest, and "closing soon" (idempotent: once per round and person).
    "notification-emails": {
        "task": "notifications.tasks.send_immediate",
        "schedule": timedelta(minutes=1),
    },
    "notification-digests": {
        "task": "notifications.tasks.send_digests",
        "schedule": crontab(minute=0, hour=env.int("NOTIFY_DIGEST_HOUR_UTC", default=0)),
    },
    "rounds-closing-soon": {
        "task": "notifications.tasks.notify_rounds_closing",
        "schedule": timedelta(minutes=15),
    },
}

# Background jobs (docs/jobs.md). A running job renews its lease every third of
# JOB_LEASE_SECONDS; a lease that runs out means its worker is gone, and the sweep (every
# JOB_SWEEP_SECONDS) queues the job again. A queued job whose message never reached the broker
# is published again after JOB_PUBLISH_GRACE_SECONDS; one that reached it but has not started
# after JOB_QUEUED_GRACE_SECONDS (longer at each try) is published again. A job queued again
# JOB_MAX_REQUEUES times is failed, which frees its round for a new request.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=120)
JOB_SWEEP_SECONDS = env.int("JOB_SWEEP_SECONDS", default=60)
JOB_PUBLISH_GRACE_SECONDS = env.int("JOB_PUBLISH_GRACE_SECONDS", default=30)
JOB_QUEUED_GRACE_SECONDS = env.int("JOB_QUEUED_GRACE_SECONDS", default=600)
JOB_MAX_REQUEUES = env.int("JOB_MAX_REQUEUES", default=5)
# How long a web request waits for the broker when it queues a job (connect and send).
JOB_PUBLISH_TIMEOUT_SECONDS = env.float("JOB_PUBLISH_TIMEOUT_SECONDS", default=2.0)
for _name in ("JOB_LEASE_SECONDS", "JOB_SWEEP_SECONDS", "JOB_PUBLISH_TIMEOUT_SECONDS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be above 0.")
CELERY_BEAT_SCHEDULE.update(
    {
        "sweep-consolidation-jobs": {
            "task": "consolidation.tasks.sweep_jobs",
            "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        },
        "sweep-invitations": {
            "task": "consultations.tasks.sweep_invitations",
            "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        },
        # The feedback page's comment counts against a GROUP BY of the comments (rebuilt on drift).
        "check-comment-counts": {
            "task": "consolidation.tasks.check_comment_counts",
            "schedule": timedelta(days=1),
        },
        "sweep-round-reminders": {
            "task": "consultations.tasks.sweep_round_reminders",
            "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        },
    }
)
