"""Comments on draft sections, their replies, history, flags and national positions.

A comment belongs to an engagement round and a section of the version under review, and to
the organisation its author acts for. Its history (CommentRevision) is append-only. Who may
see what is decided in one place: comments.selectors.comments_visible_to.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

BODY_MAX_LENGTH = 10_000


class Comment(models.Model):
    class Type(models.TextChoices):
        # The ISO comment-template codes.
        GENERAL = "ge", _("General")
        TECHNICAL = "te", _("Technical")
        EDITORIAL = "ed", _("Editorial")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    round = models.ForeignKey("consultations.EngagementRound", on_delete=models.PROTECT, related_name="comments")
    section = models.ForeignKey("consultations.Section", on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="comments")
    type = models.CharField(_("type"), max_length=2, choices=Type.choices, default=Type.GENERAL)
    body = models.TextField(_("comment"))
    proposed_change = models.TextField(_("proposed change"), blank=True)
    # Suggestion mode: the proposed change is an edit of the quoted passage (quote_exact), shown as a
    # word-level diff of the two (config.redline), as in a word processor's suggested edits.
    is_suggestion = models.BooleanField(_("suggested edit of the passage"), default=False)
    language = models.CharField(_("language"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)

    # W3C Web Annotation selectors on section.body: TextQuoteSelector and TextPositionSelector.
    # All empty/null: the comment addresses the whole section.
    quote_exact = models.TextField(_("quoted passage"), blank=True)
    quote_prefix = models.CharField(max_length=64, blank=True)
    quote_suffix = models.CharField(max_length=64, blank=True)
    position_start = models.PositiveIntegerField(null=True, blank=True)
    position_end = models.PositiveIntegerField(null=True, blank=True)

    is_endorsed = models.BooleanField(_("national position"), default=False)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endorsed_at = models.DateTimeField(null=True, blank=True)

    is_hidden = models.BooleanField(_("hidden by the secretariat"), default=False)
    hidden_reason = models.CharField(_("reason for hiding"), max_length=500, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)

    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The secretariat member who imported this comment from an offline template."),
    )

    # The thread is settled (comments.services.thread_set_resolved). Not part of the comment's
    # content: it bumps no revision and has no CommentRevision entry (the audit log records it).
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The people the body names (@handle) who could see the comment when it was written:
    # {handle: display name}. Kept with the text so that a card renders them without a query;
    # null when it names nobody (comments.mentions).
    mentions = models.JSONField(null=True, blank=True, editable=False)

    revision = models.PositiveIntegerField(default=1, help_text="Bumped by every change; the API's ETag.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["section__position", "position_start", "created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [
            models.Index(fields=["round", "status"]),
            models.Index(fields=["round", "organisation"]),
            models.Index(fields=["section", "status"]),
            # One cell of a round's consolidated feedback (section x organisation) in id order: its
            # page reads a bounded slice of a few cells (consolidation.selectors_feedback).
            models.Index(fields=["round", "section", "organisation", "id"], name="comment_round_section_org_id"),
            # A page of a section's comments in id order (the API's comment list) reads one page of
            # this index, however many comments the section holds.
            models.Index(fields=["section", "id"], name="comment_section_id_order"),
            # The section page's window in reading order (passage, then time): PostgreSQL walks it
            # and stops after the page instead of sorting every comment of the section.
            models.Index(
                fields=["section", "position_start", "created_at", "id"], name="comment_section_reading_order"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(position_start__isnull=True) & Q(position_end__isnull=True))
                | (Q(position_start__isnull=False) & Q(position_end__gt=models.F("position_start"))),
                name="comment_anchor_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_type_display()} on {self.section}"

    @property
    def is_anchored(self) -> bool:
        return self.position_start is not None

    @property
    def number(self) -> str:
        return f"C{self.pk}"


class CommentRevision(models.Model):
    """One entry of a comment's history. Written once, never changed."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        RETURNED = "returned", _("Returned to the author")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    type = models.CharField(max_length=2)
    status = models.CharField(max_length=10)
    body = models.TextField()
    proposed_change = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    quote_exact = models.TextField(blank=True)
    position_start = models.PositiveIntegerField(null=True)
    position_end = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["comment", "number"]
        verbose_name = _("comment revision")
        verbose_name_plural = _("comment revisions")
        constraints = [
            models.UniqueConstraint(fields=["comment", "number"], name="unique_comment_revision_number"),
        ]

    def __str__(self) -> str:
        return f"{self.comment_id} r{self.number} {self.action}"


class Reply(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comment_replies")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("reply"))
    language = models.CharField(_("language"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # As Comment.mentions: {handle: display name} of the people named who could see the thread.
    mentions = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["comment", "created_at", "id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")

    def __str__(self) -> str:
        return f"reply {self.pk} to {self.comment_id}"


class CommentSupport(models.Model):
    """Another delegation states its support for a comment it can see (co-sponsorship).

    One per organisation and comment; withdrawing it deletes the row (the audit log keeps both
    the support and its withdrawal). Counted in consolidation and exported ("Supported by").
    """

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="supports")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    supported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["comment", "organisation__name", "id"]
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [
            models.UniqueConstraint(fields=["comment", "organisation"], name="one_support_per_org_and_comment"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} supports {self.comment_id}"


class CommentFlag(models.Model):
    """A participant asks the secretariat to look at a comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        constraints = [
            models.UniqueConstraint(fields=["comment", "flagged_by"], name="one_flag_per_person"),
        ]

    def __str__(self) -> str:
        return f"flag on {self.comment_id}"


class NationalPosition(models.Model):
    """A member state's official position in a round: its endorsed comments, submitted by the focal point."""

    round = models.ForeignKey("consultations.EngagementRound", on_delete=models.CASCADE, related_name="positions")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="positions")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField()
    endorsed_count = models.PositiveIntegerField(default=0)
    note = models.TextField(_("covering note"), blank=True)

    class Meta:
        ordering = ["round", "organisation__name"]
        verbose_name = _("national position")
        verbose_name_plural = _("national positions")
        constraints = [
            models.UniqueConstraint(fields=["round", "organisation"], name="one_position_per_org_and_round"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.round}"


class CommentReturn(models.Model):
    """The focal point sent a delegate's submitted comment back with a note: it is a draft again.

    Written once (comments.services.comment_return), never changed: the comment's own history
    records the status change; this keeps the note the author reads until they submit again.
    """

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="returns")
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("note to the author"))
    # The comment's revision after it was returned (its history entry of the return).
    revision = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["comment", "-at", "-id"]
        verbose_name = _("returned comment")
        verbose_name_plural = _("returned comments")
        indexes = [models.Index(fields=["comment", "-at", "-id"], name="comment_return_latest")]

    def __str__(self) -> str:
        return f"{self.comment_id} returned r{self.revision}"
