"""Who hears of what: each event notifies the comment's delegation, never the actor, never anyone who may not see it."""

import pytest
from django.utils import timezone

from comments import services as comments
from comments.models import Comment
from consolidation.models import CarriedAnchor, ConsolidationRun, DuplicateGroup, JobStatus
from consolidation.services.carry_over import carry_over_comments
from consolidation.services.dispositions import disposition_propose, disposition_record, disposition_record_group
from notifications.models import Notification
from notifications.selectors import text_of
from notifications.services import notify_carried_over, notify_mentioned
from tests.factories import CommentFactory
from tests.helpers.carry_over import build_world

Kind = Notification.Kind


def recipients(kind, **filters) -> set[str]:
    return set(Notification.objects.filter(kind=kind, **filters).values_list("recipient__email", flat=True))


def submitted(author, engagement_round, section, body="Name the 2028 target for rural areas too."):
    return comments.comment_create(
        actor=author,
        engagement_round=engagement_round,
        section=section,
        comment_type=Comment.Type.TECHNICAL,
        body=body,
        submit=True,
    )


# --- replies ------------------------------------------------------------------------------


def test_a_reply_notifies_the_author_and_their_delegation_but_not_the_replier(
    open_round, clause, vn_delegate, vn_focal_point, vn_colleague, th_delegate, secretariat
):
    comment = submitted(vn_delegate, open_round, clause)

    reply = comments.reply_create(actor=vn_focal_point, comment=comment, body="Agreed; add 'by 2030'.")

    assert recipients(Kind.REPLY) == {"vn.delegate@example.org", "vn.colleague@example.org"}
    notification = Notification.objects.get(recipient=vn_delegate)
    assert (notification.comment, notification.reply, notification.actor) == (comment, reply, vn_focal_point)
    assert notification.read_at is None and notification.mailed_at is None


def test_another_delegation_replying_notifies_the_commenting_delegation_only(
    open_round, clause, vn_delegate, vn_focal_point, th_delegate, partner
):
    open_round.visibility = open_round.Visibility.LIVE
    open_round.save(update_fields=["visibility"])
    comment = submitted(vn_delegate, open_round, clause)

    comments.reply_create(actor=th_delegate, comment=comment, body="Thailand supports this.")

    assert recipients(Kind.REPLY) == {"vn.delegate@example.org", "vn.focal@example.org"}


def test_a_reply_on_a_draft_reaches_only_the_authors_organisation(
    open_round, clause, vn_delegate, vn_colleague, th_delegate
):
    draft = comments.comment_create(
        actor=vn_delegate,
        engagement_round=open_round,
        section=clause,
        comment_type=Comment.Type.TECHNICAL,
        body="Still drafting.",
    )

    comments.reply_create(actor=vn_colleague, comment=draft, body="Add the figures.")

    assert recipients(Kind.REPLY) == {"vn.delegate@example.org"}


# --- decisions ----------------------------------------------------------------------------


@pytest.fixture
def decided_comment(closed_round, clause, vn_delegate):
    return CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)


def test_a_decision_notifies_the_delegation_with_the_decision(
    decided_comment, secretariat, vn_delegate, vn_focal_point, th_delegate, consultant
):
    disposition_record(actor=secretariat, comment=decided_comment, decision="accepted", response="Taken into 0.2.")

    assert recipients(Kind.DECISION) == {"vn.delegate@example.org", "vn.focal@example.org"}
    notification = Notification.objects.get(recipient=vn_delegate)
    assert text_of(notification) == (
        f"The secretariat decided on comment C{decided_comment.pk} in ASEAN Digital Masterplan 2030: Accepted."
    )


def test_a_consultants_proposal_notifies_nobody(decided_comment, consultant, vn_delegate, vn_focal_point):
    disposition_propose(actor=consultant, comment=decided_comment, decision="accepted", response="Agree.")

    assert not Notification.objects.exists()


def test_a_changed_decision_is_news_again_but_the_same_one_is_not_repeated(decided_comment, secretariat, vn_delegate):
    first = disposition_record(actor=secretariat, comment=decided_comment, decision="noted", response="")
    disposition_record(
        actor=secretariat,
        comment=decided_comment,
        decision="accepted",
        response="On reflection, yes.",
        expected_revision=first.revision,
    )

    assert Notification.objects.filter(recipient=vn_delegate, kind=Kind.DECISION).count() == 2


def test_a_group_decision_notifies_each_comments_delegation(
    closed_round, clause, secretariat, vn_delegate, th_delegate, partner
):
    members = [
        CommentFactory(round=closed_round, section=clause, author=author, status=Comment.Status.SUBMITTED)
        for author in (vn_delegate, th_delegate)
    ]
    run = ConsolidationRun.objects.create(
        round=closed_round, status=JobStatus.DONE, progress=100, finished_at=timezone.now()
    )
    group = DuplicateGroup.objects.create(
        run=run, section=clause, kind=DuplicateGroup.Kind.NEAR, size=2, similarity=92.0
    )
    group.comments.set(members)

    disposition_record_group(actor=secretariat, group=group, decision="noted", response="Noted, thank you.")

    assert recipients(Kind.DECISION) == {"vn.delegate@example.org", "th.delegate@example.org"}
    assert Notification.objects.get(recipient=th_delegate).comment == members[1]


# --- mentions -----------------------------------------------------------------------------


def test_a_mention_notifies_those_who_may_see_the_comment_only(
    open_round, clause, vn_delegate, vn_colleague, th_delegate, outsider, secretariat
):
    draft = comments.comment_create(
        actor=vn_delegate,
        engagement_round=open_round,
        section=clause,
        comment_type=Comment.Type.TECHNICAL,
        body="@colleague @thai @outsider please look",
    )

    count = notify_mentioned(
        actor=vn_delegate, comment=draft, mentioned=[vn_colleague, th_delegate, outsider, secretariat, vn_delegate]
    )

    # A draft is seen inside its organisation only: Thailand, the outsider and the secretariat hear nothing.
    assert count == 1
    assert recipients(Kind.MENTION) == {"vn.colleague@example.org"}
    assert notify_mentioned(actor=vn_delegate, comment=draft, mentioned=[vn_colleague]) == 0  # once per mention


# --- carry-over ---------------------------------------------------------------------------


def test_carry_over_tells_each_author_once_how_many_comments_followed_and_how_many_were_orphaned(
    consultation, version, vn_delegate, th_delegate, secretariat
):
    new = build_world(consultation, version, vn_delegate, th_delegate)["new"]

    carry_over_comments(version_id=new.pk)
    carry_over_comments(version_id=new.pk)  # run again: nobody hears twice

    assert recipients(Kind.CARRIED_OVER) == {"vn.delegate@example.org", "th.delegate@example.org"}
    th = Notification.objects.get(recipient=th_delegate)
    th_carried = CarriedAnchor.objects.filter(version=new, comment__author=th_delegate)
    assert th.data["carried"] + th.data["orphaned"] == th_carried.count() > 0
    assert th.data["orphaned"] >= 1  # the deleted clause's comments
    assert "could not be placed" in text_of(th)
    assert th.version == new


def test_what_carry_over_counted_while_landing_is_what_its_anchors_count(
    consultation, version, vn_delegate, th_delegate
):
    """The first run tells each author the counts it made while landing: the same as counting the rows."""
    new = build_world(consultation, version, vn_delegate, th_delegate)["new"]
    th_delegate.is_active = False
    th_delegate.save(update_fields=["is_active"])

    carry_over_comments(version_id=new.pk)
    told = {n.recipient_id: n.data for n in Notification.objects.filter(kind=Kind.CARRIED_OVER)}
    Notification.objects.filter(kind=Kind.CARRIED_OVER).delete()
    notify_carried_over(version=new)  # counted by the database from the CarriedAnchor rows
    counted = {n.recipient_id: n.data for n in Notification.objects.filter(kind=Kind.CARRIED_OVER)}

    assert told == counted
    assert set(told) == {vn_delegate.pk}  # an author no longer active hears nothing
    vn_anchors = CarriedAnchor.objects.filter(version=new, comment__author=vn_delegate)
    assert told[vn_delegate.pk] == {
        "carried": vn_anchors.exclude(method=CarriedAnchor.Method.ORPHANED).count(),
        "orphaned": vn_anchors.filter(method=CarriedAnchor.Method.ORPHANED).count(),
    }
    assert told[vn_delegate.pk]["carried"] > 0 and told[vn_delegate.pk]["orphaned"] > 0
