"""The consolidation run pages: who may see and start them, progress polling, the summary, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from comments.models import Comment, NationalPosition
from consolidation.models import ConsolidationRun, JobStatus
from consolidation.selectors_runs import campaigns_of
from consolidation.services import aggregation
from consultations.models import EngagementRound
from tests import factories
from tests.factories import CommentFactory

SLUG = "adm-2030"


def _add_comments(engagement_round, authors, count: int, start: int = 0) -> None:
    sections = list(engagement_round.version.sections.filter(kind="clause"))
    for n in range(start, start + count):
        author = authors[n % len(authors)]
        CommentFactory(
            round=engagement_round,
            section=sections[n % len(sections)],
            author=author,
            type=["ge", "te", "ed"][n % 3],
            body=f"Comment {n % 4}: name the agency responsible.",
            status=Comment.Status.SUBMITTED,
            is_endorsed=n % 5 == 0 and author.participations.get().role == "member_state",
        )


@pytest.fixture
def done_run(closed_round, vn_focal_point, th_delegate, partner, orgs):
    _add_comments(closed_round, [vn_focal_point, th_delegate, partner], 12)
    NationalPosition.objects.create(
        round=closed_round, organisation=orgs["vn"], submitted_by=vn_focal_point, submitted_at=timezone.now()
    )
    run = ConsolidationRun.objects.create(round=closed_round)
    return aggregation.consolidation_execute(run_id=run.pk)


def _list_url(round_id):
    return reverse("consolidation:run_list", args=[SLUG, round_id])


def _create_url(round_id):
    return reverse("consolidation:run_create", args=[SLUG, round_id])


def _detail_url(round_id, run_id):
    return reverse("consolidation:run_detail", args=[SLUG, round_id, run_id])


# --- permissions --------------------------------------------------------------------------

READ = {
    "secretariat": 200,
    "consultant": 200,
    "admin": 200,
    "vn_delegate": 403,
    "vn_focal_point": 403,
    "th_delegate": 403,
    "partner": 403,
    "outsider": 404,
}
START = {
    "secretariat": 302,
    "admin": 302,
    "consultant": 403,
    "vn_delegate": 403,
    "vn_focal_point": 403,
    "th_delegate": 403,
    "partner": 403,
    "outsider": 404,
}


@pytest.mark.parametrize(("persona", "expected"), READ.items())
def test_who_may_read_the_list_of_runs(client, personas, closed_round, persona, expected):
    client.force_login(personas[persona])
    assert client.get(_list_url(closed_round.pk)).status_code == expected


@pytest.mark.parametrize(("persona", "expected"), READ.items())
def test_who_may_read_a_run(client, personas, done_run, persona, expected):
    client.force_login(personas[persona])
    assert client.get(_detail_url(done_run.round_id, done_run.pk)).status_code == expected


@pytest.mark.parametrize(("persona", "expected"), START.items())
def test_who_may_start_a_consolidation(client, personas, closed_round, persona, expected):
    client.force_login(personas[persona])

    response = client.post(_create_url(closed_round.pk))

    assert response.status_code == expected
    runs = list(ConsolidationRun.objects.all())
    if expected == 302:
        assert len(runs) == 1
        assert response["Location"] == _detail_url(closed_round.pk, runs[0].pk)
        assert runs[0].requested_by == personas[persona]
    else:
        assert runs == []


def test_anonymous_visitors_are_sent_to_log_in(client, closed_round):
    response = client.get(_list_url(closed_round.pk))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_starting_needs_post(client, secretariat, closed_round):
    client.force_login(secretariat)
    assert client.get(_create_url(closed_round.pk)).status_code == 405
    assert not ConsolidationRun.objects.exists()


def test_a_round_or_run_of_another_consultation_is_not_found(client, secretariat, done_run, other_consultation):
    other_round = factories.EngagementRoundFactory(
        version=factories.DraftVersionFactory(consultation=other_consultation)
    )
    other_run = ConsolidationRun.objects.create(round=other_round)
    client.force_login(secretariat)

    assert client.get(_list_url(other_round.pk)).status_code == 404
    assert client.post(_create_url(other_round.pk)).status_code == 404
    assert client.get(_detail_url(done_run.round_id, other_run.pk)).status_code == 404
    assert client.get(_detail_url(other_round.pk, other_run.pk)).status_code == 404
    assert not ConsolidationRun.objects.filter(round=other_round).exclude(pk=other_run.pk).exists()


# --- starting and following a run ---------------------------------------------------------


def test_a_second_start_while_one_is_under_way_shows_why(client, secretariat, closed_round):
    client.force_login(secretariat)
    client.post(_create_url(closed_round.pk))

    response = client.post(_create_url(closed_round.pk), follow=True)

    assert response.redirect_chain[-1][0] == _list_url(closed_round.pk)
    assert "A consolidation of this round is already under way (started " in response.content.decode()
    assert ConsolidationRun.objects.count() == 1


def test_a_round_not_yet_open_cannot_be_consolidated(client, secretariat, version):
    scheduled = factories.EngagementRoundFactory(
        version=version,
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=5),
    )
    client.force_login(secretariat)

    response = client.post(_create_url(scheduled.pk), follow=True)

    assert "This round has not opened yet" in response.content.decode()
    assert not ConsolidationRun.objects.exists()


def test_a_running_run_shows_its_progress_and_polls_every_two_seconds(client, secretariat, closed_round):
    run = ConsolidationRun.objects.create(round=closed_round, status=JobStatus.RUNNING, progress=42)
    client.force_login(secretariat)

    page = client.get(_detail_url(closed_round.pk, run.pk)).content.decode()
    partial = client.get(_detail_url(closed_round.pk, run.pk), HTTP_HX_REQUEST="true").content.decode()

    assert '<progress id="run-progress" max="100" value="42">' in page
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{_detail_url(closed_round.pk, run.pk)}"' in page
    # The poll gets the status block alone, still polling.
    assert "<html" not in partial
    assert 'hx-trigger="every 2s"' in partial
    assert 'value="42"' in partial


def test_polling_stops_once_the_run_is_done_and_the_summary_shows(client, secretariat, done_run):
    client.force_login(secretariat)

    partial = client.get(_detail_url(done_run.round_id, done_run.pk), HTTP_HX_REQUEST="true").content.decode()

    assert "hx-trigger" not in partial
    assert '<dd id="comment-count">12</dd>' in partial
    assert "Viet Nam" in partial  # national positions
    assert "Thailand" in partial
    totals = done_run.result["totals"]
    assert totals["exact_groups"] + totals["near_groups"] > 0
    groups = totals["exact_groups"] + totals["near_groups"]
    assert f"{groups} group" in partial
    for label, count in (("General", 4), ("Technical", 4), ("Editorial", 4)):
        assert f"<tr><td>{label}</td><td>{count}</td></tr>" in partial
    # The same four texts stand on both clauses: campaigns across sections, counted from the result.
    campaigns = campaigns_of(run=done_run)
    assert campaigns and all(len(c["section_ids"]) > 1 for c in campaigns)
    comments = sum(c["size"] for c in campaigns)
    texts = "text" if len(campaigns) == 1 else "texts"
    assert f"{len(campaigns)} {texts} pasted on several sections ({comments} comments)" in partial


def test_the_summary_links_to_the_consolidated_feedback_when_that_page_exists(client, secretariat, done_run):
    client.force_login(secretariat)

    page = client.get(_detail_url(done_run.round_id, done_run.pk)).content.decode()

    try:
        feedback = reverse("consolidation:feedback", args=[SLUG, done_run.round_id])
    except NoReverseMatch:
        assert "Read the consolidated feedback" not in page
    else:
        assert f'href="{feedback}"' in page


def test_a_failed_run_says_so_and_offers_to_start_again(client, secretariat, closed_round):
    run = ConsolidationRun.objects.create(round=closed_round, status=JobStatus.FAILED, error="boom")
    client.force_login(secretariat)

    page = client.get(_detail_url(closed_round.pk, run.pk)).content.decode()

    assert "The consolidation failed." in page
    assert "boom" not in page  # the technical error is for the logs, not the page
    assert _create_url(closed_round.pk) in page


def test_consultants_read_runs_but_get_no_start_button(client, consultant, done_run):
    client.force_login(consultant)

    page = client.get(_list_url(done_run.round_id)).content.decode()

    assert _detail_url(done_run.round_id, done_run.pk) in page
    assert "Consolidate now" not in page


# --- query counts -------------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_run_page_queries_do_not_grow_with_the_round(
    client, secretariat, closed_round, vn_focal_point, th_delegate, partner, django_assert_num_queries
):
    authors = [vn_focal_point, th_delegate, partner]
    _add_comments(closed_round, authors, 3)
    small = aggregation.consolidation_execute(run_id=ConsolidationRun.objects.create(round=closed_round).pk)
    _add_comments(closed_round, authors, 150, start=3)
    large = aggregation.consolidation_execute(run_id=ConsolidationRun.objects.create(round=closed_round).pk)
    assert (small.comment_count, large.comment_count) == (3, 153)
    client.force_login(secretariat)
    client.get(_detail_url(closed_round.pk, small.pk))  # warm up per-process caches

    expected = _count(client, _detail_url(closed_round.pk, small.pk))

    with django_assert_num_queries(expected):
        assert client.get(_detail_url(closed_round.pk, large.pk)).status_code == 200
    # The htmx refresh swaps the run's panel only: no page header, so no unread count.
    with CaptureQueriesContext(connection) as partial:
        assert client.get(_detail_url(closed_round.pk, small.pk), HTTP_HX_REQUEST="true").status_code == 200
    with django_assert_num_queries(len(partial)):
        assert client.get(_detail_url(closed_round.pk, large.pk), HTTP_HX_REQUEST="true").status_code == 200


def test_run_list_queries_do_not_grow_with_runs(
    client, secretariat, site_admin, closed_round, django_assert_num_queries
):
    def add_runs(count):
        for n in range(count):
            ConsolidationRun.objects.create(
                round=closed_round, status=JobStatus.DONE, requested_by=secretariat if n % 2 else site_admin
            )

    add_runs(2)
    client.force_login(secretariat)
    url = _list_url(closed_round.pk)
    client.get(url)
    expected = _count(client, url)

    add_runs(30)  # a full first page of 20 and a second page
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(expected):
        assert client.get(url + "?page=2").status_code == 200
    assert "Page 1 of 2" in client.get(url).content.decode()
