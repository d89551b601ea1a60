"""What one comment POST costs in queries, and what its htmx answer holds: it cannot regress.

The exact counts are asserted at 10 and at 1,000 comments on the section, so that a count that
grows with the section fails as surely as one that creeps up.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from comments.models import Comment
from tests.helpers.section_pages import SLUG
from tests.helpers.section_pages import add_comments as _add_comments
from tests.helpers.section_pages import anchor as _anchor
from tests.helpers.section_pages import create_url as _create_url
from tests.helpers.section_pages import section_url as _section_url

pytestmark = pytest.mark.django_db

# session, user; the round with its consultation and version, the writer's participation and
# extension and the section, in one query; in the transaction (a savepoint in a test): the
# comment, its revision, the audit entry (one call: the chain lock, its head, the insert).
CREATE_QUERIES = 8
# + the section's counts, swapped out of band. The new card (no replies yet; its author and
# organisation are the writer's) and the empty form cost none.
CREATE_QUERIES_HTMX = CREATE_QUERIES + 1
# + the window the writer has open, whose highlights the section text shows with the new passage
# (its comments' ids and positions only: no cards, so no supporters either).
CREATE_QUERIES_HTMX_ANCHORED = CREATE_QUERIES_HTMX + 1


def _htmx(client, engagement_round, **fields):
    data = {"type": "te", "body": "Via htmx.", "language": "en", "action": "submit", **fields}
    return client.post(
        _create_url(engagement_round),
        data,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + _section_url(),
    )


@pytest.mark.parametrize("existing", [10, 1000])
def test_a_comment_post_costs_a_fixed_number_of_queries(
    client, vn_delegate, vn_focal_point, open_round, orgs, django_assert_num_queries, existing
):
    _add_comments(open_round, vn_focal_point, orgs["vn"], existing)
    client.force_login(vn_delegate)
    data = {"type": "te", "body": "Plain.", "language": "en", "action": "draft"}

    with django_assert_num_queries(CREATE_QUERIES):
        assert client.post(_create_url(open_round), data).status_code == 302
    with django_assert_num_queries(CREATE_QUERIES_HTMX):
        assert _htmx(client, open_round).status_code == 200
    with django_assert_num_queries(CREATE_QUERIES_HTMX_ANCHORED):
        assert _htmx(client, open_round, **_anchor("urban areas")).status_code == 200

    assert Comment.objects.filter(author=vn_delegate).count() == 3


def test_the_htmx_answer_to_a_comment_on_the_whole_section(client, vn_delegate, vn_focal_point, open_round, orgs):
    """The card (with the writer's organisation and name), the counts and an empty form; the text,
    whose highlights a comment on the whole section does not change, is not sent again."""
    _add_comments(open_round, vn_focal_point, orgs["vn"], 4)
    client.force_login(vn_delegate)

    html = _htmx(client, open_round, body="On the whole section.").content.decode()

    comment = Comment.objects.get(author=vn_delegate)
    card = html[: html.index("</article>")]
    assert f'id="comment-{comment.pk}"' in card and "On the whole section." in card
    assert orgs["vn"].name in card and vn_delegate.get_full_name() in card
    assert f"Your comment {comment.number} was submitted." in card
    assert 'id="comment-counts" class="comment-counts" hx-swap-oob="true"' in html
    assert "data-comment-count>5<" in html  # 4 from the delegation (drafts included) and this one
    assert 'id="section-text"' not in html
    assert 'id="comment-form" hx-swap-oob="true"' in html


def test_the_empty_form_after_a_post_is_empty_and_its_csrf_token_works(vn_delegate, th_delegate, open_round):
    """The empty form is rendered once and reused: nothing typed by one writer shows in another's,
    and the token in each writer's form is accepted on that writer's next post (CSRF enforced)."""
    for writer, body in ((vn_delegate, "Secret wording from Viet Nam."), (th_delegate, "From Thailand.")):
        client = Client(enforce_csrf_checks=True)
        client.force_login(writer)
        client.get(_section_url())  # a page with a form: the session's CSRF cookie
        headers = {"HTTP_HX_REQUEST": "true", "HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
        data = {"type": "te", "body": body, "language": "en", "action": "submit", **_anchor("urban areas")}
        html = client.post(_create_url(open_round), data, **headers).content.decode()

        form = html[html.index('<form class="comment-form"') :]
        assert 'hx-swap-oob="true"' in form[: form.index(">")]
        assert "Secret wording" not in form and "urban areas" not in form
        assert re.search(r'<textarea name="body"[^>]*>\s*</textarea>', form)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        again = {"type": "te", "body": "Next one.", "language": "en", "action": "draft", "csrfmiddlewaretoken": token}
        assert client.post(_create_url(open_round), again, HTTP_HX_REQUEST="true").status_code == 200
        assert Comment.objects.filter(author=writer).count() == 2


def test_editing_a_comment_on_the_whole_section_sends_the_counts_not_the_text(
    client, vn_delegate, vn_focal_point, open_round, orgs
):
    client.force_login(vn_delegate)
    _htmx(client, open_round, action="draft")
    comment = Comment.objects.get(author=vn_delegate)
    edit = {"type": "ed", "body": "Edited.", "language": "en", "revision": comment.revision, "action": "draft"}

    html = client.post(
        reverse("comments:edit", args=[SLUG, comment.pk]),
        edit,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + _section_url(),
    ).content.decode()

    assert "Edited." in html
    assert 'id="comment-counts" class="comment-counts" hx-swap-oob="true"' in html
    assert 'title="Editorial">ed</abbr> 1' in html
    assert 'id="section-text"' not in html


def test_the_empty_form_after_a_post_posts_to_the_section_just_written_on(client, vn_delegate, open_round):
    """The empty form is rendered once per language and reused on every section: after a post on
    one section and then on another, each answer's form posts to its own section (the form and
    its htmx address alike), never to the section the cached form was first rendered for."""
    client.force_login(vn_delegate)
    for key in ("infra-5g", "infra-dc", "infra-5g"):
        html = client.post(
            _create_url(open_round, key=key),
            {"type": "te", "body": f"On {key}.", "language": "en", "action": "draft"},
            HTTP_HX_REQUEST="true",
        ).content.decode()

        form = html[html.index('<form class="comment-form"') :]
        form_tag = form[: form.index(">")]
        url = _create_url(open_round, key=key)
        assert f'action="{url}"' in form_tag and f'hx-post="{url}"' in form_tag
        assert 'id="comment-form" hx-swap-oob="true"' in form_tag
    assert Comment.objects.filter(author=vn_delegate, section__key="infra-dc").count() == 1
