"""Django admin for the audit log: entries to read, never to add, change or delete.

The table is append-only in PostgreSQL too (a trigger refuses UPDATE, DELETE and TRUNCATE); the
admin says so up front instead of failing on save. The actor and the consultation are read from
the labels stored with each entry, so the changelist joins nothing. The action filter offers the
families of dotted codes (round., comment., ...): a list of every distinct action would read the
whole table.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin_kit import ReadOnlyAdmin

from .models import AuditEntry

ACTION_FAMILIES = [
    ("consultation", _("Consultations")),
    ("phase", _("Phases")),
    ("round", _("Rounds")),
    ("version", _("Versions")),
    ("section", _("Sections")),
    ("participation", _("Participations")),
    ("invitation", _("Invitations")),
    ("comment", _("Comments")),
    ("position", _("National positions")),
    ("disposition", _("Dispositions")),
    ("consolidation", _("Consolidations")),
    ("report", _("Reports and exports")),
    ("import", _("Template imports")),
    ("carry_over", _("Carry-overs")),
    ("audit", _("Audit log exports")),
    ("account", _("Accounts")),
    ("user", _("People")),
    ("organisation", _("Organisations")),
    ("mfa", _("Two-step sign-in")),
]


class ActionFamilyFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "family"

    def lookups(self, request, model_admin):
        return ACTION_FAMILIES

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action__startswith=f"{self.value()}.")
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "consultation_title", "target_type", "target_id", "seq"]
    list_filter = [ActionFamilyFilter, "consultation"]
    search_fields = ["=action", "=target_id", "=actor_label"]
    search_help_text = _("An exact action code (round.closed), target id or actor.")
    fields = [
        "at",
        "actor",
        "actor_label",
        "action",
        "consultation",
        "consultation_title",
        "target_type",
        "target_id",
        "data",
        "seq",
        "prev_hash",
        "hash",
    ]
