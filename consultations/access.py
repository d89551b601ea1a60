"""What this person may do in this round, right now: one answer for pages, the API, exports and e-mails.

The role rules are named predicates in consultations/rules.py; the clock (the round's window, an
organisation's extension, an early close) is here. `round_window` is the only place that says
whether a round is open for an organisation at an instant and until when; `round_access` combines
it with the viewer's rules into a typed read model (the way a scoped fetch returns the object
with the viewer's rights).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from .models import EngagementRound
from .rules import is_organiser, may_comment_in_round, participation_for


@dataclass(frozen=True)
class RoundWindow:
    """A round's window for one organisation at one instant."""

    opens_at: datetime
    closes_at: datetime  # for this organisation: its extension, or the earlier early close
    extended: bool
    is_open: bool
    not_yet_open: bool


def extensions_of(engagement_round: EngagementRound) -> dict[int, datetime]:
    """Each organisation's later deadline (uses a prefetched `extensions` when there is one)."""
    return {e.organisation_id: e.closes_at for e in engagement_round.extensions.all()}


def round_window(
    engagement_round: EngagementRound,
    organisation_id: int | None,
    *,
    now: datetime | None = None,
    extensions: dict[int, datetime] | None = None,
) -> RoundWindow:
    """Whether writes from this organisation are accepted at `now`, and until when.

    The window is half-open: [opens_at, closes_at). At the exact closing second the round is
    closed. A round closed early by the secretariat is closed whatever the clock says.
    """
    now = now or timezone.now()
    if extensions is None:
        extensions = extensions_of(engagement_round)
    closes_at = engagement_round.closes_at_for(organisation_id, extensions)
    if engagement_round.closed_at and engagement_round.closed_at < closes_at:
        closes_at = engagement_round.closed_at  # closed early by the secretariat
    return RoundWindow(
        opens_at=engagement_round.opens_at,
        closes_at=closes_at,
        extended=closes_at > engagement_round.closes_at,
        is_open=engagement_round.is_open_for(organisation_id, now, extensions),
        not_yet_open=engagement_round.state == EngagementRound.State.SCHEDULED and now < engagement_round.opens_at,
    )


@dataclass(frozen=True)
class RoundAccess:
    """The viewer's rights in one round at one instant."""

    round: EngagementRound
    organisation_id: int | None
    role: str | None
    is_organiser: bool  # site admin, secretariat or consultant (consultations.rules.is_organiser)
    may_comment: bool  # the round lists the viewer's role (consultations.rules.may_comment_in_round)
    state: str  # the round's state as the viewer should see it now (selectors.round_phases)
    state_label: str
    window: RoundWindow

    @property
    def open_for_me(self) -> bool:
        return self.window.is_open

    @property
    def opens_at(self) -> datetime:
        return self.window.opens_at

    @property
    def closes_at(self) -> datetime:
        return self.window.closes_at

    @property
    def extended(self) -> bool:
        return self.window.extended

    @property
    def can_write(self) -> bool:
        return self.may_comment and self.window.is_open

    @property
    def note(self) -> str | None:
        """Why the viewer may not write now: "role", "not_open", "closed"; None when they may."""
        if not self.may_comment:
            return "role"
        if self.window.is_open:
            return None
        return "not_open" if self.window.not_yet_open else "closed"


def round_access(
    *,
    user,
    engagement_round: EngagementRound,
    now: datetime | None = None,
    extensions=None,
    phase: tuple[str, str] | None = None,
) -> RoundAccess:
    """The viewer's rights in the round at `now`; `phase` is (state, label) from selectors.round_phases
    when the caller has it (a closed round's later stage, "consolidating" or "reported")."""
    now = now or timezone.now()
    if phase is None:
        state = engagement_round.phase_at(now)
        phase = (state, str(dict(EngagementRound.State.choices).get(state, state)))
    participation = participation_for(user, engagement_round.consultation)
    organisation_id = participation.organisation_id if participation else None
    return RoundAccess(
        round=engagement_round,
        organisation_id=organisation_id,
        role=participation.role if participation else None,
        is_organiser=bool(is_organiser(user, engagement_round.consultation)),
        may_comment=bool(may_comment_in_round(user, engagement_round)),
        state=phase[0],
        state_label=phase[1],
        window=round_window(engagement_round, organisation_id, now=now, extensions=extensions),
    )
