"""consolidation.grouping: LSH candidates verified exactly, against comparing every pair."""

import pytest

from consolidation import grouping
from consolidation.grouping import EXACT, NEAR, Item
from tests.consolidation.near_duplicates import generated_items, group_pairs, pairwise_pairs

THRESHOLD = 85.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lsh_groups_match_the_pairwise_grouping(seed):
    items = generated_items(seed=seed, sections=1, per_section=300, originals=30, copies=5)
    reference = pairwise_pairs(items, threshold=THRESHOLD)
    found = group_pairs(grouping.group_items(items, threshold=THRESHOLD))

    assert len(reference) > 100  # the planted near-duplicates are there
    true_positives = len(found & reference)
    assert true_positives / len(found) >= 0.95  # precision
    assert true_positives / len(reference) >= 0.95  # recall


def test_lsh_candidates_are_few_compared_with_every_pair():
    items = generated_items(seed=4, sections=1, per_section=300, originals=30, copies=5)
    keys = list(dict.fromkeys(grouping.sorted_tokens(grouping.normalise_text(i.text)) for i in items))

    candidates = grouping.candidate_pairs(keys)

    assert len(candidates) < len(keys) * (len(keys) - 1) // 2 // 10


def test_unrelated_texts_from_a_small_vocabulary_make_few_candidates():
    # 3,000 texts of random words from a vocabulary of about a hundred: they share a fifth of
    # their 5-grams and more, so bands of one block (4 values) made 1% of all pairs candidates,
    # about 45,000 here; at a million texts, billions of pairs to verify.
    items = generated_items(seed=9, sections=1, per_section=3000, originals=0, copies=1)
    keys = list(dict.fromkeys(grouping.sorted_tokens(grouping.normalise_text(i.text)) for i in items))

    candidates = grouping.candidate_pairs(keys)

    assert len(keys) == 3000
    assert len(candidates) < len(keys) * (len(keys) - 1) // 2 // 1000


def test_planted_edits_are_grouped_and_unrelated_texts_are_not():
    text = "Operators must report network outages to the national authority within 24 hours of detection."
    items = [
        Item(1, 1, text),
        Item(2, 1, text.upper().replace(".", "!!")),  # case and punctuation: the same text
        Item(3, 1, text.replace("report", "reprot")),  # a typo
        Item(4, 1, text.replace("within", "in any case within")),  # an insertion
        Item(5, 1, text.replace("network outages", "outages network")),  # words reordered
        Item(6, 1, "Data centres should disclose their energy mix every year."),
        Item(7, 1, "Agree."),
        Item(8, 1, "agree"),
        Item(9, 1, "   "),
        Item(10, 1, ""),
    ]

    groups = grouping.group_items(items, threshold=THRESHOLD)

    assert [(g.kind, g.ids) for g in groups] == [(NEAR, (1, 2, 3, 4, 5)), (EXACT, (7, 8))]
    near = groups[0]
    keys = [grouping.sorted_tokens(grouping.normalise_text(items[i].text)) for i in range(1, 5)]
    assert near.similarity == round(min(grouping.similarity(a, b) for a in keys for b in keys), 2)
    assert near.similarity >= THRESHOLD - 15
    assert groups[1].similarity == 100.0


def test_a_text_pasted_on_several_sections_is_a_campaign():
    campaign = "We ask that the regulation applies only to providers with more than fifty employees."
    items = [
        Item(1, 10, campaign),
        Item(2, 10, "Cooling water use needs a regional standard."),
        Item(3, 20, campaign.replace("fifty", "50")),
        Item(4, 20, "Spectrum fees should be lowered for small providers in rural areas."),
        Item(5, 30, campaign.lower()),
        Item(6, 30, "Agree."),
        Item(7, 40, "Agree."),  # two sections, an exact campaign of a short text
        Item(8, 40, "The roaming fees at the borders should be abolished by 2030."),
    ]

    campaigns = grouping.campaigns(items, threshold=THRESHOLD)

    assert [(g.kind, g.ids, g.section_ids) for g in campaigns] == [
        (NEAR, (1, 3, 5), (10, 20, 30)),
        (EXACT, (6, 7), (30, 40)),
    ]
    # Within one section, nothing of it is a group.
    assert grouping.group_items([i for i in items if i.section_id == 10], threshold=THRESHOLD) == []


def test_campaigns_across_generated_sections_match_the_pairwise_grouping():
    items = generated_items(seed=5, sections=4, per_section=60, originals=5, copies=3)
    # The same originals pasted (edited) on every section.
    pasted = [
        Item(10_000 + n, section, grouping_text)
        for n, (section, grouping_text) in enumerate(
            (s, t)
            for s in range(1, 5)
            for t in (
                f"Section {s}: the consultation period of four weeks is far too short for a proper answer.",
                "Small and medium enterprises need a longer transition period of at least three years.",
            )
        )
    ]
    everything = items + pasted

    campaigns = grouping.campaigns(everything, threshold=THRESHOLD)

    reference = {p for p in pairwise_pairs(everything, threshold=THRESHOLD)}
    sections = {item.id: item.section_id for item in everything}
    cross = {p for p in reference if len({sections[i] for i in p}) > 1}
    found = group_pairs(campaigns)
    assert {tuple(sorted(g.section_ids)) for g in campaigns} >= {(1, 2, 3, 4)}
    assert cross <= found
    assert found <= reference


def test_grouping_is_deterministic():
    items = generated_items(seed=6, sections=3, per_section=120, originals=12, copies=4)

    first = grouping.group_items(items, threshold=THRESHOLD), grouping.campaigns(items, threshold=THRESHOLD)
    second = grouping.group_items(items, threshold=THRESHOLD), grouping.campaigns(items, threshold=THRESHOLD)

    assert first == second
    assert first[0]  # something was grouped
    sizes = [len(g.ids) for g in first[0]]
    assert sizes == sorted(sizes, reverse=True)


def test_the_threshold_must_be_above_0_and_at_most_100():
    with pytest.raises(ValueError):
        grouping.group_items([Item(1, 1, "a"), Item(2, 1, "a")], threshold=0)


def _components(finder: grouping.UnionFind, size: int) -> set[frozenset[int]]:
    found: dict[int, set[int]] = {}
    for i in range(size):
        found.setdefault(finder.find(i), set()).add(i)
    return {frozenset(c) for c in found.values()}


def test_how_bucket_pairs_are_verified_never_changes_the_groups(monkeypatch):
    items = generated_items(seed=5, sections=1, per_section=300, originals=12, copies=12)
    keys = list(dict.fromkeys(grouping.sorted_tokens(grouping.normalise_text(i.text)) for i in items))
    bands = grouping.band_keys(keys)
    # Every candidate pair verified one by one: the graph's components, by definition.
    reference = grouping.UnionFind(len(keys))
    for i, j in grouping.candidate_pairs(keys):
        if grouping.similarity(keys[i], keys[j]) >= THRESHOLD:
            reference.union(i, j)
    expected = _components(reference, len(keys))
    assert any(len(c) > 3 for c in expected)
    # Small enough tiers that all three ways of verifying (batch, matrix, component by component) are used.
    monkeypatch.setattr(grouping, "SMALL_BUCKET", 3)
    monkeypatch.setattr(grouping, "LARGE_BUCKET", 6)
    sizes = grouping.bucket_arrays(bands).lengths
    assert (sizes <= 3).any() and ((sizes > 3) & (sizes <= 6)).any() and (sizes > 6).any()

    for buckets in (grouping.bucket_arrays(bands), grouping.buckets_of(bands)):
        finder = grouping.UnionFind(len(keys))
        grouping.verify_buckets(keys, buckets, finder, threshold=THRESHOLD)
        assert _components(finder, len(keys)) == expected
