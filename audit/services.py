"""Writing audit entries. Called by the services that change state, never by views.

`audit_log` appends to the chain of the entry's consultation (or to the site chain): it
takes the chain's lock (a PostgreSQL advisory lock held until the caller's transaction ends,
so two appends never read the same predecessor), reads the chain's last entry, and writes the
new one with its sequence number and hash. On PostgreSQL the lock and the read are one round
trip (the function audit_chain_head, migration 0006), the insert a second; a caller writes its
entry last in its transaction, so the lock is held only for the insert and the commit. See
audit.chain and docs/audit.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .chain import GENESIS, canonical_json, entry_hash, fields_of
from .models import AuditEntry

# First key of the two-key advisory lock ("AUDT"); the second is the consultation id, 0 for the site chain.
LOCK_NAMESPACE = 0x41554454
SITE_CHAIN = 0


def actor_label(actor) -> str:
    if not getattr(actor, "pk", None):
        return ""
    return actor.email or str(actor.pk)


def chain_entries(consultation_id: int | None):
    """The entries of one chain (a consultation's, or the site's for None)."""
    if consultation_id is None:
        return AuditEntry.objects.filter(consultation__isnull=True)
    return AuditEntry.objects.filter(consultation_id=consultation_id)


def _lock_key(consultation_id: int | None) -> int:
    return (consultation_id or SITE_CHAIN) % 2**31


def _locked_head(consultation_id: int | None) -> tuple[int, str] | None:
    """Take the chain's lock, then read its last entry (seq, hash): None for an empty chain."""
    if connection.vendor != "postgresql":
        last = chain_entries(consultation_id).order_by("-seq").values_list("seq", "hash").first()
        return (last[0], last[1]) if last else None
    with connection.cursor() as cursor:
        # Two statements in one round trip, the read after the lock (audit migration 0006).
        cursor.execute(
            "SELECT head_seq, head_hash FROM audit_chain_head(%s, %s, %s)",
            [LOCK_NAMESPACE, _lock_key(consultation_id), consultation_id],
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def audit_log(
    *, actor, action: str, target: models.Model, consultation=None, data: dict[str, Any] | None = None
) -> AuditEntry:
    consultation_id = getattr(consultation, "pk", None)
    entry = AuditEntry(
        actor_id=actor.pk if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        action=action,
        consultation_id=consultation_id,
        consultation_title=consultation.title if consultation_id else "",
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        # Stored exactly as hashed: through JSON once, numbers as jsonb gives them back.
        data=canonical_json(json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))),
    )
    # No savepoint: a failed append fails the caller's transaction, whose change it records
    # (two round trips fewer than a savepoint and its release). Alone, it is its own transaction.
    with transaction.atomic(savepoint=False):
        head = _locked_head(consultation_id)
        entry.at = timezone.now()  # taken under the lock, so time never goes back along a chain
        entry.seq = head[0] + 1 if head else 1
        entry.prev_hash = head[1] if head else GENESIS
        entry.hash = entry_hash(fields_of(entry))
        entry.save(force_insert=True)
    return entry


def audit_changes(
    *,
    actor,
    action: str,
    target: models.Model,
    before: dict[str, Any],
    after: dict[str, Any],
    consultation=None,
    data: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """An entry with the before and after of the fields that changed; none when nothing did.

    `data` adds context that did not change (whose participation, which account).
    """
    changed = sorted(name for name in after if before.get(name) != after[name])
    if not changed:
        return None
    return audit_log(
        actor=actor,
        action=action,
        target=target,
        consultation=consultation,
        data={
            **(data or {}),
            "before": {name: before.get(name) for name in changed},
            "after": {name: after[name] for name in changed},
        },
    )


def audit_export_record(*, actor, consultation, filters: dict[str, str]) -> AuditEntry:
    """The secretariat downloaded the audit log as CSV: that is recorded too."""
    return audit_log(
        actor=actor,
        action="audit.exported",
        target=consultation,
        consultation=consultation,
        data={"filters": {key: value for key, value in filters.items() if value}},
    )
