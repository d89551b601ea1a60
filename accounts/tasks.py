"""E-mails about accounts, sent by Celery. Thin: they take ids and call a service."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from config.jobs import publish

from . import services
from .models import Invitation


def _deliver(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "url": settings.SITE_URL.rstrip("/") + reverse("accounts:invitation", args=[invitation.token]),
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


@shared_task(name="accounts.tasks.send_invitation", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_invitation(invitation_id: int) -> bool:
    """Idempotent: the e-mail goes out once however often the message is delivered."""
    return services.invitation_send(invitation_id=invitation_id, send=_deliver)


@shared_task(name="accounts.tasks.sweep_invitations")
def sweep_invitations() -> list[int]:
    """Beat: queue again the invitation e-mails a broker outage or a lost worker left unsent."""
    ids = list(services.invitations_stranded().values_list("pk", flat=True))
    for pk in ids:
        publish(send_invitation, pk)
    return ids
