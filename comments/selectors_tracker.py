"""Who has answered in a round: the secretariat's response tracker, one row per organisation.

Every organisation whose role comments in the round, with its drafts and submitted comments,
its national position (member states: when it was submitted, how many comments it endorsed then
and now, and whether the endorsements changed since), its last activity, its extension, its
last reminder, and how many of its drafts its focal point sent back for revision. Seven queries
whatever the number of organisations and comments: the counts are one GROUP BY over the round's
comments (index comments_comment(round, organisation)).

Drafts are counted, never shown: the secretariat learns that a delegation is working, not what
it writes (drafts stay inside the delegation, comments.selectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from accounts.models import Organisation, Role
from consultations.access import extensions_of
from consultations.models import EngagementRound
from consultations.reminders import REMINDER_INTERVAL, last_reminders
from consultations.selectors import commenting_participations

from .models import Comment, CommentReturn, NationalPosition, Reply
from .selectors import position_changed_since_submission


@dataclass(frozen=True)
class PositionStatus:
    """A member state's national position as the secretariat should read it."""

    submitted_at: datetime
    endorsed_at_submission: int
    endorsed_now: int
    # Endorsements were added, removed or replaced after the position was submitted: the focal
    # point should submit it again (the stored count and the endorsement times say so).
    changed_since_submission: bool


@dataclass(frozen=True)
class ResponseRow:
    organisation: Organisation
    role: str
    role_label: str
    people: int  # active participants: who a reminder reaches
    drafts: int
    submitted: int
    expects_position: bool  # member states submit a national position
    position: PositionStatus | None
    last_activity: datetime | None
    extended_until: datetime | None
    last_reminded_at: datetime | None
    reminded_recently: bool  # within the hour: a new reminder would be refused
    # Drafts that were submitted and sent back by the focal point (comments.services.comment_return),
    # not yet submitted again: the delegation is revising, not silent.
    returned: int = 0

    @property
    def has_answered(self) -> bool:
        return self.submitted > 0 or self.position is not None


# Sort keys of the table's columns; the name sorts ties. None sorts first ascending ("never").
SORTS = {
    "organisation": lambda row: (row.organisation.name.casefold(),),
    "role": lambda row: (row.role_label.casefold(),),
    "drafts": lambda row: (row.drafts,),
    "submitted": lambda row: (row.submitted,),
    "position": lambda row: (
        not row.expects_position,
        row.position is not None,
        row.position.submitted_at.timestamp() if row.position else 0,
    ),
    "activity": lambda row: (row.last_activity is not None, row.last_activity.timestamp() if row.last_activity else 0),
    "extension": lambda row: (
        row.extended_until is not None,
        row.extended_until.timestamp() if row.extended_until else 0,
    ),
    "reminded": lambda row: (
        row.last_reminded_at is not None,
        row.last_reminded_at.timestamp() if row.last_reminded_at else 0,
    ),
}
DEFAULT_SORT = "submitted"  # the late ones first


def parse_sort(value: str | None) -> tuple[str, bool]:
    """(column, descending) from "drafts" or "-drafts"; the default for anything unknown."""
    value = value or ""
    descending = value.startswith("-")
    column = value.removeprefix("-")
    if column not in SORTS:
        return DEFAULT_SORT, False
    return column, descending


@dataclass(frozen=True)
class ResponseTracker:
    round: EngagementRound
    rows: list[ResponseRow]
    sort: str
    descending: bool

    @property
    def answered(self) -> int:
        return sum(1 for row in self.rows if row.has_answered)

    @property
    def late(self) -> list[ResponseRow]:
        """Those with nothing submitted: what the reminder form ticks first (unless reminded within the hour)."""
        return [row for row in self.rows if not row.has_answered]


def response_tracker(
    *, engagement_round: EngagementRound, sort: str | None = None, now: datetime | None = None
) -> ResponseTracker:
    """The tracker of a round, sorted by `sort` (a key of SORTS, "-" first for descending)."""
    now = now or timezone.now()
    commenting = commenting_participations(engagement_round=engagement_round)
    # An organisation's participants all have its role (consultations.services.ensure_participation).
    active_here = Q(
        participations__consultation_id=engagement_round.consultation_id, participations__user__is_active=True
    )
    organisations = list(
        Organisation.objects.filter(pk__in=commenting.values("organisation_id"))
        .annotate(people=Count("participations", filter=active_here))
        .order_by("name")
    )
    counts: dict[int, dict[str, Any]] = {
        row["organisation_id"]: dict(row)
        for row in Comment.objects.filter(round=engagement_round)
        .values("organisation_id")
        .annotate(
            drafts=Count("id", filter=Q(status=Comment.Status.DRAFT)),
            submitted=Count("id", filter=Q(status=Comment.Status.SUBMITTED)),
            endorsed=Count("id", filter=Q(status=Comment.Status.SUBMITTED, is_endorsed=True)),
            last_endorsed_at=Max("endorsed_at"),
            last_change=Max("updated_at"),
        )
        .order_by()
    }
    last_replies = dict(
        Reply.objects.filter(comment__round=engagement_round)
        .values("organisation_id")
        .annotate(last=Max("created_at"))
        .values_list("organisation_id", "last")
        .order_by()
    )
    # Returns are few (a focal point's act): read through them, not through every comment of the round.
    returned = dict(
        CommentReturn.objects.filter(comment__round=engagement_round, comment__status=Comment.Status.DRAFT)
        .values("comment__organisation_id")
        .annotate(n=Count("comment_id", distinct=True))
        .values_list("comment__organisation_id", "n")
        .order_by()
    )
    positions = {p.organisation_id: p for p in NationalPosition.objects.filter(round=engagement_round)}
    extensions = extensions_of(engagement_round)
    reminded = last_reminders(engagement_round=engagement_round)
    role_labels = dict(Role.choices)
    rows = []
    for organisation in organisations:
        count = counts.get(organisation.pk, {})
        position = positions.get(organisation.pk)
        endorsed_now = count.get("endorsed", 0)
        status = None
        if position is not None:
            last_endorsed_at = count.get("last_endorsed_at")
            status = PositionStatus(
                submitted_at=position.submitted_at,
                endorsed_at_submission=position.endorsed_count,
                endorsed_now=endorsed_now,
                # A new endorsement is later than the submission; a withdrawn one lowers the count.
                changed_since_submission=position_changed_since_submission(
                    position=position, endorsed_now=endorsed_now, last_endorsed_at=last_endorsed_at
                ),
            )
        moments: list[datetime | None] = [
            count.get("last_change"),
            last_replies.get(organisation.pk),
            position.submitted_at if position else None,
        ]
        activity = [at for at in moments if at is not None]
        extended = extensions.get(organisation.pk)
        last_reminded_at = reminded.get(organisation.pk)
        rows.append(
            ResponseRow(
                organisation=organisation,
                role=organisation.kind,
                role_label=str(role_labels.get(organisation.kind, organisation.kind)),
                people=organisation.people,
                drafts=count.get("drafts", 0),
                submitted=count.get("submitted", 0),
                expects_position=organisation.kind == Role.MEMBER_STATE,
                position=status,
                last_activity=max(activity) if activity else None,
                extended_until=extended if extended and extended > engagement_round.closes_at else None,
                last_reminded_at=last_reminded_at,
                reminded_recently=last_reminded_at is not None and last_reminded_at > now - REMINDER_INTERVAL,
                returned=returned.get(organisation.pk, 0),
            )
        )
    column, descending = parse_sort(sort)
    rows.sort(key=lambda row: row.organisation.name.casefold())
    rows.sort(key=SORTS[column], reverse=descending)
    return ResponseTracker(round=engagement_round, rows=rows, sort=column, descending=descending)
