"""Who sees which comment: comments.selectors.comments_visible_to and get_comment_for_user.

Every persona x every visibility policy (after_close both while open and after close) x every
kind of comment (draft, submitted, withdrawn, hidden) written by Viet Nam and by Thailand.
The expectation is a table written out by hand, not derived from the rule it checks.
"""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from comments.models import Comment
from comments.selectors import comments_visible_to, get_comment_for_user
from consultations.models import EngagementRound, Role
from consultations.services import round_extend
from tests.factories import CommentFactory

# Comment codes: <org><kind>. Org: vn (written by vn_delegate), th (written by th_delegate).
# Kind: D draft, S submitted, W withdrawn, H submitted and then hidden by the secretariat.
ALL = ("vnD", "vnS", "vnW", "vnH", "thD", "thS", "thW", "thH")

# Round situations: the round's visibility policy and, for after_close, whether it has closed.
SECRETARIAT_ONLY = "secretariat_only"
AFTER_CLOSE_OPEN = "after_close, round still open"
AFTER_CLOSE_CLOSED = "after_close, round closed"
LIVE = "live"
SITUATIONS = (SECRETARIAT_ONLY, AFTER_CLOSE_OPEN, AFTER_CLOSE_CLOSED, LIVE)

# What each persona sees: "vn:DS th:S" means vnD, vnS and thS; "-" means nothing.
# fmt: off
VISIBILITY_TABLE = {
    # persona          secretariat_only   after_close (open)  after_close (closed)  live
    "secretariat":    ("vn:SWH th:SWH",   "vn:SWH th:SWH",    "vn:SWH th:SWH",      "vn:SWH th:SWH"),
    "consultant":     ("vn:SWH th:SWH",   "vn:SWH th:SWH",    "vn:SWH th:SWH",      "vn:SWH th:SWH"),
    "admin":          ("vn:SWH th:SWH",   "vn:SWH th:SWH",    "vn:SWH th:SWH",      "vn:SWH th:SWH"),
    "vn_delegate":    ("vn:DSWH",         "vn:DSWH",          "vn:DSWH th:S",       "vn:DSWH th:S"),
    "vn_focal_point": ("vn:DSWH",         "vn:DSWH",          "vn:DSWH th:S",       "vn:DSWH th:S"),
    "th_delegate":    ("th:DSWH",         "th:DSWH",          "vn:S th:DSWH",       "vn:S th:DSWH"),
    "partner":        ("-",               "-",                "vn:S th:S",          "vn:S th:S"),
    "outsider":       ("-",               "-",                "-",                  "-"),
}
# fmt: on


def expected_codes(cell: str) -> set[str]:
    if cell == "-":
        return set()
    codes = set()
    for part in cell.split():
        org, kinds = part.split(":")
        codes |= {org + kind for kind in kinds}
    return codes


CELLS = [(persona, situation) for persona in VISIBILITY_TABLE for situation in SITUATIONS]


def _round_for(make_round, situation: str) -> EngagementRound:
    now = timezone.now()
    if situation == AFTER_CLOSE_CLOSED:
        return make_round(
            visibility=EngagementRound.Visibility.AFTER_CLOSE,
            state=EngagementRound.State.CLOSED,
            opens_at=now - timedelta(days=10),
            closes_at=now - timedelta(days=1),
            final_closes_at=now - timedelta(days=1),
            closed_at=now - timedelta(days=1),
        )
    policy = {
        SECRETARIAT_ONLY: EngagementRound.Visibility.SECRETARIAT_ONLY,
        AFTER_CLOSE_OPEN: EngagementRound.Visibility.AFTER_CLOSE,
        LIVE: EngagementRound.Visibility.LIVE,
    }[situation]
    return make_round(visibility=policy, state=EngagementRound.State.OPEN)


def _comments(engagement_round, section, authors) -> dict[str, Comment]:
    made = {}
    for org, author in authors.items():
        made[f"{org}D"] = CommentFactory(round=engagement_round, section=section, author=author)
        made[f"{org}S"] = CommentFactory(
            round=engagement_round, section=section, author=author, status=Comment.Status.SUBMITTED
        )
        made[f"{org}W"] = CommentFactory(
            round=engagement_round, section=section, author=author, status=Comment.Status.WITHDRAWN
        )
        made[f"{org}H"] = CommentFactory(
            round=engagement_round,
            section=section,
            author=author,
            status=Comment.Status.SUBMITTED,
            is_hidden=True,
            hidden_reason="Contains a personal attack.",
            hidden_at=timezone.now(),
        )
    return made


@pytest.mark.parametrize(("persona", "situation"), CELLS, ids=[f"{p}-{s}" for p, s in CELLS])
def test_visibility_table(persona, situation, personas, make_round, clause):
    engagement_round = _round_for(make_round, situation)
    comments = _comments(engagement_round, clause, {"vn": personas["vn_delegate"], "th": personas["th_delegate"]})
    user = personas[persona]
    expected = expected_codes(VISIBILITY_TABLE[persona][SITUATIONS.index(situation)])

    listed = set(comments_visible_to(user=user, engagement_round=engagement_round).values_list("pk", flat=True))
    seen = {code for code, comment in comments.items() if comment.pk in listed}
    assert seen == expected, f"{persona} in a {situation} round sees {sorted(seen)}, expected {sorted(expected)}"

    for code in ALL:
        comment = comments[code]
        if code in expected:
            assert get_comment_for_user(user=user, pk=comment.pk).pk == comment.pk
        else:
            with pytest.raises(Http404):
                get_comment_for_user(user=user, pk=comment.pk)


def test_unknown_comment_id_is_404(vn_delegate, open_round):
    with pytest.raises(Http404):
        get_comment_for_user(user=vn_delegate, pk=987654321)


def test_colleague_sees_delegation_draft_but_secretariat_and_other_states_do_not(
    make_round, clause, vn_delegate, vn_focal_point, th_delegate, secretariat, consultant, site_admin
):
    engagement_round = make_round(visibility=EngagementRound.Visibility.LIVE)
    draft = CommentFactory(round=engagement_round, section=clause, author=vn_delegate, body="Draft: tighten 2028.")

    assert get_comment_for_user(user=vn_focal_point, pk=draft.pk).body == "Draft: tighten 2028."
    assert list(comments_visible_to(user=vn_focal_point, engagement_round=engagement_round)) == [draft]
    for user in (th_delegate, secretariat, consultant, site_admin):
        assert not comments_visible_to(user=user, engagement_round=engagement_round).exists()
        with pytest.raises(Http404):
            get_comment_for_user(user=user, pk=draft.pk)


def test_partner_does_not_see_others_in_a_member_state_only_round_even_when_live(
    make_round, clause, vn_delegate, th_delegate, partner
):
    engagement_round = make_round(visibility=EngagementRound.Visibility.LIVE, commenting_roles=[Role.MEMBER_STATE])
    vn_comment = CommentFactory(
        round=engagement_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )

    assert not comments_visible_to(user=partner, engagement_round=engagement_round).exists()
    with pytest.raises(Http404):
        get_comment_for_user(user=partner, pk=vn_comment.pk)
    # A member state, whom the round admits, does see it.
    assert get_comment_for_user(user=th_delegate, pk=vn_comment.pk) == vn_comment


def test_after_close_shows_others_once_closes_at_passes_even_before_beat_closes_the_round(
    make_round, clause, vn_delegate, th_delegate
):
    now = timezone.now()
    engagement_round = make_round(
        visibility=EngagementRound.Visibility.AFTER_CLOSE,
        state=EngagementRound.State.OPEN,
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(minutes=1),
        final_closes_at=now - timedelta(minutes=1),
    )
    vn_comment = CommentFactory(
        round=engagement_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )

    assert get_comment_for_user(user=th_delegate, pk=vn_comment.pk) == vn_comment


def test_after_close_keeps_others_hidden_while_an_extension_runs(
    make_round, clause, orgs, vn_delegate, th_delegate, secretariat
):
    now = timezone.now()
    engagement_round = make_round(
        visibility=EngagementRound.Visibility.AFTER_CLOSE,
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(minutes=5),
        final_closes_at=now + timedelta(minutes=5),
    )
    round_extend(
        actor=secretariat, engagement_round=engagement_round, organisation=orgs["th"], closes_at=now + timedelta(days=2)
    )
    engagement_round.refresh_from_db()
    vn_comment = CommentFactory(
        round=engagement_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )

    # Viet Nam's deadline has passed, Thailand's has not: Thailand must not read Viet Nam's comment yet.
    later = now + timedelta(hours=1)
    assert not comments_visible_to(user=th_delegate, engagement_round=engagement_round, now=later).exists()
    after_extension = now + timedelta(days=2, seconds=1)
    assert list(comments_visible_to(user=th_delegate, engagement_round=engagement_round, now=after_extension)) == [
        vn_comment
    ]


def test_outsider_from_same_organisation_in_another_consultation_sees_nothing(
    make_round, clause, th_delegate, outsider
):
    """The outsider acts for Thailand, but in another consultation: Thailand's drafts here stay hidden."""
    engagement_round = make_round(visibility=EngagementRound.Visibility.LIVE)
    th_draft = CommentFactory(round=engagement_round, section=clause, author=th_delegate)

    assert outsider.organisation_id == th_delegate.organisation_id
    with pytest.raises(Http404):
        get_comment_for_user(user=outsider, pk=th_draft.pk)
