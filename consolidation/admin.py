"""Django admin for consolidation: dispositions, consolidation runs and carried anchors, read-only.

Runs and carried anchors are records of what a job computed; dispositions are decisions that go
through consolidation.services (with the proposal, approval, revision checks and audit entry the
feedback page runs). None of them is edited here. A run's `result` (counts per section,
organisation, type and status) is left out of its page: at a million comments it is large, and the
run's page on the site renders it.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from comments.models import Comment
from config.admin_kit import ReadOnlyAdmin

from .models import CarriedAnchor, ConsolidationRun, Disposition


@admin.register(Disposition)
class DispositionAdmin(ReadOnlyAdmin):
    list_display = [
        "comment_number",
        "round",
        "organisation",
        "proposed_decision",
        "decision",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["decision", "proposed_decision", "comment__round"]
    list_select_related = ["comment__round", "comment__organisation", "decided_by"]
    search_fields = ["=comment__id"]
    search_help_text = _("A comment's number (without the C).")
    fields = [
        "comment",
        "proposed_decision",
        "proposed_response",
        "proposed_by",
        "proposed_at",
        "decision",
        "response",
        "decided_by",
        "decided_at",
        "section_change",
        "revision",
        "updated_at",
    ]

    @admin.display(description=_("comment"), ordering="comment_id")
    def comment_number(self, obj: Disposition) -> str:
        return f"C{obj.comment_id}"

    @admin.display(description=_("round"))
    def round(self, obj: Disposition):
        return obj.comment.round

    @admin.display(description=_("organisation"))
    def organisation(self, obj: Disposition):
        return obj.comment.organisation


@admin.register(ConsolidationRun)
class ConsolidationRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "round", "status", "progress", "comment_count", "requested_by", "requested_at", "finished_at"]
    list_filter = ["status", "round__consultation"]
    list_select_related = ["round", "requested_by"]
    search_fields = ["=id"]
    fields = [
        "round",
        "status",
        "progress",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "error",
        "as_of",
        "comment_count",
        "fingerprint",
        "attempts",
        "queued_at",
        "requeues",
        "lease_expires_at",
    ]


@admin.register(CarriedAnchor)
class CarriedAnchorAdmin(ReadOnlyAdmin):
    list_display = ["comment_number", "version", "section", "method", "score", "created_at"]
    list_filter = ["method", "version__consultation"]
    list_select_related = ["version__consultation", "section"]
    search_fields = ["=comment__id"]
    search_help_text = _("A comment's number (without the C).")
    fields = ["comment", "version", "section", "method", "position_start", "position_end", "quote_exact", "score"]

    def get_queryset(self, request):
        # A draft's quote is its delegation's own, as its text is.
        return super().get_queryset(request).exclude(comment__status=Comment.Status.DRAFT)

    @admin.display(description=_("comment"), ordering="comment_id")
    def comment_number(self, obj: CarriedAnchor) -> str:
        return f"C{obj.comment_id}"
