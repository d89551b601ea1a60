"""Search in a version's text and in the comments a person may see: matching, visibility, pages, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments.models import Comment
from comments.search_text import fold, query_terms, snippet
from comments.selectors import comments_visible_to
from comments.selectors_search import (
    PAGE_SIZE,
    _matching_comments,
    _matching_sections,
    search_comments,
    search_sections,
)
from consultations.models import EngagementRound, Section
from tests import factories

VI_TEXT = "Quy hoạch phát triển hạ tầng số tại Đà Nẵng đến năm 2030."


# --- the words and the snippet ------------------------------------------------------------


def test_folding_keeps_one_character_for_one_and_drops_vietnamese_marks():
    assert fold(VI_TEXT) == "quy hoach phat trien ha tang so tai da nang đen nam 2030.".replace("đ", "d")
    assert len(fold(VI_TEXT)) == len(VI_TEXT)


def test_the_query_terms_leave_out_or_and_excluded_words():
    assert query_terms('Quy hoạch or "hạ tầng" -Đà') == ["quy", "hoach", "ha", "tang"]


def test_the_snippet_marks_the_words_as_written_and_escapes_the_rest():
    html = str(snippet("<b>Quy hoạch</b> phát triển", ["quy", "hoach"]))

    assert html == "&lt;b&gt;<mark>Quy</mark> <mark>hoạch</mark>&lt;/b&gt; phát triển"


def test_a_long_text_is_cut_around_the_first_match():
    text = " ".join(["lorem"] * 100) + " baseline " + " ".join(["ipsum"] * 100)

    html = str(snippet(text, ["baseline"], width=80))

    assert html.startswith("…") and html.endswith("…")
    assert "<mark>baseline</mark>" in html
    assert len(html) < 200


# --- sections -----------------------------------------------------------------------------


@pytest.fixture
def vi_section(version):
    return factories.SectionFactory(
        version=version, key="vi-plan", number="2", heading="Kế hoạch", body=VI_TEXT, position=50, depth=0
    )


def test_quy_hoach_finds_quy_hoach_with_its_marks(version, vi_section):
    page = search_sections(version=version, query="quy hoach")

    assert [hit.section for hit in page.hits] == [vi_section]
    assert "<mark>Quy</mark> <mark>hoạch</mark>" in str(page.hits[0].snippet)


def test_headings_are_searched_and_words_must_all_be_there(version, vi_section, clause):
    assert [h.section for h in search_sections(version=version, query="ke hoach").hits] == [vi_section]
    assert search_sections(version=version, query="quy 6G").hits == []
    assert [h.section for h in search_sections(version=version, query="5G coverage").hits] == [clause]


def test_sections_come_a_page_at_a_time_in_document_order(version):
    chapter = version.sections.get(key="infra")
    for position in range(100, 100 + PAGE_SIZE + 5):
        factories.SectionFactory(
            version=version, parent=chapter, kind=Section.Kind.CLAUSE, depth=2, position=position, body="broadband"
        )

    first = search_sections(version=version, query="broadband")
    second = search_sections(version=version, query="broadband", page=2)

    assert (len(first.hits), first.has_next, len(second.hits), second.has_next) == (PAGE_SIZE, True, 5, False)
    positions = [h.section.position for h in first.hits + second.hits]
    assert positions == sorted(positions)


def test_another_versions_text_is_not_searched(consultation, version, vi_section):
    other = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)

    assert search_sections(version=other, query="quy hoach").hits == []


# --- comments: nobody finds what they may not see -------------------------------------------


@pytest.fixture
def comment_world(version, clause, vn_delegate, th_delegate, partner):
    """Rounds of every visibility, each with a comment of every kind, all holding the word 'searchword'."""
    made = {}
    for visibility in ("secretariat_only", "live"):
        # One open round per version: the secretariat-only one has closed (it shows others nothing either way).
        if visibility == "live":
            engagement_round = factories.EngagementRoundFactory(
                version=version, visibility=visibility, state=EngagementRound.State.OPEN
            )
        else:
            engagement_round = factories.ClosedRoundFactory(version=version, visibility=visibility)
        for name, author, fields in [
            ("vn_draft", vn_delegate, {"status": "draft"}),
            ("vn_submitted", vn_delegate, {"status": "submitted"}),
            ("th_submitted", th_delegate, {"status": "submitted"}),
            ("th_hidden", th_delegate, {"status": "submitted", "is_hidden": True}),
            ("partner_withdrawn", partner, {"status": "withdrawn"}),
        ]:
            made[(visibility, name)] = factories.CommentFactory(
                round=engagement_round,
                section=clause,
                author=author,
                body=f"The searchword {name} in {visibility}.",
                **fields,
            )
    return made


@pytest.mark.parametrize(
    "viewer", ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider"]
)
def test_a_person_finds_exactly_the_matching_comments_they_may_see(
    request, version, comment_world, viewer, secretariat, consultant, vn_focal_point, outsider
):
    user = request.getfixturevalue(viewer)
    rounds = list(EngagementRound.objects.filter(version=version))

    found = set()
    page = 1
    while True:
        hits = search_comments(user=user, rounds=rounds, query="searchword", page=page)
        found |= {hit.comment.pk for hit in hits.hits}
        if not hits.has_next:
            break
        page += 1

    visible = set()
    for engagement_round in rounds:
        visible |= set(comments_visible_to(user=user, engagement_round=engagement_round).values_list("pk", flat=True))
    assert found == visible
    assert found <= {c.pk for c in comment_world.values()}


def test_a_delegate_never_finds_another_delegations_draft_hidden_or_secretariat_only_comment(
    version, comment_world, th_delegate
):
    rounds = list(EngagementRound.objects.filter(version=version))

    found = {h.comment.pk for h in search_comments(user=th_delegate, rounds=rounds, query="searchword").hits}

    never = [
        comment_world[("secretariat_only", "vn_draft")],
        comment_world[("secretariat_only", "vn_submitted")],
        comment_world[("live", "vn_draft")],
        comment_world[("secretariat_only", "partner_withdrawn")],
    ]
    assert not found & {c.pk for c in never}
    assert comment_world[("live", "vn_submitted")].pk in found
    # Specific words of an unseen comment find nothing at all.
    assert search_comments(user=th_delegate, rounds=rounds, query="vn_draft").hits == []


def test_a_match_in_the_proposed_change_says_so(open_round, clause, vn_delegate):
    factories.CommentFactory(
        round=open_round, section=clause, author=vn_delegate, body="Add rural areas.", proposed_change="Đà Nẵng first."
    )

    (hit,) = search_comments(user=vn_delegate, rounds=[open_round], query="da nang").hits

    assert hit.in_proposed_change
    assert "<mark>Đà</mark> <mark>Nẵng</mark>" in str(hit.snippet)


def test_the_indexes_serve_the_searches(version, vi_section):
    """The selectors' expressions are the indexed ones (a different expression would read every row)."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            section_plan = _matching_sections(Section.objects.all(), "quy hoach").order_by().explain()
            comment_plan = _matching_comments(Comment.objects.all(), "quy hoach").order_by().explain()
        finally:
            cursor.execute("RESET enable_seqscan")

    assert "section_text_search" in section_plan
    assert "comment_text_search" in comment_plan


# --- the page -----------------------------------------------------------------------------


def _search_url(consultation, **query):
    from django.utils.http import urlencode

    return reverse("comments:search", args=[consultation.slug]) + ("?" + urlencode(query) if query else "")


def test_the_page_lists_text_and_comment_hits_with_marks(
    client, consultation, vi_section, open_round, clause, vn_delegate
):
    factories.CommentFactory(round=open_round, section=clause, author=vn_delegate, body="Quy hoạch needs a date.")
    client.force_login(vn_delegate)

    html = client.get(_search_url(consultation, q="quy hoach")).content.decode()

    assert 'role="search"' in html
    assert html.count("<mark>Quy</mark> <mark>hoạch</mark>") == 2
    assert reverse("comments:section", args=[consultation.slug, "0.1", "vi-plan"]) in html


def test_the_version_and_consultation_pages_carry_the_search_box(client, consultation, version, vn_delegate):
    client.force_login(vn_delegate)

    for url in (
        reverse("consultations:detail", args=[consultation.slug]),
        reverse("consultations:version", args=[consultation.slug, version.number]),
    ):
        html = client.get(url).content.decode()
        assert f'action="{reverse("comments:search", args=[consultation.slug])}"' in html


def test_a_version_in_preparation_is_not_searched_by_a_delegate(client, consultation, version, vn_delegate):
    draft = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2, status="draft")
    factories.SectionFactory(version=draft, key="secret", body="unpublishedword here", position=1)
    client.force_login(vn_delegate)

    html = client.get(_search_url(consultation, q="unpublishedword", v="0.2")).content.decode()

    assert "unpublishedword here" not in html
    assert "No section of this version matches." in html


def test_another_consultation_is_404(client, other_consultation, vn_delegate):
    client.force_login(vn_delegate)

    assert client.get(_search_url(other_consultation, q="x")).status_code == 404


@pytest.mark.parametrize("viewer", ["vn_delegate", "secretariat"])
def test_the_search_page_costs_the_same_queries_whatever_the_data(
    client, request, consultation, version, open_round, clause, orgs, viewer, django_assert_num_queries
):
    user = request.getfixturevalue(viewer)
    client.force_login(user)
    url = _search_url(consultation, q="broadband")

    def add(n):
        chapter = version.sections.get(key="infra")
        for i in range(n):
            factories.SectionFactory(
                version=version,
                parent=chapter,
                kind=Section.Kind.CLAUSE,
                depth=2,
                position=200 + i + n,
                body="broadband for all",
            )
            author = factories.MemberFactory(organisation=orgs["vn" if i % 2 else "th"])
            factories.CommentFactory(
                round=open_round, section=clause, author=author, body="More broadband.", status="submitted"
            )

    add(2)
    client.get(url)  # warm up per-process caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    add(45)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="snippet"') == 2 * PAGE_SIZE
