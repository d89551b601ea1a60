"""E-mails about accounts, sent by Celery."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Invitation


@shared_task(name="accounts.tasks.send_invitation", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_invitation(invitation_id: int) -> bool:
    invitation = (
        Invitation.objects.select_related("consultation", "organisation", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.accepted_at is not None:
        return False
    context = {
        "invitation": invitation,
        "url": settings.SITE_URL.rstrip("/") + reverse("accounts:invitation", args=[invitation.token]),
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])
    return True
