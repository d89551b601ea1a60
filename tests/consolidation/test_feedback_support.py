"""Support from other delegations on the consolidated feedback page and in its API: shown, filtered, sorted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, CommentSupport
from tests import factories

pytestmark = pytest.mark.django_db


def _submitted(engagement_round, section, author, body):
    return factories.CommentFactory(
        round=engagement_round,
        section=section,
        author=author,
        status=Comment.Status.SUBMITTED,
        submitted_at=timezone.now(),
        body=body,
    )


@pytest.fixture
def supported_round(closed_round, clause, vn_delegate, th_delegate, partner):
    """Three Vietnamese comments: one supported by Thailand and the partner, one by Thailand, one by no one."""
    twice = _submitted(closed_round, clause, vn_delegate, "Twice supported.")
    once = _submitted(closed_round, clause, vn_delegate, "Once supported.")
    never = _submitted(closed_round, clause, vn_delegate, "Never supported.")
    for comment, people in ((twice, [th_delegate, partner]), (once, [th_delegate])):
        for person in people:
            factories.CommentSupportFactory(comment=comment, supported_by=person)
    return closed_round, twice, once, never


def _url(engagement_round):
    return reverse("consolidation:feedback", args=[engagement_round.consultation.slug, engagement_round.pk])


def _order(html, comments):
    return sorted(comments, key=lambda c: html.index(f'id="fb-comment-{c.pk}"'))


def test_rows_say_who_supports_and_the_filter_and_sort_use_it(client, secretariat, supported_round):
    engagement_round, twice, once, never = supported_round
    client.force_login(secretariat)

    html = client.get(_url(engagement_round)).content.decode()
    assert "Supported by: Development Partner, Thailand" in html
    assert "Supported by: Thailand" in html

    supported = client.get(_url(engagement_round), {"support": "supported"}).content.decode()
    assert f'id="fb-comment-{never.pk}"' not in supported and f'id="fb-comment-{once.pk}"' in supported
    unsupported = client.get(_url(engagement_round), {"support": "unsupported"}).content.decode()
    assert f'id="fb-comment-{never.pk}"' in unsupported and f'id="fb-comment-{twice.pk}"' not in unsupported

    by_support = client.get(_url(engagement_round), {"sort": "support"}).content.decode()
    assert _order(by_support, [never, once, twice]) == [twice, once, never]


def test_support_filter_and_sort_take_the_same_queries_whatever_the_supports(
    client, secretariat, supported_round, clause, vn_delegate, th_delegate, partner, django_assert_num_queries
):
    engagement_round = supported_round[0]
    client.force_login(secretariat)
    queries = {}
    for params in ({"support": "supported"}, {"sort": "support", "page": 1}):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_url(engagement_round), params).status_code == 200
        queries[str(params)] = len(captured)
    for n in range(40):
        comment = _submitted(engagement_round, clause, vn_delegate, f"More {n}")
        for person in (th_delegate, partner)[: n % 3]:
            factories.CommentSupportFactory(comment=comment, supported_by=person)
    assert CommentSupport.objects.count() > 40
    for params in ({"support": "supported"}, {"sort": "support", "page": 1}):
        with django_assert_num_queries(queries[str(params)]):
            html = client.get(_url(engagement_round), params).content.decode()
        assert html.count('<article class="fb-comment') == 25


def test_the_feedback_api_filters_by_support_and_names_supporters(client, secretariat, supported_round):
    engagement_round, twice, once, never = supported_round
    client.force_login(secretariat)
    url = reverse("api:round-feedback", args=[engagement_round.pk])

    data = client.get(url, {"support": "supported"}).json()

    by_id = {row["id"]: row for row in data["results"]}
    assert set(by_id) == {twice.pk, once.pk}
    assert [org["name"] for org in by_id[twice.pk]["supported_by"]] == ["Development Partner", "Thailand"]
    assert client.get(url, {"support": "bogus"}).status_code == 400


def test_the_comment_api_shows_supporters_resolution_and_mentions(client, vn_delegate, supported_round):
    engagement_round, twice, _once, _never = supported_round
    Comment.objects.filter(pk=twice.pk).update(
        resolved_at=timezone.now(), resolved_by=vn_delegate, mentions={"th.delegate": "Somchai"}
    )
    client.force_login(vn_delegate)

    one = client.get(reverse("api:comment-detail", args=[twice.pk])).json()
    listed = client.get(reverse("api:round-comments", args=[engagement_round.pk])).json()["results"]

    assert [org["name"] for org in one["supported_by"]] == ["Development Partner", "Thailand"]
    assert one["resolved_by"] == {"id": vn_delegate.pk, "name": vn_delegate.get_full_name()}
    assert one["resolved_at"] and one["mentions"] == {"th.delegate": "Somchai"}
    assert next(row for row in listed if row["id"] == twice.pk) == one


def test_the_api_states_and_withdraws_support_and_resolves(client, vn_delegate, th_delegate, vn_colleague, open_round):
    open_round.visibility = "live"
    open_round.save()
    comment = _submitted(open_round, open_round.version.sections.get(key="infra-5g"), vn_delegate, "Rural first.")
    client.force_login(th_delegate)
    url = reverse("api:comment-support", args=[comment.pk])

    supported = client.post(url)
    assert supported.status_code == 200
    assert [org["name"] for org in supported.json()["supported_by"]] == ["Thailand"]
    assert supported["ETag"] == f'"{comment.pk}-{comment.revision + 1}"'
    assert client.post(url).status_code == 400  # once per organisation
    assert client.delete(url).json()["supported_by"] == []
    assert client.post(reverse("api:comment-resolution", args=[comment.pk])).status_code == 403

    client.force_login(vn_colleague)
    assert client.post(url).status_code == 403  # its own delegation's comment
    client.force_login(vn_delegate)
    resolved = client.post(reverse("api:comment-resolution", args=[comment.pk])).json()
    assert resolved["resolved_by"]["id"] == vn_delegate.pk
    assert client.delete(reverse("api:comment-resolution", args=[comment.pk])).json()["resolved_at"] is None
