"""A consolidation split into chunks gives the snapshot of a one-process run, whatever happens to a chunk."""

import random

import pytest

from comments.models import Comment
from consolidation import grouping
from consolidation.grouping import Item
from consolidation.models import ConsolidationChunk, ConsolidationRun, DuplicateGroup, GroupingState, JobStatus
from consolidation.services import aggregation, chunks, counting
from tests import factories
from tests.consolidation.near_duplicates import generated_items
from tests.helpers.runs import campaigns, listed

CAMPAIGN = "Small and medium enterprises need a longer transition period of at least three years before it applies."


@pytest.fixture
def many_sections(closed_round, version, vn_delegate, vn_focal_point, th_delegate, partner, settings):
    """12 sections, 480 comments: near-duplicates in each, a campaign pasted (edited) on most of them."""
    settings.CONSOLIDATION_CHUNK_COMMENTS = 60  # eight chunks
    sections = [
        factories.SectionFactory(version=version, key=f"chunk-{n}", number=f"8.{n}", position=200 - n)
        for n in range(12)
    ]
    items = generated_items(seed=11, sections=12, per_section=36, originals=4, copies=3)
    randomly = random.Random(11)
    pasted = [
        Item(0, s, randomly.choice([CAMPAIGN, CAMPAIGN.upper(), CAMPAIGN.replace("three", "3")]))
        for s in range(1, 13)
        for _ in range(randomly.randint(0, 6))
    ]
    authors = [vn_delegate, vn_focal_point, th_delegate, partner]
    Comment.objects.bulk_create(
        Comment(
            round=closed_round,
            section=sections[item.section_id - 1],
            author=(author := randomly.choice(authors)),
            organisation_id=author.organisation_id,
            type=randomly.choice(["ge", "te", "ed"]),
            body=item.text,
            status="submitted",
            is_endorsed=randomly.random() < 0.1,
            position_start=(start := randomly.choice([None, 5, 50])),
            position_end=None if start is None else 60,
        )
        for item in items + pasted
    )
    return closed_round


def _groups(run: ConsolidationRun) -> list[tuple]:
    return [
        (g.section_id, g.kind, g.size, g.similarity, tuple(sorted(g.comments.values_list("pk", flat=True))))
        for g in DuplicateGroup.objects.filter(run=run).order_by("id").prefetch_related("comments")
    ]


def _specs(computed) -> list[tuple]:
    return [
        (g.section_id, g.kind, len(g.comment_ids), g.similarity, tuple(sorted(g.comment_ids))) for g in computed.groups
    ]


def _run(engagement_round) -> ConsolidationRun:
    run = ConsolidationRun.objects.create(round=engagement_round)
    return aggregation.consolidation_execute(run_id=run.pk)


def test_a_chunked_run_equals_the_one_process_computation(many_sections):
    run = _run(many_sections)
    one_process = aggregation.compute_consolidation(engagement_round=many_sections)

    assert ConsolidationChunk.objects.filter(run=run, done=True).count() == 8
    # Once the snapshot is written, the chunks' texts are not kept.
    assert all(bytes(c.sketch) == b"" and c.groups == [] for c in ConsolidationChunk.objects.filter(run=run))
    assert run.result == one_process.result
    assert campaigns(run) == campaigns(one_process)
    assert listed(run) == listed(one_process)
    assert _groups(run) == _specs(one_process)
    assert (run.fingerprint, run.as_of, run.comment_count) == (
        one_process.fingerprint,
        one_process.as_of,
        one_process.comment_count,
    )
    # The campaign is found across chunks, with the near-duplicates of its text.
    [campaign] = [c for c in campaigns(run) if len(c["section_ids"]) > 4]
    assert campaign["kind"] == "near"
    assert run.result["totals"]["near_groups"] > 12


@pytest.mark.django_db(transaction=True)
def test_a_chunked_run_in_its_own_transaction_counts_on_a_second_connection(many_sections, monkeypatch):
    # As in a worker: the merge's snapshot is the outermost transaction, so its counts are taken
    # on a second connection, in its exported snapshot, while the chunks' parts are merged.
    taken = []
    in_snapshot = counting._counts_in_snapshot
    monkeypatch.setattr(counting, "_counts_in_snapshot", lambda *args: taken.append(args) or in_snapshot(*args))
    run = _run(many_sections)
    one_process = aggregation.compute_consolidation(engagement_round=many_sections)

    assert len(taken) == 1
    assert run.result == one_process.result
    assert listed(run) == listed(one_process)
    assert campaigns(run) == campaigns(one_process)
    assert _groups(run) == _specs(one_process)


def test_chunks_are_balanced_by_comment_count():
    plan = chunks.plan_chunks({1: 900, 2: 100, 3: 400, 4: 500, 5: 100}, per_chunk=700, max_chunks=8)

    assert sorted(sorted(chunk) for chunk in plan) == [[1], [2, 3], [4, 5]]  # loads 900, 500, 600
    assert chunks.plan_chunks({}, per_chunk=10, max_chunks=8) == []
    assert len(chunks.plan_chunks({n: 10 for n in range(100)}, per_chunk=1, max_chunks=8)) == 8


def test_a_redelivered_chunk_does_nothing_and_a_lost_one_is_computed_at_the_merge(many_sections):
    run = ConsolidationRun.objects.create(round=many_sections)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes[:-1]:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    stored = ConsolidationChunk.objects.get(run=run, index=indexes[0])
    aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=indexes[0])  # delivered again
    assert ConsolidationChunk.objects.get(pk=stored.pk).finished_at == stored.finished_at
    # The last chunk's worker was killed: never stored. The merge computes it.
    assert not ConsolidationChunk.objects.get(run=run, index=indexes[-1]).done

    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    clean = _run(many_sections)
    assert merged.status == JobStatus.DONE
    assert merged.result == clean.result
    assert campaigns(merged) == campaigns(clean)
    assert listed(merged) == listed(clean)
    assert _groups(merged) == _groups(clean)


def test_a_chunk_made_before_comments_changed_is_computed_again(many_sections):
    run = ConsolidationRun.objects.create(round=many_sections)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    # Comments edited and withdrawn while the run was under way, after their chunks were done.
    edited = Comment.objects.filter(round=many_sections, status="submitted").order_by("id")
    first, second = edited[0], edited[1]
    Comment.objects.filter(pk=first.pk).update(body=CAMPAIGN, revision=first.revision + 1)
    Comment.objects.filter(pk=second.pk).update(status="withdrawn")

    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    one_process = aggregation.compute_consolidation(engagement_round=many_sections)
    assert merged.result == one_process.result
    assert campaigns(merged) == campaigns(one_process)
    assert listed(merged) == listed(one_process)
    assert _groups(merged) == _specs(one_process)
    assert any(first.pk in c["comment_ids"] for c in campaigns(merged))


def test_a_later_attempt_reuses_the_chunks_already_done(many_sections, monkeypatch):
    run = ConsolidationRun.objects.create(round=many_sections)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes[:3]:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    # The worker died; the sweep queues the run again and a new attempt claims it.
    ConsolidationRun.objects.filter(pk=run.pk).update(status=JobStatus.QUEUED)
    computed = []
    real = aggregation.chunking.compute_chunk
    monkeypatch.setattr(
        aggregation.chunking, "compute_chunk", lambda **kw: computed.append(kw["section_ids"]) or real(**kw)
    )

    again = aggregation.consolidation_execute(run_id=run.pk)

    assert again.attempts == 2
    assert len(computed) == len(indexes) - 3
    reference = _run(many_sections)
    assert again.result == reference.result
    assert campaigns(again) == campaigns(reference)
    assert listed(again) == listed(reference)


def test_a_merge_that_meets_a_concurrent_update_begins_again(many_sections, monkeypatch):
    from django.db import OperationalError
    from psycopg.errors import SerializationFailure

    run = ConsolidationRun.objects.create(round=many_sections)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    real, calls = aggregation.merge_chunks, []

    def conflicting_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not serialize access") from SerializationFailure()
        return real(**kwargs)

    monkeypatch.setattr(aggregation, "merge_chunks", conflicting_once)
    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    assert len(calls) == 2
    assert merged.status == JobStatus.DONE
    one_process = aggregation.compute_consolidation(engagement_round=many_sections)
    assert merged.result == one_process.result
    assert campaigns(merged) == campaigns(one_process)
    assert listed(merged) == listed(one_process)


def _chunks_done(engagement_round) -> tuple[ConsolidationRun, int, list[int]]:
    run = ConsolidationRun.objects.create(round=engagement_round)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    return run, attempt, aggregation.consolidation_links_plan(run_id=run.pk, attempt=attempt)


def _counting_cross_links(monkeypatch) -> list[list[int]]:
    """Each call of chunks.cross_links from now on, by the bands it verified."""
    calls: list[list[int]] = []
    real = chunks.cross_links

    def counted(joined, parts, *, threshold, bands):
        calls.append(list(bands))
        return real(joined, parts, threshold=threshold, bands=bands)

    monkeypatch.setattr(chunks, "cross_links", counted)
    return calls


def test_the_link_tasks_share_the_bands_and_the_merge_verifies_only_a_lost_share(many_sections, monkeypatch):
    run, attempt, partitions = _chunks_done(many_sections)
    assert len(partitions) == 8  # one link task per chunk, at most CONSOLIDATION_LINK_TASKS
    assert sorted(b for p in partitions for b in chunks.link_bands(p, len(partitions))) == list(range(grouping.BANDS))
    for partition in partitions[:-1]:
        aggregation.consolidation_link(run_id=run.pk, attempt=attempt, partition=partition)
    stored = bytes(ConsolidationChunk.objects.get(run=run, index=partitions[0]).links)
    assert stored
    calls = _counting_cross_links(monkeypatch)
    aggregation.consolidation_link(run_id=run.pk, attempt=attempt, partition=partitions[0])  # delivered again
    assert calls == []
    assert bytes(ConsolidationChunk.objects.get(run=run, index=partitions[0]).links) == stored
    # The last link task was lost: the merge verifies its share of the bands, and only that.

    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    assert calls == [chunks.link_bands(partitions[-1], len(partitions))]
    one_process = aggregation.compute_consolidation(engagement_round=many_sections)
    assert merged.status == JobStatus.DONE
    assert merged.result == one_process.result
    assert campaigns(merged) == campaigns(one_process)
    assert listed(merged) == listed(one_process)
    assert _groups(merged) == _specs(one_process)
    # The parts stay for the state the next run starts from, kept once the snapshot is written.
    assert all(bytes(c.sketch) for c in ConsolidationChunk.objects.filter(run=run))
    assert aggregation.consolidation_remember(run_id=run.pk)
    assert GroupingState.objects.get(round=many_sections).run_id == run.pk
    assert not any(bytes(c.links) or bytes(c.sketch) for c in ConsolidationChunk.objects.filter(run=run))


def test_links_made_from_chunks_that_changed_since_are_not_used(many_sections, monkeypatch):
    run, attempt, partitions = _chunks_done(many_sections)
    for partition in partitions:
        aggregation.consolidation_link(run_id=run.pk, attempt=attempt, partition=partition)
    # A comment rewritten as a new variant of the campaign after its chunk (and the links) were made.
    edited = Comment.objects.filter(round=many_sections, status="submitted").order_by("id").first()
    Comment.objects.filter(pk=edited.pk).update(body=CAMPAIGN + " Also for cooperatives.", revision=edited.revision + 1)
    calls = _counting_cross_links(monkeypatch)

    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    assert calls == [list(range(grouping.BANDS))]  # every band verified again here, in one pass
    one_process = aggregation.compute_consolidation(engagement_round=many_sections)
    assert merged.result == one_process.result
    assert campaigns(merged) == campaigns(one_process)
    assert listed(merged) == listed(one_process)
    assert _groups(merged) == _specs(one_process)
    assert any(edited.pk in c["comment_ids"] for c in campaigns(merged))


def test_a_link_task_of_a_run_taken_over_or_with_a_chunk_missing_stores_nothing(many_sections):
    run = ConsolidationRun.objects.create(round=many_sections)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes[1:]:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    aggregation.consolidation_link(run_id=run.pk, attempt=attempt, partition=1)  # chunk 0 not done
    aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=indexes[0])
    aggregation.consolidation_link(run_id=run.pk, attempt=attempt + 1, partition=2)  # not this attempt

    assert not any(bytes(c.links) for c in ConsolidationChunk.objects.filter(run=run))
    assert aggregation.consolidation_links_plan(run_id=run.pk, attempt=attempt + 1) is None
