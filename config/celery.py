"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

# `celery -A config` started by hand is production unless told otherwise (make run tasks run in-process).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("consultation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
