"""Incremental consolidation: fold only the comments changed since the latest snapshot into its grouping.

A round's duplicate groups and campaigns are the connected components of one graph: its nodes are
the distinct normalised texts of the round's submitted comments, its edges the pairs of texts that
share an LSH band key and reach the threshold (consolidation.grouping). A section's groups are the
components of that graph restricted to the section's texts; the campaigns are the components over
all the texts whose comments are on more than one section. An edge depends only on its two texts.

So a full run leaves, per round (GroupingState, for its threshold, result schema and method):
each comment's text digest at its revision, each distinct text's key, the LSH band keys of the
texts (one sorted array of (band key, text), bisected with numpy: services.band_index), and every
verified similar pair of those texts, all of them (not a spanning forest: a section's groups need
the edges among its own texts). `remember` writes that state after a full run
(aggregation.consolidation_remember, a task of its own once the snapshot is written, while no
comment has changed since), from the chunks' parts (their texts are sketched already) and its
groups: two similar texts are always in one group of the result (a section's or a campaign), so
only the candidate pairs inside the groups are verified there.
`compute` makes a later run from it:

1. counts by SQL, as a full run (services.counting), on a second connection in the snapshot's
   exported snapshot while the next steps run (counting.counts_alongside);
2. one query joins the round's submitted comments with the stored (id, revision): only the
   comments whose revision changed, or that are new, have their body read and normalised;
3. their texts not stored yet are sketched, their candidates found in the band index (and
   among the texts added since the full run), and only those pairs verified;
4. the groups are rebuilt from the stored pairs of the texts present (scipy's connected
   components, per section and over the round), in the run's order; a near group's lowest
   similarity is reused when the group has the same texts as one of the previous snapshot;
5. the state is brought up to date in the snapshot's transaction.

The result is what a full run gives: same graph, same components, same order, same similarities;
tests/consolidation/test_incremental.py compares it with `compute_consolidation`. PostgreSQL only
(COPY, arrays): elsewhere no state is kept and every run is full.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from rapidfuzz import fuzz, process

from comments.models import Comment
from consultations.models import Section

from .. import grouping
from ..models import GroupingPair, GroupingState, GroupingText
from . import band_index, counting
from . import chunks as chunking

SUBMITTED = Comment.Status.SUBMITTED
# What the stored band keys and pairs depend on besides the threshold: a change here, or in
# consolidation.grouping's sketch, must make the next run full.
# (At most 40 characters: "bands 2x" names bands of two blocks, paired as grouping.PAIRINGS says.)
METHOD = (
    f"rensa 0.5.0 {grouping.SHINGLE}/{grouping.ROWS}x{grouping.BLOCKS}/{grouping.SEED} "
    f"bands 2x{len(grouping.PAIRINGS)} ratio v1"
)
# More verified similar pairs than this (thousands of texts all alike): no state is kept, and the
# next run is full (storing and reading them would cost more than grouping again).
MAX_PAIRS = 5_000_000
# More candidate pairs than this in a full run: no state is kept either (a bucket of tens of
# thousands of texts sharing a band key would make hundreds of millions).
MAX_CANDIDATES = 50_000_000
VERIFY_BATCH = 200_000
SMALL_BUCKET = 64
NULL = r"\N"


# pg_advisory_xact_lock's first key for a round's state: its writers (a full run's remember task, an
# incremental run's fold) take it, one at a time per round.
LOCK_NAMESPACE = 0x6773  # "gs"


def lock_state(cursor, *, round_id: int) -> None:
    """Wait for, then hold until the transaction ends, the round's state (PostgreSQL)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, round_id % 2_147_483_647])


class TooManyPairs(Exception):
    """The texts of a round share band keys too widely for their pairs to be stored."""


class StateUnusable(Exception):
    """The state's band index is missing or of an older layout: the run is full."""


EMPTY = np.zeros(0, dtype=np.int64)


def _tables() -> dict[str, str]:
    return {
        "comment": Comment._meta.db_table,
        "text": GroupingText._meta.db_table,
        "pair": GroupingPair._meta.db_table,
        "state": GroupingState._meta.db_table,
    }


def usable(*, round_id: int, threshold: float, schema: int) -> bool:
    """A state that an incremental run of this round may start from (same threshold, schema, method)."""
    return (
        connection.vendor == "postgresql"
        and GroupingState.objects.filter(
            round_id=round_id, threshold=threshold, schema=schema, method=METHOD, run__isnull=False
        ).exists()
    )


def forget(*, round_id: int) -> None:
    """Drop a round's state (its rows by SQL: there may be a hundred thousand)."""
    state_id = GroupingState.objects.filter(round_id=round_id).values_list("pk", flat=True).first()
    if state_id is None:
        return
    tables = _tables()
    with connection.cursor() as cursor:
        for table in ("text", "pair"):
            cursor.execute(f"DELETE FROM {tables[table]} WHERE state_id = %s", [state_id])
        cursor.execute(f"DELETE FROM {tables['state']} WHERE id = %s", [state_id])


# --- candidate pairs and verification ----------------------------------------------------------


def shared_band_pairs(bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (a, b), a < b, of rows sharing a band key, once: the LSH candidates of grouping.buckets_of.

    Any equal key counts, whichever its band, as there.
    """
    count = bands.shape[0]
    if count < 2:
        return EMPTY, EMPTY
    flat = bands.reshape(-1)
    rows = np.repeat(np.arange(count, dtype=np.int64), bands.shape[1])
    order = np.lexsort((rows, flat))
    flat, rows = flat[order], rows[order]
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, flat.size))
    keep = lengths > 1
    starts, lengths = starts[keep], lengths[keep]
    if int((lengths * (lengths - 1) // 2).sum()) > MAX_CANDIDATES:
        raise TooManyPairs
    firsts, seconds = [], []
    small = lengths <= SMALL_BUCKET
    if small.any():
        # Positions in the small buckets, with their place in the bucket and the bucket's length.
        s_starts, s_lengths = starts[small], lengths[small]
        positions = np.repeat(s_starts, s_lengths) + (
            np.arange(int(s_lengths.sum())) - np.repeat(np.cumsum(s_lengths) - s_lengths, s_lengths)
        )
        place = positions - np.repeat(s_starts, s_lengths)
        length = np.repeat(s_lengths, s_lengths)
        for step in range(1, int(s_lengths.max())):
            here = positions[place + step < length]
            firsts.append(rows[here])
            seconds.append(rows[here + step])
    for start, length in zip(starts[~small].tolist(), lengths[~small].tolist(), strict=True):
        members = rows[start : start + length]
        i, j = np.triu_indices(length, 1)
        firsts.append(members[i])
        seconds.append(members[j])
    if not firsts:
        return EMPTY, EMPTY
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    wanted = a != b
    a, b = np.minimum(a[wanted], b[wanted]), np.maximum(a[wanted], b[wanted])
    return grouping.distinct_pairs(a, b, count)


def verified(keys: Sequence[str], a: np.ndarray, b: np.ndarray, *, threshold: float) -> np.ndarray:
    """Which pairs of keys reach the threshold (as grouping.link decides it), a boolean array."""
    similar = np.zeros(a.size, dtype=bool)
    if not a.size:
        return similar
    lengths = np.array([len(k) for k in keys], dtype=np.int64)
    short, long = np.minimum(lengths[a], lengths[b]), np.maximum(lengths[a], lengths[b])
    possible = np.flatnonzero(long <= short * (200 / threshold - 1))
    for start in range(0, possible.size, VERIFY_BATCH):
        batch = possible[start : start + VERIFY_BATCH]
        scores = process.cpdist(
            [keys[i] for i in a[batch].tolist()],
            [keys[j] for j in b[batch].tolist()],
            scorer=fuzz.ratio,
            score_cutoff=threshold,
            workers=1,
        )
        similar[batch] = scores >= threshold
    return similar


# --- lowest similarities, reused -----------------------------------------------------------


def _similarity_key(texts: Sequence[int]) -> bytes:
    """A near group's texts (digests, in order of first appearance): what its lowest similarity depends on.

    Up to grouping.EXACT_LOWEST_UP_TO texts, the set; beyond, also the first text (the lowest is
    then taken over the pairs with the first). 24 bytes: the first text or 8 zero bytes, then a
    16-byte hash of the sorted texts.
    """
    hashed = hashlib.blake2b(np.sort(np.array(texts, dtype=np.int64)).tobytes(), digest_size=16).digest()
    return _first_of(texts[0], len(texts)) + hashed


def _first_of(first: int, count: int) -> bytes:
    return first.to_bytes(8, "little", signed=True) if count > grouping.EXACT_LOWEST_UP_TO else bytes(8)


# GroupingState.similarities: one record per near group, its key and its lowest similarity.
SIMILARITY_RECORD = np.dtype([("key", "V24"), ("similarity", "<f8")])


def pack_similarities(similarities: dict[bytes, float]) -> bytes:
    records = np.zeros(len(similarities), dtype=SIMILARITY_RECORD)
    records["key"] = list(similarities)
    records["similarity"] = list(similarities.values())
    return records.tobytes()


def unpack_similarities(packed: bytes | memoryview) -> dict[bytes, float]:
    records = np.frombuffer(packed, dtype=SIMILARITY_RECORD)
    return dict(zip(records["key"].tolist(), records["similarity"].tolist(), strict=True))


# A comment as the state holds it: its id, its revision and its text's digest (0 and `text` false:
# an empty text). Sorted by id.
COMMENT_RECORD = np.dtype([("id", "<i8"), ("revision", "<i4"), ("digest", "<i8"), ("text", "?")])


def pack_comments(ids: np.ndarray, revisions: np.ndarray, digests: np.ndarray, has_text: np.ndarray) -> bytes:
    records = np.empty(ids.size, dtype=COMMENT_RECORD)
    order = np.argsort(ids, kind="stable")
    records["id"], records["revision"] = ids[order], revisions[order]
    records["digest"], records["text"] = np.where(has_text[order], digests[order], 0), has_text[order]
    return records.tobytes()


def unpack_comments(packed: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(packed, dtype=COMMENT_RECORD)


def _texts_in_order(comment_ids: Iterable[int], digest_of: dict[int, int]) -> list[int]:
    return list(dict.fromkeys(digest_of[c] for c in comment_ids))


# --- writing the state ---------------------------------------------------------------------


def _copy(table: str, columns: str, lines: Iterable[str]) -> None:
    buffer = io.StringIO()
    buffer.writelines(lines)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def _copy_texts(state_id: int, digests: Sequence[int], keys: Sequence[str], blocks: np.ndarray | None) -> None:
    # Normalised keys hold no tab, newline or backslash (whitespace is one space, punctuation
    # dropped); the backslash is escaped anyway, as COPY's text format wants. The column `bands`
    # holds a text's block keys (its bands are made from them), for texts added after a full run.
    rows = blocks.tolist() if blocks is not None else [[]] * len(keys)
    _copy(
        _tables()["text"],
        "state_id, digest, key, bands",
        (
            f"{state_id}\t{d}\t{k.replace(chr(92), chr(92) * 2)}\t{{{','.join(map(str, row))}}}\n"
            for d, k, row in zip(digests, keys, rows, strict=True)
        ),
    )


def _copy_pairs(state_id: int, first: np.ndarray, second: np.ndarray) -> None:
    _copy(
        _tables()["pair"],
        "state_id, first, second",
        (f"{state_id}\t{a}\t{b}\n" for a, b in zip(first.tolist(), second.tolist(), strict=True)),
    )


def _near_similarities(computed: Any, digest_of: dict[int, int]) -> dict[bytes, float]:
    """The lowest similarity of each near group (sections and campaigns) of a result, by its texts."""
    found = {}
    for g in computed.groups:
        if g.kind == grouping.NEAR:
            found[_similarity_key(_texts_in_order(g.comment_ids, digest_of))] = g.similarity
    for c in computed.campaigns:
        if c["kind"] == grouping.NEAR:
            found[_similarity_key(_texts_in_order(c["comment_ids"], digest_of))] = c["similarity"]
    return found


def remember(
    *,
    round_id: int,
    run_id: int,
    threshold: float,
    schema: int,
    parts: Sequence[chunking.ChunkPart],
    computed: Any,
) -> None:
    """After a full run, in its snapshot's transaction: keep what the next incremental run needs.

    The texts, keys and block keys come from the chunks' parts (sketched already); every candidate
    pair of distinct texts is verified here, in C batches.
    """
    forget(round_id=round_id)
    if connection.vendor != "postgresql":
        return
    row_digests = np.concatenate([p.digests for p in parts]) if parts else EMPTY
    row_keys = [k for p in parts for k in p.keys]
    row_blocks = np.concatenate([p.blocks for p in parts]) if parts else np.zeros((0, grouping.BLOCKS), np.int64)
    unique, first = np.unique(row_digests, return_index=True)
    keys = [row_keys[i] for i in first.tolist()]
    blocks = row_blocks[first]
    bands = grouping.bands_of(blocks)
    digest_of: dict[int, int] = {}
    offset = 0
    for part in parts:
        digest_of.update(zip(part.comment_ids.tolist(), row_digests[offset + part.comment_texts].tolist(), strict=True))
        offset += len(part.digests)
    try:
        a, b = _similar_pairs(computed, digest_of, unique, keys, bands, threshold=threshold)
    except TooManyPairs:
        return
    ids, revisions = _columns(REVISIONS_SQL.format(**_tables()), [round_id, SUBMITTED])
    with_text = np.fromiter(digest_of.keys(), dtype=np.int64, count=len(digest_of))
    their_digests = np.fromiter(digest_of.values(), dtype=np.int64, count=len(digest_of))
    by_id = np.argsort(with_text)
    at = (
        by_id[np.minimum(np.searchsorted(with_text, ids, sorter=by_id), max(with_text.size - 1, 0))]
        if with_text.size
        else ids
    )
    has_text = with_text[at] == ids if with_text.size else np.zeros(ids.size, dtype=bool)
    digests = np.where(has_text, their_digests[at] if with_text.size else 0, 0)
    state = GroupingState.objects.create(
        round_id=round_id,
        run_id=run_id,
        threshold=threshold,
        schema=schema,
        method=METHOD,
        similarities=pack_similarities(_near_similarities(computed, digest_of)),
        comments=pack_comments(ids, revisions, digests, has_text),
    )
    band_index.store(_tables()["state"], state.pk, band_index.BandIndex.build(unique, blocks, bands), keys)
    _copy_texts(state.pk, unique.tolist(), keys, None)  # their band keys are in the state's band index
    _copy_pairs(state.pk, unique[a], unique[b])


def _similar_pairs(
    computed: Any,
    digest_of: dict[int, int],
    unique: np.ndarray,
    keys: Sequence[str],
    bands: np.ndarray,
    *,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Every verified similar pair of a full run's texts (indexes into `unique`), without verifying them all.

    Two similar texts (an edge) are in one component of the round's graph, and every component
    of two texts or more is a group of the result: a campaign if its comments are on several
    sections, else a group of its one section. So only the candidate pairs of texts in one group
    (sections' groups and campaigns joined) are verified: a few, not all the round's candidates.
    """
    first, second = [], []
    for texts in _group_texts(computed, digest_of):
        nodes = np.searchsorted(unique, np.array(texts, dtype=np.int64))
        first.append(nodes[:-1])
        second.append(nodes[1:])
    if not first:
        return EMPTY, EMPTY
    labels = grouping.components(unique.size, np.concatenate(first), np.concatenate(second))
    sizes = np.bincount(labels)
    grouped = np.flatnonzero(sizes[labels] > 1)
    a, b = shared_band_pairs(bands[grouped])
    a, b = grouped[a], grouped[b]
    same = labels[a] == labels[b]
    a, b = a[same], b[same]
    similar = verified(keys, a, b, threshold=threshold)
    if int(similar.sum()) > MAX_PAIRS:
        raise TooManyPairs
    return a[similar], b[similar]


def _group_texts(computed: Any, digest_of: dict[int, int]) -> Iterator[list[int]]:
    """The texts (digests) of each group of a result with two texts or more: sections' and campaigns."""
    for g in computed.groups:
        if g.kind == grouping.NEAR:
            yield _texts_in_order(g.comment_ids, digest_of)
    for c in computed.campaigns:
        if c["kind"] == grouping.NEAR:
            yield _texts_in_order(c["comment_ids"], digest_of)


# --- an incremental run --------------------------------------------------------------------


@dataclass
class Folded:
    """An incremental run's result before assembly: SQL counts, section groups and campaigns."""

    counted: counting.RoundCounts
    groups: list[tuple[int, str, tuple[int, ...], float]] = field(default_factory=list)
    campaigns: list[grouping.Group] = field(default_factory=list)
    listed: np.ndarray = field(default_factory=lambda: EMPTY)  # the sections' comment ids, in the run's order


# The round's submitted comments against the stored (id, revision, digest), with what orders
# them in their section (clause and passage order: position, NULLs last, then time and id), as
# columns: each one array in binary (`_columns`), so that a million rows never become Python
# objects. A stored revision of -1: no row (a new comment). No position reaches 2**31 - 1.
# Two columns carry two or three values each (every array_agg cost 20-30 ms at 100,000
# comments): the section and the revision, and the stored revision + 1, whether the stored
# digest is NULL and the position (`_current`). Ids, revisions and positions fit in 31 bits;
# PostgreSQL's << and | share one precedence, hence the parentheses.
CURRENT_SQL = """
SELECT array_send(array_agg(c.id)),
       array_send(array_agg((c.section_id::bigint << 32) | c.revision)),
       array_send(array_agg(COALESCE(c.position_start, 2147483647))),
       array_send(array_agg(c.created_at))
FROM {comment} c WHERE c.round_id = %s AND c.status = %s
"""
REVISIONS_SQL = (
    "SELECT array_send(array_agg(id)), array_send(array_agg(revision)) FROM {comment}"
    " WHERE round_id = %s AND status = %s"
)
PAIRS_SQL = "SELECT array_send(array_agg(first)), array_send(array_agg(second)) FROM {pair} WHERE state_id = %s"
# The element types array_send may give here, by type oid: int8, int4, bool, timestamptz (int8 microseconds).
ELEMENTS = {20: ">i8", 23: ">i4", 16: "?", 1184: ">i8"}


def _array(data: bytes | None) -> np.ndarray:
    """A one-dimensional array without NULLs in PostgreSQL's binary format, as a numpy array."""
    if data is None:
        return EMPTY
    dimensions, has_null, oid = struct.unpack_from(">iii", data, 0)
    if dimensions == 0:
        return EMPTY
    if dimensions != 1 or has_null:
        raise ValueError("expected one dimension and no NULL")
    (size,) = struct.unpack_from(">i", data, 12)
    items = np.frombuffer(data, dtype=[("length", ">i4"), ("value", ELEMENTS[oid])], count=size, offset=20)
    return items["value"].astype(ELEMENTS[oid].replace(">", "="))


def _columns(sql: str, params: Sequence[Any]) -> list[np.ndarray]:
    """The one row of a query of `array_send(array_agg(...))` values, each one as a numpy array."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # binary results: the bytes as they are
        cursor.execute(sql, params, binary=True)
        row = cursor.fetchone()
    return [_array(None if value is None else bytes(value)) for value in row or ()]


def _current(columns: list[np.ndarray], stored: np.ndarray) -> tuple[np.ndarray, ...]:
    """CURRENT_SQL's columns against the state's comments (unpack_comments): ids, section ids,
    revisions, stored revisions (-1: not in the state), stored digests, whether the stored text is
    empty, positions and creation times."""
    ids, section_revision, positions, created = columns
    at = np.minimum(np.searchsorted(stored["id"], ids), max(stored.size - 1, 0))
    found = stored["id"][at] == ids if stored.size else np.zeros(ids.size, dtype=bool)
    return (
        ids,
        section_revision >> 32,
        section_revision & 0xFFFFFFFF,
        np.where(found, stored["revision"][at] if stored.size else -1, -1),
        np.where(found, stored["digest"][at] if stored.size else 0, 0),
        ~(found & (stored["text"][at] if stored.size else False)),
        positions,
        created,
    )


@dataclass(frozen=True)
class StoredTexts:
    """The state's texts: the full run's, in its band index, and those added since (their block
    keys in their GroupingText rows), indexed the same way."""

    index: band_index.BandIndex
    since: band_index.BandIndex | None

    @classmethod
    def of(cls, state: GroupingState) -> StoredTexts:
        index = band_index.load(_tables()["state"], state.pk)
        if index is None:
            raise StateUnusable
        # By the ORM: its condition is the partial index grouping_texts_added's, word for word.
        added = list(
            GroupingText.objects.filter(state_id=state.pk, bands__len__gt=0).values_list("digest", "bands").order_by()
        )
        since = None
        if added:
            blocks = np.array([b for _d, b in added], dtype=np.int64).reshape(-1, grouping.BLOCKS)
            digests = np.array([d for d, _b in added], dtype=np.int64)
            since = band_index.BandIndex.of(band_index.BandIndex.build(digests, blocks, grouping.bands_of(blocks)))
        return cls(index, since)

    def holds(self, digests: np.ndarray) -> np.ndarray:
        """Which of these texts the state has (a boolean array)."""
        known = self.index.digests  # ascending: the full run's np.unique
        at = np.minimum(np.searchsorted(known, digests), max(known.size - 1, 0))
        found = known[at] == digests if known.size else np.zeros(digests.size, dtype=bool)
        return found | np.isin(digests, self.since.digests) if self.since is not None else found

    def keys_of(self, state: GroupingState, digests: Sequence[int]) -> dict[int, str]:
        """The sorted-token keys of stored texts: from this machine's keys file where it has them."""
        found: dict[int, str] = {}
        asked = np.unique(np.asarray(digests, dtype=np.int64))
        known, text_keys = self.index.digests, self.index.text_keys
        if text_keys is not None and asked.size and known.size:
            at = np.minimum(np.searchsorted(known, asked), known.size - 1)
            here = known[at] == asked
            found = dict(zip(asked[here].tolist(), text_keys.at(at[here].tolist()), strict=True))
        rest = [d for d in asked.tolist() if d not in found]
        if rest:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT digest, key FROM {_tables()['text']} WHERE state_id = %s AND digest = ANY(%s::bigint[])",
                    [state.pk, rest],
                )
                found.update(cursor.fetchall())
        return found

    def candidates(self, bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of `bands`, stored text digest) for each stored text sharing a band key with a
        row: exactly a full run's candidates."""
        rows, places = self.index.candidates(bands)
        digests = self.index.digests[places]
        if self.since is not None:
            more_rows, more_places = self.since.candidates(bands)
            rows = np.concatenate([rows, more_rows])
            digests = np.concatenate([digests, self.since.digests[more_places]])
        return rows, digests


def _new_pairs(
    state: GroupingState,
    stored_texts: StoredTexts,
    digests: Sequence[int],
    keys: Sequence[str],
    bands: np.ndarray,
    *,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The verified similar pairs (digests) of new texts with each other and with the stored texts."""
    fresh = np.array(digests, dtype=np.int64)
    a, b = shared_band_pairs(bands)
    similar = verified(keys, a, b, threshold=threshold)
    firsts, seconds = [fresh[a[similar]]], [fresh[b[similar]]]

    new_rows, stored = stored_texts.candidates(bands)
    if stored.size:
        stored_digests, stored_index = np.unique(stored, return_inverse=True)
        key_of = stored_texts.keys_of(state, stored_digests.tolist())
        all_keys = list(keys) + [key_of[d] for d in stored_digests.tolist()]
        a, b = grouping.distinct_pairs(new_rows, stored_index + len(keys), len(all_keys))
        similar = verified(all_keys, a, b, threshold=threshold)
        firsts.append(fresh[a[similar]])
        seconds.append(stored_digests[b[similar] - len(keys)])
    return np.concatenate(firsts), np.concatenate(seconds)


@dataclass
class _Shaped:
    """The groups of one labelling of the comments (per section, or campaigns over the round), as
    arrays: largest first, then by the place of their first comment, as a full run orders them.

    Every comment is an index in the run's order; `flat` holds the groups' comments one group
    after the other (in the run's order within each), `bounds` where each group starts and ends.
    A group's texts are its distinct texts in order of first appearance (`text_nodes`, indexes
    into the round's `present` digests, also one group after the other, `text_bounds`).
    """

    campaign: bool
    flat: np.ndarray
    bounds: np.ndarray
    firsts: np.ndarray
    sizes: np.ndarray
    text_nodes: np.ndarray
    text_bounds: np.ndarray
    comment_sections: np.ndarray
    keys: dict[int, bytes] = field(default_factory=dict)  # near groups' similarity keys, by group

    @classmethod
    def of(
        cls,
        labels: np.ndarray,
        campaign: bool,
        *,
        comment_nodes: np.ndarray,
        comment_sections: np.ndarray,
        present: np.ndarray,
    ) -> _Shaped:
        order = np.argsort(labels, kind="stable")  # comments are in the run's order already
        ordered = labels[order]
        cuts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1], [True])))
        starts, ends = cuts[:-1], cuts[1:]
        keep = ends - starts >= 2
        if campaign and starts.size:  # a component on one section only is that section's group
            in_order = comment_sections[order]
            keep &= np.minimum.reduceat(in_order, starts) != np.maximum.reduceat(in_order, starts)
        starts, sizes = starts[keep], (ends - starts)[keep]
        # Largest first, then by the place of the first comment (the smallest index: the first).
        firsts = order[starts]
        ranked = np.lexsort((firsts, -sizes))
        starts, sizes, firsts = starts[ranked], sizes[ranked], firsts[ranked]
        flat = order[_ranges(starts, sizes)]
        bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        # Each group's distinct texts in order of first appearance: the first place of each
        # (group, text), in place order.
        group_of = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
        nodes = comment_nodes[flat]
        _, first_places = np.unique(group_of * max(present.size, 1) + nodes, return_index=True)
        first_places.sort()
        text_counts = np.bincount(group_of[first_places], minlength=sizes.size)
        text_bounds = np.concatenate(([0], np.cumsum(text_counts))).astype(np.int64)
        return cls(campaign, flat, bounds, firsts, sizes, nodes[first_places], text_bounds, comment_sections)

    def texts_of(self, group: int, present: np.ndarray) -> list[int]:
        """A group's distinct texts (digests) in order of first appearance."""
        return present[self.text_nodes[self.text_bounds[group] : self.text_bounds[group + 1]]].tolist()

    def similarity_keys(self, present: np.ndarray) -> dict[int, bytes]:
        """The near groups' (two texts or more) similarity keys, as `_similarity_key` makes them."""
        counts = np.diff(self.text_bounds)
        near = np.flatnonzero(counts > 1)
        if not near.size:
            return {}
        # Each near group's digests sorted, one group after the other, as bytes.
        places = _ranges(self.text_bounds[near], counts[near])
        digests = present[self.text_nodes[places]]
        owner = np.repeat(np.arange(near.size), counts[near])
        packed = np.ascontiguousarray(digests[np.lexsort((digests, owner))], dtype=np.int64).tobytes()
        ends = (np.cumsum(counts[near]) * 8).tolist()
        firsts = present[self.text_nodes[self.text_bounds[near]]].tolist()
        keys: dict[int, bytes] = {}
        start = 0
        for group, end, count, first in zip(near.tolist(), ends, counts[near].tolist(), firsts, strict=True):
            keys[group] = _first_of(first, count) + hashlib.blake2b(packed[start:end], digest_size=16).digest()
            start = end
        return keys

    def members(self, comment_ids: np.ndarray) -> list[tuple[int, ...]]:
        """Each group's comment ids, in the run's order."""
        ids, bounds = comment_ids[self.flat].tolist(), self.bounds.tolist()
        return [tuple(ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def spreads(self) -> list[list[int]]:
        """Each group's sections (indexes into the run's sections) in order of first appearance."""
        group_of = np.repeat(np.arange(self.sizes.size, dtype=np.int64), self.sizes)
        places = self.comment_sections[self.flat]
        width = int(places.max()) + 1 if places.size else 1
        _, first_places = np.unique(group_of * width + places, return_index=True)
        first_places.sort()
        counts = np.bincount(group_of[first_places], minlength=self.sizes.size)
        spread, bounds = places[first_places].tolist(), np.concatenate(([0], np.cumsum(counts))).tolist()
        return [spread[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """start, start + 1, ..., start + length - 1 for each (start, length), one after the other."""
    lengths = lengths.astype(np.int64)
    total = int(lengths.sum())
    return np.repeat(starts.astype(np.int64), lengths) + (
        np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )


def compute(*, engagement_round: Any, run_id: int, threshold: float, schema: int) -> Folded | None:
    """The run's groups and campaigns from the stored state and the comments changed since; None: no state.

    Call it inside the snapshot's transaction: it reads one moment and brings the state to it.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        lock_state(cursor, round_id=engagement_round.pk)
    state = (
        GroupingState.objects.filter(
            round_id=engagement_round.pk, threshold=threshold, schema=schema, method=METHOD, run__isnull=False
        )
        .defer("band_index")
        .first()
    )
    if state is None:
        return None
    tables = _tables()
    # The counts are taken on a second connection in this transaction's snapshot while this one
    # reads the comments and groups them (counting.counts_alongside).
    take_counts = counting.counts_alongside(
        round_id=engagement_round.pk, consultation_id=engagement_round.consultation_id
    )

    # 1. The comments now, against the stored (id, revision): read only the changed ones' texts.
    ids, section_ids, revisions, stored_revisions, digests, no_text, positions, created = _current(
        _columns(CURRENT_SQL.format(**tables), [engagement_round.pk, SUBMITTED]), unpack_comments(state.comments)
    )
    # In the run's order: sections in reading order (as the counts list them), then clause and
    # passage order within each.
    listed_sections = np.array(
        Section.objects.filter(pk__in=np.unique(section_ids).tolist())
        .order_by("position", "id")
        .values_list("id", flat=True),
        dtype=np.int64,
    )
    by_id = np.argsort(listed_sections)
    rank = by_id[np.searchsorted(listed_sections, section_ids, sorter=by_id)] if ids.size else EMPTY
    order = np.lexsort((ids, created, positions, rank))
    ids, section_ids, revisions = ids[order], section_ids[order], revisions[order]
    stored_revisions, digests, has_text = stored_revisions[order], digests[order], ~no_text[order]
    section_ends = np.cumsum(np.bincount(rank, minlength=listed_sections.size))

    def folded(ids: np.ndarray = ids, section_ends: np.ndarray = section_ends) -> Folded:
        counted = take_counts()
        if [section["id"] for section in counted.sections] != listed_sections.tolist():
            raise AssertionError("the counts and the comments were read from different moments")
        shares = np.split(ids, section_ends[:-1]) if listed_sections.size else []
        for section, share in zip(counted.sections, shares, strict=True):
            section["comment_ids"] = share
        return Folded(counted=counted, listed=ids)

    if not ids.size:
        _save(state, run_id, b"", {}, [], [], np.zeros((0, grouping.BLOCKS), np.int64), EMPTY, EMPTY)
        return folded()

    changed_at = np.flatnonzero(revisions != stored_revisions)
    place_of = dict(zip(ids[changed_at].tolist(), changed_at.tolist(), strict=True))
    new_texts: dict[int, str] = {}  # digest -> key, of the changed comments' texts
    rows = (
        Comment.objects.filter(pk__in=list(place_of))
        .order_by("id")
        .values("id", "body", "proposed_change")
        .iterator(chunk_size=2000)
    )
    for row in rows:
        text = grouping.normalise_text(chunking.text_of(row))
        place = place_of[row["id"]]
        has_text[place] = bool(text)
        digest = chunking.digest(text) if text else 0
        digests[place] = digest
        if text and digest not in new_texts:
            new_texts[digest] = grouping.sorted_tokens(text)

    def now_packed() -> bytes:
        """The comments as this snapshot has them, for the next run."""
        return pack_comments(ids, revisions, digests, has_text)

    # 2. Texts never seen: sketch them, find their candidates in the band index, verify those pairs.
    fresh_digests: list[int] = []
    stored_texts: StoredTexts | None = None
    if new_texts:
        try:
            stored_texts = StoredTexts.of(state)
        except StateUnusable:
            return None
        asked = np.array(list(new_texts), dtype=np.int64)
        fresh_digests = asked[~stored_texts.holds(asked)].tolist()
    fresh_keys = [new_texts[d] for d in fresh_digests]
    fresh_blocks = grouping.band_keys(fresh_keys)
    new_first, new_second = EMPTY, EMPTY
    if fresh_digests and stored_texts is not None:
        new_first, new_second = _new_pairs(
            state, stored_texts, fresh_digests, fresh_keys, grouping.bands_of(fresh_blocks), threshold=threshold
        )

    # 3. The graph of the texts present: stored pairs and the new ones.
    stored_first, stored_second = _columns(PAIRS_SQL.format(**tables), [state.pk])
    first = np.concatenate([stored_first, new_first])
    second = np.concatenate([stored_second, new_second])

    if not has_text.any():
        _save(state, run_id, now_packed(), {}, fresh_digests, fresh_keys, fresh_blocks, new_first, new_second)
        return folded()
    comment_ids, comment_digests = ids[has_text], digests[has_text]  # in the run's order
    sections, comment_sections = np.unique(section_ids[has_text], return_inverse=True)
    present, comment_nodes = np.unique(comment_digests, return_inverse=True)
    ia = np.minimum(np.searchsorted(present, first), max(present.size - 1, 0))
    ib = np.minimum(np.searchsorted(present, second), max(present.size - 1, 0))
    live = (present[ia] == first) & (present[ib] == second) if present.size else np.zeros(first.size, bool)
    ia, ib = ia[live], ib[live]

    # Per section: the nodes are (text, section) memberships; an edge joins two texts' memberships
    # of every section that holds both.
    width = max(int(sections.size), 1)
    member_keys = comment_nodes * width + comment_sections
    members, comment_members = np.unique(member_keys, return_inverse=True)
    member_nodes = members // width
    starts = np.searchsorted(member_nodes, ia, side="left")
    counts = np.searchsorted(member_nodes, ia, side="right") - starts
    edge = np.repeat(np.arange(ia.size), counts)
    at = np.repeat(starts, counts) + (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
    other = ib[edge] * width + members[at] % width
    where = np.minimum(np.searchsorted(members, other), members.size - 1)
    shared = members[where] == other
    section_labels = grouping.components(members.size, at[shared], where[shared])[comment_members]
    round_labels = grouping.components(present.size, ia, ib)[comment_nodes]

    # 4. The groups, in the run's order; lowest similarities reused when a group's texts are known.
    previous = unpack_similarities(state.similarities)
    similarities: dict[bytes, float] = {}
    wanted_keys: dict[int, str] = dict(zip(fresh_digests, fresh_keys, strict=True))
    shaped = [
        _Shaped.of(labels, campaign, comment_nodes=comment_nodes, comment_sections=comment_sections, present=present)
        for labels, campaign in ((section_labels, False), (round_labels, True))
    ]
    missing: set[int] = set()
    for shape in shaped:
        shape.keys = shape.similarity_keys(present)
        for group, key in shape.keys.items():
            if key not in previous:
                missing.update(t for t in shape.texts_of(group, present) if t not in wanted_keys)
    if missing:
        try:
            stored_texts = stored_texts or StoredTexts.of(state)
        except StateUnusable:
            return None
        wanted_keys.update(stored_texts.keys_of(state, sorted(missing)))

    section_groups: list[tuple[int, str, tuple[int, ...], float]] = []
    campaigns: list[grouping.Group] = []
    sections_at = sections.tolist()
    for shape in shaped:
        sizes, members = shape.sizes.tolist(), shape.members(comment_ids)
        kinds: list[grouping.Kind] = [grouping.EXACT] * len(sizes)
        similarity_at = [100.0] * len(sizes)
        for group, key in shape.keys.items():
            known = previous.get(key)
            if known is None:
                known = grouping.lowest_similarity([wanted_keys[t] for t in shape.texts_of(group, present)])
            kinds[group], similarity_at[group] = grouping.NEAR, known
            similarities[key] = known
        if shape.campaign:
            spreads = shape.spreads()
            campaigns = [
                grouping.Group(kinds[g], members[g], similarity_at[g], tuple(sections_at[s] for s in spreads[g]))
                for g in range(len(sizes))
            ]
        else:
            group_sections = comment_sections[shape.firsts].tolist()
            section_groups = [
                (sections_at[group_sections[g]], kinds[g], members[g], similarity_at[g]) for g in range(len(sizes))
            ]
    # 5. The state, brought to this snapshot.
    _save(state, run_id, now_packed(), similarities, fresh_digests, fresh_keys, fresh_blocks, new_first, new_second)
    result = folded()
    result.groups = section_groups
    result.campaigns = campaigns
    return result


def _save(
    state: GroupingState,
    run_id: int,
    comments: bytes,
    similarities: dict[bytes, float],
    fresh_digests: Sequence[int],
    fresh_keys: Sequence[str],
    fresh_blocks: np.ndarray,
    new_first: np.ndarray,
    new_second: np.ndarray,
) -> None:
    if fresh_digests:
        _copy_texts(state.pk, fresh_digests, fresh_keys, fresh_blocks)
    if new_first.size:
        _copy_pairs(state.pk, new_first, new_second)
    GroupingState.objects.filter(pk=state.pk).update(
        run_id=run_id, similarities=pack_similarities(similarities), comments=comments
    )


__all__ = ["Folded", "METHOD", "compute", "forget", "remember", "shared_band_pairs", "usable", "verified"]
