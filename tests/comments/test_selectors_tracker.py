"""The response tracker's read model: who has answered in a round (comments.selectors_tracker)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from comments import services
from comments.models import Comment, NationalPosition
from comments.selectors_tracker import response_tracker
from consultations import services as round_services
from tests import factories
from tests.helpers.people import participant


def _write(author, engagement_round, section, body, *, submit):
    return services.comment_create(
        actor=author,
        engagement_round=engagement_round,
        section=section,
        comment_type=Comment.Type.TECHNICAL,
        body=body,
        submit=submit,
    )


@pytest.fixture
def answered(open_round, clause, secretariat, consultant, vn_delegate, vn_focal_point, th_delegate, partner):
    """Viet Nam: two submitted (one endorsed into its position), one draft. Thailand: one draft. Partner: nothing."""
    first = _write(vn_delegate, open_round, clause, "Name a year for the 5G target.", submit=True)
    second = _write(vn_delegate, open_round, clause, "Add rural coverage.", submit=True)
    _write(vn_delegate, open_round, clause, "Still thinking about spectrum.", submit=False)
    _write(th_delegate, open_round, clause, "Thai draft on data centres.", submit=False)
    services.comment_set_endorsed(actor=vn_focal_point, comment=first, endorsed=True)
    services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)
    return {"first": first, "second": second}


def _rows(engagement_round, **kwargs):
    return {row.organisation.name: row for row in response_tracker(engagement_round=engagement_round, **kwargs).rows}


def test_each_commenting_organisation_has_a_row_with_drafts_and_submitted_apart(answered, open_round):
    rows = _rows(open_round)
    # The secretariat and the consultants do not comment in this round: they are not chased.
    assert set(rows) == {"Viet Nam", "Thailand", "Development Partner"}
    assert (rows["Viet Nam"].drafts, rows["Viet Nam"].submitted) == (1, 2)
    assert (rows["Thailand"].drafts, rows["Thailand"].submitted) == (1, 0)
    assert (rows["Development Partner"].drafts, rows["Development Partner"].submitted) == (0, 0)
    assert rows["Viet Nam"].role_label == "Member state"
    assert rows["Development Partner"].role == Role.PARTNER


def test_only_those_with_nothing_submitted_are_late(answered, open_round):
    tracker = response_tracker(engagement_round=open_round)
    assert [row.organisation.name for row in tracker.late] == ["Development Partner", "Thailand"]
    assert tracker.answered == 1


def test_a_submitted_position_is_shown_unchanged_until_endorsements_change(answered, open_round, vn_focal_point):
    position = _rows(open_round)["Viet Nam"].position
    assert position is not None
    assert (position.endorsed_at_submission, position.endorsed_now, position.changed_since_submission) == (1, 1, False)

    services.comment_set_endorsed(actor=vn_focal_point, comment=answered["second"], endorsed=True)

    position = _rows(open_round)["Viet Nam"].position
    assert (position.endorsed_at_submission, position.endorsed_now, position.changed_since_submission) == (1, 2, True)


def test_swapping_one_endorsement_for_another_counts_as_changed(answered, open_round, vn_focal_point):
    """Same number endorsed, different comments: the position submitted is not the one standing."""
    services.comment_set_endorsed(actor=vn_focal_point, comment=answered["first"], endorsed=False)
    services.comment_set_endorsed(actor=vn_focal_point, comment=answered["second"], endorsed=True)
    position = _rows(open_round)["Viet Nam"].position
    assert (position.endorsed_now, position.changed_since_submission) == (1, True)


def test_withdrawing_an_endorsement_counts_as_changed(answered, open_round, vn_focal_point):
    services.comment_set_endorsed(actor=vn_focal_point, comment=answered["first"], endorsed=False)
    position = _rows(open_round)["Viet Nam"].position
    assert (position.endorsed_now, position.changed_since_submission) == (0, True)


def test_submitting_again_clears_the_change(answered, open_round, vn_focal_point):
    services.comment_set_endorsed(actor=vn_focal_point, comment=answered["second"], endorsed=True)
    services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)
    position = _rows(open_round)["Viet Nam"].position
    assert (position.endorsed_at_submission, position.changed_since_submission) == (2, False)


def test_only_member_states_are_asked_for_a_position(answered, open_round):
    rows = _rows(open_round)
    assert rows["Thailand"].expects_position and rows["Thailand"].position is None
    assert not rows["Development Partner"].expects_position


def test_last_activity_is_the_latest_comment_change_reply_or_position(answered, open_round, vn_colleague):
    rows = _rows(open_round)
    assert rows["Development Partner"].last_activity is None
    assert rows["Thailand"].last_activity is not None  # its draft
    before = rows["Viet Nam"].last_activity
    assert before == NationalPosition.objects.get().submitted_at  # the latest thing Viet Nam did
    reply = services.reply_create(actor=vn_colleague, comment=answered["first"], body="We agree.")
    assert _rows(open_round)["Viet Nam"].last_activity == reply.created_at > before


def test_an_extension_is_shown_for_its_organisation_only(answered, open_round, secretariat, orgs):
    until = open_round.closes_at + timedelta(days=2)
    round_services.round_extend(
        actor=secretariat, engagement_round=open_round, organisation=orgs["th"], closes_at=until
    )
    rows = _rows(open_round)
    assert rows["Thailand"].extended_until == until
    assert rows["Viet Nam"].extended_until is None


def test_sorting_by_a_column_both_ways_with_the_name_breaking_ties(answered, open_round):
    def names(sort):
        return [row.organisation.name for row in response_tracker(engagement_round=open_round, sort=sort).rows]

    assert names("submitted") == ["Development Partner", "Thailand", "Viet Nam"]
    assert names("-submitted") == ["Viet Nam", "Development Partner", "Thailand"]
    assert names("-drafts") == ["Thailand", "Viet Nam", "Development Partner"]
    assert names("organisation") == ["Development Partner", "Thailand", "Viet Nam"]
    assert names("-organisation") == ["Viet Nam", "Thailand", "Development Partner"]
    assert names("position") == ["Thailand", "Viet Nam", "Development Partner"]  # not submitted, submitted, not asked
    assert names("nonsense") == names("submitted")


def _populate(consultation, engagement_round, section, organisations: int, comments_each: int):
    for index in range(organisations):
        organisation = factories.OrganisationFactory(
            name=f"State {index}", kind=Role.MEMBER_STATE, country_code=f"{chr(65 + index // 26)}{chr(65 + index % 26)}"
        )
        author = participant(consultation, organisation, f"state{index}@example.org", Role.MEMBER_STATE)
        factories.CommentFactory.create_batch(
            comments_each, round=engagement_round, section=section, author=author, status=Comment.Status.SUBMITTED
        )
        factories.CommentFactory(round=engagement_round, section=section, author=author)
        factories.ReplyFactory(comment__round=engagement_round, comment__section=section, author=author)
        factories.NationalPositionFactory(round=engagement_round, organisation=organisation, endorsed_count=1)
        factories.RoundExtensionFactory(round=engagement_round, organisation=organisation)
        factories.RoundReminderFactory(round=engagement_round, organisation=organisation, user=author)


# organisations (with their participants), comments, replies, returned drafts, positions, extensions,
# reminders: one query each
TRACKER_QUERIES = 7


@pytest.mark.parametrize(("organisations", "comments_each"), [(2, 1), (12, 8)])
def test_the_tracker_takes_the_same_queries_whatever_the_size(
    django_assert_num_queries, consultation, open_round, clause, organisations, comments_each
):
    _populate(consultation, open_round, clause, organisations, comments_each)
    with django_assert_num_queries(TRACKER_QUERIES):
        tracker = response_tracker(engagement_round=open_round, sort="-activity", now=timezone.now())
    assert len(tracker.rows) == organisations
    assert {row.submitted for row in tracker.rows} == {comments_each}
    assert all(row.position and row.extended_until and row.last_reminded_at for row in tracker.rows)
