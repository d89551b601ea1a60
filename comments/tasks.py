"""Celery tasks for comments. Thin: they call a service and own retries."""

from celery import shared_task

from . import services


@shared_task(name="comments.tasks.send_reply_digests", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_reply_digests() -> int:
    return services.reply_digests_send()
