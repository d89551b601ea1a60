"""The focal point sends a colleague's submitted comment back with a note: service, rule, page, inbox and e-mail."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from audit.models import AuditEntry
from comments import services
from comments.models import Comment, CommentReturn, CommentRevision, NationalPosition
from config.errors import RoundClosedError, StaleWriteError
from consultations.models import EngagementRound
from notifications.models import Notification
from notifications.selectors import text_of
from notifications.tasks import send_immediate
from tests import factories

NOTE = "Please cite the 2028 target and drop the second sentence."


def submitted(author, engagement_round, section, **fields):
    return services.comment_create(
        actor=author,
        engagement_round=engagement_round,
        section=section,
        comment_type=Comment.Type.TECHNICAL,
        body="Name the 2028 target for rural areas too.",
        submit=True,
        **fields,
    )


def snapshot() -> dict:
    return {
        "comments": list(Comment.objects.order_by("pk").values()),
        "revisions": list(CommentRevision.objects.order_by("pk").values()),
        "returns": list(CommentReturn.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
    }


@pytest.fixture
def live_round(version):
    return factories.EngagementRoundFactory(
        version=version, state=EngagementRound.State.OPEN, visibility=EngagementRound.Visibility.LIVE
    )


# --- service ------------------------------------------------------------------------------


def test_returned_comment_is_a_draft_again_out_of_the_position_with_history_and_audit(
    open_round, clause, vn_delegate, vn_focal_point
):
    comment = submitted(vn_delegate, open_round, clause)
    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)

    returned = services.comment_return(
        actor=vn_focal_point, comment=comment, note=NOTE, expected_revision=comment.revision
    )

    comment.refresh_from_db()
    assert comment.status == Comment.Status.DRAFT
    assert comment.submitted_at is None
    assert (comment.is_endorsed, comment.endorsed_by) == (False, None)
    assert (returned.note, returned.returned_by, returned.revision) == (NOTE, vn_focal_point, comment.revision)
    last = CommentRevision.objects.filter(comment=comment).order_by("-number").first()
    assert (last.action, last.actor, last.status) == (CommentRevision.Action.RETURNED, vn_focal_point, "draft")
    actions = list(
        AuditEntry.objects.filter(target_type="comments.comment", target_id=str(comment.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["comment.returned", "comment.unendorsed"]
    assert AuditEntry.objects.get(action="comment.returned").data == {"note": NOTE}


def test_the_author_revises_and_submits_again(open_round, clause, vn_delegate, vn_focal_point):
    comment = submitted(vn_delegate, open_round, clause)
    services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)
    comment.refresh_from_db()

    comment = services.comment_update(
        actor=vn_delegate, comment=comment, comment_type="te", body="Name the 2028 target.", keep_anchor=True
    )
    comment = services.comment_submit(actor=vn_delegate, comment=comment)

    assert comment.status == Comment.Status.SUBMITTED
    assert comment.body == "Name the 2028 target."


@pytest.mark.parametrize("who", ["vn_delegate", "vn_colleague", "secretariat", "consultant", "partner"])
def test_only_the_focal_point_of_the_delegation_may_return(
    request, open_round, clause, vn_delegate, vn_colleague, vn_focal_point, secretariat, consultant, partner, who
):
    comment = submitted(vn_delegate, open_round, clause)
    actor = request.getfixturevalue(who)
    before = snapshot()

    # Colleagues of the delegation are refused (403); anyone of another organisation gets a 404, the
    # secretariat and consultants who read the comment included: it is not theirs to send back.
    with pytest.raises((PermissionDenied, Http404)) as refused:
        services.comment_return(actor=actor, comment=comment, note=NOTE)

    expected = PermissionDenied if who in ("vn_delegate", "vn_colleague") else Http404
    assert refused.type is expected
    assert snapshot() == before


def test_another_delegations_focal_point_gets_404_even_when_the_round_shows_the_comment(
    live_round, clause, vn_delegate, th_focal_point
):
    comment = submitted(vn_delegate, live_round, clause)
    before = snapshot()

    with pytest.raises(Http404):
        services.comment_return(actor=th_focal_point, comment=comment, note=NOTE)

    assert snapshot() == before


def test_the_focal_point_does_not_return_their_own_comment(open_round, clause, vn_focal_point):
    comment = submitted(vn_focal_point, open_round, clause)

    with pytest.raises(PermissionDenied):
        services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001])
def test_the_note_is_required_and_bounded(open_round, clause, vn_delegate, vn_focal_point, note):
    comment = submitted(vn_delegate, open_round, clause)
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        services.comment_return(actor=vn_focal_point, comment=comment, note=note)

    assert "note" in refused.value.error_dict
    assert snapshot() == before


def test_a_draft_cannot_be_returned(open_round, clause, vn_delegate, vn_focal_point):
    comment = factories.CommentFactory(round=open_round, section=clause, author=vn_delegate)

    with pytest.raises(ValidationError):
        services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)


def test_a_stale_revision_is_refused(open_round, clause, vn_delegate, vn_focal_point):
    comment = submitted(vn_delegate, open_round, clause)

    with pytest.raises(StaleWriteError):
        services.comment_return(
            actor=vn_focal_point, comment=comment, note=NOTE, expected_revision=comment.revision - 1
        )


def test_nothing_is_returned_once_the_round_has_closed(closed_round, clause, vn_delegate, vn_focal_point):
    comment = factories.SubmittedCommentFactory(round=closed_round, section=clause, author=vn_delegate)
    before = snapshot()

    with pytest.raises(RoundClosedError):
        services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)

    assert snapshot() == before


def test_the_position_shows_it_changed_since_submission(open_round, clause, vn_delegate, vn_focal_point):
    comment = submitted(vn_delegate, open_round, clause)
    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)
    services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)

    services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)

    from comments.selectors import endorsement_state, position_changed_since_submission

    endorsed_now, last = endorsement_state(engagement_round=open_round, organisation_id=vn_delegate.organisation_id)
    position = NationalPosition.objects.get()
    assert position_changed_since_submission(position=position, endorsed_now=endorsed_now, last_endorsed_at=last)


# --- notification -------------------------------------------------------------------------


def test_the_author_alone_hears_of_it_with_the_note(open_round, clause, vn_delegate, vn_colleague, vn_focal_point):
    comment = submitted(vn_delegate, open_round, clause)

    services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)

    notification = Notification.objects.get(kind=Notification.Kind.RETURNED)
    assert (notification.recipient, notification.actor, notification.comment) == (vn_delegate, vn_focal_point, comment)
    assert NOTE in text_of(notification)
    assert f"C{comment.pk}" in text_of(notification)


def test_the_email_goes_out_in_the_authors_language(open_round, clause, vn_delegate, vn_focal_point):
    vn_delegate.language = "vi"
    vn_delegate.save(update_fields=["language"])
    comment = submitted(vn_delegate, open_round, clause)
    services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)

    assert send_immediate.delay().get() == 1

    (message,) = mail.outbox
    assert message.to == [vn_delegate.email]
    assert "Kính gửi" in message.body  # the greeting, from the Vietnamese catalogue
    assert NOTE in message.body


# --- pages --------------------------------------------------------------------------------


def _return_url(comment):
    return reverse("comments:return", args=[comment.round.consultation.slug, comment.pk])


def test_the_focal_point_returns_from_the_comment_page_and_the_author_reads_the_note(
    client, open_round, clause, vn_delegate, vn_focal_point
):
    comment = submitted(vn_delegate, open_round, clause)
    detail = reverse("comments:detail", args=[open_round.consultation.slug, comment.pk])
    client.force_login(vn_focal_point)
    assert "Send back to the author" in client.get(detail).content.decode()

    response = client.post(_return_url(comment), {"note": NOTE, "revision": comment.revision, "next": detail})

    assert response.status_code == 302 and response["Location"] == detail
    client.force_login(vn_delegate)
    page = client.get(detail).content.decode()
    assert "Sent back to you by your focal point" in page and NOTE in page
    section_page = client.get(
        reverse("comments:section", args=[open_round.consultation.slug, clause.version.number, clause.key])
    ).content.decode()
    assert NOTE in section_page


def test_a_plain_delegate_sees_no_send_back_and_is_refused(client, open_round, clause, vn_delegate, vn_colleague):
    comment = submitted(vn_delegate, open_round, clause)
    client.force_login(vn_colleague)
    detail = reverse("comments:detail", args=[open_round.consultation.slug, comment.pk])
    assert "Send back to the author" not in client.get(detail).content.decode()

    assert client.post(_return_url(comment), {"note": NOTE}).status_code == 403
    assert Comment.objects.get().status == Comment.Status.SUBMITTED


def test_a_forged_id_of_another_delegation_is_404(client, live_round, clause, vn_delegate, th_focal_point):
    comment = submitted(vn_delegate, live_round, clause)
    client.force_login(th_focal_point)

    assert client.post(_return_url(comment), {"note": NOTE}).status_code == 404
    assert client.post(reverse("comments:return", args=["adm-2030", 999_999]), {"note": NOTE}).status_code == 404
    assert Comment.objects.get().status == Comment.Status.SUBMITTED


def test_a_closed_round_answers_409_and_changes_nothing(client, closed_round, clause, vn_delegate, vn_focal_point):
    comment = factories.SubmittedCommentFactory(round=closed_round, section=clause, author=vn_delegate)
    client.force_login(vn_focal_point)

    response = client.post(_return_url(comment), {"note": NOTE})

    assert response.status_code == 409
    assert Comment.objects.get().status == Comment.Status.SUBMITTED


def test_an_empty_note_answers_400_on_the_page(client, open_round, clause, vn_delegate, vn_focal_point):
    comment = submitted(vn_delegate, open_round, clause)
    client.force_login(vn_focal_point)

    response = client.post(_return_url(comment), {"note": ""})

    assert response.status_code == 400
    assert Comment.objects.get().status == Comment.Status.SUBMITTED


def test_the_response_tracker_counts_drafts_sent_back_until_submitted_again(
    client, secretariat, open_round, clause, vn_delegate, vn_focal_point
):
    from comments.selectors_tracker import response_tracker

    comment = submitted(vn_delegate, open_round, clause)
    services.comment_return(actor=vn_focal_point, comment=comment, note=NOTE)

    (vn,) = [
        r for r in response_tracker(engagement_round=open_round).rows if r.organisation == vn_delegate.organisation
    ]
    assert (vn.drafts, vn.returned, vn.submitted) == (1, 1, 0)
    client.force_login(secretariat)
    assert "1 sent back" in client.get(reverse("comments:tracker", args=["adm-2030", open_round.pk])).content.decode()

    comment.refresh_from_db()
    services.comment_submit(actor=vn_delegate, comment=comment)
    (vn,) = [
        r for r in response_tracker(engagement_round=open_round).rows if r.organisation == vn_delegate.organisation
    ]
    assert (vn.drafts, vn.returned, vn.submitted) == (0, 0, 1)
