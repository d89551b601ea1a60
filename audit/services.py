"""Writing audit entries. Called by the services that change state, never by views."""

from typing import Any

from django.db import models

from .models import AuditEntry


def audit_log(
    *, actor, action: str, target: models.Model, consultation=None, data: dict[str, Any] | None = None
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        consultation=consultation,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data or {},
    )
