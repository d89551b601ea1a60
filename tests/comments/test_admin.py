"""The Django admin shows submitted comments and national positions, read-only, fast on big tables."""

import pytest
from django.urls import reverse

from comments.models import Comment, NationalPosition
from tests import factories
from tests.helpers.admin import admin_url, changelist

# session, user, the bounded count, the page of rows, the round and organisation filters
COMMENT_CHANGELIST_QUERIES = 6


@pytest.mark.parametrize("comments", [3, 40])
def test_the_comment_changelist_takes_the_same_queries_whatever_the_number(
    admin_client, open_round, clause, vn_delegate, th_delegate, comments
):
    for index in range(comments):
        author = vn_delegate if index % 2 else th_delegate
        factories.SubmittedCommentFactory(round=open_round, section=clause, author=author)
    response, queries = changelist(admin_client, Comment)
    assert response.status_code == 200
    assert queries == COMMENT_CHANGELIST_QUERIES
    assert response.context["cl"].result_count == comments


def test_drafts_are_not_in_the_admin(admin_client, open_round, clause, vn_delegate):
    factories.CommentFactory(round=open_round, section=clause, author=vn_delegate, body="A draft only Viet Nam sees.")
    submitted = factories.SubmittedCommentFactory(round=open_round, section=clause, author=vn_delegate)
    response, _queries = changelist(admin_client, Comment)
    assert [c.pk for c in response.context["cl"].result_list] == [submitted.pk]
    draft = Comment.objects.get(status=Comment.Status.DRAFT)
    assert admin_client.get(admin_url(draft, "change")).status_code == 302  # "does not exist": back to the list


def test_a_comment_is_shown_but_cannot_be_changed_or_deleted(admin_client, open_round, clause, vn_delegate):
    comment = factories.SubmittedCommentFactory(round=open_round, section=clause, author=vn_delegate, body="Keep it.")
    page = admin_client.get(admin_url(comment, "change"))
    assert page.status_code == 200 and "Keep it." in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(admin_url(comment, "change"), {"body": "Changed."}).status_code == 403
    assert admin_client.post(admin_url(comment, "delete"), {"post": "yes"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Keep it."


def test_searching_by_number_or_author_finds_the_comment(admin_client, open_round, clause, vn_delegate, th_delegate):
    mine = factories.SubmittedCommentFactory(round=open_round, section=clause, author=vn_delegate)
    factories.SubmittedCommentFactory(round=open_round, section=clause, author=th_delegate)
    for term in (str(mine.pk), vn_delegate.email):
        response, _queries = changelist(admin_client, Comment, f"?q={term}")
        assert [c.pk for c in response.context["cl"].result_list] == [mine.pk], term
    response, _queries = changelist(admin_client, Comment, "?q=C12")  # not a number: no match, no error
    assert response.status_code == 200


def test_national_positions_are_listed(admin_client, open_round, orgs):
    factories.NationalPositionFactory(round=open_round, organisation=orgs["vn"], endorsed_count=3)
    response, _queries = changelist(admin_client, NationalPosition)
    assert response.status_code == 200 and "Viet Nam" in response.content.decode()
    assert admin_client.get(reverse("admin:comments_nationalposition_add")).status_code == 403


def test_a_comment_page_lists_its_supporters_and_resolution_read_only(
    admin_client, open_round, clause, vn_delegate, th_delegate
):
    comment = factories.SubmittedCommentFactory(round=open_round, section=clause, author=vn_delegate)
    factories.CommentSupportFactory(comment=comment, supported_by=th_delegate)
    page = admin_client.get(admin_url(comment, "change")).content.decode()
    assert "Thailand" in page and "supports" in page.lower()
    assert 'name="supports-0-organisation"' not in page  # shown, not a form field
