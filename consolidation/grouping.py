"""Exact and near-duplicate grouping of comment texts, in close to linear time.

Pure Python over plain values (no database): the aggregation service groups each section's
comments with it, and the round's comments as a whole to find campaigns (one text pasted on
several sections); a consolidation split in chunks can call it the same way.

How two texts come to share a group:
* texts are normalised (casefolded, punctuation dropped, whitespace collapsed): equal normalised
  texts are an exact group, found by hashing;
* distinct normalised texts are near-duplicates when their `similarity` (rapidfuzz's ratio of
  the texts with their words sorted) reaches the threshold. Comparing every pair is quadratic,
  so candidate pairs come from MinHash signatures of each text's character shingles (shingles
  made with numpy for a whole batch of texts, signatures by rensa's R-MinHash, `_signatures`)
  put through locality-sensitive hashing: the signature's blocks become 64-bit block keys
  (`band_keys`, the same in every process), pairs of blocks the LSH bands (`bands_of`), and two
  texts become candidates when they share a band, that is both blocks of one. Each candidate
  pair is then verified with the exact similarity and threshold, so a group never holds a pair
  that the pairwise comparison would not have joined; a pair LSH did not propose is missed only
  with a small probability (tests measure it against the pairwise grouping);
* verified pairs are joined with union-find, so similarity is transitive through a chain; a
  group records its lowest pairwise similarity.

Output is deterministic: MinHash uses a fixed seed and a hash that does not depend on the
process, and groups are sorted (largest first, then by the position of their first comment).
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process
from rensa import RMinHash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EXACT: Literal["exact"] = "exact"
NEAR: Literal["near"] = "near"
Kind = Literal["exact", "near"]

# MinHash over character SHINGLE-grams of the word-sorted text: NUM_PERM values, read as BLOCKS
# blocks of ROWS values, each block hashed to a 64-bit block key (`band_keys`). An LSH band is two
# blocks (2 * ROWS = 8 values): the blocks i and i ^ d for each d of PAIRINGS, BANDS bands in all
# (`bands_of`). Two texts are candidates when they share a band, that is both blocks of one of
# those pairs. A pair whose shingle sets have Jaccard similarity J shares a given band with
# probability J**8, so becomes a candidate with probability about 1 - (1 - J**8)**BANDS: 0.997 at
# J = 0.72, 0.96 at J = 0.67, 0.87 at J = 0.63 (near-duplicates at a threshold of 85 share 0.68
# and more of their 5-grams in 95% of the tests' planted pairs, median 0.86), and 0.005 at J =
# 0.3, 0.0002 at J = 0.2 (what unrelated comments on one topic share: 0.04 typically, 0.15-0.3 for
# texts from a small vocabulary). False candidates are then rejected by the verification. Bands of
# one block (4 values) would find pairs at J = 0.6 more often, but make 40 to 60 times the false
# candidates at J = 0.2-0.3, and those grow with the square of the texts: at a million comments,
# billions of pairs to verify (docs/performance.md, line 1). Only the block keys are stored
# (chunks, incremental state); the bands are made from them when buckets are formed.
SHINGLE = 5
ROWS = 4
BLOCKS = 32
NUM_PERM = ROWS * BLOCKS
PAIRINGS = (1, 2, 4, 8, 16)
BAND_BLOCKS = np.array(
    [(i, i ^ d) for d in PAIRINGS for i in range(BLOCKS) if i < i ^ d], dtype=np.int64
)  # (BANDS, 2): the two blocks of each band
BANDS = len(BAND_BLOCKS)
SEED = 1


@dataclass(frozen=True)
class Item:
    """A comment to group: its id, its section, and its text (body and proposed change)."""

    id: int
    section_id: int
    text: str


@dataclass(frozen=True)
class Group:
    """Comments that say the same thing: ids in the order the items were given."""

    kind: Kind
    ids: tuple[int, ...]
    similarity: float  # the lowest pairwise similarity of its distinct texts, 0 to 100
    section_ids: tuple[int, ...]  # the sections of its comments, in order of first appearance


@functools.cache
def _punctuation_to_space() -> dict[int, str]:
    """Every Unicode punctuation character (categories P*) mapped to a space, for str.translate."""
    return {c: " " for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("P")}


def normalise_text(text: str) -> str:
    """Casefold, drop punctuation, collapse whitespace: what "the same text" means here."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_punctuation_to_space())
    return " ".join(text.split())


def sorted_tokens(text: str) -> str:
    return " ".join(sorted(text.split()))


def similarity(a: str, b: str) -> float:
    """Similarity of two normalised texts, 0 to 100: word order does not matter, length does.

    This is rapidfuzz's token_sort_ratio. token_set_ratio was rejected: it scores 100 whenever
    one text's words are a subset of the other's, so a bare "Agree." would join every
    comment containing "agree" into one group.
    """
    return fuzz.ratio(sorted_tokens(a), sorted_tokens(b))


def components(size: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected component of each of `size` nodes joined by the edges (a[k], b[k]): a label per node."""
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(size, size))
    return connected_components(graph, directed=False)[1]


class UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective mixing of 64-bit values (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values ^= values >> np.uint64(27)
        values *= np.uint64(0x94D049BB133111EB)
        values ^= values >> np.uint64(31)
    return values


def _shingle_values(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every key's character SHINGLE-grams (of its UTF-8 bytes) as 64-bit values, key after key.

    Returns (values, counts): a key of n > SHINGLE bytes has n - SHINGLE + 1 values; a shorter key
    is one value (its bytes, tagged with its length so that it never equals a full shingle).
    """
    encoded = [key.encode() for key in keys]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    buffer = np.frombuffer(b"".join(encoded) + bytes(SHINGLE), dtype=np.uint8).astype(np.uint64)
    windows = np.zeros(buffer.size - SHINGLE + 1, dtype=np.uint64)
    for shift in range(SHINGLE):  # window value: its SHINGLE bytes, the first one highest
        windows |= buffer[shift : shift + windows.size] << np.uint64(8 * (SHINGLE - 1 - shift))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    counts = np.maximum(lengths - SHINGLE + 1, 1)
    firsts = np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(offsets, counts) + (np.arange(int(counts.sum()), dtype=np.int64) - firsts)
    values = windows[positions]
    short = np.flatnonzero(lengths < SHINGLE)
    if short.size:
        at = np.cumsum(counts)[short] - 1  # the one value of each short key
        kept = np.uint64(8) * (np.uint64(SHINGLE) - lengths[short].astype(np.uint64))
        values[at] = (values[at] >> kept) | ((lengths[short].astype(np.uint64) + np.uint64(1)) << np.uint64(48))
    return values, counts


def _signatures(keys: Sequence[str]) -> np.ndarray:
    """MinHash signatures of the keys' shingle sets: uint32 array of shape (len(keys), NUM_PERM).

    The shingles are made here, with numpy for the whole batch (`_shingle_values`), and mixed to
    64-bit token hashes; the signatures are rensa's R-MinHash of those hashes (one call in Rust
    for the batch). rensa is pinned (requirements.txt): its releases may change the digests
    (0.5 did), and band keys computed by different tasks are joined, so `METHOD` in
    consolidation/services/incremental.py names its version and a new one makes the next run full.
    """
    values, counts = _shingle_values(keys)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.uint64)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(_mix64(values), offsets, NUM_PERM, SEED)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(keys), NUM_PERM)


# Odd 64-bit multipliers mixing a band's ROWS values (each below 2**32) and the band's number
# into one 64-bit key; equal bands always give equal keys. Two different bands may share a key
# (about once in 2**64): one more candidate, which the verification then rejects or accepts on
# its merit, so groups never hold a pair below the threshold.
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


def band_keys(keys: Sequence[str]) -> np.ndarray:
    """Each key's block keys: an int64 array of shape (len(keys), BLOCKS), what is stored of a text.

    Its LSH bands are made from them (`bands_of`). Deterministic across processes and machines,
    so block keys computed in different tasks (a chunked consolidation) can be joined.
    """
    if not keys:
        return np.zeros((0, BLOCKS), dtype=np.int64)
    values = _signatures(keys).astype(np.uint64).reshape(len(keys), BLOCKS, ROWS)
    with np.errstate(over="ignore"):
        mixed = (values * _MIX[:ROWS]).sum(axis=2, dtype=np.uint64)
        mixed ^= np.arange(BLOCKS, dtype=np.uint64) * np.uint64(0xFF51AFD7ED558CCD)
        mixed ^= mixed >> np.uint64(29)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(32)
    return mixed.view(np.int64)


def _band_mix(first: np.ndarray, second: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """The band key of two block keys (uint64) and the band's number (uint64), elementwise (broadcast)."""
    with np.errstate(over="ignore"):
        mixed = first * np.uint64(0x9E3779B97F4A7C15)
        mixed += (second ^ np.uint64(0x632BE59BD9B4E019)) * np.uint64(0xC2B2AE3D27D4EB4F)
        mixed ^= numbers * np.uint64(0xD6E8FEB86659FD93)
        mixed ^= mixed >> np.uint64(31)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(29)
    return np.ascontiguousarray(mixed).view(np.int64)


def bands_of(blocks: np.ndarray, which: Sequence[int] | None = None) -> np.ndarray:
    """The LSH band keys of rows of block keys: int64 (rows, BANDS), or only the bands `which` names.

    Band k joins the two blocks BAND_BLOCKS[k] and its number; two rows share band k's key when
    they share both blocks (and, once in about 2**64, by chance: one more candidate to verify).
    """
    numbers = np.arange(BANDS, dtype=np.int64) if which is None else np.asarray(which, dtype=np.int64)
    pairs = BAND_BLOCKS[numbers]
    values = np.ascontiguousarray(blocks, dtype=np.int64).view(np.uint64)
    return _band_mix(values[:, pairs[:, 0]], values[:, pairs[:, 1]], numbers.astype(np.uint64))


def band_at(blocks: np.ndarray, numbers: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Band `numbers[i]` of the block keys `blocks[rows[i]]` (of `blocks[i]` without `rows`), for each i:
    int64, as `bands_of` makes it. Only the two blocks of each band are read, not whole rows."""
    values = np.ascontiguousarray(blocks, dtype=np.int64).view(np.uint64)
    numbers = np.asarray(numbers, dtype=np.int64)
    rows = np.arange(values.shape[0]) if rows is None else np.asarray(rows)
    pairs = BAND_BLOCKS[numbers]
    return _band_mix(values[rows, pairs[:, 0]], values[rows, pairs[:, 1]], numbers.astype(np.uint64))


class Sketches:
    """Band keys of normalised texts, each computed once however many groupings ask for it."""

    def __init__(self) -> None:
        self._known: dict[str, np.ndarray] = {}

    def of(self, keys: Sequence[str]) -> np.ndarray:
        missing = [k for k in dict.fromkeys(keys) if k not in self._known]
        if missing:
            for key, row in zip(missing, band_keys(missing), strict=True):
                self._known[key] = row
        if not keys:
            return np.zeros((0, BLOCKS), dtype=np.int64)
        return np.stack([self._known[k] for k in keys])


@dataclass(frozen=True)
class Buckets:
    """LSH buckets as arrays: bucket k holds rows[starts[k] : starts[k] + lengths[k]], ascending."""

    rows: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def listed(self, which: np.ndarray | None = None) -> list[list[int]]:
        """The buckets (those `which` selects) as lists, each distinct bucket once, sorted."""
        starts, lengths = (self.starts, self.lengths) if which is None else (self.starts[which], self.lengths[which])
        found = {
            tuple(self.rows[start : start + length].tolist()) for start, length in zip(starts, lengths, strict=True)
        }
        return [list(bucket) for bucket in sorted(found)]


def bucket_arrays(bands: np.ndarray, owners: np.ndarray | None = None) -> Buckets:
    """Rows (by index) that share a band key: every bucket of two rows or more (see buckets_of)."""
    count = bands.shape[0]
    if count < 2:
        empty = np.zeros(0, dtype=np.int64)
        return Buckets(empty, empty, empty)
    flat = bands.reshape(-1)
    rows = np.repeat(np.arange(count, dtype=np.int64), bands.shape[1])
    order = np.lexsort((rows, flat))
    flat, rows = flat[order], rows[order]
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, flat.size))
    keep = lengths > 1
    if owners is not None and keep.any():
        owned = owners[rows]
        varied = np.minimum.reduceat(owned, starts) != np.maximum.reduceat(owned, starts)
        keep &= varied
    return Buckets(rows, starts[keep], lengths[keep])


def buckets_of(bands: np.ndarray, owners: np.ndarray | None = None) -> list[list[int]]:
    """Rows (by index, ascending) that share a band key: every bucket of two rows or more, sorted.

    With `owners` (one number per row), only the buckets whose rows have more than one owner.
    """
    return bucket_arrays(bands, owners).listed()


def distinct_pairs(a: np.ndarray, b: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (a[k], b[k]) once each (all values below `size`), sorted."""
    keyed = np.sort(a * size + b)
    if keyed.size:
        keyed = keyed[np.concatenate(([True], keyed[1:] != keyed[:-1]))]
    return keyed // size, keyed % size


def candidate_pairs(keys: Sequence[str]) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, of keys whose MinHash signatures share a band: the LSH candidates."""
    pairs: set[tuple[int, int]] = set()
    for bucket in buckets_of(bands_of(band_keys(keys))):
        pairs.update((i, j) for n, i in enumerate(bucket) for j in bucket[n + 1 :])
    return pairs


def link(
    keys: Sequence[str] | Mapping[int, str],
    buckets: Sequence[Sequence[int]],
    finder: UnionFind,
    *,
    threshold: float,
    known: Callable[[int, int], bool] | None = None,
) -> None:
    """Join the keys whose ratio reaches the threshold, among the candidates of each bucket.

    Within a bucket, a key is compared with the members of each component of the bucket other
    than its own, until one verifies: a bucket of n texts that all say the same thing costs n
    comparisons, not n * n. Pairs whose lengths alone rule the threshold out are not compared
    (the Indel ratio is 2 * matches / total length, so the longer key may be at most
    200 / threshold - 1 times the shorter). `known(i, j)` True: the pair was verified before (and,
    if similar, already joined in `finder`), so it is not compared again.
    The components found are those of the graph of verified candidate pairs, whatever the order.
    """
    max_length_ratio = 200 / threshold - 1
    rejected: set[tuple[int, int]] = set()

    def similar(i: int, j: int) -> bool:
        if (i, j) in rejected or (known is not None and known(i, j)):
            return False
        short, long = sorted((len(keys[i]), len(keys[j])))
        if long <= short * max_length_ratio and fuzz.ratio(keys[i], keys[j], score_cutoff=threshold):
            return True
        rejected.add((i, j))
        return False

    for bucket in buckets:
        components: dict[int, list[int]] = {}
        for x in bucket:
            mine = components.pop(finder.find(x), [])
            for root in list(components):
                if any(similar(y, x) for y in components[root]):
                    finder.union(x, root)
                    mine.extend(components.pop(root))
            mine.append(x)
            components[finder.find(x)] = mine


# How the candidate pairs of LSH buckets are verified (verify_buckets): the pairs of buckets of
# at most SMALL_BUCKET texts in one batch at C speed; up to LARGE_BUCKET texts, every pair of
# the bucket as one matrix (quadratic, but at C speed and bounded); beyond, component by
# component (link), which compares a text with the members of each other component until one
# verifies: n comparisons, not n * n, when the bucket's texts all say the same thing.
SMALL_BUCKET = 64
LARGE_BUCKET = 3000


def verify_buckets(
    keys: Sequence[str],
    buckets: Sequence[Sequence[int]] | Buckets,
    finder: UnionFind,
    *,
    threshold: float,
    owners: np.ndarray | None = None,
    known: Callable[[int, int], bool] | None = None,
) -> None:
    """Join in `finder` the candidate pairs of each bucket (ascending indices) that verify.

    `owners` (one number per key): pairs of keys with the same owner were verified before and
    are not compared again in the batch (`known(i, j)` says the same to `link`); comparing one
    again would only cost time. The components found are those of the graph of verified
    candidate pairs, whatever the order or the tier a pair was verified in.
    """
    max_length_ratio = 200 / threshold - 1
    lengths = np.array([len(k) for k in keys], dtype=np.int64)
    firsts, seconds, large = [], [], []
    small: dict[int, list[Sequence[int]]] = defaultdict(list)
    if isinstance(buckets, Buckets):
        # The small buckets straight from the arrays, by size; the others as lists.
        for size in np.unique(buckets.lengths[buckets.lengths <= SMALL_BUCKET]).tolist():
            at = buckets.starts[buckets.lengths == size]
            stacked = buckets.rows[at[:, None] + np.arange(size)]
            rows, cols = np.triu_indices(size, 1)
            firsts.append(stacked[:, rows].reshape(-1))
            seconds.append(stacked[:, cols].reshape(-1))
        buckets = buckets.listed(buckets.lengths > SMALL_BUCKET)
    for bucket in buckets:
        if len(bucket) > LARGE_BUCKET:
            large.append(list(bucket))
        elif len(bucket) > SMALL_BUCKET:
            if len({finder.find(n) for n in bucket}) == 1:
                continue  # joined already (by another bucket)
            nodes = np.asarray(bucket, dtype=np.int64)
            texts = [keys[i] for i in bucket]
            matrix = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=threshold, workers=1)
            rows, cols = np.nonzero(np.triu(matrix >= threshold, 1))
            for i, j in zip(nodes[rows].tolist(), nodes[cols].tolist(), strict=True):
                finder.union(i, j)
        else:
            small[len(bucket)].append(bucket)
    for size, same_size in small.items():  # every pair of every small bucket, by bucket size
        stacked = np.array(same_size, dtype=np.int64)
        rows, cols = np.triu_indices(size, 1)
        firsts.append(stacked[:, rows].reshape(-1))
        seconds.append(stacked[:, cols].reshape(-1))
    if firsts:
        a, b = np.concatenate(firsts), np.concatenate(seconds)
        short, long = np.minimum(lengths[a], lengths[b]), np.maximum(lengths[a], lengths[b])
        wanted = long <= short * max_length_ratio
        if owners is not None:
            wanted &= owners[a] != owners[b]
        a, b = distinct_pairs(a[wanted], b[wanted], len(keys))
        if a.size:
            scores = process.cpdist(
                [keys[i] for i in a.tolist()],
                [keys[j] for j in b.tolist()],
                scorer=fuzz.ratio,
                score_cutoff=threshold,
                workers=1,
            )
            similar = scores >= threshold
            for i, j in zip(a[similar].tolist(), b[similar].tolist(), strict=True):
                finder.union(i, j)
    link(keys, large, finder, threshold=threshold, known=known)


# Above this many distinct texts, a group's lowest similarity is taken over the pairs of each
# text with the group's first text only (at least the true lowest), not over every pair.
EXACT_LOWEST_UP_TO = 1000


def lowest_similarity(keys: Sequence[str]) -> float:
    """The lowest pairwise ratio among a group's keys (C-level all-pairs matrix)."""
    if len(keys) > EXACT_LOWEST_UP_TO:
        return round(min(fuzz.ratio(keys[0], key) for key in keys), 2)
    matrix = process.cdist(keys, keys, scorer=fuzz.ratio, processor=None)
    return round(float(matrix.min()), 2)


def group_items(items: Sequence[Item], *, threshold: float, sketches: Sketches | None = None) -> list[Group]:
    """Exact and near-duplicate groups of items (of two comments or more), whatever their sections.

    Each item is in at most one group. Items with an empty normalised text are never grouped.
    Groups are sorted largest first, then by the position of their first item.
    """
    if not 0 < threshold <= 100:
        raise ValueError("threshold must be above 0 and at most 100")
    position_of = {item.id: n for n, item in enumerate(items)}
    section_of = {item.id: item.section_id for item in items}
    by_text: dict[str, list[int]] = {}
    for item in items:
        text = normalise_text(item.text)
        if text:
            by_text.setdefault(text, []).append(item.id)
    texts = list(by_text)
    keys = [sorted_tokens(t) for t in texts]
    finder = UnionFind(len(texts))
    if len(keys) > 1:
        blocks = (sketches or Sketches()).of(keys)
        verify_buckets(keys, bucket_arrays(bands_of(blocks)), finder, threshold=threshold)

    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        clusters[finder.find(i)].append(i)
    groups = []
    for members in clusters.values():
        ids = tuple(sorted((cid for i in members for cid in by_text[texts[i]]), key=position_of.__getitem__))
        if len(ids) < 2:
            continue
        sections = tuple(dict.fromkeys(section_of[cid] for cid in ids))
        if len(members) == 1:
            groups.append(Group(EXACT, ids, 100.0, sections))
        else:
            groups.append(Group(NEAR, ids, lowest_similarity([keys[i] for i in members]), sections))
    groups.sort(key=lambda g: (-len(g.ids), position_of[g.ids[0]]))
    return groups


def campaigns(items: Sequence[Item], *, threshold: float, sketches: Sketches | None = None) -> list[Group]:
    """Groups over all the items whose comments are on more than one section: a text pasted widely."""
    return [g for g in group_items(items, threshold=threshold, sketches=sketches) if len(g.section_ids) > 1]
