"""Assignments: the secretariat shares the consolidated feedback out among its team.

A comment is given to one person of the consultation's team (its secretariat or a consultant:
consolidation.be_assigned), who then finds it under "Assigned to me" on the feedback page. Only
those who decide (consolidation.assign_comments) assign. Assigning is no decision: it changes no
disposition, bumps no revision and may be done while the round is still open. Every change is
audited; a refusal changes nothing.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_log
from comments.models import Comment
from comments.selectors import comments_visible_to
from consultations.models import Consultation, EngagementRound

from ..models import CommentAssignment

# As many as one decision takes at once (services.dispositions.BULK_MAX).
ASSIGN_MAX = 100


def comments_assign(
    *,
    actor,
    engagement_round: EngagementRound,
    comment_ids: list[int],
    assignee,
    consultation: Consultation | None = None,
) -> int:
    """Give the comments to `assignee` (None: to nobody); returns how many changed hands.

    404 for a round of another consultation than the page's, or a comment of another round or
    that the actor may not see; 403 for someone who may not assign; 400 for an assignee outside
    the team, a comment that is not submitted, or more than ASSIGN_MAX comments. All or nothing.
    """
    engagement_round = EngagementRound.objects.select_related("consultation").get(pk=engagement_round.pk)
    target = engagement_round.consultation
    if consultation is not None and target.pk != consultation.pk:
        raise Http404
    if not actor.has_perm("consultations.view_consultation", target):
        raise Http404
    if not actor.has_perm("consolidation.assign_comments", target):
        raise PermissionDenied(_("Only the secretariat assigns comments."))
    if assignee is not None and not assignee.has_perm("consolidation.be_assigned", target):
        raise ValidationError(
            {"assignee": _("Comments are assigned to the consultation's secretariat and consultants only.")}
        )
    ids = sorted(set(comment_ids))
    if not ids:
        raise ValidationError(_("Select at least one comment."))
    if len(ids) > ASSIGN_MAX:
        raise ValidationError(
            _("At most %(max)s comments are assigned at once; %(count)s were selected. Nothing was saved.")
            % {"max": ASSIGN_MAX, "count": len(ids)}
        )
    with transaction.atomic():
        members = list(Comment.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
        visible = set(
            comments_visible_to(user=actor, engagement_round=engagement_round)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        if len(members) != len(ids) or any(m.round_id != engagement_round.pk or m.pk not in visible for m in members):
            raise Http404
        refused = [m.number for m in members if m.status != Comment.Status.SUBMITTED]
        if refused:
            raise ValidationError(
                _("Only submitted comments are assigned (%(numbers)s). Nothing was saved.")
                % {"numbers": ", ".join(refused)}
            )
        current = {a.comment_id: a for a in CommentAssignment.objects.select_for_update().filter(comment_id__in=ids)}
        now = timezone.now()
        changed = 0
        for member in members:
            before = current.get(member.pk)
            if (before.assignee_id if before else None) == (assignee.pk if assignee else None):
                continue
            if assignee is None:
                CommentAssignment.objects.filter(comment=member).delete()
            else:
                CommentAssignment.objects.update_or_create(
                    comment=member, defaults={"assignee": assignee, "assigned_by": actor, "assigned_at": now}
                )
            changed += 1
            audit_log(
                actor=actor,
                action="comment.assigned" if assignee else "comment.unassigned",
                target=member,
                consultation=target,
                data={
                    "assignee": assignee.pk if assignee else None,
                    "previous": before.assignee_id if before else None,
                },
            )
    return changed
