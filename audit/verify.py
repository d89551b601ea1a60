"""Recompute the hash chains and report the first entry of each that does not hold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .chain import GENESIS, entry_hash, fields_of
from .models import AuditEntry
from .services import chain_entries


@dataclass(frozen=True)
class ChainReport:
    consultation_id: int | None  # None: the site chain
    entries: int
    head: str  # hash of the last entry: record it elsewhere to detect a cut-off tail
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None

    @property
    def name(self) -> str:
        return "site" if self.consultation_id is None else f"consultation {self.consultation_id}"


def chain_ids() -> list[int | None]:
    """Every chain present: the site chain (None) first if it has entries, then consultations by id."""
    ids = sorted(
        AuditEntry.objects.filter(consultation__isnull=False)
        .order_by()  # no default ordering, or DISTINCT would be taken over it too
        .values_list("consultation_id", flat=True)
        .distinct()
    )
    has_site = AuditEntry.objects.filter(consultation__isnull=True).exists()
    return ([None] if has_site else []) + ids


def verify_chain(consultation_id: int | None) -> ChainReport:
    expected_seq, prev_hash, count = 1, GENESIS, 0
    entries: Iterator[AuditEntry] = chain_entries(consultation_id).order_by("seq").iterator(chunk_size=2000)
    for entry in entries:
        count += 1
        reason = ""
        if entry.seq != expected_seq:
            reason = f"sequence number {entry.seq} where {expected_seq} was expected (an entry is missing)"
        elif entry.prev_hash != prev_hash:
            reason = "its previous hash is not the hash of the entry before it"
        elif entry_hash(fields_of(entry)) != entry.hash:
            reason = "its content does not match its hash (it was changed)"
        if reason:
            return ChainReport(consultation_id, count, prev_hash, entry.pk, entry.seq, reason)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return ChainReport(consultation_id, count, prev_hash)
