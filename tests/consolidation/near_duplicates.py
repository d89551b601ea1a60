"""Generated comments with planted near-duplicates, and the pairwise grouping to check against.

Used by tests/consolidation/test_grouping.py and benchmarks/grouping.py.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from rapidfuzz import fuzz

from consolidation import grouping
from consolidation.grouping import Item

WORDS = (
    "the target coverage should include rural remote areas data centres disclose energy mix every year "
    "operators must report network outages within hours regulator shall publish annual review of spectrum "
    "allocation fibre rollout public funding small providers cross border roaming fees consumers need "
    "clear information about contract terms switching providers without penalty national authority "
    "cooperate with member states security incidents critical infrastructure resilience testing audit "
    "cloud services interoperability portability open standards procurement accessibility persons with "
    "disabilities digital skills training schools libraries broadband vouchers households low income"
).split()


def _sentence(rng: random.Random, length: int) -> str:
    words = [rng.choice(WORDS) for _ in range(length)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _variant(rng: random.Random, text: str) -> str:
    """A copy of text as a person pasting and editing it would leave it."""
    words = text.rstrip(".").split()
    edit = rng.choice(("typo", "word", "insert", "reorder", "case", "delete"))
    if edit == "typo":
        n = rng.randrange(len(words))
        w = words[n]
        if len(w) > 3:
            k = rng.randrange(1, len(w) - 1)
            words[n] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
    elif edit == "word":
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    elif edit == "insert":
        words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS))
    elif edit == "reorder":
        a, b = rng.sample(range(len(words)), 2)
        words[a], words[b] = words[b], words[a]
    elif edit == "delete" and len(words) > 8:
        del words[rng.randrange(len(words))]
    else:
        words = [w.upper() if rng.random() < 0.3 else w for w in words]
        return " ".join(words) + rng.choice(("!!", ";", " ...", "?"))
    return " ".join(words) + "."


def generated_items(
    *, seed: int, sections: int, per_section: int, originals: int, copies: int, start_id: int = 1
) -> list[Item]:
    """Per section: `originals` texts each with up to `copies` edited copies, the rest unrelated."""
    rng = random.Random(seed)
    items = []
    next_id = start_id
    for section in range(1, sections + 1):
        texts = []
        for _ in range(originals):
            original = _sentence(rng, rng.randint(10, 30))
            texts.append(original)
            for _ in range(rng.randint(1, copies)):
                copy = _variant(rng, original)
                if rng.random() < 0.3:
                    copy = _variant(rng, copy)
                texts.append(copy)
        while len(texts) < per_section:
            texts.append(_sentence(rng, rng.randint(5, 40)))
        rng.shuffle(texts)
        for text in texts[:per_section]:
            items.append(Item(id=next_id, section_id=section, text=text))
            next_id += 1
    return items


def pairwise_pairs(items: Sequence[Item], *, threshold: float) -> set[frozenset[int]]:
    """Every pair of comment ids in one group when all pairs of texts are compared (the reference)."""
    by_text: dict[str, list[int]] = defaultdict(list)
    for item in items:
        text = grouping.normalise_text(item.text)
        if text:
            by_text[text].append(item.id)
    texts = list(by_text)
    keys = [grouping.sorted_tokens(t) for t in texts]
    finder = grouping.UnionFind(len(texts))
    for i, j in combinations(range(len(texts)), 2):
        if fuzz.ratio(keys[i], keys[j], score_cutoff=threshold):
            finder.union(i, j)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        clusters[finder.find(i)].extend(by_text[texts[i]])
    return {frozenset(p) for ids in clusters.values() for p in combinations(ids, 2)}


def group_pairs(groups: Sequence[grouping.Group]) -> set[frozenset[int]]:
    return {frozenset(p) for g in groups for p in combinations(g.ids, 2)}
