"""Reminders the secretariat sends to the organisations that have not answered in a round.

`round_remind` checks, refuses an organisation reminded within REMINDER_INTERVAL, writes one
RoundReminder per participant to e-mail (the outbox, committed with the request) and an audit
entry per organisation, then queues `round_reminders_send` by name after commit. Each e-mail
goes out once, in the recipient's language and time zone; the sweep queues again what a broker
outage left unsent (docs/jobs.md).

Who is late is the response tracker's question (comments.selectors_tracker): this module only
knows organisations, participants and the round's clock, so it stays below comments.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Organisation
from audit.services import audit_log
from config.errors import RateLimitedError
from config.jobs import enqueue_after_commit

from .access import extensions_of, round_window
from .models import EngagementRound, RoundReminder
from .selectors import commenting_participations

logger = logging.getLogger(__name__)

# An organisation is reminded at most once in this time, whoever asks.
REMINDER_INTERVAL = timedelta(hours=1)
SEND_REMINDERS = "consultations.tasks.send_round_reminders"


class ReminderTooSoonError(RateLimitedError):
    """An organisation was reminded less than REMINDER_INTERVAL ago (429 with Retry-After)."""

    default_code = "reminder_too_soon"

    def __init__(self, retry_after: int, names: list[str], last_at: datetime):
        message = _(
            "%(organisations)s had a reminder at %(when)s. An organisation is reminded at most once an hour: "
            "try again in %(minutes)s minutes, or leave it out. Nobody was reminded."
        ) % {
            "organisations": ", ".join(names),
            "when": date_format(timezone.localtime(last_at), "TIME_FORMAT"),
            "minutes": max(1, math.ceil(retry_after / 60)),
        }
        super().__init__(retry_after, message)


@dataclass(frozen=True)
class Reminded:
    """What one request reminded: the organisations and how many e-mails are on their way."""

    organisations: list[Organisation]
    recipients: int


def last_reminders(*, engagement_round: EngagementRound) -> dict[int, datetime]:
    """When each organisation was last reminded in this round (one query)."""
    return dict(
        RoundReminder.objects.filter(round=engagement_round)
        .values("organisation_id")
        .annotate(last=Max("requested_at"))
        .values_list("organisation_id", "last")
    )


def round_remind(
    *, actor, engagement_round: EngagementRound, organisation_ids: list[int], now: datetime | None = None
) -> Reminded:
    """Remind every active participant of these organisations that the round is waiting for them.

    All or nothing: an organisation not commenting in the round, one whose window has closed, or
    one reminded within the hour refuses the whole request, which names it.
    """
    consultation = engagement_round.consultation
    if not actor.has_perm("consultations.manage_rounds", consultation):
        raise PermissionDenied(_("Only the secretariat sends reminders."))
    now = now or timezone.now()
    wanted = set(organisation_ids)
    if not wanted:
        raise ValidationError(_("Choose at least one organisation to remind."))
    with transaction.atomic():
        # One request at a time per round: two secretaries clicking together cannot both pass the check.
        locked = EngagementRound.objects.select_for_update().select_related("consultation").get(pk=engagement_round.pk)
        participations = list(
            commenting_participations(engagement_round=locked)
            .filter(organisation_id__in=wanted, user__is_active=True)
            .select_related("organisation")
        )
        organisations = {p.organisation_id: p.organisation for p in participations}
        if set(organisations) != wanted:
            raise ValidationError(
                _("Only organisations that comment in this round and have participants can be reminded.")
            )
        extensions = extensions_of(locked)
        closed = [
            org.name
            for pk, org in organisations.items()
            if not round_window(locked, pk, now=now, extensions=extensions).is_open
        ]
        if closed:
            raise ValidationError(
                _("The round is not open for %(organisations)s: there is nothing to remind them of.")
                % {"organisations": ", ".join(sorted(closed))}
            )
        recent = {
            pk: at
            for pk, at in last_reminders(engagement_round=locked).items()
            if pk in wanted and at > now - REMINDER_INTERVAL
        }
        if recent:
            latest = max(recent.values())
            retry_after = int((latest + REMINDER_INTERVAL - now).total_seconds()) + 1
            names = sorted(organisations[pk].name for pk in recent)
            raise ReminderTooSoonError(retry_after, names, latest)
        RoundReminder.objects.bulk_create(
            [
                RoundReminder(
                    round=locked,
                    organisation_id=p.organisation_id,
                    user_id=p.user_id,
                    requested_by=actor,
                    requested_at=now,
                )
                for p in participations
            ]
        )
        for pk, organisation in sorted(organisations.items(), key=lambda item: item[1].name):
            audit_log(
                actor=actor,
                action="round.reminded",
                target=locked,
                consultation=consultation,
                data={
                    "organisation": pk,
                    "organisation_name": organisation.name,
                    "recipients": sum(1 for p in participations if p.organisation_id == pk),
                },
            )
        enqueue_after_commit(SEND_REMINDERS, locked.pk)
    return Reminded(
        organisations=sorted(organisations.values(), key=lambda org: org.name), recipients=len(participations)
    )


def round_reminders_stranded() -> list[int]:
    """Open rounds with reminders still to send: what the sweep queues again."""
    return sorted(
        RoundReminder.objects.filter(sent_at__isnull=True, round__state=EngagementRound.State.OPEN)
        .values_list("round_id", flat=True)
        .distinct()
    )


def round_reminders_send(*, round_id: int, now: datetime | None = None) -> int:
    """Send the round's pending reminders, each at most once; returns how many went out.

    Each is claimed with a conditional UPDATE of sent_at; a failed send releases the claim so
    that a retry sends it. A reminder whose organisation's window has closed since is dropped.
    """
    now = now or timezone.now()
    engagement_round = EngagementRound.objects.select_related("consultation").get(pk=round_id)
    extensions = extensions_of(engagement_round)
    pending = list(
        RoundReminder.objects.filter(round_id=round_id, sent_at__isnull=True).select_related("user", "organisation")
    )
    sent = 0
    for reminder in pending:
        window = round_window(engagement_round, reminder.organisation_id, now=now, extensions=extensions)
        if not window.is_open:
            RoundReminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).delete()
            continue
        if not RoundReminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(sent_at=now):
            continue  # another worker claimed it
        try:
            _send_reminder(engagement_round, reminder, window.closes_at)
            sent += 1
        except Exception:
            RoundReminder.objects.filter(pk=reminder.pk).update(sent_at=None)
            logger.exception("Could not send reminder %s of round %s", reminder.pk, round_id)
            raise
    return sent


def recipient_language(user) -> str:
    """The language of the person's e-mails: their own once profiles keep one, else the site's."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _send_reminder(engagement_round: EngagementRound, reminder: RoundReminder, closes_at: datetime) -> None:
    user = reminder.user
    context = {
        "user": user,
        "round": engagement_round,
        "consultation": engagement_round.consultation,
        "organisation": reminder.organisation,
        "closes_at": closes_at,
        "url": settings.SITE_URL.rstrip("/")
        + reverse("consultations:detail", args=[engagement_round.consultation.slug]),
    }
    with translation.override(recipient_language(user)), timezone.override(user.time_zone or settings.TIME_ZONE):
        subject = render_to_string("consultations/email/round_reminder_subject.txt", context).strip()
        body = render_to_string("consultations/email/round_reminder.txt", context)
    EmailMultiAlternatives(subject=subject, body=body, to=[user.email]).send()
