"""Django admin for comments: a read-only window on submitted comments and national positions.

Nothing is edited here. Moderation (hiding a comment, with its reason) and endorsement go through
comments.services from the site's pages, which check the rules and write the audit log; a form
here would skip both. Drafts are not shown at all: they stay inside their delegation
(comments.selectors), site staff included.

Built for a million comments: no full count (config.admin_kit), newest first by primary key,
the related rows fetched in the same query, filters on small tables only.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin_kit import ReadOnlyAdmin

from .models import Comment, CommentRevision, CommentSupport, NationalPosition


class CommentRevisionInline(admin.TabularInline):
    model = CommentRevision
    fields = ("number", "action", "actor", "at", "status", "body", "proposed_change")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CommentSupportInline(admin.TabularInline):
    """The other delegations that support the comment; stated and withdrawn on the site only."""

    model = CommentSupport
    fields = ("organisation", "supported_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organisation", "supported_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "round",
        "clause",
        "organisation",
        "author",
        "type",
        "status",
        "is_hidden",
        "submitted_at",
    ]
    list_display_links = ["number"]
    list_filter = ["status", "type", "is_hidden", "round", "organisation"]
    list_select_related = ["round", "section", "organisation", "author"]
    # Exact matches only: a substring search over a million bodies is the site's search, not the admin's.
    search_fields = ["=id", "=author__email"]
    search_help_text = _("A comment's number (without the C) or its author's e-mail address.")
    fields = [
        "round",
        "section",
        "organisation",
        "author",
        "type",
        "status",
        "language",
        "body",
        "proposed_change",
        "quote_exact",
        "position_start",
        "position_end",
        "is_endorsed",
        "endorsed_by",
        "endorsed_at",
        "is_hidden",
        "hidden_reason",
        "hidden_by",
        "hidden_at",
        "imported_by",
        "resolved_at",
        "resolved_by",
        "mentions",
        "created_at",
        "submitted_at",
        "withdrawn_at",
        "revision",
    ]
    inlines = [CommentSupportInline, CommentRevisionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(status=Comment.Status.DRAFT)

    def has_view_permission(self, request, obj=None) -> bool:
        # Superusers only: "comments.change_comment" is a rule about one comment's author
        # (comments/rules.py), which Django's default check would ask without a comment.
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.display(description=_("No."), ordering="pk")
    def number(self, obj: Comment) -> str:
        return obj.number

    @admin.display(description=_("clause"), ordering="section__position")
    def clause(self, obj: Comment) -> str:
        return obj.section.number or obj.section.heading


@admin.register(NationalPosition)
class NationalPositionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "round", "submitted_by", "submitted_at", "endorsed_count"]
    list_filter = ["round__consultation", "round"]
    list_select_related = ["organisation", "round", "submitted_by"]
    search_fields = ["organisation__name"]
