"""The two PostgreSQL functions a consolidation's SQL calls, given to SQLite connections.

A consolidation counts and fingerprints a round in SQL (services.counting, services.chunks): the
fingerprint of a snapshot is the XOR (`bit_xor`) of each comment's (id, revision) hashed to 64 bits
(`hashint8extended`). PostgreSQL has both; SQLite, the zero-setup database of `make run`, has
neither, so every new SQLite connection gets them here (connected in ConsolidationConfig.ready).
The hash is not PostgreSQL's: a fingerprint is only ever compared with one made by the same
database.
"""

from __future__ import annotations

import hashlib


def _hashint8extended(value: int | None, seed: int) -> int | None:
    if value is None:
        return None
    data = value.to_bytes(8, "little", signed=True) + seed.to_bytes(8, "little", signed=True)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


class _BitXor:
    """bit_xor(x): the XOR of the non-null values, NULL when there are none (as PostgreSQL's)."""

    def __init__(self) -> None:
        self.value: int | None = None

    def step(self, value: int | None) -> None:
        if value is not None:
            self.value = value if self.value is None else self.value ^ value

    def finalize(self) -> int | None:
        return self.value


def add_to_sqlite(sender, connection, **kwargs) -> None:
    """connection_created receiver: the functions, on a SQLite connection only."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("hashint8extended", 2, _hashint8extended, deterministic=True)
    connection.connection.create_aggregate("bit_xor", 1, _BitXor)
