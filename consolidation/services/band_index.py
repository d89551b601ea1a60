"""The band index of an incremental grouping state: every (LSH band key, text) of a full run, sorted.

An incremental run finds the stored texts that share a band key with its new texts here
(`BandIndex.candidates`), as a full run would have found them in its buckets. At a million
comments the index is about 670 MB (750,000 distinct texts, 80 bands each); a run after 1%
changes looks up 800,000 keys in it, so it reads all of it.

Its layout is raw little-endian arrays after a fixed header, read without copying
(`numpy.frombuffer`):

    b"GBI1", a random 16-byte token, texts (uint64), entries (uint64)
    keys    uint32 x entries  the high 32 bits of each band key, ascending
    texts   uint32 x entries  the text of each entry, by its place in `digests`
    digests int64 x texts     the texts' digests (GroupingText.digest)
    blocks  int64 x texts x BLOCKS  their block keys, from which any band is made again

It is stored in GroupingState.band_index (the truth: any worker on any machine can read it)
and, once read or written by a process, kept as a file in settings.GROUPING_CACHE_DIR named by
its token: a later run on that machine maps the file instead of reading hundreds of MB from
PostgreSQL again (5 s at a million comments; the file is in the page cache). The token is
checked against the stored value's first bytes and its length, so a file is only ever used for
the index it was made from. The full run's remember task also keeps its texts' keys there
(`TextKeys`, `<token>.keys`): the stored texts a run verifies its new ones against are read
from it, not from GroupingText. Files are pruned least recently used first beyond
settings.GROUPING_CACHE_BYTES.
The cache is best effort: a directory that cannot be written only means reading the database.
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import secrets
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection

from .. import grouping

logger = logging.getLogger(__name__)

MAGIC = b"GBI1"
HEADER = struct.Struct("<4s16sQQ")  # magic, token, texts, entries: 40 bytes, so every array is aligned
KEYS_MAGIC = b"GBK1"
KEYS_HEADER = struct.Struct("<4s4xQ")  # magic, count: 16 bytes
EMPTY = np.zeros(0, dtype=np.int64)


def index_keys(bands: np.ndarray) -> np.ndarray:
    """A band key as the index sorts it: its high 32 bits (uint32, flattened row by row)."""
    return (bands.reshape(-1).view(np.uint64) >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True)
class BandIndex:
    token: bytes
    keys: np.ndarray
    texts: np.ndarray
    digests: np.ndarray
    blocks: np.ndarray
    source: str = "memory"  # "file": this machine's copy, mapped; "database": read from its state
    # The texts' sorted-token keys, in the order of `digests`, where this machine keeps them.
    text_keys: TextKeys | None = None

    @classmethod
    def build(cls, digests: np.ndarray, blocks: np.ndarray, bands: np.ndarray) -> bytes:
        """The packed index of texts (their digests, block keys and bands, row by row)."""
        # One sort of (key, text) packed in 64 bits: half the time of an argsort of the keys.
        packed = index_keys(bands).astype(np.uint64) << np.uint64(32)
        packed |= np.repeat(np.arange(digests.size, dtype=np.uint64), bands.shape[1])
        packed.sort()
        parts = [
            HEADER.pack(MAGIC, secrets.token_bytes(16), digests.size, packed.size),
            (packed >> np.uint64(32)).astype("<u4").tobytes(),
            packed.astype("<u4").tobytes(),
            np.ascontiguousarray(digests, dtype="<i8").tobytes(),
            np.ascontiguousarray(blocks, dtype="<i8").tobytes(),
        ]
        return b"".join(parts)

    @classmethod
    def of(cls, buffer, source: str = "memory") -> BandIndex:
        """The arrays of a packed index, viewed in `buffer` (bytes or a mapped file), not copied."""
        magic, token, texts, entries = HEADER.unpack_from(buffer, 0)
        if magic != MAGIC:
            raise ValueError("not a band index")
        at = HEADER.size

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal at
            array = np.frombuffer(buffer, dtype=dtype, count=count, offset=at)
            at += array.nbytes
            return array

        keys = take("<u4", entries)
        positions = take("<u4", entries)
        digests = take("<i8", texts)
        blocks = take("<i8", texts * grouping.BLOCKS).reshape(texts, grouping.BLOCKS)
        return cls(token, keys, positions, digests, blocks, source)

    def candidates(self, bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of `bands`, text) for each text of the index sharing a band key with a row: the
        text by its place in `digests` (and in `text_keys`).

        The index keeps 32 bits of each key, so each key found is checked in full against the
        text's own band, made from its block keys: the candidates are exactly a full run's.
        The keys asked are sorted first: bisecting in order stays in the cache (8x faster).
        """
        if not bands.size or not self.keys.size:
            return EMPTY, EMPTY
        full = bands.reshape(-1)
        flat = index_keys(bands)
        order = np.argsort(flat, kind="stable")
        wanted = flat[order]
        starts = np.searchsorted(self.keys, wanted, side="left")
        counts = np.searchsorted(self.keys, wanted, side="right") - starts
        at = np.repeat(starts, counts) + (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
        asked = np.repeat(order, counts)  # the (row, band) each key found was asked for
        texts = self.texts[at].astype(np.int64)
        same = grouping.band_at(self.blocks, asked % bands.shape[1], rows=texts) == full[asked]
        return asked[same] // bands.shape[1], texts[same]


class TextKeys:
    """The sorted-token keys of an index's texts, in its order, from this machine's keys file.

    An incremental run verifies its new texts against every stored text they share a band key
    with (316,000 of them after 1% changes at a million comments); reading their keys from
    GroupingText took 1.5 s. The file is written next to the index's by the full run's remember
    task, which has the keys in hand: `KEYS_MAGIC`, the count (uint64), count + 1 offsets
    (int64) into the UTF-8 bytes that follow. Without it (another machine) the keys are read from
    the database as before.
    """

    def __init__(self, buffer) -> None:
        magic, count = KEYS_HEADER.unpack_from(buffer, 0)
        if magic != KEYS_MAGIC:
            raise ValueError("not a keys file")
        self._offsets = np.frombuffer(buffer, dtype="<i8", count=count + 1, offset=KEYS_HEADER.size)
        self._buffer = buffer
        self.count = count

    @staticmethod
    def pack(keys: Sequence[str]) -> bytes:
        encoded = [key.encode() for key in keys]
        starts = KEYS_HEADER.size + 8 * (len(encoded) + 1)
        offsets = np.zeros(len(encoded) + 1, dtype="<i8")
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return KEYS_HEADER.pack(KEYS_MAGIC, len(encoded)) + (offsets + starts).tobytes() + b"".join(encoded)

    def at(self, places: Sequence[int]) -> list[str]:
        offsets, buffer = self._offsets, self._buffer
        return [buffer[offsets[p] : offsets[p + 1]].decode() for p in places]


# --- stored in the state, kept on this machine -------------------------------------------------


def _cache_dir() -> Path | None:
    folder = getattr(settings, "GROUPING_CACHE_DIR", None)
    return Path(folder) if folder else None


def _cached_path(token: bytes) -> Path | None:
    folder = _cache_dir()
    return folder / f"{token.hex()}.gbi" if folder else None


def keep_locally(packed: bytes, keys: Sequence[str] | None = None) -> None:
    """Write a packed index (and its texts' keys, if given) to this machine's cache (best effort),
    then prune the cache."""
    folder = _cache_dir()
    if folder is None or not packed:
        return
    token = HEADER.unpack_from(packed, 0)[1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if keys is not None:  # first: a keys file is only looked for beside its index
            _write(folder, f"{token.hex()}.keys", TextKeys.pack(keys))
        _write(folder, f"{token.hex()}.gbi", packed)
        _prune(folder)
    except OSError:
        logger.warning("The band index could not be kept in %s", folder, exc_info=True)


def _write(folder: Path, name: str, data: bytes) -> None:
    """A whole file or none: written under a temporary name, then renamed."""
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, folder / name)


def _prune(folder: Path) -> None:
    """Remove the oldest files (by last use) beyond settings.GROUPING_CACHE_BYTES (an index's keys
    file is used with it, so they go at about the same time; either alone is harmless)."""
    limit = int(getattr(settings, "GROUPING_CACHE_BYTES", 4 * 1024**3))
    files = []
    for path in [*folder.glob("*.gbi"), *folder.glob("*.keys")]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _m, size, _p in files)
    for _mtime, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        path.unlink(missing_ok=True)  # a process that has it mapped keeps reading it
        total -= size


def _mapped(token: bytes, head: bytes, length: int) -> mmap.mmap | None:
    """This machine's copy of an index, mapped, if it is whole and starts as the stored one."""
    path = _cached_path(token)
    if path is None:
        return None
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size != length:
                return None
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[: HEADER.size] != head:
            mapped.close()
            return None
        os.utime(path)  # last used: pruned last
        return mapped
    except OSError:
        return None


def _mapped_keys(token: bytes, count: int) -> TextKeys | None:
    """This machine's keys file of an index, mapped, if it has a key for each of its texts."""
    path = _cached_path(token)
    if path is None:
        return None
    path = path.with_suffix(".keys")
    try:
        with open(path, "rb") as file:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        keys = TextKeys(mapped)
        if keys.count != count:
            mapped.close()
            return None
        os.utime(path)
        return keys
    except (OSError, ValueError, struct.error):
        return None


def store(state_table: str, state_id: int, packed: bytes, keys: Sequence[str] | None = None) -> None:
    """Write a packed index into its state's row, and keep it (and its texts' keys) on this machine."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # in binary: Django would send the bytes as hex text
        cursor.execute(f"UPDATE {state_table} SET band_index = %b WHERE id = %s", [packed, state_id])
    keep_locally(packed, keys)


def load(state_table: str, state_id: int) -> BandIndex | None:
    """The state's band index: this machine's copy if it has the same token and length, else the stored one."""
    with connection.cursor() as cursor:
        # The band index is stored uncompressed (migration 0011): the first bytes are read alone.
        cursor.execute(
            f"SELECT substring(band_index from 1 for %s), length(band_index) FROM {state_table} WHERE id = %s",
            [HEADER.size, state_id],
        )
        row = cursor.fetchone()
    if row is None or not row[1]:
        return None
    head, length = bytes(row[0]), row[1]
    if len(head) < HEADER.size or head[:4] != MAGIC:
        return None  # an index of an older layout: the state is not usable
    token = HEADER.unpack_from(head, 0)[1]
    kept = _mapped(token, head, length)
    if kept is not None:
        index = BandIndex.of(kept, "file")
        return dataclasses.replace(index, text_keys=_mapped_keys(token, index.digests.size))
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding: binary results
        cursor.execute(f"SELECT band_index FROM {state_table} WHERE id = %s", [state_id], binary=True)
        found = cursor.fetchone()
    if found is None:
        return None
    packed = bytes(found[0])
    keep_locally(packed)
    return BandIndex.of(packed, "database")


__all__ = ["BandIndex", "TextKeys", "index_keys", "keep_locally", "load", "store"]
