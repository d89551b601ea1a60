"""Reads of the audit log for the secretariat's page, the API and the CSV download.

They take the consultation a caller has already fetched and checked (consultations.selectors.
get_consultation_for_audit): the audit app knows no domain app, only the consultation's id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, QuerySet

from .models import AuditEntry

PAGE_SIZE = 50
ROW_FIELDS = ("seq", "at", "actor_label", "action", "target_type", "target_id", "data", "prev_hash", "hash")


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor_label: str
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def details(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True) if self.data else ""


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    newer_than: int | None  # ?after=<seq> for the page of newer entries, None when there are none
    older_than: int | None  # ?before=<seq> for the page of older entries, None when there are none


def entries_of(*, consultation: Model, action: str = "", actor: str = "") -> QuerySet[AuditEntry]:
    """One consultation's chain, filtered by exact action code and actor e-mail."""
    qs = AuditEntry.objects.filter(consultation_id=consultation.pk)
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor_label=actor.strip().lower())
    return qs


def actions_of(*, consultation: Model) -> list[str]:
    return list(
        AuditEntry.objects.filter(consultation_id=consultation.pk)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


def _rows(qs) -> list[AuditRow]:
    return [AuditRow(**values) for values in qs.values(*ROW_FIELDS)]


def audit_page(
    *,
    consultation: Model,
    action: str = "",
    actor: str = "",
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """Newest first, one window of `size` entries by sequence number: two queries whatever the size."""
    qs = entries_of(consultation=consultation, action=action, actor=actor)
    if after is not None:
        rows = _rows(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        more_older = bool(rows) and qs.filter(seq__lt=rows[-1].seq).exists()
    else:
        window = qs.filter(seq__lt=before) if before is not None else qs
        rows = _rows(window.order_by("-seq")[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = bool(rows) and qs.filter(seq__gt=rows[0].seq).exists()
    return AuditPage(
        rows=rows,
        newer_than=rows[0].seq if rows and more_newer else None,
        older_than=rows[-1].seq if rows and more_older else None,
    )


def csv_rows(*, consultation: Model, action: str = "", actor: str = "") -> Iterator[tuple]:
    """Every matching entry in chain order, streamed from a server-side cursor."""
    qs = entries_of(consultation=consultation, action=action, actor=actor).order_by("seq")
    return qs.values_list(*ROW_FIELDS).iterator(chunk_size=2000)
