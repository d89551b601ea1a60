"""Celery tasks for consultation windows and invitations. Thin: they take ids, call a service, own retries."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from config.jobs import publish

from . import reminders, services
from .models import Invitation


@shared_task(name="consultations.tasks.advance_rounds")
def advance_rounds() -> dict:
    """Beat, every ROUND_TICK_SECONDS: open and close rounds (their notifications follow the signals)."""
    return services.rounds_advance()


# --- invitations ----------------------------------------------------------------------------


def _deliver(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "url": settings.SITE_URL.rstrip("/") + reverse("invitations:accept", args=[invitation.token]),
    }
    subject = render_to_string("consultations/invitations/email_subject.txt", context).strip()
    body = render_to_string("consultations/invitations/email.txt", context)
    send_mail(subject, body, None, [invitation.email])


@shared_task(name=services.SEND_INVITATION, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_invitation(invitation_id: int) -> bool:
    """Idempotent: the e-mail goes out once however often the message is delivered."""
    return services.invitation_send(invitation_id=invitation_id, send=_deliver)


@shared_task(name="consultations.tasks.sweep_invitations")
def sweep_invitations() -> list[int]:
    """Beat: queue again the invitation e-mails a broker outage or a lost worker left unsent."""
    ids = list(services.invitations_stranded().values_list("pk", flat=True))
    for pk in ids:
        publish(send_invitation, pk)
    return ids


# --- reminders to late organisations ---------------------------------------------------------


@shared_task(name=reminders.SEND_REMINDERS, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_round_reminders(round_id: int) -> int:
    """Idempotent: each reminder is claimed before it is sent."""
    return reminders.round_reminders_send(round_id=round_id)


@shared_task(name="consultations.tasks.sweep_round_reminders")
def sweep_round_reminders() -> list[int]:
    """Beat: queue again the reminders a broker outage or a failed send left unsent."""
    ids = reminders.round_reminders_stranded()
    for round_id in ids:
        publish(send_round_reminders, round_id)
    return ids
