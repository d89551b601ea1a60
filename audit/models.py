"""The audit log: one entry per state change, with a dotted action code (round.opened).

Entries are append-only (a PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE, see
migration 0003) and tamper-evident: each entry carries the SHA-256 of its own fields and of
the previous entry of its chain. There is one chain per consultation, and one "site" chain
for entries that belong to no consultation (accounts, MFA, organisations), each numbered
1, 2, 3... by `seq`, so that one consultation's chain can be exported and verified alone.

The foreign keys carry no database constraint and never cascade: deleting a user or a
consultation leaves its entries as they were, readable through the labels stored at write
time (actor_label, consultation_title). See docs/audit.md.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    consultation = models.ForeignKey(
        "consultations.Consultation",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_entries",
    )
    consultation_title = models.CharField(_("consultation"), max_length=200, blank=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    seq = models.PositiveBigIntegerField(_("number in its chain"))
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "seq"],
                condition=Q(consultation__isnull=False),
                name="audit_one_seq_per_consultation_chain",
            ),
            models.UniqueConstraint(
                fields=["seq"], condition=Q(consultation__isnull=True), name="audit_one_seq_in_site_chain"
            ),
        ]
        # The secretariat's filters, newest first within one consultation.
        indexes = [
            models.Index(fields=["consultation", "action", "seq"], name="audit_by_action"),
            models.Index(fields=["consultation", "actor_label", "seq"], name="audit_by_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"
