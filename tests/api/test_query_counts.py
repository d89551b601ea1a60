"""Every list endpoint issues the same number of SQL queries at two data sizes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comments.models import Comment
from tests import factories
from tests.comments.conftest import CommentFactory


def _grow(world, n: int) -> None:
    """Add n of everything the list endpoints return."""
    base = Comment.objects.count() * 10
    clause = world.version.sections.get(key="infra-5g")
    vn, th = world.personas["vn_delegate"], world.personas["th_delegate"]
    for i in range(n):
        factories.PhaseFactory(consultation=world.consultation, name=f"Extra phase {i}")
        factories.DraftVersionFactory(consultation=world.consultation, number=f"{base + i}.0")
        factories.SectionFactory(
            version=world.version, key=f"extra-{base + i}", position=100 + base + i, parent=clause, depth=2
        )
        for author in (vn, th):
            comment = CommentFactory(
                round=world.open_round,
                section=clause,
                author=author,
                status=Comment.Status.SUBMITTED,
                quote_exact="5G",
                position_start=26,
                position_end=28,
                proposed_change="Say 5G and 6G.",
            )
            comment.replies.create(author=author, organisation=author.organisation, body="Reply.")
        world.vn_sub.replies.create(author=vn, organisation=vn.organisation, body=f"More {i}.")
    extra = factories.ConsultationFactory()
    factories.ParticipationFactory(consultation=extra, user=vn, organisation=vn.organisation, role="member_state")


LISTS = [
    "/api/v1/consultations/",
    "/api/v1/consultations/adm-2030/phases/",
    "/api/v1/consultations/adm-2030/rounds/",
    "/api/v1/consultations/adm-2030/versions/",
    "/api/v1/consultations/adm-2030/versions/0.1/sections/",
    "/api/v1/rounds/{round}/comments/",
    "/api/v1/comments/{vn_sub}/replies/",
    "/api/v1/rounds/{round}/annotations/",
]


@pytest.mark.parametrize("persona", ["secretariat", "vn_delegate"])
@pytest.mark.parametrize("template", LISTS)
def test_list_query_count_does_not_grow(world, client_for, django_assert_num_queries, template, persona):
    url = template.format(round=world.open_round.pk, vn_sub=world.vn_sub.pk)
    client = client_for(world.personas[persona])
    _grow(world, 1)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow(world, 6)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(small.captured_queries) <= 10
