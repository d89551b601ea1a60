"""Dispositions: the consultants propose, the secretariat decides, on the consolidated feedback.

Each public function checks first (the actor sees the comment, has the right, the comment is
submitted, the round has closed, the input is within limits), then locks the comment and its
disposition and writes: revision bumped, audit entry written. A refusal changes nothing.

Dispositions are made on consolidated feedback, so every write is refused while the round is
still open for anyone (its last extension included).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_log
from comments.models import BODY_MAX_LENGTH, Comment
from comments.selectors import comments_visible_to
from config.errors import StaleWriteError
from config.text import clean_text
from consultations.models import Consultation, EngagementRound, Section

from ..models import Disposition, DuplicateGroup
from ..signals import disposition_decided

# --- checks -------------------------------------------------------------------------------


def _check_visible(actor, comment: Comment, consultation: Consultation | None) -> None:
    """404 for a comment the actor may not see, or one of another consultation than the page's."""
    if consultation is not None and comment.round.consultation_id != consultation.pk:
        raise Http404
    if not comments_visible_to(user=actor, engagement_round=comment.round).filter(pk=comment.pk).exists():
        raise Http404


def _check_submitted(comment: Comment) -> None:
    if comment.status == Comment.Status.DRAFT:
        raise ValidationError(
            _("Comment %(number)s is a draft: only submitted comments get a disposition.") % {"number": comment.number}
        )
    if comment.status == Comment.Status.WITHDRAWN:
        raise ValidationError(
            _("Comment %(number)s was withdrawn by its author: it gets no disposition.") % {"number": comment.number}
        )


def _check_round_closed(engagement_round: EngagementRound, now: datetime | None = None) -> None:
    if engagement_round.phase_at(now or timezone.now()) in (
        EngagementRound.State.SCHEDULED,
        EngagementRound.State.OPEN,
    ):
        raise ValidationError(
            _(
                "The round is still open: dispositions are made on the consolidated feedback once "
                "the round has closed for every organisation. Nothing was saved."
            ),
            code="round_open",
        )


def _check_decision(decision: str, field: str = "decision") -> str:
    if decision not in Disposition.Decision.values:
        raise ValidationError({field: _("Choose a decision from the list.")})
    return decision


def _check_response(response: str, field: str = "response") -> str:
    response = response if response is not None else ""
    if len(response) > BODY_MAX_LENGTH:
        raise ValidationError(
            {
                field: _("The response is at most %(max)s characters; this one has %(length)s.")
                % {"max": f"{BODY_MAX_LENGTH:,}", "length": f"{len(response):,}"}
            }
        )
    if "\x00" in response:
        raise ValidationError({field: _("The response contains a NUL character.")})
    return clean_text(response)


def _check_section_change(comment: Comment, section_change: Section | None) -> Section | None:
    """The changed section must belong to a later version of the comment's consultation."""
    if section_change is None:
        return None
    reviewed = comment.round.version
    target = Section.objects.select_related("version").filter(pk=section_change.pk).first()
    if (
        target is None
        or target.version.consultation_id != reviewed.consultation_id
        or (target.version.major, target.version.minor) <= (reviewed.major, reviewed.minor)
    ):
        raise ValidationError(
            {
                "section_change": _(
                    "The changed section must be a section of a later version than the one under review (%(number)s)."
                )
                % {"number": reviewed.number}
            }
        )
    return target


def _check_revision(disposition: Disposition | None, expected_revision: int | None) -> None:
    """expected_revision 0 means "no disposition yet"."""
    current = disposition.revision if disposition is not None else 0
    if expected_revision is not None and expected_revision != current:
        raise StaleWriteError()


def _check_perm(actor, perm: str, consultation: Consultation, message: str) -> None:
    if not actor.has_perm(perm, consultation):
        raise PermissionDenied(message)


def _checked_comment(actor, comment: Comment, consultation: Consultation | None, perm: str, message: str) -> Comment:
    """The comment as stored, after every check that does not need a lock."""
    fresh = (
        Comment.objects.select_related("round__consultation", "round__version", "section", "organisation")
        .filter(pk=comment.pk)
        .first()
    )
    if fresh is None:
        raise Http404
    _check_visible(actor, fresh, consultation)
    _check_perm(actor, perm, fresh.round.consultation, message)
    _check_round_closed(fresh.round)
    _check_submitted(fresh)
    return fresh


def _lock(comment: Comment) -> tuple[Comment, Disposition | None]:
    """Lock the comment (which serialises creating its disposition) and its disposition."""
    locked = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("round__consultation", "round__version")
        .get(pk=comment.pk)
    )
    disposition = Disposition.objects.select_for_update().filter(comment=locked).first()
    return locked, disposition


def _bump(disposition: Disposition | None, comment: Comment) -> Disposition:
    if disposition is None:
        # A new row starts at revision 1 (the model's default): the first write.
        return Disposition(comment=comment)
    disposition.revision += 1
    return disposition


# --- doing --------------------------------------------------------------------------------


def _do_propose(disposition: Disposition, *, actor, decision: str, response: str, now: datetime) -> Disposition:
    disposition.proposed_decision, disposition.proposed_response = decision, response
    disposition.proposed_by, disposition.proposed_at = actor, now
    disposition.save()
    return disposition


def _do_record(
    disposition: Disposition, *, actor, decision: str, response: str, section_change: Section | None, now: datetime
) -> Disposition:
    disposition.decision, disposition.response = decision, response
    disposition.decided_by, disposition.decided_at = actor, now
    disposition.section_change = section_change
    disposition.save()
    return disposition


# --- public -------------------------------------------------------------------------------


def disposition_propose(
    *, actor, comment: Comment, decision: str, response: str, consultation: Consultation | None = None
) -> Disposition:
    """A consultant (or the secretariat) proposes a decision; the decision itself is unchanged.

    `consultation`: the page's consultation, when called from a page; a comment of another
    consultation is then a 404 (a forged id).
    """
    comment = _checked_comment(
        actor,
        comment,
        consultation,
        "consolidation.propose_disposition",
        _("Only the secretariat and the consultants can propose dispositions."),
    )
    decision = _check_decision(decision)
    response = _check_response(response)
    with transaction.atomic():
        locked, disposition = _lock(comment)
        _check_submitted(locked)
        disposition = _bump(disposition, locked)
        _do_propose(disposition, actor=actor, decision=decision, response=response, now=timezone.now())
        audit_log(
            actor=actor,
            action="disposition.proposed",
            target=locked,
            consultation=locked.round.consultation,
            data={"decision": decision, "revision": disposition.revision},
        )
    return disposition


def disposition_record(
    *,
    actor,
    comment: Comment,
    decision: str,
    response: str,
    section_change: Section | None = None,
    expected_revision: int | None = None,
    consultation: Consultation | None = None,
) -> Disposition:
    """The secretariat's decision on one comment. Approving a proposal is recording it, changed or not.

    `section_change`: the section of a later version the decision led to changing; None records
    that there is none. `expected_revision`: the disposition's revision the writer last saw
    (0: none yet); another value means someone changed it meanwhile (StaleWriteError).
    """
    comment = _checked_comment(
        actor,
        comment,
        consultation,
        "consolidation.record_disposition",
        _("Only the secretariat records dispositions."),
    )
    decision = _check_decision(decision)
    response = _check_response(response)
    section_change = _check_section_change(comment, section_change)
    with transaction.atomic():
        locked, disposition = _lock(comment)
        _check_submitted(locked)
        _check_revision(disposition, expected_revision)
        from_proposal = bool(disposition and disposition.proposed_decision)
        disposition = _bump(disposition, locked)
        _do_record(
            disposition,
            actor=actor,
            decision=decision,
            response=response,
            section_change=section_change,
            now=timezone.now(),
        )
        audit_log(
            actor=actor,
            action="disposition.recorded",
            target=locked,
            consultation=locked.round.consultation,
            data={
                "decision": decision,
                "revision": disposition.revision,
                "proposed_decision": disposition.proposed_decision if from_proposal else "",
                "section_change": section_change.pk if section_change else None,
            },
        )
        disposition_decided.send(sender=Disposition, dispositions=[disposition], actor=actor)
    return disposition


def disposition_approve_proposal(
    *, actor, comment: Comment, expected_revision: int | None = None, consultation: Consultation | None = None
) -> Disposition:
    """The secretariat records the consultants' proposal as it stands."""
    current = Disposition.objects.filter(comment_id=comment.pk).first()
    if current is None or not current.proposed_decision:
        # Visibility and permission first, so the message tells nothing to someone who may not know.
        _checked_comment(
            actor,
            comment,
            consultation,
            "consolidation.record_disposition",
            _("Only the secretariat records dispositions."),
        )
        raise ValidationError(_("There is no proposal to approve on this comment."))
    return disposition_record(
        actor=actor,
        comment=comment,
        decision=current.proposed_decision,
        response=current.proposed_response,
        section_change=current.section_change,
        expected_revision=current.revision if expected_revision is None else expected_revision,
        consultation=consultation,
    )


# At most this many comments take one decision at once: a page of the list holds 25, and every
# one is locked, rewritten and audited in a single transaction.
BULK_MAX = 100


def _check_round_scope(actor, engagement_round: EngagementRound, consultation: Consultation | None) -> None:
    """404 for a round of another consultation than the page's, or one the actor may not see; 403
    without the right to decide; 400 while the round is open."""
    if consultation is not None and engagement_round.consultation_id != consultation.pk:
        raise Http404
    if not actor.has_perm("consultations.view_consultation", engagement_round.consultation):
        raise Http404
    _check_perm(
        actor,
        "consolidation.record_disposition",
        engagement_round.consultation,
        _("Only the secretariat records dispositions."),
    )
    _check_round_closed(engagement_round)


def _lock_members(actor, engagement_round: EngagementRound, comment_ids: list[int]) -> list[Comment]:
    """The comments, locked in id order; 404 if one is missing, of another round or hidden from the actor."""
    members = list(
        Comment.objects.select_for_update(of=("self",))
        .filter(pk__in=comment_ids)
        .select_related("round__consultation")
        .order_by("pk")
    )
    visible = set(
        comments_visible_to(user=actor, engagement_round=engagement_round)
        .filter(pk__in=[c.pk for c in members])
        .values_list("pk", flat=True)
    )
    if len(members) != len(set(comment_ids)):
        raise Http404
    for member in members:
        if member.round_id != engagement_round.pk or member.pk not in visible:
            raise Http404
    return members


def _record_each(
    actor, engagement_round: EngagementRound, members: list[Comment], *, decision: str, response: str, action: str, data
) -> list[Disposition]:
    """The same decision on every locked member (each keeps its section change), audited one by one."""
    existing = {d.comment_id: d for d in Disposition.objects.select_for_update().filter(comment__in=members)}
    now = timezone.now()
    recorded = []
    for member in members:
        disposition = _bump(existing.get(member.pk), member)
        _do_record(
            disposition,
            actor=actor,
            decision=decision,
            response=response,
            section_change=disposition.section_change,
            now=now,
        )
        recorded.append(disposition)
        audit_log(
            actor=actor,
            action=action,
            target=member,
            consultation=engagement_round.consultation,
            data={"decision": decision, "revision": disposition.revision, **data},
        )
    # Notifications of the decision (notifications app), written in this transaction.
    disposition_decided.send(sender=Disposition, dispositions=recorded, actor=actor)
    return recorded


def disposition_record_many(
    *,
    actor,
    engagement_round: EngagementRound,
    comments: dict[int, int | None],
    decision: str,
    response: str,
    consultation: Consultation | None = None,
) -> list[Disposition]:
    """One decision for the comments the secretariat selected on the list: all of them, or none.

    `comments` maps each comment's id to the revision of its disposition the person saw (0: none
    yet; None: not checked). A comment changed meanwhile refuses the whole selection (412), as
    one of another round, consultation or that the actor may not see does (404), and one that is
    not submitted (400). At most BULK_MAX comments.
    """
    engagement_round = EngagementRound.objects.select_related("consultation").get(pk=engagement_round.pk)
    _check_round_scope(actor, engagement_round, consultation)
    if not comments:
        raise ValidationError(_("Select at least one comment."))
    if len(comments) > BULK_MAX:
        raise ValidationError(
            _("At most %(max)s comments take one decision at once; %(count)s were selected. Nothing was saved.")
            % {"max": BULK_MAX, "count": len(comments)}
        )
    decision = _check_decision(decision)
    response = _check_response(response)
    with transaction.atomic():
        members = _lock_members(actor, engagement_round, list(comments))
        refused = [m.number for m in members if m.status != Comment.Status.SUBMITTED]
        if refused:
            raise ValidationError(
                _("Only submitted comments get a disposition (%(numbers)s). Nothing was saved.")
                % {"numbers": ", ".join(refused)}
            )
        current = dict(
            Disposition.objects.select_for_update().filter(comment__in=members).values_list("comment_id", "revision")
        )
        for member in members:
            expected = comments[member.pk]
            if expected is not None and expected != current.get(member.pk, 0):
                raise StaleWriteError(
                    _(
                        "The disposition of %(number)s was changed by someone else since you loaded the page. "
                        "Nothing was saved: reload the page and select again."
                    )
                    % {"number": member.number}
                )
        return _record_each(
            actor,
            engagement_round,
            members,
            decision=decision,
            response=response,
            action="disposition.bulk_recorded",
            data={"selected": len(members)},
        )


def disposition_record_group(
    *, actor, group: DuplicateGroup, decision: str, response: str, consultation: Consultation | None = None
) -> list[Disposition]:
    """One decision for every comment of a duplicate group: all of them, or none if one is refused."""
    stored = DuplicateGroup.objects.select_related("run__round__consultation").filter(pk=group.pk).first()
    if stored is None:
        raise Http404
    group = stored
    engagement_round = group.run.round
    _check_round_scope(actor, engagement_round, consultation)
    decision = _check_decision(decision)
    response = _check_response(response)
    with transaction.atomic():
        member_ids = list(group.comments.order_by("pk").values_list("pk", flat=True))
        if not member_ids:
            raise ValidationError(_("This group has no comments."))
        members = _lock_members(actor, engagement_round, member_ids)
        refused = [m.number for m in members if m.status != Comment.Status.SUBMITTED]
        if refused:
            raise ValidationError(
                _(
                    "Not every comment of this group is submitted (%(numbers)s): record their dispositions "
                    "one by one. Nothing was saved."
                )
                % {"numbers": ", ".join(refused)}
            )
        return _record_each(
            actor,
            engagement_round,
            members,
            decision=decision,
            response=response,
            action="disposition.group_recorded",
            data={"group": group.pk},
        )
