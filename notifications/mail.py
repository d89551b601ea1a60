"""E-mail about notifications, in each recipient's language and time zone, sent from Celery only.

The outbox is Notification.mailed_at. A run takes each person with something to mail, locks
their rows (skip_locked: a second worker moves on to someone else), sends one e-mail listing
them and marks them mailed in the same transaction; a failed send rolls back and leaves them
for the next run. "At once" people are served by a beat task every minute (everything that
came since, in one e-mail); "daily" people by the daily digest, which mails what they have not
read on the site yet and settles the rest without e-mail.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import EmailFrequency

from .models import Notification
from .selectors import describe


def _pending(frequency: str):
    return Notification.objects.filter(mailed_at__isnull=True, recipient__email_frequency=frequency)


def _send(recipient, notifications: list[Notification]) -> None:
    with translation.override(recipient.email_language), timezone.override(recipient.time_zone or settings.TIME_ZONE):
        items = [describe(n) for n in notifications]
        context = {
            "user": recipient,
            "items": items,
            "count": len(items),
            "site_url": settings.SITE_URL.rstrip("/"),
        }
        subject = render_to_string("notifications/email/subject.txt", context).strip()
        body = render_to_string("notifications/email/body.txt", context)
    EmailMultiAlternatives(subject=subject, body=body, to=[recipient.email]).send()


def _mail_each(frequency: str, *, now: datetime, unread_only: bool) -> int:
    sent = 0
    recipients = list(_pending(frequency).values_list("recipient_id", flat=True).distinct())
    for recipient_id in recipients:
        with transaction.atomic():
            notifications = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(recipient_id=recipient_id, mailed_at__isnull=True, recipient__email_frequency=frequency)
                .select_related("recipient", "consultation", "round", "version", "actor")
                .order_by("created_at", "id")
            )
            if not notifications:
                continue
            to_mail = [n for n in notifications if n.read_at is None] if unread_only else notifications
            if to_mail:
                _send(notifications[0].recipient, to_mail)
                sent += 1
            Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(mailed_at=now)
    return sent


def send_immediate(*, now: datetime | None = None) -> int:
    """Mail the people who want it at once everything new since the last run. Returns e-mails sent."""
    now = now or timezone.now()
    # Someone who switched to "no e-mail" while rows were waiting: nothing is owed to them.
    _pending(EmailFrequency.NONE).update(mailed_at=now)
    return _mail_each(EmailFrequency.IMMEDIATE, now=now, unread_only=False)


def send_digests(*, now: datetime | None = None) -> int:
    """The daily digest: one e-mail per person of what they have not read yet. Returns e-mails sent."""
    return _mail_each(EmailFrequency.DAILY, now=now or timezone.now(), unread_only=True)
