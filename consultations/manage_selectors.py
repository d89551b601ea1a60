"""Reads for the secretariat's pages: rounds as the organiser sees them, pending invitations.

Each function issues a fixed number of queries whatever the number of rounds, extensions or
invitations, so that the pages built on them do too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from .models import Consultation, EngagementRound, Invitation, RoundExtension
from .selectors import round_phases, rounds_for_consultation

ACTIVE_STATES = (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN)


@dataclass
class ManagedRound:
    """A round with what the organiser should see and may do right now."""

    round: EngagementRound
    state: str
    state_label: str
    extensions: list[RoundExtension]
    # The next moment that matters: when a scheduled round opens, when an open one closes.
    next_change_at: datetime | None
    can_open_now: bool
    can_close_now: bool
    can_reschedule: bool
    can_extend: bool


def managed_rounds(*, consultation: Consultation, now: datetime | None = None) -> list[ManagedRound]:
    """Every round of the consultation, oldest first, with its extensions (two queries)."""
    now = now or timezone.now()
    rounds = list(rounds_for_consultation(consultation=consultation))
    phases = round_phases(rounds=rounds, now=now)
    rows = []
    for engagement_round in rounds:
        phase, label = phases[engagement_round.pk]
        if phase == EngagementRound.State.SCHEDULED:
            next_change_at = engagement_round.opens_at
        elif phase == EngagementRound.State.OPEN:
            next_change_at = engagement_round.final_closes_at
        else:
            next_change_at = None
        rows.append(
            ManagedRound(
                round=engagement_round,
                state=phase,
                state_label=label,
                extensions=list(engagement_round.extensions.all()),
                next_change_at=next_change_at,
                # The stored state decides what the services accept; the phase only what is shown.
                can_open_now=engagement_round.state == EngagementRound.State.SCHEDULED
                and engagement_round.closes_at > now,
                can_close_now=engagement_round.state == EngagementRound.State.OPEN,
                can_reschedule=engagement_round.state in ACTIVE_STATES,
                can_extend=engagement_round.state in ACTIVE_STATES,
            )
        )
    return rows


def pending_invitations(*, consultation: Consultation, now: datetime | None = None) -> QuerySet[Invitation]:
    """Invitations not yet accepted and not expired, newest first."""
    now = now or timezone.now()
    return (
        Invitation.objects.filter(consultation=consultation, accepted_at__isnull=True, expires_at__gt=now)
        .select_related("organisation", "invited_by")
        .order_by("-created_at", "-id")
    )
