"""Celery tasks for notifications (beat). Thin: they call a service and own retries."""

from celery import shared_task

from . import mail, services


@shared_task(name="notifications.tasks.send_immediate", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_immediate() -> int:
    return mail.send_immediate()


@shared_task(name="notifications.tasks.send_digests", autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def send_digests() -> int:
    return mail.send_digests()


@shared_task(name="notifications.tasks.notify_rounds_closing")
def notify_rounds_closing() -> int:
    return services.notify_rounds_closing()
