"""A person's inbox: what happened to their comments and their rounds, and whether they were told.

One row per event and recipient. `key` names the event (e.g. "reply:42"); the unique
(recipient, key) makes every event reach a person at most once however often it is announced
(a task run twice, a beat tick repeated). `mailed_at` is the e-mail outbox: empty until an
e-mail told of it, or until it was settled that none will (the person chose no e-mail, or
read it on the site before the digest went out).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        DECISION = "decision", _("Decision")
        CARRIED_OVER = "carried_over", _("Comments carried over")
        ROUND_OPENED = "round_opened", _("Round opened")
        ROUND_CLOSING = "round_closing", _("Round closing soon")
        ROUND_CLOSED = "round_closed", _("Round closed")
        MENTION = "mention", _("Mention")
        RETURNED = "returned", _("Comment returned to you")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=100, help_text="The event, e.g. reply:42; once per recipient.")
    consultation = models.ForeignKey("consultations.Consultation", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(
        "consultations.EngagementRound", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.ForeignKey(
        "consultations.DraftVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey("comments.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reply = models.ForeignKey("comments.Reply", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(
        default=dict, blank=True, help_text="What the sentence needs: a decision, counts, a deadline."
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="one_notification_per_event_and_recipient"),
        ]
        indexes = [
            # The inbox, newest first, and the header's unread count.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
            # The e-mail outbox: what is still to be mailed.
            models.Index(
                fields=["recipient", "created_at"], condition=Q(mailed_at__isnull=True), name="notification_unmailed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.recipient_id}"
