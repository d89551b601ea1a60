"""Assignments: the secretariat gives comments to its team; each person finds theirs under "Assigned to me"."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from audit.models import AuditEntry
from comments.models import Comment
from consolidation.models import CommentAssignment, Disposition
from consolidation.services.assignments import ASSIGN_MAX, comments_assign
from tests.factories import CommentFactory
from tests.helpers.rounds import closed_round_on


@pytest.fixture
def comments(closed_round, clause, vn_delegate, th_delegate):
    return [
        CommentFactory(round=closed_round, section=clause, author=author, status=Comment.Status.SUBMITTED)
        for author in (vn_delegate, th_delegate, vn_delegate)
    ]


def assigned() -> dict[int, int]:
    return dict(CommentAssignment.objects.values_list("comment_id", "assignee_id"))


def test_secretariat_assigns_comments_to_a_consultant_and_it_is_audited(
    secretariat, consultant, closed_round, comments
):
    changed = comments_assign(
        actor=secretariat, engagement_round=closed_round, comment_ids=[c.pk for c in comments[:2]], assignee=consultant
    )

    assert changed == 2
    assert assigned() == {comments[0].pk: consultant.pk, comments[1].pk: consultant.pk}
    row = CommentAssignment.objects.get(comment=comments[0])
    assert row.assigned_by == secretariat and row.assigned_at is not None
    entries = AuditEntry.objects.filter(action="comment.assigned")
    assert entries.count() == 2 and entries.first().data == {"assignee": consultant.pk, "previous": None}
    # Assigning is no decision: no disposition appears, no revision moves.
    assert not Disposition.objects.exists()


def test_reassigning_and_unassigning(secretariat, consultant, closed_round, comments):
    ids = [c.pk for c in comments]
    comments_assign(actor=secretariat, engagement_round=closed_round, comment_ids=ids, assignee=consultant)
    # Again to the same person: nothing changes hands, nothing is logged.
    assert comments_assign(actor=secretariat, engagement_round=closed_round, comment_ids=ids, assignee=consultant) == 0
    assert (
        comments_assign(actor=secretariat, engagement_round=closed_round, comment_ids=ids[:1], assignee=secretariat)
        == 1
    )
    assert assigned()[ids[0]] == secretariat.pk
    assert comments_assign(actor=secretariat, engagement_round=closed_round, comment_ids=ids[1:], assignee=None) == 2
    assert assigned() == {ids[0]: secretariat.pk}
    assert AuditEntry.objects.filter(action="comment.unassigned").count() == 2


def test_only_the_secretariat_assigns(consultant, vn_delegate, closed_round, comments):
    for actor in (consultant, vn_delegate):
        with pytest.raises(PermissionDenied):
            comments_assign(
                actor=actor, engagement_round=closed_round, comment_ids=[comments[0].pk], assignee=consultant
            )
    assert assigned() == {} and not AuditEntry.objects.exists()


def test_outsider_gets_404(outsider, consultant, closed_round, comments):
    with pytest.raises(Http404):
        comments_assign(
            actor=outsider, engagement_round=closed_round, comment_ids=[comments[0].pk], assignee=consultant
        )


def test_only_the_team_is_assigned(secretariat, vn_delegate, outsider, closed_round, comments):
    for person in (vn_delegate, outsider):
        with pytest.raises(ValidationError, match="secretariat and consultants only"):
            comments_assign(
                actor=secretariat, engagement_round=closed_round, comment_ids=[comments[0].pk], assignee=person
            )
    assert assigned() == {}


def test_a_comment_of_another_round_refuses_the_whole_selection(
    secretariat, consultant, closed_round, comments, version, clause, vn_delegate
):
    elsewhere = closed_round_on(version, title="Another round")
    foreign = CommentFactory(round=elsewhere, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
    with pytest.raises(Http404):
        comments_assign(
            actor=secretariat,
            engagement_round=closed_round,
            comment_ids=[comments[0].pk, foreign.pk],
            assignee=consultant,
        )
    assert assigned() == {}


def test_a_withdrawn_comment_refuses_the_whole_selection(
    secretariat, consultant, closed_round, comments, clause, vn_delegate
):
    withdrawn = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match=withdrawn.number):
        comments_assign(
            actor=secretariat,
            engagement_round=closed_round,
            comment_ids=[comments[0].pk, withdrawn.pk],
            assignee=consultant,
        )
    assert assigned() == {}


def test_assigning_works_while_the_round_is_open(secretariat, consultant, open_round, clause, vn_delegate):
    comment = CommentFactory(round=open_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
    assert comments_assign(
        actor=secretariat, engagement_round=open_round, comment_ids=[comment.pk], assignee=consultant
    )
    assert assigned() == {comment.pk: consultant.pk}


def test_assignment_is_bounded_and_not_empty(secretariat, consultant, closed_round):
    with pytest.raises(ValidationError, match=f"At most {ASSIGN_MAX}"):
        comments_assign(
            actor=secretariat,
            engagement_round=closed_round,
            comment_ids=list(range(1, ASSIGN_MAX + 2)),
            assignee=consultant,
        )
    with pytest.raises(ValidationError, match="Select at least one"):
        comments_assign(actor=secretariat, engagement_round=closed_round, comment_ids=[], assignee=consultant)
