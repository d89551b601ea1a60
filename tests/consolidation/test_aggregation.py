"""Consolidation of a round: what a run counts and groups, reruns, requests and their refusals."""

import threading
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from comments.models import Comment, NationalPosition
from consolidation import selectors_runs
from consolidation.models import (
    ConsolidationListing,
    ConsolidationRun,
    Disposition,
    DuplicateGroup,
    DuplicateGroupMember,
    GroupingState,
    JobStatus,
)
from consolidation.selectors_runs import campaigns_of, listed_comment_ids, packed_campaigns, unpacked_campaigns
from consolidation.services import aggregation
from consolidation.tasks.consolidate import consolidate_round
from consultations.models import EngagementRound, Section
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.runs import listed

EXACT, NEAR = DuplicateGroup.Kind.EXACT, DuplicateGroup.Kind.NEAR

RURAL = "The 2028 target for 5G coverage should also include rural areas."
RURAL_SHOUTED = "the 2028 target for 5G coverage  should ALSO include rural areas!!"
RURAL_REMOTE = "The 2028 target for 5G coverage should also include rural and remote areas."
DISCLOSE = "Data centres should disclose their energy mix every year."
DISCLOSE_EACH = "Data centres should disclose their energy mix each year."


@pytest.fixture
def clauses(version):
    return version.sections.get(key="infra-5g"), version.sections.get(key="infra-dc")


def _submitted(author, section, engagement_round, body, **fields):
    fields.setdefault("status", Comment.Status.SUBMITTED)
    return CommentFactory(round=engagement_round, section=section, author=author, body=body, **fields)


@pytest.fixture
def realistic(closed_round, clauses, vn_delegate, vn_focal_point, th_delegate, partner, orgs):
    """Two clauses, three organisations, every type, drafts, withdrawn, hidden, endorsed, dispositions."""
    five_g, data_centres = clauses
    r = closed_round
    c = {
        # 5G clause: an identical pair and a near-duplicate of it; an identical "Agree" pair.
        "rural_vn": _submitted(vn_delegate, five_g, r, RURAL, type="te", position_start=10, position_end=20),
        "rural_th": _submitted(th_delegate, five_g, r, RURAL_SHOUTED, type="te", position_start=0, position_end=5),
        "rural_remote": _submitted(partner, five_g, r, RURAL_REMOTE, type="ge"),
        "urban_vn": _submitted(
            vn_focal_point,
            five_g,
            r,
            "Replace 'urban areas' with 'urban and peri-urban areas'.",
            type="ed",
            position_start=30,
            position_end=41,
            is_endorsed=True,
        ),
        "agree_partner": _submitted(partner, five_g, r, "Agree.", type="ge"),
        "agree_th": _submitted(th_delegate, five_g, r, "agree", type="ge", is_hidden=True, hidden_reason="test"),
        # Left out: a draft and a withdrawn comment saying the same as the pair above.
        "draft": CommentFactory(round=r, section=five_g, author=vn_delegate, body=RURAL, status=Comment.Status.DRAFT),
        "withdrawn": CommentFactory(
            round=r, section=five_g, author=th_delegate, body=RURAL, status=Comment.Status.WITHDRAWN
        ),
        # Data-centre clause: a near-duplicate pair and an unrelated comment.
        "disclose_vn": _submitted(vn_focal_point, data_centres, r, DISCLOSE, type="ge", is_endorsed=True),
        "disclose_partner": _submitted(partner, data_centres, r, DISCLOSE_EACH, type="te"),
        "cooling_th": _submitted(
            th_delegate, data_centres, r, "Cooling water use needs a regional standard.", type="te"
        ),
    }
    Disposition.objects.create(comment=c["cooling_th"], decision=Disposition.Decision.ACCEPTED)
    Disposition.objects.create(comment=c["disclose_partner"], proposed_decision=Disposition.Decision.NOTED)
    NationalPosition.objects.create(
        round=r, organisation=orgs["vn"], submitted_by=vn_focal_point, submitted_at=timezone.now(), endorsed_count=2
    )
    return c


def _run(engagement_round) -> ConsolidationRun:
    run = ConsolidationRun.objects.create(round=engagement_round)
    return aggregation.consolidation_execute(run_id=run.pk)


def _groups(run) -> list[tuple[str, str, int, frozenset]]:
    return sorted(
        (g.section.key, g.kind, g.size, frozenset(g.comments.values_list("pk", flat=True)))
        for g in run.groups.select_related("section")
    )


def _ids(c, *names) -> frozenset:
    return frozenset(c[name].pk for name in names)


# --- what a run contains ------------------------------------------------------------------


def test_run_counts_submitted_comments_only_with_hidden_ones_flagged(realistic, closed_round):
    run = _run(closed_round)

    assert run.status == JobStatus.DONE
    assert run.progress == 100
    assert run.attempts == 1
    assert run.finished_at is not None
    submitted = [v for k, v in realistic.items() if k not in ("draft", "withdrawn")]
    assert run.comment_count == len(submitted) == 9
    assert run.as_of == max(comment.updated_at for comment in submitted)
    totals = run.result["totals"]
    assert totals["comments"] == 9
    assert totals["by_type"] == {"ge": 4, "te": 4, "ed": 1}
    assert totals["hidden"] == 1
    assert run.result["hidden_ids"] == [realistic["agree_th"].pk]
    assert totals["by_status"] == {"accepted": 1, "open": 7, "proposed": 1}
    every_listed = listed(run)
    assert sorted(every_listed) == sorted(c.pk for c in submitted)
    assert realistic["draft"].pk not in every_listed
    assert realistic["withdrawn"].pk not in every_listed


def test_counts_per_section_organisation_type_and_status(realistic, closed_round, orgs):
    run = _run(closed_round)

    assert run.result["count_columns"] == ["section", "organisation", "type", "status", "count"]
    cells = {(section, org, kind, status): count for section, org, kind, status, count in run.result["counts"]}
    five_g = realistic["rural_vn"].section_id
    data_centres = realistic["cooling_th"].section_id
    assert cells == {
        (five_g, orgs["vn"].pk, "te", "open"): 1,
        (five_g, orgs["vn"].pk, "ed", "open"): 1,
        (five_g, orgs["th"].pk, "te", "open"): 1,
        (five_g, orgs["th"].pk, "ge", "open"): 1,
        (five_g, orgs["partner"].pk, "ge", "open"): 2,
        (data_centres, orgs["vn"].pk, "ge", "open"): 1,
        (data_centres, orgs["partner"].pk, "te", "proposed"): 1,
        (data_centres, orgs["th"].pk, "te", "accepted"): 1,
    }
    sections = {s["key"]: s for s in run.result["sections"]}
    assert sections["infra-5g"]["total"] == 6
    assert sections["infra-5g"]["hidden"] == 1
    assert sections["infra-5g"]["by_type"] == {"ge": 3, "te": 2, "ed": 1}
    assert sections["infra-dc"]["total"] == 3
    by_org = {o["name"]: o for o in run.result["organisations"]}
    assert [o["name"] for o in run.result["organisations"]] == ["Development Partner", "Thailand", "Viet Nam"]
    assert by_org["Viet Nam"]["total"] == 3
    assert by_org["Viet Nam"]["endorsed"] == 2
    assert by_org["Viet Nam"]["individual"] == 1
    assert by_org["Thailand"]["by_type"] == {"ge": 1, "te": 2, "ed": 0}
    assert by_org["Thailand"]["hidden"] == 1
    assert by_org["Development Partner"]["total"] == 3


def test_national_positions_are_counted_apart_from_individual_comments(realistic, closed_round):
    run = _run(closed_round)

    assert run.result["totals"]["endorsed"] == 2
    assert run.result["totals"]["individual"] == 7
    positions = {p["name"]: p for p in run.result["national_positions"]}
    # Member states only: the partner has no national position.
    assert set(positions) == {"Thailand", "Viet Nam"}
    assert positions["Viet Nam"]["endorsed"] == 2
    assert positions["Viet Nam"]["endorsed_ids"] == sorted(_ids(realistic, "urban_vn", "disclose_vn"))
    assert positions["Viet Nam"]["submitted"] is True
    assert positions["Thailand"] == positions["Thailand"] | {"endorsed": 0, "endorsed_ids": [], "submitted": False}


def test_section_comments_are_in_clause_and_passage_order(realistic, closed_round):
    run = _run(closed_round)

    assert [s["key"] for s in run.result["sections"]] == ["infra-5g", "infra-dc"]
    five_g = listed_comment_ids(run=run)[run.result["sections"][0]["id"]]
    # Anchored passages by position, then whole-section comments in the order they came in.
    expected = ["rural_th", "rural_vn", "urban_vn", "rural_remote", "agree_partner", "agree_th"]
    assert five_g == [realistic[name].pk for name in expected]


def test_the_listed_ids_are_kept_apart_from_the_result_and_a_run_of_the_old_schema_still_reads(realistic, closed_round):
    run = _run(closed_round)

    # The result (read by every run page) holds counts, not every comment's id.
    assert all("comment_ids" not in section for section in run.result["sections"])
    listed_ids = listed_comment_ids(run=run)
    assert list(listed_ids) == [s["id"] for s in run.result["sections"]]
    assert [len(ids) for ids in listed_ids.values()] == [s["total"] for s in run.result["sections"]]
    # A run stored before (result schema 1) kept them in its sections: read from there.
    old_result = {
        **run.result,
        "schema": 1,
        "sections": [{**s, "comment_ids": listed_ids[s["id"]]} for s in run.result["sections"]],
    }
    ConsolidationRun.objects.filter(pk=run.pk).update(result=old_result)
    ConsolidationListing.objects.filter(run=run).delete()
    run.refresh_from_db()
    assert listed_comment_ids(run=run) == listed_ids


def test_a_run_s_campaigns_are_packed_in_its_listing_and_read_back_whole(closed_round):
    run = factories.ConsolidationRunFactory(round=closed_round, status="done")
    written = [
        {"kind": "near", "size": 3, "similarity": 87.25, "section_ids": [4, 1, 2], "comment_ids": [7, 8, 9]},
        {"kind": "exact", "size": 2, "similarity": 100.0, "section_ids": [2, 3], "comment_ids": [5, 4]},
    ]
    campaigns, ids, sections = packed_campaigns(written)
    ConsolidationRun.objects.filter(pk=run.pk).update(result={"schema": 4, "totals": {"campaigns": 2}})
    ConsolidationListing.objects.create(run=run, campaigns=campaigns, campaign_ids=ids, campaign_section_ids=sections)
    run.refresh_from_db()

    assert campaigns_of(run=run) == written
    assert packed_campaigns([]) == (b"", b"", b"") and unpacked_campaigns(b"", b"", b"") == []
    # A listing that does not add up is an error, not campaigns missing a comment.
    ConsolidationListing.objects.filter(run=run).update(campaign_section_ids=sections[:-8])
    with pytest.raises(ValueError, match="4 campaign sections listed, the campaigns hold 5"):
        campaigns_of(run=run)
    ConsolidationListing.objects.filter(run=run).update(campaign_ids=ids[:-3])
    with pytest.raises(ValueError, match="cut short"):
        campaigns_of(run=run)


def test_a_run_s_campaigns_are_read_with_their_comments_from_the_listing_or_an_older_result(closed_round):
    run = factories.ConsolidationRunFactory(round=closed_round, status="done")
    kinds = [{"kind": "near", "size": 3, "similarity": 90.0, "section_ids": [1, 2]}]
    kinds.append({"kind": "exact", "size": 2, "similarity": 100.0, "section_ids": [2, 3]})
    ConsolidationRun.objects.filter(pk=run.pk).update(result={"schema": 3, "campaigns": kinds})
    ConsolidationListing.objects.create(run=run, campaign_ids=np.array([7, 8, 9, 4, 5], dtype="<i8").tobytes())
    run.refresh_from_db()

    assert [c["comment_ids"] for c in campaigns_of(run=run)] == [[7, 8, 9], [4, 5]]
    assert [c["section_ids"] for c in campaigns_of(run=run)] == [[1, 2], [2, 3]]
    # Stored before (result schema 2): the ids were in the result.
    older = [{**kinds[0], "comment_ids": [1, 2, 3]}, {**kinds[1], "comment_ids": [4, 5]}]
    ConsolidationRun.objects.filter(pk=run.pk).update(result={"schema": 2, "campaigns": older})
    ConsolidationListing.objects.filter(run=run).delete()
    run.refresh_from_db()
    assert campaigns_of(run=run) == older


def test_exact_and_near_duplicates_are_grouped_and_unrelated_comments_are_not(realistic, closed_round):
    run = _run(closed_round)

    assert _groups(run) == sorted(
        [
            ("infra-5g", NEAR, 3, _ids(realistic, "rural_vn", "rural_th", "rural_remote")),
            ("infra-5g", EXACT, 2, _ids(realistic, "agree_partner", "agree_th")),
            ("infra-dc", NEAR, 2, _ids(realistic, "disclose_vn", "disclose_partner")),
        ]
    )
    grouped = {cid for g in run.groups.all() for cid in g.comments.values_list("pk", flat=True)}
    assert realistic["urban_vn"].pk not in grouped
    assert realistic["cooling_th"].pk not in grouped
    exact = run.groups.get(kind=EXACT)
    assert exact.similarity == 100.0
    near = run.groups.get(kind=NEAR, section__key="infra-5g")
    # The lowest pair is the shouted/plain text against "rural and remote areas".
    assert 85 <= near.similarity < 100
    assert near.similarity == round(
        aggregation.similarity(aggregation.normalise_text(RURAL), aggregation.normalise_text(RURAL_REMOTE)), 2
    )
    assert run.result["totals"]["exact_groups"] == 1
    assert run.result["totals"]["near_groups"] == 2
    assert run.result["totals"]["grouped_comments"] == 7


def test_threshold_setting_decides_what_is_a_near_duplicate(realistic, closed_round, settings):
    settings.NEAR_DUPLICATE_THRESHOLD = 99.5

    run = _run(closed_round)

    assert _groups(run) == sorted(
        [
            ("infra-5g", EXACT, 2, _ids(realistic, "rural_vn", "rural_th")),
            ("infra-5g", EXACT, 2, _ids(realistic, "agree_partner", "agree_th")),
        ]
    )
    assert run.result["threshold"] == 99.5


def test_a_threshold_outside_0_to_100_fails_loudly(realistic, closed_round, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.NEAR_DUPLICATE_THRESHOLD = 150
    with pytest.raises(ImproperlyConfigured):
        _run(closed_round)


def test_proposed_change_counts_in_what_makes_a_duplicate(closed_round, clauses, vn_delegate, th_delegate):
    five_g, _ = clauses
    _submitted(vn_delegate, five_g, closed_round, RURAL, proposed_change="Add 'and rural areas'.")
    _submitted(th_delegate, five_g, closed_round, RURAL, proposed_change="Delete the sentence; set no target at all.")

    assert list(_run(closed_round).groups.all()) == []


def test_fingerprint_follows_comment_revisions_not_drafts(realistic, closed_round):
    first = _run(closed_round)
    assert first.fingerprint == aggregation.current_fingerprint(round_id=closed_round.pk)

    Comment.objects.filter(pk=realistic["draft"].pk).update(body="Edited draft", revision=5)
    assert aggregation.current_fingerprint(round_id=closed_round.pk) == first.fingerprint

    Comment.objects.filter(pk=realistic["rural_vn"].pk).update(revision=2)
    assert aggregation.current_fingerprint(round_id=closed_round.pk) != first.fingerprint


def test_an_empty_round_consolidates_to_zero(closed_round):
    run = _run(closed_round)

    assert run.status == JobStatus.DONE
    assert run.comment_count == 0
    assert run.as_of is None
    assert run.result["sections"] == []
    assert run.result["totals"]["by_type"] == {"ge": 0, "te": 0, "ed": 0}


# --- reruns -------------------------------------------------------------------------------


def test_a_rerun_gives_the_same_result_and_groups_do_not_pile_up(realistic, closed_round):
    first = _run(closed_round)
    first_groups = _groups(first)

    # A redelivered task finds the run still "running" and takes it over.
    ConsolidationRun.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING, progress=40)
    again = aggregation.consolidation_execute(run_id=first.pk)

    assert again.attempts == 2
    assert again.status == JobStatus.DONE
    assert again.result == first.result
    assert listed(again) == listed(first)
    assert again.fingerprint == first.fingerprint
    assert _groups(again) == first_groups
    assert DuplicateGroup.objects.filter(run=first).count() == 3

    second = _run(closed_round)
    assert second.result == first.result
    assert listed(second) == listed(first)
    assert _groups(second) == first_groups
    assert DuplicateGroup.objects.count() == 6


def test_a_finished_run_is_not_run_again(realistic, closed_round):
    run = _run(closed_round)
    finished_at = run.finished_at

    again = aggregation.consolidation_execute(run_id=run.pk)

    assert again.attempts == 1
    assert again.finished_at == finished_at


def test_a_superseded_attempt_does_not_write_its_result(realistic, closed_round, monkeypatch):
    """Two executions of one run: the one that claimed it last writes; the earlier one gives way."""
    run = ConsolidationRun.objects.create(round=closed_round)
    real_compute = aggregation.chunking.compute_chunk

    def compute_then_lose_the_claim(**kwargs):
        computed = real_compute(**kwargs)
        ConsolidationRun.objects.filter(pk=run.pk).update(attempts=7)  # another worker claimed it meanwhile
        return computed

    monkeypatch.setattr(aggregation.chunking, "compute_chunk", compute_then_lose_the_claim)
    aggregation.consolidation_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING
    assert run.result == {}
    assert not run.groups.exists()


def test_progress_moves_as_chunks_finish(realistic, closed_round, monkeypatch, settings):
    settings.CONSOLIDATION_CHUNK_COMMENTS = 1  # one chunk per section: two chunks
    run = ConsolidationRun.objects.create(round=closed_round)
    seen = []
    real_set_progress = aggregation._set_progress

    def record(run_id, attempt, value):
        real_set_progress(run_id, attempt, value)
        seen.append(ConsolidationRun.objects.values_list("progress", flat=True).get(pk=run_id))

    monkeypatch.setattr(aggregation, "_set_progress", record)
    aggregation.consolidation_execute(run_id=run.pk)

    assert seen == [5, 50, 95]


def test_five_thousand_comments_consolidate_with_their_groups(closed_round, version, vn_delegate, th_delegate, partner):
    sections = [
        factories.SectionFactory(version=version, key=f"extra-{n}", position=100 + n, number=f"9.{n}")
        for n in range(25)
    ]
    topics = ["coverage", "funding", "skills", "security", "privacy", "energy", "trade", "payments", "identity"]
    authors = [vn_delegate, th_delegate, partner]
    comments = []
    for n in range(5000):
        topic = topics[n % len(topics)]
        # Every seventh comment repeats an earlier one word for word.
        seed = n - n % 7
        body = (
            f"On {topic}, the draft should set measurable milestones for year {2026 + seed % 5} "
            f"and name the agency responsible for item {seed} of the plan."
        )
        author = authors[n % 3]
        comments.append(
            Comment(
                round=closed_round,
                section=sections[n % len(sections)],
                author=author,
                organisation_id=author.organisation_id,
                type=["ge", "te", "ed"][n % 3],
                body=body,
                status=Comment.Status.SUBMITTED,
            )
        )
    Comment.objects.bulk_create(comments, batch_size=1000)

    run = _run(closed_round)

    # How fast is the benchmark's business (make bench, line 1 and 2), never a unit test's.
    assert run.comment_count == 5000
    assert run.groups.exists()


# --- requests -----------------------------------------------------------------------------


def test_secretariat_request_queues_the_task_after_commit(
    realistic, closed_round, secretariat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)

    # The request's task; then, the snapshot written, the task keeping the incremental state.
    assert len(callbacks) == 2
    run.refresh_from_db()
    assert run.requested_by == secretariat
    # Eager in the tests: the tasks ran when their transactions committed.
    assert run.status == JobStatus.DONE
    assert run.comment_count == 9
    assert GroupingState.objects.get(round=closed_round).run_id == run.pk


@pytest.mark.parametrize("persona", ["consultant", "vn_focal_point", "th_delegate", "partner", "outsider"])
def test_only_secretariat_and_admins_may_request_a_consolidation(personas, closed_round, persona):
    with pytest.raises(PermissionDenied):
        aggregation.consolidation_request(actor=personas[persona], engagement_round=closed_round)
    assert not ConsolidationRun.objects.exists()


def test_admin_may_request_a_consolidation(site_admin, closed_round):
    run = aggregation.consolidation_request(actor=site_admin, engagement_round=closed_round)
    assert run.status == JobStatus.QUEUED


def test_a_scheduled_round_cannot_be_consolidated(version, secretariat):
    scheduled = factories.EngagementRoundFactory(
        version=version,
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=8),
    )
    with pytest.raises(ValidationError, match="not opened yet"):
        aggregation.consolidation_request(actor=secretariat, engagement_round=scheduled)


def test_an_open_round_may_be_consolidated_midway(open_round, secretariat):
    assert aggregation.consolidation_request(actor=secretariat, engagement_round=open_round).status == "queued"


def test_a_second_request_while_one_is_under_way_is_refused(closed_round, secretariat, site_admin):
    first = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
    ConsolidationRun.objects.filter(pk=first.pk).update(queued_at=timezone.now())  # its task reached the broker

    with pytest.raises(ValidationError) as refused:
        aggregation.consolidation_request(actor=site_admin, engagement_round=closed_round)

    assert "A consolidation of this round is already under way (started " in refused.value.messages[0]
    assert list(ConsolidationRun.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_second_request_while_the_first_waits_for_the_queue_says_it_will_start_by_itself(
    closed_round, secretariat, site_admin
):
    first = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)
    assert first.waiting_for_queue  # never reached the broker (its commit callback did not run)
    ConsolidationRun.objects.filter(pk=first.pk).update(requested_at=timezone.now() - timedelta(minutes=1))

    with pytest.raises(ValidationError) as refused:
        aggregation.consolidation_request(actor=site_admin, engagement_round=closed_round)

    assert "already queued" in refused.value.messages[0]
    assert "as soon as the queue is back" in refused.value.messages[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_make_one_run_and_the_second_is_refused(
    closed_round, secretariat, site_admin, monkeypatch
):
    """Both pass the "already under way?" check; the partial unique index stops the second insert."""
    monkeypatch.setattr(aggregation, "_queue", lambda run_id: None)
    first_inserted, release_first = threading.Event(), threading.Event()
    real_create = ConsolidationRun.objects.create
    outcome = {}

    def create_and_wait(**kwargs):
        run = real_create(**kwargs)
        if threading.current_thread().name == "first":
            first_inserted.set()
            release_first.wait(timeout=10)  # hold the transaction open, uncommitted
        return run

    monkeypatch.setattr(ConsolidationRun.objects, "create", create_and_wait)

    def request(name, actor):
        try:
            outcome[name] = aggregation.consolidation_request(actor=actor, engagement_round=closed_round)
        except ValidationError as exc:
            outcome[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=request, args=("first", secretariat), name="first")
    second = threading.Thread(target=request, args=("second", site_admin), name="second")
    first.start()
    assert first_inserted.wait(timeout=10)
    second.start()
    time.sleep(0.5)  # the second insert now waits on the unique index for the first transaction
    release_first.set()
    first.join(timeout=10)
    second.join(timeout=10)

    assert isinstance(outcome["first"], ConsolidationRun)
    assert isinstance(outcome["second"], ValidationError)
    assert "A consolidation of this round is already under way (started " in outcome["second"].messages[0]
    assert list(ConsolidationRun.objects.values_list("pk", flat=True)) == [outcome["first"].pk]


# --- when a round closes ------------------------------------------------------------------


def test_closed_round_hook_queues_one_run_and_is_idempotent(
    realistic, closed_round, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = aggregation.consolidation_request_for_closed_round(round_id=closed_round.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.requested_by is None
    assert run.status == JobStatus.DONE

    # Nothing changed since: nothing to do.
    assert aggregation.consolidation_request_for_closed_round(round_id=closed_round.pk) is None

    # A comment changed (the secretariat hid one): a new snapshot is due.
    Comment.objects.filter(pk=realistic["cooling_th"].pk).update(is_hidden=True, revision=2)
    assert aggregation.consolidation_request_for_closed_round(round_id=closed_round.pk) is not None
    # ... and while it is queued, no other.
    assert aggregation.consolidation_request_for_closed_round(round_id=closed_round.pk) is None
    assert ConsolidationRun.objects.count() == 2


def test_closed_round_hook_ignores_open_and_missing_rounds(open_round):
    assert aggregation.consolidation_request_for_closed_round(round_id=open_round.pk) is None
    assert aggregation.consolidation_request_for_closed_round(round_id=987654) is None
    assert not ConsolidationRun.objects.exists()


# --- the task -----------------------------------------------------------------------------


def test_task_marks_the_run_failed_with_the_error_and_reraises(closed_round, monkeypatch):
    run = ConsolidationRun.objects.create(round=closed_round)

    def explode(**kwargs):
        raise RuntimeError("section tree is broken")

    monkeypatch.setattr(aggregation, "merge_chunks", explode)
    with pytest.raises(RuntimeError, match="section tree is broken"):
        consolidate_round.apply(args=[run.pk])

    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error == "RuntimeError: section tree is broken"
    assert run.finished_at is not None
    # A failed run does not block a new one.
    assert aggregation.consolidation_request_for_closed_round(round_id=closed_round.pk) is not None


def test_task_returns_the_run_id(realistic, closed_round):
    run = ConsolidationRun.objects.create(round=closed_round)
    assert consolidate_round.apply(args=[run.pk]).get() == run.pk
    assert ConsolidationRun.objects.get(pk=run.pk).status == JobStatus.DONE


def test_sections_come_from_the_round_version(realistic, closed_round):
    run = _run(closed_round)
    keys = set(Section.objects.filter(version=closed_round.version).values_list("key", flat=True))
    assert {s["key"] for s in run.result["sections"]} <= keys


def test_consolidating_a_closed_round_moves_it_to_reported_and_a_failure_back_to_closed(db):
    engagement_round = factories.EngagementRoundFactory(state=EngagementRound.State.CLOSED)
    run = ConsolidationRun.objects.create(round=engagement_round)
    aggregation.consolidation_execute(run_id=run.pk)
    engagement_round.refresh_from_db()
    assert engagement_round.state == EngagementRound.State.CLOSED  # the round's own state does not move
    assert selectors_runs.round_phase(engagement_round=engagement_round) == "reported"

    other = factories.EngagementRoundFactory(state=EngagementRound.State.CLOSED)
    failing = ConsolidationRun.objects.create(round=other, status="running", started_at=timezone.now())
    assert selectors_runs.round_phase(engagement_round=other) == "consolidating"
    aggregation.consolidation_fail(run_id=failing.pk, error="worker lost")
    other.refresh_from_db()
    assert other.state == EngagementRound.State.CLOSED
    assert selectors_runs.round_phase(engagement_round=other) == "closed"


@pytest.mark.django_db
def test_deleting_a_run_a_section_or_a_comment_deletes_its_groups_or_memberships():
    """Groups and their members have no constraints in the database: Django deletes them with what they name."""
    first = factories.DuplicateGroupMemberFactory()
    group = first.duplicategroup
    second = factories.DuplicateGroupMemberFactory(duplicategroup=group)
    second.comment.delete()
    assert list(group.comments.all()) == [first.comment]

    other_section = factories.DuplicateGroupFactory(run=group.run, comments=[first.comment])
    other_section.section.delete()
    assert not DuplicateGroup.objects.filter(pk=other_section.pk).exists()
    assert DuplicateGroup.objects.filter(pk=group.pk).exists()

    group.run.delete()
    assert not DuplicateGroup.objects.filter(pk=group.pk).exists()
    assert not DuplicateGroupMember.objects.filter(duplicategroup_id=group.pk).exists()
