"""The conversation on pages: support from other delegations, resolved threads, @mentions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments import services
from comments.models import Comment, CommentSupport
from consultations.models import EngagementRound
from consultations.services import round_close_now
from tests import factories
from tests.helpers.section_pages import SLUG
from tests.helpers.section_pages import section_url as _section_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_round(open_round):
    open_round.visibility = EngagementRound.Visibility.LIVE
    open_round.save()
    return open_round


@pytest.fixture
def vn_comment(vn_delegate, live_round, clause):
    return services.comment_create(
        actor=vn_delegate,
        engagement_round=live_round,
        section=clause,
        comment_type="te",
        body="Rural coverage first.",
        submit=True,
    )


def _url(name, comment, slug=SLUG):
    return reverse(f"comments:{name}", args=[slug, comment.pk])


def test_another_delegation_supports_from_the_section_page_and_the_card_says_so(
    client, th_delegate, th_focal_point, vn_comment
):
    client.force_login(th_delegate)
    page = client.get(_section_url()).content.decode()
    assert "Support this comment" in page

    response = client.post(_url("support", vn_comment), {"support": "1", "next": _section_url()})

    assert response.status_code == 302 and response["Location"] == f"{_section_url()}#comment-{vn_comment.pk}"
    page = client.get(response["Location"]).content.decode()
    assert "Supported by: Thailand" in page
    assert f"Your delegation supports {vn_comment.number}." in page
    assert "Withdraw our support" in page
    # Thailand's focal point sees the delegation's support and may withdraw it.
    client.force_login(th_focal_point)
    response = client.post(_url("support", vn_comment), {"support": "0", "next": _section_url()})
    assert response.status_code == 302
    assert not CommentSupport.objects.exists()


def test_the_comments_own_delegation_is_not_offered_support_and_is_refused(client, vn_colleague, vn_comment):
    client.force_login(vn_colleague)
    assert "Support this comment" not in client.get(_section_url()).content.decode()

    response = client.post(_url("support", vn_comment), {"support": "1"})

    assert response.status_code == 403
    assert "cannot support its own comment" in response.content.decode()
    assert not CommentSupport.objects.exists()


def test_support_of_a_comment_of_another_consultation_or_unseen_is_a_404(
    client, th_delegate, vn_delegate, open_round, clause, other_consultation, vn_comment
):
    client.force_login(th_delegate)
    # The right comment under another consultation's address, and a comment that does not exist.
    assert client.post(_url("support", vn_comment, slug=other_consultation.slug), {"support": "1"}).status_code == 404
    assert client.post(reverse("comments:support", args=[SLUG, 999999]), {"support": "1"}).status_code == 404
    draft = services.comment_create(
        actor=vn_delegate, engagement_round=open_round, section=clause, comment_type="te", body="Draft."
    )
    assert client.post(_url("support", draft), {"support": "1"}).status_code == 404
    assert not CommentSupport.objects.exists()


def test_a_resolved_thread_collapses_on_the_section_page_and_reopens(client, vn_delegate, vn_comment):
    client.force_login(vn_delegate)
    response = client.post(_url("resolve", vn_comment), {"resolved": "1", "next": _section_url()})
    assert response.status_code == 302

    page = client.get(response["Location"]).content.decode()
    today = timezone.localdate().strftime("%Y")
    assert f"Resolved by {vn_delegate.get_full_name()} on" in page and today in page
    assert '<details class="resolved-thread">' in page
    assert "Reopen thread" in page

    client.post(_url("resolve", vn_comment), {"resolved": "0", "next": _section_url()})
    page = client.get(_section_url()).content.decode()
    assert "resolved-thread" not in page and "Mark thread resolved" in page


def test_resolving_in_a_closed_round_is_a_clear_409(client, vn_delegate, secretariat, vn_comment, live_round):
    round_close_now(actor=secretariat, engagement_round=live_round)
    client.force_login(vn_delegate)

    response = client.post(_url("resolve", vn_comment), {"resolved": "1"})

    assert response.status_code == 409
    assert "closed" in response.content.decode()
    assert Comment.objects.get(pk=vn_comment.pk).resolved_at is None


def test_another_delegate_cannot_resolve(client, th_delegate, vn_comment):
    client.force_login(th_delegate)
    assert client.post(_url("resolve", vn_comment), {"resolved": "1"}).status_code == 403
    assert Comment.objects.get(pk=vn_comment.pk).resolved_at is None


def test_mentions_are_highlighted_names_on_the_card_and_the_comment_page(
    client, vn_delegate, vn_colleague, live_round, clause
):
    vn_colleague.full_name = "Trần Thị Bình"
    vn_colleague.save()
    comment = services.comment_create(
        actor=vn_delegate,
        engagement_round=live_round,
        section=clause,
        comment_type="te",
        body="@vn.colleague please check; @nobody.here too.",
    )
    client.force_login(vn_delegate)
    for page in (client.get(_section_url()), client.get(_url("detail", comment))):
        html = page.content.decode()
        assert (
            '<span class="mention" title="@vn.colleague">@Trần Thị Bình</span> please check; @nobody.here too.' in html
        )


def test_the_mention_list_shows_only_who_may_see_the_thread(
    client, vn_delegate, vn_colleague, th_delegate, secretariat, open_round, clause
):
    # Secretariat-only round: Thailand never sees Viet Nam's comments, so it is never listed.
    url = reverse("comments:mentions", args=[SLUG, open_round.pk])
    client.force_login(vn_delegate)
    people = client.get(url).json()["people"]
    handles = {p["handle"] for p in people}
    assert "vn.colleague" in handles and "secretariat" in handles
    assert "th.delegate" not in handles and "vn.delegate" not in handles
    colleague = next(p for p in people if p["handle"] == "vn.colleague")
    assert colleague == {"handle": "vn.colleague", "name": vn_colleague.get_full_name(), "organisation": "Viet Nam"}
    assert {p["handle"] for p in client.get(url, {"q": "sec"}).json()["people"]} == {"secretariat"}
    draft = services.comment_create(
        actor=vn_delegate, engagement_round=open_round, section=clause, comment_type="te", body="Draft."
    )
    # In a draft's thread only the delegation: not the secretariat.
    assert {p["handle"] for p in client.get(url, {"comment": draft.pk}).json()["people"]} == {"vn.colleague"}
    # Another delegation asking about that draft, or a forged id: 404, nothing listed.
    client.force_login(th_delegate)
    assert client.get(url, {"comment": draft.pk}).status_code == 404
    assert client.get(url, {"comment": "x"}).status_code == 404


def test_the_mention_list_refuses_a_comment_of_another_round(client, vn_delegate, version, open_round, clause):
    other_round = factories.ClosedRoundFactory(version=version)
    comment = factories.SubmittedCommentFactory(round=other_round, section=clause, author=vn_delegate)
    client.force_login(vn_delegate)
    url = reverse("comments:mentions", args=[SLUG, open_round.pk])
    assert client.get(url, {"comment": comment.pk}).status_code == 404


def test_section_page_queries_do_not_grow_with_supports_and_resolved_threads(
    client, vn_delegate, th_delegate, partner, orgs, live_round, clause, django_assert_num_queries
):
    def add(count):
        comments = [
            factories.SubmittedCommentFactory(
                round=live_round,
                section=clause,
                author=vn_delegate,
                resolved_at=timezone.now() if n % 2 else None,
                resolved_by=vn_delegate if n % 2 else None,
                body=f"@th.delegate n{n}",
                mentions={"th.delegate": "Thai"},
            )
            for n in range(count)
        ]
        for comment in comments:
            factories.CommentSupportFactory(comment=comment, supported_by=th_delegate)
            factories.CommentSupportFactory(comment=comment, supported_by=partner)

    add(2)
    client.force_login(th_delegate)
    with CaptureQueriesContext(connection) as small:
        assert client.get(_section_url()).status_code == 200
    add(20)
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get(_section_url()).content.decode()
    assert html.count("Supported by: Development Partner, Thailand") == 10
    assert html.count("Withdraw our support") == 10


def test_comment_page_shows_supporters_and_the_resolution(client, vn_delegate, th_delegate, vn_comment):
    services.comment_support(actor=th_delegate, comment=vn_comment)
    services.thread_set_resolved(actor=vn_delegate, comment=vn_comment, resolved=True)
    client.force_login(th_delegate)
    html = client.get(_url("detail", vn_comment)).content.decode()
    assert "Supported by: Thailand" in html and "Withdraw our support" in html
    assert f"Resolved by {vn_delegate.get_full_name()} on" in html
