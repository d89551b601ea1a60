"""comments.selectors: the passages a write sends back are those of the window the writer has open."""

import pytest

from comments.models import Comment
from comments.selectors import SectionFilter, section_window, section_window_passages
from tests.helpers.section_pages import BODY
from tests.helpers.section_pages import add_comments as _add_comments

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "section_filter",
    [
        SectionFilter(),
        SectionFilter(page=2),
        SectionFilter(page=9),  # past the last page: the last page, as the window shows it
        SectionFilter(scope="own"),
        SectionFilter(status="submitted", page=2),
        SectionFilter(comment_type="ed"),
    ],
)
@pytest.mark.parametrize("viewer", ["vn_delegate", "secretariat"])
def test_the_passages_after_a_write_are_the_highlights_of_the_same_window(
    personas, open_round, orgs, clause, section_filter, viewer
):
    """Other delegations' comments (submitted, drafts, withdrawn), passages at several places and
    comments on the whole section, over three pages: the same counts, and the same comments at the
    same positions in the same order as the window's cards, withdrawn ones left out."""
    _add_comments(open_round, personas["vn_focal_point"], orgs["vn"], 12)
    _add_comments(open_round, personas["th_delegate"], orgs["th"], 14)
    Comment.objects.filter(organisation=orgs["vn"], body__endswith="4").update(type="ed")
    start = BODY.index("5G")
    Comment.objects.filter(organisation=orgs["th"], body__endswith="3").update(type="ed", position_start=start)
    Comment.objects.filter(organisation=orgs["th"], body__endswith="1").update(status=Comment.Status.WITHDRAWN)

    window = section_window(
        user=personas[viewer],
        engagement_round=open_round,
        section=clause,
        section_filter=section_filter,
        reply_preview=0,
    )
    counts, passages = section_window_passages(
        user=personas[viewer], engagement_round=open_round, section=clause, section_filter=section_filter
    )

    assert counts == window.counts
    assert [(p.pk, p.position_start, p.position_end) for p in passages] == [
        (c.pk, c.position_start, c.position_end) for c in window.comments
    ]
    # Every case shows some highlighted comment, but the secretariat's own delegation's: it has none.
    assert bool(window.comments) != (viewer == "secretariat" and section_filter.scope == "own")


def test_the_passages_cost_two_queries_whatever_the_section_holds(
    vn_delegate, vn_focal_point, open_round, orgs, clause, django_assert_num_queries
):
    _add_comments(open_round, vn_focal_point, orgs["vn"], 40)
    with django_assert_num_queries(3):  # the writer's participation (cached after), the counts, the page
        section_window_passages(user=vn_delegate, engagement_round=open_round, section=clause)
    with django_assert_num_queries(2):
        section_window_passages(user=vn_delegate, engagement_round=open_round, section=clause)
