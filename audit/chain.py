"""The hash chain: a canonical serialisation of an entry and its SHA-256.

Kept free of Django models so that the migration that back-fills old entries, the writer and
`verify_audit_chain` all hash the very same bytes. Changing anything here breaks every
existing chain: don't, or add a versioned second form.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# prev_hash of the first entry of every chain.
GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "consultation_id",
    "consultation_title",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "data",
    "prev_hash",
)


def canonical_json(value: Any) -> Any:
    """JSON values as they come back from PostgreSQL's jsonb (1.0 and 1e20 come back as integers)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("An audit entry's data cannot hold NaN or infinity.")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(key): canonical_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_json(item) for item in value]
    return value


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def serialise(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: its fields in a fixed form, previous hash included."""
    record = {name: fields[name] for name in HASHED_FIELDS}
    record["at"] = _timestamp(record["at"])
    record["data"] = canonical_json(record["data"])
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# The fields known only under the chain's lock, in the order serialise() writes them (sorted keys).
LOCKED_FIELDS = ("at", "prev_hash", "seq")


def serialise_around_locked(fields: dict[str, Any]) -> tuple[str, str, str, str]:
    """serialise() of an entry but for its time, previous hash and number, as the four pieces of
    text around them, for PostgreSQL to complete under the chain's lock (audit migration 0006):

        pieces[0] + '"' + at + '"' + pieces[1] + '"' + prev_hash + '"' + pieces[2] + str(seq) + pieces[3]

    encoded in UTF-8 is exactly serialise() of the whole entry, `at` written as serialise() writes
    it. `fields` holds HASHED_FIELDS but LOCKED_FIELDS."""
    record = {name: fields[name] for name in HASHED_FIELDS if name not in LOCKED_FIELDS}
    record["data"] = canonical_json(record["data"])
    pieces, text = [], "{"
    for index, name in enumerate(sorted((*record, *LOCKED_FIELDS))):
        text += ("," if index else "") + json.dumps(name) + ":"
        if name in LOCKED_FIELDS:
            pieces.append(text)  # the value is written in between, by PostgreSQL
            text = ""
        else:
            text += json.dumps(record[name], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    pieces.append(text + "}")
    return pieces[0], pieces[1], pieces[2], pieces[3]


def entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(serialise(fields)).hexdigest()


def fields_of(entry) -> dict[str, Any]:
    """The hashed fields of an AuditEntry (or of a historical model in a migration)."""
    return {name: getattr(entry, name) for name in HASHED_FIELDS}
