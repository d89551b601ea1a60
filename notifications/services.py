"""Writing notifications (who hears of what) and settling them: read, mailed.

Who: only people who may see the thing. A comment's notifications go to its delegation (the
author and the other active participants of its organisation in the consultation), each
checked with comments.selectors.comments_visible_to, so a comment never reaches anyone who
could not open it; the person who acted is never told of their own act.

Every write is `bulk_create(ignore_conflicts=True)` on the unique (recipient, key): announcing
an event twice (a retried task, two beat ticks) notifies nobody twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import EmailFrequency, User
from comments.models import Comment, CommentReturn, Reply
from comments.selectors import comments_visible_to
from consolidation.models import CarriedAnchor, Disposition
from consultations.access import round_window
from consultations.models import DraftVersion, EngagementRound, Participation
from consultations.rules import role_may_comment

from .models import Notification
from .selectors import get_notification_for_user

Kind = Notification.Kind


# --- who ----------------------------------------------------------------------------------


def _delegation(comment: Comment) -> list[User]:
    """The comment's author and the active participants of its organisation in its consultation."""
    people = {
        p.user.pk: p.user
        for p in Participation.objects.filter(
            consultation_id=comment.round.consultation_id,
            organisation_id=comment.organisation_id,
            user__is_active=True,
        ).select_related("user")
    }
    if comment.author_id not in people:
        author = User.objects.filter(pk=comment.author_id, is_active=True).first()
        if author is not None:
            people[author.pk] = author
    return list(people.values())


def _who_may_see(people: Iterable[User], comments: list[Comment]) -> dict[int, set[int]]:
    """{person id: ids of these comments (all of one round) that the person may see}."""
    if not comments:
        return {}
    engagement_round = comments[0].round
    ids = [c.pk for c in comments]
    return {
        person.pk: set(
            comments_visible_to(user=person, engagement_round=engagement_round)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        for person in people
    }


def _store(rows: list[Notification]) -> int:
    """Save new notifications; one already there (same recipient and key) is left as it is.

    A person who wants no e-mail has nothing to mail: their rows are settled at once, so the
    outbox holds only what will be sent.
    """
    if not rows:
        return 0
    # Counted honestly: ignore_conflicts returns every row, stored or not.
    known = set(
        Notification.objects.filter(
            recipient_id__in={r.recipient_id for r in rows}, key__in={r.key for r in rows}
        ).values_list("recipient_id", "key")
    )
    rows = [r for r in rows if (r.recipient_id, r.key) not in known]
    if not rows:
        return 0
    silent = set(
        User.objects.filter(pk__in={r.recipient_id for r in rows}, email_frequency=EmailFrequency.NONE).values_list(
            "pk", flat=True
        )
    )
    for row in rows:
        if row.recipient_id in silent:
            row.mailed_at = row.created_at
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


# --- comments -----------------------------------------------------------------------------


def notify_reply(*, reply: Reply) -> int:
    """A reply in a thread: the comment's delegation hears of it, except the one who replied."""
    comment = Comment.objects.select_related("round").get(pk=reply.comment_id)
    people = [p for p in _delegation(comment) if p.pk != reply.author_id]
    seeing = _who_may_see(people, [comment])
    return _store(
        [
            Notification(
                recipient=person,
                kind=Kind.REPLY,
                key=f"reply:{reply.pk}",
                consultation_id=comment.round.consultation_id,
                round_id=comment.round_id,
                comment=comment,
                reply=reply,
                actor_id=reply.author_id,
                created_at=reply.created_at,
            )
            for person in people
            if comment.pk in seeing[person.pk]
        ]
    )


def notify_decided(*, dispositions: list[Disposition], actor=None) -> int:
    """The secretariat's decisions (never a proposal): each comment's delegation hears of it.

    One notification per decision and revision: a decision changed later is news again.
    """
    decided = [d for d in dispositions if d.decision]
    if not decided:
        return 0
    comments = {c.pk: c for c in Comment.objects.select_related("round").filter(pk__in=[d.comment_id for d in decided])}
    rows = []
    by_round: dict[int, list[Comment]] = defaultdict(list)
    for comment in comments.values():
        by_round[comment.round_id].append(comment)
    for round_comments in by_round.values():
        delegations: dict[int, list[User]] = {}
        for comment in round_comments:
            if comment.organisation_id not in delegations:
                delegations[comment.organisation_id] = _delegation(comment)
        people = {p.pk: p for group in delegations.values() for p in group if actor is None or p.pk != actor.pk}
        seeing = _who_may_see(people.values(), round_comments)
        for disposition in decided:
            decided_comment = comments.get(disposition.comment_id)
            if decided_comment is None or decided_comment.round_id != round_comments[0].round_id:
                continue
            for person in delegations[decided_comment.organisation_id]:
                if person.pk in people and decided_comment.pk in seeing[person.pk]:
                    rows.append(
                        Notification(
                            recipient=person,
                            kind=Kind.DECISION,
                            key=f"decision:{decided_comment.pk}:{disposition.revision}",
                            consultation_id=decided_comment.round.consultation_id,
                            round_id=decided_comment.round_id,
                            comment=decided_comment,
                            actor=actor,
                            data={"decision": disposition.decision},
                        )
                    )
    return _store(rows)


def notify_returned(*, comment_return: CommentReturn) -> int:
    """The focal point sent a comment back: its author hears of it, with the note (never the focal point)."""
    comment = Comment.objects.select_related("round", "author").get(pk=comment_return.comment_id)
    author = comment.author
    if not author.is_active or author.pk == comment_return.returned_by_id:
        return 0
    if not comments_visible_to(user=author, engagement_round=comment.round).filter(pk=comment.pk).exists():
        return 0
    return _store(
        [
            Notification(
                recipient=author,
                kind=Kind.RETURNED,
                key=f"returned:{comment_return.pk}",
                consultation_id=comment.round.consultation_id,
                round_id=comment.round_id,
                comment=comment,
                actor_id=comment_return.returned_by_id,
                data={"note": comment_return.note},
                created_at=comment_return.at,
            )
        ]
    )


def notify_mentioned(*, actor, comment: Comment, mentioned: Iterable[User], reply: Reply | None = None) -> int:
    """People named in a comment or a reply (@name). The mention feature parses; this notifies.

    Only those who may see the comment hear of it (a mention of someone outside the thread's
    audience notifies nobody), and never the writer.
    """
    comment = Comment.objects.select_related("round").get(pk=comment.pk)
    people = [p for p in {p.pk: p for p in mentioned}.values() if p.is_active and p.pk != actor.pk]
    seeing = _who_may_see(people, [comment])
    key = f"mention:reply:{reply.pk}" if reply is not None else f"mention:comment:{comment.pk}"
    return _store(
        [
            Notification(
                recipient=person,
                kind=Kind.MENTION,
                key=key,
                consultation_id=comment.round.consultation_id,
                round_id=comment.round_id,
                comment=comment,
                reply=reply,
                actor=actor,
            )
            for person in people
            if comment.pk in seeing[person.pk]
        ]
    )


def notify_carried_over(*, version: DraftVersion, by_author: dict[int, dict[str, int]] | None = None) -> int:
    """After a carry-over, each author hears once per version how many comments followed the text.

    One notification per author (not per comment): a delegate with forty comments gets one
    line saying forty were carried and three could not be placed. With `by_author` (the
    carry-over counted while landing: {author id: {"carried": n, "orphaned": n}}) only the
    authors still active are looked up; without it the database counts the CarriedAnchor rows.
    """
    counts: dict[int, dict[str, int]] = {}
    if by_author is not None:
        active = set(User.objects.filter(pk__in=list(by_author), is_active=True).values_list("pk", flat=True))
        counts = {author_id: dict(landed) for author_id, landed in by_author.items() if author_id in active}
    else:
        rows = (
            CarriedAnchor.objects.filter(version=version, comment__author__is_active=True)
            .values("comment__author_id")
            .annotate(
                total=Count("pk"),
                orphaned=Count("pk", filter=Q(method=CarriedAnchor.Method.ORPHANED)),
            )
        )
        for row in rows:
            counts[row["comment__author_id"]] = {
                "carried": row["total"] - row["orphaned"],
                "orphaned": row["orphaned"],
            }
    return _store(
        [
            Notification(
                recipient_id=author_id,
                kind=Kind.CARRIED_OVER,
                key=f"carried:{version.pk}",
                consultation_id=version.consultation_id,
                version=version,
                data=data,
            )
            for author_id, data in counts.items()
        ]
    )


# --- rounds -------------------------------------------------------------------------------


def _participations(engagement_round: EngagementRound):
    return Participation.objects.filter(
        consultation_id=engagement_round.consultation_id, user__is_active=True
    ).select_related("user")


def notify_round_opened(*, round_id: int) -> int:
    """Everyone taking part hears that a round opened, with their organisation's deadline."""
    engagement_round = EngagementRound.objects.prefetch_related("extensions").get(pk=round_id)
    extensions = {e.organisation_id: e.closes_at for e in engagement_round.extensions.all()}
    return _store(
        [
            Notification(
                recipient=p.user,
                kind=Kind.ROUND_OPENED,
                key=f"round_opened:{round_id}",
                consultation_id=engagement_round.consultation_id,
                round=engagement_round,
                data={
                    "closes_at": round_window(
                        engagement_round, p.organisation_id, extensions=extensions
                    ).closes_at.isoformat(),
                    "may_comment": role_may_comment(p.role, engagement_round),
                },
            )
            for p in _participations(engagement_round)
        ]
    )


def notify_round_closed(*, round_id: int) -> int:
    """Everyone taking part hears that the round closed for everyone."""
    engagement_round = EngagementRound.objects.get(pk=round_id)
    return _store(
        [
            Notification(
                recipient=p.user,
                kind=Kind.ROUND_CLOSED,
                key=f"round_closed:{round_id}",
                consultation_id=engagement_round.consultation_id,
                round=engagement_round,
            )
            for p in _participations(engagement_round)
        ]
    )


def notify_rounds_closing(*, now: datetime | None = None) -> int:
    """Beat: those who comment in an open round hear once that it closes for them within the hour count.

    The deadline is their organisation's (an extension moves it; an early close ends it), so a
    delegation with an extension hears later than the others. Idempotent: the key is per round
    and person, so a second tick, a second worker or an extension granted after the notice
    notifies nobody twice.
    """
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.NOTIFY_CLOSING_SOON_HOURS)
    created = 0
    # Open rounds are few; each participant's own deadline is decided by round_window.
    rounds = EngagementRound.objects.filter(state=EngagementRound.State.OPEN, final_closes_at__gt=now).prefetch_related(
        "extensions"
    )
    for engagement_round in rounds:
        extensions = {e.organisation_id: e.closes_at for e in engagement_round.extensions.all()}
        rows = []
        for p in _participations(engagement_round).exclude(
            user__notifications__key=f"round_closing:{engagement_round.pk}"
        ):
            if not role_may_comment(p.role, engagement_round):
                continue
            window = round_window(engagement_round, p.organisation_id, now=now, extensions=extensions)
            if window.is_open and window.closes_at <= horizon:
                rows.append(
                    Notification(
                        recipient=p.user,
                        kind=Kind.ROUND_CLOSING,
                        key=f"round_closing:{engagement_round.pk}",
                        consultation_id=engagement_round.consultation_id,
                        round=engagement_round,
                        data={"closes_at": window.closes_at.isoformat()},
                        created_at=now,
                    )
                )
        created += _store(rows)
    return created


# --- reading ------------------------------------------------------------------------------


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the person's own notifications read (another person's is a 404)."""
    notification = get_notification_for_user(user=user, pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notifications_settle_mail(*, consultation_id: int) -> int:
    """Mark a consultation's unmailed notifications as needing no e-mail (the demo's seeded events)."""
    return Notification.objects.filter(consultation_id=consultation_id, mailed_at__isnull=True).update(
        mailed_at=timezone.now()
    )


def settle(notification_ids: list[int], *, now: datetime) -> None:
    Notification.objects.filter(pk__in=notification_ids).update(mailed_at=now)
