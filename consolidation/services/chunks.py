"""A consolidation run split into chunks of sections, grouped by several Celery tasks, then merged.

`plan_chunks` splits a round's sections into chunks balanced by their comment counts (largest
first onto the lightest chunk). `compute_chunk` groups one chunk's sections exactly as the
one-process run does (consolidation.grouping, section by section) and keeps, for the campaigns
across sections, each distinct text of the chunk: a 64-bit digest, its MinHash block keys (its
LSH bands are made from them) and its component among the chunk's texts (the texts of the
chunk joined by verified candidate pairs).
`join_parts` joins the chunks: texts with the same digest are one text (a node), and the
chunks' components are joined. Only the candidate pairs of texts from different chunks (a shared
band key, found by sorting the band keys with numpy) are then verified, by `cross_links`: once
per share of the LSH bands (`link_bands`), each share by its own link task, which stores the
pairs that joined components (a spanning forest) on a chunk row; `merge_campaigns` unions the
chunks' components and every share's links (verifying here a share that is missing, or all of
them if the parts changed since: `parts_fingerprint`). The groups found are the components of
the same graph the one-process run builds (verified candidate pairs of the round's distinct
texts), so the result is the same; a test compares them.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import F
from django.db.models.expressions import RawSQL

from comments.models import Comment

from .. import grouping
from ..models import ConsolidationChunk
from . import counting

SUBMITTED = Comment.Status.SUBMITTED
PAIR_HASH_SQL = f"hashint8extended({Comment._meta.db_table}.id * 1048576 + {Comment._meta.db_table}.revision, 0)"


def text_of(row: Mapping[str, Any]) -> str:
    """What is compared of a comment: its body and proposed change together."""
    return f"{row['body']}\n{row['proposed_change']}"


def digest(text: str) -> int:
    """A signed 64-bit digest of a normalised text (texts are one node when their digests are equal)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


# --- planning ------------------------------------------------------------------------------


def plan_chunks(section_counts: Mapping[int, int], *, per_chunk: int, max_chunks: int) -> list[list[int]]:
    """Sections split into chunks of about `per_chunk` comments (at most `max_chunks`), balanced.

    Largest section first onto the chunk with the fewest comments so far; each chunk's sections
    are listed in ascending id. Deterministic for the same counts.
    """
    if not section_counts:
        return []
    total = sum(section_counts.values())
    count = max(1, min(len(section_counts), max_chunks, -(-total // max(per_chunk, 1))))
    loads = [0] * count
    chunks: list[list[int]] = [[] for _ in range(count)]
    for section_id, n in sorted(section_counts.items(), key=lambda item: (-item[1], item[0])):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        chunks[lightest].append(section_id)
        loads[lightest] += n
    return [sorted(chunk) for chunk in chunks if chunk]


# --- one chunk -----------------------------------------------------------------------------


@dataclass
class ChunkPart:
    """What one chunk contributes: its sections' groups, what it read, and its texts for the campaigns."""

    section_ids: list[int]
    seen: dict[str, list[int]]  # section id (str, as JSON keys) -> [comments, xor of (id, revision) hashes]
    groups: list[list[Any]]  # [section id, kind, [comment ids], similarity], in section order
    digests: np.ndarray  # int64 (n,): the chunk's distinct normalised texts
    components: np.ndarray  # int64 (n,): each text's component among the chunk's texts (an index)
    blocks: np.ndarray  # int64 (n, grouping.BLOCKS): each text's MinHash block keys
    comment_ids: np.ndarray  # int64 (m,): the chunk's comments with a non-empty text
    comment_texts: np.ndarray  # int64 (m,): index of each comment's text in `digests`
    comment_sections: np.ndarray  # int64 (m,)
    keys: list[str] = field(default_factory=list)  # each text's sorted-token key (what is compared)

    def sketch_bytes(self) -> bytes:
        buffer = io.BytesIO()
        # Keys hold no newline (normalised whitespace is one space): joined, then compressed.
        packed = zlib.compress("\n".join(self.keys).encode(), 1)
        np.savez(
            buffer,
            keys=np.frombuffer(packed, dtype=np.uint8),
            digests=self.digests,
            components=self.components,
            blocks=self.blocks,
            comment_ids=self.comment_ids,
            comment_texts=self.comment_texts,
            comment_sections=self.comment_sections,
        )
        return buffer.getvalue()

    @classmethod
    def from_row(cls, chunk: ConsolidationChunk) -> ChunkPart:
        arrays = np.load(io.BytesIO(bytes(chunk.sketch)))
        joined = zlib.decompress(arrays["keys"].tobytes()).decode()
        return cls(
            section_ids=list(chunk.section_ids),
            seen=dict(chunk.seen),
            groups=list(chunk.groups),
            keys=joined.split("\n") if joined else [],
            # "bands": what a run before the bands were made of two blocks stored (the same keys).
            **{("blocks" if name == "bands" else name): arrays[name] for name in arrays.files if name != "keys"},
        )


def chunk_rows(*, round_id: int, section_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The submitted comments of some sections, in the run's order, with their (id, revision) hash."""
    rows: Iterable[Mapping[str, Any]] = (
        Comment.objects.filter(round_id=round_id, status=SUBMITTED, section_id__in=list(section_ids))
        .annotate(pair_hash=RawSQL(PAIR_HASH_SQL, ()))
        .order_by("section__position", "section_id", F("position_start").asc(nulls_last=True), "created_at", "id")
        .values("id", "section_id", "body", "proposed_change", "pair_hash")
    )
    return [dict(row) for row in rows]


def compute_chunk(*, round_id: int, section_ids: Sequence[int], threshold: float, group_section=None) -> ChunkPart:
    """Group one chunk's sections and sketch its texts. Reads the database, writes nothing.

    `group_section(section_id=, rows=, threshold=, sketches=)` groups one section (the
    aggregation service passes its `duplicate_groups`).
    """
    rows = chunk_rows(round_id=round_id, section_ids=section_ids)
    by_section: dict[int, list[dict[str, Any]]] = {}
    seen: dict[str, list[int]] = {str(s): [0, 0] for s in section_ids}
    for row in rows:
        by_section.setdefault(row["section_id"], []).append(row)
        mine = seen[str(row["section_id"])]
        mine[0] += 1
        mine[1] ^= row["pair_hash"]

    sketches = grouping.Sketches()
    groups: list[list[Any]] = []
    for section_id, section_rows in by_section.items():  # in section order
        for g in group_section(section_id=section_id, rows=section_rows, threshold=threshold, sketches=sketches):
            groups.append([g.section_id, g.kind, list(g.comment_ids), g.similarity])

    # The chunk's distinct texts, in order of first appearance, and its comments' texts.
    index_of: dict[str, int] = {}
    text_of_comment: dict[int, int] = {}
    comment_sections = []
    text_sections: list[set[int]] = []
    for row in rows:
        text = grouping.normalise_text(text_of(row))
        if not text:
            continue
        i = index_of.setdefault(text, len(index_of))
        if i == len(text_sections):
            text_sections.append(set())
        text_sections[i].add(row["section_id"])
        text_of_comment[row["id"]] = i
        comment_sections.append(row["section_id"])
    texts = list(index_of)
    keys = [grouping.sorted_tokens(t) for t in texts]
    blocks = sketches.of(keys)
    finder = grouping.UnionFind(len(texts))
    # Texts joined in a section's near group are connected already; pairs of texts sharing a
    # section were verified there, so only pairs from different sections are compared here.
    for _section_id, kind, ids, _similarity in groups:
        if kind == grouping.NEAR:
            for cid in ids[1:]:
                finder.union(text_of_comment[ids[0]], text_of_comment[cid])
    # A text's first section: two texts with the same one were both in it, and compared there.
    grouping.verify_buckets(
        keys,
        grouping.bucket_arrays(grouping.bands_of(blocks)),
        finder,
        threshold=threshold,
        owners=np.array([min(sections) for sections in text_sections], dtype=np.int64),
        known=lambda i, j: not text_sections[i].isdisjoint(text_sections[j]),
    )
    return ChunkPart(
        section_ids=list(section_ids),
        seen=seen,
        groups=groups,
        digests=np.array([digest(t) for t in texts], dtype=np.int64),
        components=np.array([finder.find(i) for i in range(len(texts))], dtype=np.int64),
        blocks=blocks,
        comment_ids=np.array(list(text_of_comment), dtype=np.int64),
        comment_texts=np.array(list(text_of_comment.values()), dtype=np.int64),
        comment_sections=np.array(comment_sections, dtype=np.int64),
        keys=keys,
    )


# --- merging -------------------------------------------------------------------------------


@dataclass
class Joined:
    """The round's distinct texts (nodes) joined from the chunks' parts, and the chunks' components."""

    digests: np.ndarray  # int64 (nodes,), ascending
    row_node: np.ndarray  # each (chunk, text) row's node
    offsets: np.ndarray  # where each part's rows begin in row_node
    row_chunks: np.ndarray  # each row's chunk (its place in the parts)
    keys: list[str]
    chunks_of: list[set[int]]  # each node's chunks
    edges: np.ndarray  # int64 (k, 2): node pairs joining the chunks' components (a spanning forest)


def join_parts(parts: Sequence[ChunkPart]) -> Joined:
    """The chunks' texts as one set of nodes: texts with the same digest in two chunks are one node."""
    row_digests = np.concatenate([p.digests for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    row_chunks = (
        np.concatenate([np.full(len(p.digests), n, dtype=np.int64) for n, p in enumerate(parts)])
        if parts
        else np.zeros(0, dtype=np.int64)
    )
    unique, row_node = np.unique(row_digests, return_inverse=True)
    offsets = np.cumsum([0] + [len(p.digests) for p in parts])
    chunks_of: list[set[int]] = [set() for _ in range(len(unique))]
    keys: list[str] = [""] * len(unique)
    first, second = [], []
    for n, part in enumerate(parts):
        of_part = row_node[offsets[n] : offsets[n + 1]]
        for local, node in enumerate(of_part.tolist()):
            chunks_of[node].add(n)
            keys[node] = part.keys[local]
        joined = part.components != np.arange(len(part.digests))
        first.append(of_part[joined])
        second.append(of_part[part.components[joined]])
    edges = np.stack([np.concatenate(first), np.concatenate(second)], axis=1) if parts else np.zeros((0, 2), np.int64)
    return Joined(unique, row_node, offsets, row_chunks, keys, chunks_of, edges.astype(np.int64).reshape(-1, 2))


def parts_fingerprint(parts: Sequence[ChunkPart]) -> str:
    """What the cross-chunk links depend on: every part's texts and components, in order."""
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(np.ascontiguousarray(part.digests, dtype=np.int64).tobytes())
        hasher.update(np.ascontiguousarray(part.components, dtype=np.int64).tobytes())
        hasher.update(b"|")
    return hasher.hexdigest()


def link_bands(partition: int, partitions: int) -> list[int]:
    """The LSH bands whose candidates partition `partition` (of `partitions`) verifies."""
    return [band for band in range(grouping.BANDS) if band % partitions == partition]


class _Recording(grouping.UnionFind):
    """A union-find that keeps the unions it made: a spanning forest of what it joined."""

    def __init__(self, size: int):
        super().__init__(size)
        self.made: list[tuple[int, int]] = []

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
            self.made.append((a, b))


def cross_links(joined: Joined, parts: Sequence[ChunkPart], *, threshold: float, bands: Sequence[int]) -> np.ndarray:
    """The verified candidate pairs across chunks found in some LSH bands, as node pairs (k, 2).

    Starts from the chunks' own components; returns the pairs that joined two components (a
    spanning forest of them), so the union of every band's links and the chunks' components
    gives the components of the whole graph. Pairs within a chunk were verified there.
    Small buckets' pairs are verified in one batch at C speed; larger buckets (many texts saying
    nearly the same) as one matrix; the largest component by component (grouping.link).
    """
    size = len(joined.digests)
    finder = _Recording(size)
    for i, j in joined.edges.tolist():
        grouping.UnionFind.union(finder, i, j)
    if size < 2 or not bands:
        return np.zeros((0, 2), dtype=np.int64)
    chunks_of = joined.chunks_of
    # A text's first chunk: two texts with the same one were both in it, and compared there, so
    # only the buckets of texts with different first chunks have pairs to verify here.
    primary = np.array([min(c) for c in chunks_of], dtype=np.int64)
    # A text has the same band keys in every chunk: each node's, from its first row.
    _nodes, first_row = np.unique(joined.row_node, return_index=True)
    node_bands = grouping.bands_of(np.concatenate([p.blocks for p in parts])[first_row], which=bands)
    buckets = grouping.bucket_arrays(node_bands, owners=primary)
    grouping.verify_buckets(
        joined.keys,
        buckets,
        finder,
        threshold=threshold,
        owners=primary,
        known=lambda i, j: not chunks_of[i].isdisjoint(chunks_of[j]),
    )
    return np.array(finder.made, dtype=np.int64).reshape(-1, 2)


def links_bytes(joined: Joined, links: np.ndarray, fingerprint: str) -> bytes:
    """Links stored durably: as digest pairs (node numbers depend on the parts), with what they came from."""
    buffer = io.BytesIO()
    np.savez(buffer, pairs=joined.digests[links], fingerprint=np.array(fingerprint))
    return buffer.getvalue()


def links_from_bytes(data: bytes | memoryview, joined: Joined, fingerprint: str) -> np.ndarray | None:
    """Stored links as node pairs, or None if they were made from other parts than these."""
    if not data:
        return None
    arrays = np.load(io.BytesIO(bytes(data)))
    if str(arrays["fingerprint"]) != fingerprint:
        return None
    pairs = arrays["pairs"].reshape(-1, 2)
    return np.searchsorted(joined.digests, pairs).astype(np.int64)


def merge_campaigns(
    parts: Sequence[ChunkPart],
    *,
    round_id: int,
    threshold: float,
    position_of: Mapping[int, int],
    links: Sequence[np.ndarray | None] = (),
    joined: Joined | None = None,
) -> list[grouping.Group]:
    """The campaigns across sections of the whole round, from the chunks' texts.

    `position_of`: each comment's place in the run's order (section, then passage). `links`: the
    cross-chunk links of each partition of the bands, computed by the link tasks (None: not
    available, verified here); with none given, every band is verified here. The result is what
    grouping.campaigns gives over all the round's comments.
    """
    if not parts:
        return []
    joined = joined or join_parts(parts)
    if joined.digests.size == 0:
        return []
    partitions = max(len(links), 1)
    found = [
        given if given is not None else cross_links(joined, parts, threshold=threshold, bands=link_bands(p, partitions))
        for p, given in enumerate(links or [None])
    ]
    edges = np.concatenate([np.asarray(e, dtype=np.int64).reshape(-1, 2) for e in [joined.edges, *found]])
    labels = grouping.components(len(joined.digests), edges[:, 0], edges[:, 1])
    keys, row_node, offsets = joined.keys, joined.row_node, joined.offsets

    # Each comment's text (a node), id and section, from the chunks.
    comment_node = np.concatenate([row_node[offsets[n] + p.comment_texts] for n, p in enumerate(parts)])
    comment_ids = np.concatenate([p.comment_ids for p in parts])
    comment_sections = np.concatenate([p.comment_sections for p in parts])

    # Components whose comments are on more than one section.
    comment_root = labels[comment_node]
    sections, section_at = np.unique(comment_sections, return_inverse=True)
    spans = np.unique(comment_root * sections.size + section_at) // sections.size  # (component, section) pairs
    roots, spread = np.unique(spans, return_counts=True)
    wide = np.isin(comment_root, roots[spread > 1])
    if not wide.any():
        return []
    # Their comments in the run's order within each component: ids, sections and texts (nodes)
    # in order of first appearance, as grouping.campaigns lists them.
    ids, nodes, in_sections, root = comment_ids[wide], comment_node[wide], comment_sections[wide], comment_root[wide]
    positions = np.array([position_of[cid] for cid in ids.tolist()], dtype=np.int64)
    order = np.lexsort((positions, root))
    ids, nodes, in_sections = ids[order], nodes[order], in_sections[order]
    root, positions = root[order], positions[order]
    starts = np.flatnonzero(np.r_[True, root[1:] != root[:-1]])
    bounds = np.r_[starts, root.size].tolist()
    groups = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        members = tuple(ids[a:b].tolist())
        section_ids = tuple(dict.fromkeys(in_sections[a:b].tolist()))
        texts = list(dict.fromkeys(nodes[a:b].tolist()))
        if len(texts) == 1:
            groups.append((int(positions[a]), grouping.Group(grouping.EXACT, members, 100.0, section_ids)))
        else:
            similarity = grouping.lowest_similarity([keys[n] for n in texts])
            groups.append((int(positions[a]), grouping.Group(grouping.NEAR, members, similarity, section_ids)))
    groups.sort(key=lambda placed: (-len(placed[1].ids), placed[0]))
    return [group for _first, group in groups]


def store_part(chunk: ConsolidationChunk, part: ChunkPart) -> None:
    from django.utils import timezone

    ConsolidationChunk.objects.filter(pk=chunk.pk).update(
        done=True,
        seen=part.seen,
        groups=part.groups,
        sketch=part.sketch_bytes(),
        finished_at=timezone.now(),
    )


def section_fingerprints(*, round_id: int) -> dict[str, list[int]]:
    """Per section of the round: [submitted comments, XOR of their (id, revision) hashes], now."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT section_id, count(*), bit_xor({PAIR_HASH_SQL}) FROM {Comment._meta.db_table} "
            "WHERE round_id = %s AND status = %s GROUP BY section_id",
            [round_id, SUBMITTED],
        )
        return {str(s): [n, x] for s, n, x in cursor.fetchall()}


__all__ = ["ChunkPart", "compute_chunk", "counting", "merge_campaigns", "plan_chunks", "section_fingerprints"]
