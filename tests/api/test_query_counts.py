"""Every list endpoint issues the same number of SQL queries at two data sizes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments.models import Comment
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, JobStatus, Report
from consultations.models import Invitation, Participation
from tests import factories
from tests.factories import CommentFactory


def _grow(world, n: int) -> None:
    """Add n of everything the list endpoints return."""
    base = Comment.objects.count() * 10
    clause = world.version.sections.get(key="infra-5g")
    vn, th = world.personas["vn_delegate"], world.personas["th_delegate"]
    for i in range(n):
        factories.PhaseFactory(consultation=world.consultation, name=f"Extra phase {i}")
        extra_version = factories.DraftVersionFactory(consultation=world.consultation, number=f"{base + i}.0")
        # A closed round whose stage ("reported") comes from its consolidation runs.
        closed = factories.ClosedRoundFactory(version=extra_version)
        factories.ConsolidationRunFactory(round=closed, status=JobStatus.DONE, started_at=timezone.now())
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
    "/api/v1/rounds/{round}/comments/?section=infra-5g",
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


def _grow_consolidation(world, n: int) -> None:
    """Add n of everything the consolidation lists return: comments with dispositions and
    duplicate groups, a finished run, and reports of three people."""
    _grow(world, n)
    secretariat, consultant = world.personas["secretariat"], world.personas["consultant"]
    later = world.free_version.sections.get(key="infra-5g")
    fresh = list(
        Comment.objects.filter(round=world.open_round, status=Comment.Status.SUBMITTED, disposition__isnull=True)
        .exclude(duplicate_groups__isnull=False)
        .order_by("-id")[: 2 * n]
    )
    for comment in fresh[::2]:
        Disposition.objects.create(
            comment=comment,
            decision="noted",
            decided_by=secretariat,
            proposed_decision="noted",
            proposed_by=consultant,
            section_change=later,
        )
    run = ConsolidationRun.objects.create(
        round=world.open_round, status=JobStatus.DONE, requested_by=secretariat, finished_at=timezone.now()
    )
    for pair in zip(fresh[::2], fresh[1::2], strict=False):
        group = DuplicateGroup.objects.create(run=run, section=pair[0].section, kind="exact", size=2, similarity=100)
        group.comments.set(pair)
    for persona in ("secretariat", "vn_delegate", "th_delegate"):
        for _ in range(n):
            Report.objects.create(
                consultation=world.consultation,
                round=world.open_round,
                version=world.version,
                kind=Report.Kind.RESOLUTION_MATRIX,
                format=Report.Format.CSV,
                requested_by=world.personas[persona],
            )


CONSOLIDATION_LISTS = [
    ("/api/v1/rounds/{round}/consolidations/", "secretariat"),
    ("/api/v1/rounds/{round}/consolidations/", "consultant"),
    ("/api/v1/rounds/{round}/feedback/", "secretariat"),
    ("/api/v1/rounds/{round}/feedback/?duplicates=true&disposition=noted", "consultant"),
    ("/api/v1/rounds/{round}/feedback/?section=infra-5g&type=te&role=member_state&q=5G", "admin"),
    ("/api/v1/consultations/adm-2030/reports/", "secretariat"),
    ("/api/v1/consultations/adm-2030/reports/", "vn_delegate"),
]


@pytest.mark.parametrize(("template", "persona"), CONSOLIDATION_LISTS)
def test_consolidation_list_query_count_does_not_grow(world, client_for, django_assert_num_queries, template, persona):
    url = template.format(round=world.open_round.pk)
    client = client_for(world.personas[persona])
    _grow_consolidation(world, 1)
    with CaptureQueriesContext(connection) as small:
        first = client.get(url)
    assert first.status_code == 200
    assert first.json()["results"]
    _grow_consolidation(world, 6)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.json()["results"]) > len(first.json()["results"])
    # 12, and since issue 12 one more on the feedback: the page's supporters (other delegations' support).
    assert len(small.captured_queries) <= 13


def _grow_participants(world, n: int) -> None:
    """Add n participants (each with a new organisation) and n pending invitations."""
    base = Participation.objects.count() * 10
    for i in range(n):
        organisation = factories.OrganisationFactory(name=f"Partner {base + i}", kind="partner", country_code="")
        user = factories.UserFactory(email=f"person{base + i}@example.org", organisation=organisation)
        factories.ParticipationFactory(
            consultation=world.consultation, user=user, organisation=organisation, role="partner"
        )
        Invitation.objects.create(
            email=f"invitee{base + i}@example.org",
            consultation=world.consultation,
            organisation=organisation,
            role="partner",
            invited_by=world.personas["secretariat"],
        )


@pytest.mark.parametrize("persona", ["secretariat", "admin"])
@pytest.mark.parametrize(
    "template", ["/api/v1/consultations/adm-2030/participants/", "/api/v1/consultations/adm-2030/invitations/"]
)
def test_organiser_list_query_count_does_not_grow(world, client_for, django_assert_num_queries, template, persona):
    client = client_for(world.personas[persona])
    _grow_participants(world, 1)
    with CaptureQueriesContext(connection) as small:
        first = client.get(template)
    assert first.status_code == 200
    _grow_participants(world, 6)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(template)
    assert response.status_code == 200
    assert len(response.json()["results"]) == len(first.json()["results"]) + 6
    assert len(small.captured_queries) <= 8


def test_the_rounds_list_shows_each_closed_round_at_its_stage(world, client_for):
    """The stages are read for the whole page at once, and each round still gets its own."""
    reported = factories.ClosedRoundFactory(version=world.version, title="Reported round")
    factories.ConsolidationRunFactory(round=reported, status=JobStatus.DONE, started_at=timezone.now())
    factories.ClosedRoundFactory(version=world.version, title="Closed round")
    response = client_for(world.personas["secretariat"]).get("/api/v1/consultations/adm-2030/rounds/")
    states = {row["title"]: row["state"] for row in response.json()["results"]}
    assert states["Reported round"] == "reported"
    assert states["Closed round"] == "closed"
    assert states[world.open_round.title] == "open"


# session, user, round (+ extensions), participation, section; in the transaction: the
# stored round with the writer's extension, the comment, its revision, the audit entry (one call: the
# chain's lock, its last entry, the insert) and the commit. The answer
# costs one: the comment's supporters in its representation (none yet, but the answer asks; issue 12);
# its author and organisation are the objects it was written with.
API_CREATE_QUERIES = 13


def test_creating_a_comment_through_the_api_costs_a_fixed_number_of_queries(
    world, client_for, django_assert_num_queries
):
    client = client_for(world.personas["vn_delegate"])
    url = f"/api/v1/rounds/{world.open_round.pk}/comments/"
    for n in (1, 6):
        _grow(world, n)
        with django_assert_num_queries(API_CREATE_QUERIES):
            response = client.post(url, {"section": "infra-5g", "type": "ge", "body": f"At {n}."}, format="json")
        assert response.status_code == 201
