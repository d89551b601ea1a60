"""An incremental consolidation gives the snapshot a full run gives, after any edits since the last one."""

import random

import pytest
from django.db import connection

from comments.models import Comment
from consolidation import grouping
from consolidation.grouping import Item
from consolidation.models import (
    ConsolidationChunk,
    ConsolidationRun,
    DuplicateGroup,
    GroupingState,
    GroupingText,
    JobStatus,
)
from consolidation.services import aggregation, band_index, incremental
from tests import factories
from tests.consolidation.near_duplicates import generated_items
from tests.helpers.runs import campaigns, listed
from tests.helpers.services import require

CAMPAIGN = "Small and medium enterprises need a longer transition period of at least three years before it applies."
# Two near copies on two sections, each alone on its section: joined only across sections.
PASTED = (
    "Broadband vouchers should also cover small rural businesses and cooperatives in every region.",
    "Broadband vouchers should also cover small rural businesses and cooperatives in each region.",
)


@pytest.fixture
def postgres():
    require(connection.vendor == "postgresql", "incremental consolidation keeps its state in PostgreSQL")


@pytest.fixture
def sections(version):
    return [
        factories.SectionFactory(version=version, key=f"inc-{n}", number=f"9.{n}", position=300 - n) for n in range(10)
    ]


@pytest.fixture
def authors(vn_delegate, vn_focal_point, th_delegate, partner):
    return [vn_delegate, vn_focal_point, th_delegate, partner]


def _comment(engagement_round, section, author, text: str, randomly: random.Random) -> Comment:
    start = randomly.choice([None, 5, 50])
    return Comment(
        round=engagement_round,
        section=section,
        author=author,
        organisation_id=author.organisation_id,
        type=randomly.choice(["ge", "te", "ed"]),
        body=text,
        status="submitted",
        is_endorsed=randomly.random() < 0.1,
        position_start=start,
        position_end=None if start is None else 60,
    )


@pytest.fixture
def commented(postgres, closed_round, sections, authors, settings):
    """10 sections, 300 comments: near-duplicates in each, a campaign pasted (edited) on most of them."""
    settings.CONSOLIDATION_CHUNK_COMMENTS = 60  # several chunks
    items = generated_items(seed=5, sections=10, per_section=26, originals=3, copies=3)
    randomly = random.Random(5)
    pasted = [
        Item(0, s, randomly.choice([CAMPAIGN, CAMPAIGN.upper(), CAMPAIGN.replace("three", "3")]))
        for s in range(1, 11)
        for _ in range(randomly.randint(0, 5))
    ] + [Item(0, 1, PASTED[0]), Item(0, 2, PASTED[1])]
    Comment.objects.bulk_create(
        _comment(closed_round, sections[item.section_id - 1], randomly.choice(authors), item.text, randomly)
        for item in items + pasted
    )
    return closed_round


def _run(engagement_round) -> ConsolidationRun:
    run = ConsolidationRun.objects.create(round=engagement_round)
    return aggregation.consolidation_execute(run_id=run.pk)


def _groups(run: ConsolidationRun) -> list[tuple]:
    return [
        (g.section_id, g.kind, g.size, g.similarity, tuple(sorted(g.comments.values_list("pk", flat=True))))
        for g in DuplicateGroup.objects.filter(run=run).order_by("id").prefetch_related("comments")
    ]


def _specs(computed) -> list[tuple]:
    return [
        (g.section_id, g.kind, len(g.comment_ids), g.similarity, tuple(sorted(g.comment_ids))) for g in computed.groups
    ]


def _same_as_a_full_computation(run: ConsolidationRun) -> None:
    reference = aggregation.compute_consolidation(engagement_round=run.round)
    assert run.result == reference.result
    assert listed(run) == listed(reference)
    assert campaigns(run) == campaigns(reference)
    assert _groups(run) == _specs(reference)
    assert (run.fingerprint, run.as_of, run.comment_count) == (
        reference.fingerprint,
        reference.as_of,
        reference.comment_count,
    )


def _change(engagement_round, sections, authors, randomly: random.Random) -> None:
    """Edits (to another comment's text, a variant, the campaign, nothing), new comments,
    withdrawals, comments moved to another section or passage: what happens between two runs."""
    submitted = list(Comment.objects.filter(round=engagement_round, status="submitted").order_by("id"))
    texts = [c.body for c in submitted]
    for comment in randomly.sample(submitted, 30):
        what = randomly.choice(["copy", "variant", "campaign", "empty", "new", "move", "anchor", "withdraw"])
        if what == "copy":
            comment.body = randomly.choice(texts)
        elif what == "variant":
            words = randomly.choice(texts).split()
            words[randomly.randrange(len(words))] = randomly.choice(["rural", "audit", "fibre"])
            comment.body = " ".join(words)
        elif what == "campaign":
            comment.body = CAMPAIGN.replace("three", randomly.choice(["two", "four", "3"]))
        elif what == "empty":
            comment.body, comment.proposed_change = "...", ""
        elif what == "new":
            comment.body = f"An entirely new point about {randomly.choice(texts)[:40]}"
        elif what == "move":
            comment.section = randomly.choice(sections)
        elif what == "anchor":
            comment.position_start, comment.position_end = randomly.choice([(None, None), (1, 2), (90, 95)])
        else:
            comment.status = "withdrawn"
        comment.revision += 1
        comment.save()
    Comment.objects.bulk_create(
        _comment(
            engagement_round,
            randomly.choice(sections),
            randomly.choice(authors),
            randomly.choice(texts + [CAMPAIGN.lower()]),
            randomly,
        )
        for _ in range(12)
    )


def _change_and_fold(engagement_round, sections, authors, randomly: random.Random) -> ConsolidationRun:
    """Changes, then a run: incremental, and the snapshot a full computation gives."""
    _change(engagement_round, sections, authors, randomly)
    run = _run(engagement_round)
    assert run.incremental
    _same_as_a_full_computation(run)
    return run


def test_incremental_runs_after_random_changes_equal_a_full_computation(commented, sections, authors):
    first = _run(commented)
    assert not first.incremental
    _same_as_a_full_computation(first)
    assert GroupingState.objects.get(round=commented).run == first

    randomly = random.Random(17)
    for _ in range(3):  # each run folds the changes since the previous one into its state
        _change(commented, sections, authors, randomly)
        run = _run(commented)
        assert run.incremental
        assert GroupingState.objects.get(round=commented).run == run
        _same_as_a_full_computation(run)
    assert run.result["totals"]["near_groups"] > 0
    assert any(
        set(Comment.objects.filter(pk__in=c["comment_ids"]).values_list("body", flat=True)) == set(PASTED)
        for c in campaigns(first)
    )


@pytest.mark.django_db(transaction=True)
def test_incremental_runs_in_their_own_transaction_count_on_a_second_connection(commented, sections, authors):
    # As in a worker: the snapshot's transaction is the outermost, so its counts are taken on a
    # second connection in its exported snapshot while the comments are grouped.
    _run(commented)
    randomly = random.Random(41)
    for _ in range(2):
        _change_and_fold(commented, sections, authors, randomly)


def test_band_keys_equal_only_in_the_index_s_short_keys_are_not_candidates(
    commented, sections, authors, monkeypatch, settings
):
    # The band index keeps a part of each key; with 4 bits kept, nearly every key looked up is
    # found there, and only the check of the full key keeps the candidates those of a full run.
    # A low threshold: many pairs that LSH does not propose would verify if compared.
    settings.NEAR_DUPLICATE_THRESHOLD = 40
    monkeypatch.setattr(
        band_index, "index_keys", lambda bands: (bands.reshape(-1).view("uint64") >> 60).astype("uint32")
    )
    _run(commented)
    randomly = random.Random(23)
    for _ in range(2):
        _change_and_fold(commented, sections, authors, randomly)


def _band_index(engagement_round) -> band_index.BandIndex | None:
    state = GroupingState.objects.get(round=engagement_round)
    return band_index.load(GroupingState._meta.db_table, state.pk)


def test_the_band_index_is_mapped_from_this_machine_s_copy_or_read_from_the_database(
    commented, sections, authors, settings, tmp_path
):
    settings.GROUPING_CACHE_DIR = str(tmp_path)
    _run(commented)  # a full run: its remember task keeps the band index here too, and its texts' keys
    [kept] = tmp_path.glob("*.gbi")
    index = _band_index(commented)
    assert index.source == "file"
    stored_keys = dict(GroupingText.objects.filter(state__round=commented).values_list("digest", "key"))
    assert index.text_keys.at(range(index.digests.size)) == [stored_keys[d] for d in index.digests.tolist()]
    randomly = random.Random(31)

    # Without the keys beside it, the stored texts' keys are read from the database.
    kept.with_suffix(".keys").unlink()
    _change_and_fold(commented, sections, authors, randomly)

    # Without this machine's copy (a run on another machine, or the file pruned): the database.
    kept.unlink()
    _change_and_fold(commented, sections, authors, randomly)
    assert kept.exists()  # kept again from what the run read
    assert _band_index(commented).source == "file"

    # A file that is not whole is never used.
    kept.write_bytes(kept.read_bytes()[:-8])
    assert _band_index(commented).source == "database"
    _change_and_fold(commented, sections, authors, randomly)

    # A folder that cannot be written only means reading the database each time.
    settings.GROUPING_CACHE_DIR = str(tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("a file")
    _change_and_fold(commented, sections, authors, randomly)
    assert _band_index(commented).source == "database"


def test_a_band_index_of_an_older_layout_makes_the_next_run_full(commented, sections, authors):
    _run(commented)
    GroupingState.objects.filter(round=commented).update(band_index=b"PK\x03\x04 an npz archive")
    _change(commented, sections, authors, random.Random(37))

    run = _run(commented)

    assert not run.incremental
    _same_as_a_full_computation(run)
    assert _band_index(commented) is not None  # the full run kept a new state


def test_an_incremental_run_without_changes_repeats_the_snapshot(commented, monkeypatch):
    first = _run(commented)
    # The near groups' lowest similarities are the state's, found by their texts: none computed again.
    computed = []
    lowest = grouping.lowest_similarity
    monkeypatch.setattr(grouping, "lowest_similarity", lambda keys: computed.append(keys) or lowest(keys))
    again = _run(commented)

    assert again.incremental and computed == []
    assert first.result["totals"]["near_groups"] > 0
    assert again.result == first.result
    assert listed(again) == listed(first)
    assert _groups(again) == _groups(first)


def test_a_change_of_threshold_or_schema_makes_the_next_run_full(commented, sections, authors, settings, monkeypatch):
    _run(commented)
    _change(commented, sections, authors, random.Random(3))
    settings.NEAR_DUPLICATE_THRESHOLD = 70

    changed_threshold = _run(commented)

    assert not changed_threshold.incremental
    assert changed_threshold.result["threshold"] == 70
    _same_as_a_full_computation(changed_threshold)
    assert GroupingState.objects.get(round=commented).threshold == 70

    monkeypatch.setattr(aggregation, "RESULT_SCHEMA", aggregation.RESULT_SCHEMA + 1)
    changed_schema = _run(commented)
    assert not changed_schema.incremental
    assert changed_schema.result["schema"] == aggregation.RESULT_SCHEMA
    # And the run after it, with that schema, is incremental again.
    assert _run(commented).incremental


def test_a_run_marked_incremental_whose_state_is_gone_is_made_in_full(commented, sections, authors):
    _run(commented)
    _change(commented, sections, authors, random.Random(8))
    run = ConsolidationRun.objects.create(round=commented)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    assert indexes == [] and ConsolidationRun.objects.get(pk=run.pk).incremental
    incremental.forget(round_id=commented.pk)  # gone between the start and the merge

    merged = aggregation.consolidation_merge(run_id=run.pk, attempt=attempt)

    assert not merged.incremental
    _same_as_a_full_computation(merged)


def test_shared_band_pairs_are_the_lsh_candidates():
    items = generated_items(seed=2, sections=3, per_section=40, originals=4, copies=4)
    keys = list(dict.fromkeys(grouping.sorted_tokens(grouping.normalise_text(i.text)) for i in items))

    a, b = incremental.shared_band_pairs(grouping.bands_of(grouping.band_keys(keys)))

    assert set(zip(a.tolist(), b.tolist(), strict=True)) == grouping.candidate_pairs(keys)


def test_an_incremental_run_reads_only_the_changed_comments(commented, sections, authors, monkeypatch):
    _run(commented)
    edited = list(Comment.objects.filter(round=commented, status="submitted").order_by("id")[:4])
    for comment in edited:
        comment.body += " And the annex should say so."
        comment.revision += 1
        comment.save()
    read = []
    real = incremental.chunking.text_of
    monkeypatch.setattr(incremental.chunking, "text_of", lambda row: read.append(row["id"]) or real(row))

    run = _run(commented)

    assert run.incremental
    assert sorted(read) == sorted(c.pk for c in edited)
    _same_as_a_full_computation(run)


def test_a_round_consolidated_before_its_first_comment_is_then_consolidated_incrementally(
    postgres, closed_round, sections, authors
):
    empty = _run(closed_round)
    assert empty.comment_count == 0
    randomly = random.Random(4)
    Comment.objects.bulk_create(
        _comment(closed_round, sections[item.section_id - 1], randomly.choice(authors), item.text, randomly)
        for item in generated_items(seed=4, sections=4, per_section=20, originals=3, copies=3)
    )

    run = _run(closed_round)

    assert run.incremental
    assert run.result["totals"]["near_groups"] > 0
    _same_as_a_full_computation(run)


# --- the state kept after the snapshot (consolidation_remember) --------------------------------


def _merged_without_state(engagement_round) -> ConsolidationRun:
    """A full run up to its written snapshot, as the workers leave it before the remember task runs."""
    run = ConsolidationRun.objects.create(round=engagement_round)
    attempt, indexes = aggregation.consolidation_start(run_id=run.pk)
    for index in indexes:
        aggregation.consolidation_chunk(run_id=run.pk, attempt=attempt, index=index)
    for partition in aggregation.consolidation_links_plan(run_id=run.pk, attempt=attempt) or []:
        aggregation.consolidation_link(run_id=run.pk, attempt=attempt, partition=partition)
    return aggregation.consolidation_merge(run_id=run.pk, attempt=attempt, remember_later=False)


def test_the_state_is_kept_after_the_snapshot_and_only_once(commented, sections, authors):
    run = _merged_without_state(commented)
    assert run.status == JobStatus.DONE
    assert not GroupingState.objects.filter(round=commented).exists()  # the run is done before it

    assert aggregation.consolidation_remember(run_id=run.pk)
    assert not aggregation.consolidation_remember(run_id=run.pk)  # delivered again: nothing to do

    assert GroupingState.objects.get(round=commented).run_id == run.pk
    _change(commented, sections, authors, random.Random(11))
    folded = _run(commented)
    assert folded.incremental
    _same_as_a_full_computation(folded)


def _state_comments(engagement_round) -> list[tuple[int, int, bool]]:
    stored = incremental.unpack_comments(GroupingState.objects.get(round=engagement_round).comments)
    return list(zip(stored["id"].tolist(), stored["revision"].tolist(), stored["text"].tolist(), strict=True))


def _submitted(engagement_round) -> list[tuple[int, int, bool]]:
    rows = Comment.objects.filter(round=engagement_round, status="submitted").order_by("id")
    return [
        (pk, revision, bool(grouping.normalise_text(f"{body}\n{proposed}")))
        for pk, revision, body, proposed in rows.values_list("id", "revision", "body", "proposed_change")
    ]


def test_the_state_holds_each_submitted_comment_at_its_revision_after_full_and_incremental_runs(
    commented, sections, authors
):
    _run(commented)
    assert _state_comments(commented) == _submitted(commented)
    _change(commented, sections, authors, random.Random(5))  # edits, new, emptied and withdrawn comments
    assert _run(commented).incremental
    assert _state_comments(commented) == _submitted(commented)


def test_no_state_is_kept_when_comments_changed_after_the_snapshot(commented, sections, authors):
    run = _merged_without_state(commented)
    _change(commented, sections, authors, random.Random(12))  # before the remember task ran

    assert not aggregation.consolidation_remember(run_id=run.pk)

    assert not GroupingState.objects.filter(round=commented).exists()
    assert not any(bytes(c.sketch) for c in ConsolidationChunk.objects.filter(run=run))  # cleared all the same
    after = _run(commented)
    assert not after.incremental
    _same_as_a_full_computation(after)


def test_a_late_remember_task_leaves_a_later_run_s_state_alone(commented, sections, authors):
    first = _merged_without_state(commented)
    _change(commented, sections, authors, random.Random(13))
    second = _run(commented)  # full (no state yet), and keeps its own state
    assert not second.incremental

    assert not aggregation.consolidation_remember(run_id=first.pk)

    assert GroupingState.objects.get(round=commented).run_id == second.pk


@pytest.mark.parametrize("exact_lowest_up_to", [1000, 2])
def test_groups_shaped_as_arrays_match_a_plain_reading_of_the_labels(monkeypatch, exact_lowest_up_to):
    """The groups an incremental run makes from component labels with numpy: the same groups, order,
    texts, similarity keys and campaign sections as a plain Python reading of the labels."""
    import numpy as np

    monkeypatch.setattr(grouping, "EXACT_LOWEST_UP_TO", exact_lowest_up_to)
    randomly = np.random.default_rng(11)
    size = 3000
    present = np.unique(randomly.integers(-(2**62), 2**62, 400))
    comment_nodes = randomly.integers(0, present.size, size)
    comment_sections = randomly.integers(0, 25, size)
    comment_ids = np.arange(10_000, 10_000 + size)
    for campaign in (False, True):
        labels = randomly.integers(0, 700, size)
        shape = incremental._Shaped.of(
            labels, campaign, comment_nodes=comment_nodes, comment_sections=comment_sections, present=present
        )
        # The plain reading: each label's comments in the run's order, kept if two or more (and, for
        # campaigns, on two sections or more), largest first, then by the place of the first comment.
        plain: dict[int, list[int]] = {}
        for index, label in enumerate(labels.tolist()):
            plain.setdefault(label, []).append(index)
        kept = [m for m in plain.values() if len(m) >= 2 and (not campaign or len(set(comment_sections[m])) > 1)]
        kept.sort(key=lambda m: (-len(m), m[0]))
        assert shape.members(comment_ids) == [tuple(comment_ids[m].tolist()) for m in kept]
        keys = shape.similarity_keys(present)
        for group, indexes in enumerate(kept):
            texts = list(dict.fromkeys(present[comment_nodes[indexes]].tolist()))
            assert shape.texts_of(group, present) == texts
            assert keys.get(group) == (incremental._similarity_key(texts) if len(texts) > 1 else None)
        if campaign:
            assert shape.spreads() == [list(dict.fromkeys(comment_sections[m].tolist())) for m in kept]
        assert len(kept) > 50 and len(keys) > 10
        assert any(key[:8] != bytes(8) for key in keys.values()) == (exact_lowest_up_to == 2)
