"""Comment counts per section as each viewer may see them: the contents and the version page, one query."""

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments.selectors import comments_visible_to
from consolidation import selectors_section_counts
from consolidation.selectors_section_counts import visible_counts_by_section
from consultations.models import EngagementRound
from tests import factories

VIEWERS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider"]


@pytest.fixture
def world(version, clause, other_clause, vn_delegate, th_delegate, partner):
    """A round whose comments cover every case of the visibility rule, on two sections."""

    def build(visibility: str, closed: bool = False):
        make = factories.ClosedRoundFactory if closed else factories.EngagementRoundFactory
        fields = {} if closed else {"state": EngagementRound.State.OPEN}
        engagement_round = make(version=version, visibility=visibility, **fields)

        def add(author, section, status, n=1, **extra):
            for _ in range(n):
                factories.CommentFactory(round=engagement_round, section=section, author=author, status=status, **extra)

        add(vn_delegate, clause, "draft", 2)
        add(vn_delegate, clause, "submitted", 3)
        add(th_delegate, clause, "submitted", 1)
        add(th_delegate, other_clause, "submitted", 2, is_hidden=True)
        add(th_delegate, other_clause, "draft")
        add(partner, other_clause, "withdrawn")
        add(partner, other_clause, "submitted")
        return engagement_round

    return build


def _truth(user, engagement_round) -> dict[int, int]:
    rows = (
        comments_visible_to(user=user, engagement_round=engagement_round)
        .values_list("section_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


@pytest.mark.parametrize(
    ("visibility", "closed"),
    [("secretariat_only", False), ("live", False), ("after_close", False), ("after_close", True)],
)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_counts_are_what_the_viewer_may_see_whichever_way_they_are_counted(
    request, world, monkeypatch, visibility, closed, viewer, secretariat, consultant, vn_focal_point, outsider
):
    engagement_round = world(visibility, closed)
    user = request.getfixturevalue(viewer)

    from_counts = visible_counts_by_section(user=user, engagement_round=engagement_round)
    monkeypatch.setattr(selectors_section_counts, "maintained", lambda: False)
    from_comments = visible_counts_by_section(user=user, engagement_round=engagement_round)

    assert from_counts == from_comments == _truth(user, engagement_round)


def test_a_delegate_counts_only_their_own_where_the_round_shows_nobody_else(
    world, clause, other_clause, th_delegate, secretariat
):
    engagement_round = world("secretariat_only")

    assert visible_counts_by_section(user=th_delegate, engagement_round=engagement_round) == {
        clause.pk: 1,
        other_clause.pk: 3,  # its two hidden comments and its draft: its own
    }
    # The secretariat: submitted and withdrawn of everyone, hidden ones included; no drafts.
    assert visible_counts_by_section(user=secretariat, engagement_round=engagement_round) == {
        clause.pk: 4,
        other_clause.pk: 4,
    }


def test_the_contents_and_the_version_page_show_the_viewers_counts(client, world, version, clause, th_delegate):
    world("secretariat_only")
    client.force_login(th_delegate)

    page = client.get(reverse("consultations:version", args=[version.consultation.slug, version.number]))

    html = page.content.decode()
    assert '<span class="nav-count">1 comment</span>' in html  # 1.1.1: Thailand's own
    assert '<span class="nav-count">3 comments</span>' in html  # 1.1.2
    assert "4 comments" not in html and "5 comments" not in html  # Viet Nam's are not counted for Thailand
    section_page = client.get(
        reverse("comments:section", args=[version.consultation.slug, version.number, clause.key])
    ).content.decode()
    assert '<span class="nav-count">3 comments</span>' in section_page


@pytest.mark.parametrize("viewer", ["th_delegate", "secretariat"])
@pytest.mark.parametrize("page", ["version", "section"])
def test_the_counts_cost_one_query_whatever_the_rounds_size(
    client, request, world, version, clause, other_clause, orgs, viewer, page, django_assert_num_queries
):
    engagement_round = world("live")
    user = request.getfixturevalue(viewer)
    slug = version.consultation.slug
    url = (
        reverse("consultations:version", args=[slug, version.number])
        if page == "version"
        else reverse("comments:section", args=[slug, version.number, clause.key])
    )
    client.force_login(user)
    client.get(url)  # warm up per-process caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    for i in range(60):
        author = factories.MemberFactory(organisation=orgs["th" if i % 2 else "vn"])
        factories.CommentFactory(
            round=engagement_round,
            section=clause if i % 3 else other_clause,
            author=author,
            status="submitted" if i % 4 else "draft",
        )

    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
    counted = [q["sql"] for q in small.captured_queries if "consolidation_commentcount" in q["sql"]]
    assert len(counted) == 1
