"""Writing audit entries. Called by the services that change state, never by views.

`audit_log` appends to the chain of the entry's consultation (or to the site chain): it
takes the chain's lock (a PostgreSQL advisory lock held until the caller's transaction ends,
so two appends never read the same predecessor), reads the chain's last entry, and writes the
new one with its sequence number and hash. See audit.chain and docs/audit.md.
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


def lock_chain(consultation_id: int | None) -> None:
    """Serialise appends to one chain until the current transaction ends (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return  # SQLite writes one transaction at a time anyway.
    key = (consultation_id or SITE_CHAIN) % 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, key])


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
    with transaction.atomic():
        lock_chain(consultation_id)
        entry.at = timezone.now()  # taken under the lock, so time never goes back along a chain
        last = chain_entries(consultation_id).order_by("-seq").values("seq", "hash").first()
        entry.seq = last["seq"] + 1 if last else 1
        entry.prev_hash = last["hash"] if last else GENESIS
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
