"""The Django admin shows dispositions, consolidation runs and carried anchors, read-only."""

import pytest

from comments.models import Comment
from consolidation.models import CarriedAnchor, ConsolidationRun, Disposition
from tests import factories
from tests.helpers.admin import admin_url, changelist


def _comments(open_round, clause, author, count):
    return factories.SubmittedCommentFactory.create_batch(count, round=open_round, section=clause, author=author)


# session, user, the bounded count, the page of rows, then each changelist's related-model filters
@pytest.mark.parametrize("size", [2, 25])
@pytest.mark.parametrize(
    ("model", "make", "queries"),
    [
        (Disposition, lambda comment: factories.DispositionFactory(comment=comment, decision="noted"), 5),
        (ConsolidationRun, lambda comment: factories.ConsolidationRunFactory(round=comment.round, status="done"), 5),
        (CarriedAnchor, lambda comment: factories.CarriedAnchorFactory(comment=comment), 5),
    ],
    ids=["dispositions", "runs", "anchors"],
)
def test_each_changelist_takes_the_same_queries_whatever_the_number(
    admin_client, open_round, clause, vn_delegate, size, model, make, queries
):
    for comment in _comments(open_round, clause, vn_delegate, size):
        make(comment)
    response, taken = changelist(admin_client, model)
    assert response.status_code == 200
    assert response.context["cl"].result_count == size
    assert taken == queries


def test_a_disposition_cannot_be_changed_in_the_admin(admin_client, open_round, clause, vn_delegate):
    (comment,) = _comments(open_round, clause, vn_delegate, 1)
    disposition = factories.DispositionFactory(comment=comment, decision="noted", response="Thank you.")
    assert admin_client.get(admin_url(disposition, "change")).status_code == 200
    assert admin_client.post(admin_url(disposition, "change"), {"decision": "accepted"}).status_code == 403
    assert admin_client.post(admin_url(disposition, "delete"), {"post": "yes"}).status_code == 403
    disposition.refresh_from_db()
    assert disposition.decision == "noted"


def test_a_run_page_leaves_out_its_large_result(admin_client, closed_round):
    run = factories.ConsolidationRunFactory(round=closed_round, result={"cells": ["mk-result-not-shown"]})
    page = admin_client.get(admin_url(run, "change")).content.decode()
    assert "mk-result-not-shown" not in page
    assert admin_client.post(admin_url(run, "delete"), {"post": "yes"}).status_code == 403


def test_a_drafts_carried_quote_is_not_shown(admin_client, open_round, clause, vn_delegate):
    draft = factories.CommentFactory(round=open_round, section=clause, author=vn_delegate)
    factories.CarriedAnchorFactory(comment=draft, quote_exact="draft quote")
    response, _queries = changelist(admin_client, CarriedAnchor)
    assert response.context["cl"].result_count == 0
    assert Comment.objects.filter(status=Comment.Status.DRAFT).count() == 1
