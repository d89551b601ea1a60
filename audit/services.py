"""Writing audit entries. Called by the services that change state, never by views.

`audit_log` appends to the chain of the entry's consultation (or to the site chain): it
takes the chain's lock (a PostgreSQL advisory lock held until the caller's transaction ends,
so two appends never read the same predecessor), reads the chain's last entry, and writes the
new one with its sequence number and hash. On PostgreSQL all of that is one statement, the
function audit_append (migration 0006), which completes and hashes the serialisation Python
prepared (audit.chain.serialise_around_locked): one round trip, and no Python work while the
lock is held. A caller writes its entry last in its transaction, so the lock is held only for
the append and the commit. See audit.chain and docs/audit.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .chain import GENESIS, HASHED_FIELDS, LOCKED_FIELDS, canonical_json, entry_hash, fields_of, serialise_around_locked
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


def _append_in_postgresql(entry: AuditEntry) -> None:
    """Lock the chain, read its head, stamp, hash and insert `entry`: one statement (migration 0006)."""
    fields = {name: getattr(entry, name) for name in HASHED_FIELDS if name not in LOCKED_FIELDS}
    pieces = serialise_around_locked(fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, entry_at, entry_seq, entry_prev_hash, entry_hash FROM audit_append("
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)",
            [
                LOCK_NAMESPACE,
                _lock_key(entry.consultation_id),
                entry.consultation_id,
                GENESIS,
                entry.actor_id,
                entry.actor_label,
                entry.action,
                entry.consultation_title,
                entry.target_type,
                entry.target_id,
                json.dumps(entry.data, ensure_ascii=False),
                *pieces,
            ],
        )
        entry.pk, entry.at, entry.seq, entry.prev_hash, entry.hash = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = connection.alias


def _append_with_the_orm(entry: AuditEntry) -> None:
    """SQLite, which writes one transaction at a time: the head read, the hash and the insert in Python."""
    with transaction.atomic(savepoint=False):
        last = chain_entries(entry.consultation_id).order_by("-seq").values_list("seq", "hash").first()
        entry.at = timezone.now()
        entry.seq = last[0] + 1 if last else 1
        entry.prev_hash = last[1] if last else GENESIS
        entry.hash = entry_hash(fields_of(entry))
        entry.save(force_insert=True)


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
    if connection.vendor == "postgresql":
        # One statement: in the caller's transaction (a failed append fails it, the change it
        # records with it), or its own. The chain's lock is then held until that transaction ends.
        _append_in_postgresql(entry)
    else:
        _append_with_the_orm(entry)
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
