"""Consultations, their timeline, draft versions, section trees and engagement rounds.

Rules about who may change what live in rules.py and services.py; the models only describe
the data and the time windows (QuerySet methods such as EngagementRound.objects.open_at(now)).
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, Role


class Consultation(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")

    def __str__(self) -> str:
        return self.title


class Phase(models.Model):
    """A named period on the consultation's timeline (e.g. research and drafting)."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["starts_on", "position", "id"]
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="phase_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name

    def state_on(self, day) -> str:
        if day < self.starts_on:
            return "upcoming"
        if day > self.ends_on:
            return "done"
        return "current"


class Participation(models.Model):
    """A user acting for an organisation in one consultation, with the role that comes with it."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_focal_point = models.BooleanField(_("focal point"), default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consultation", "organisation__name", "user__email"]
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        constraints = [
            models.UniqueConstraint(fields=["consultation", "user"], name="one_participation_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.organisation} ({self.role})"


class DraftVersion(models.Model):
    """A numbered version of the draft (0.1, 0.2, 1.0). Immutable once published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="versions")
    number = models.CharField(_("version number"), max_length=20)
    major = models.PositiveIntegerField(editable=False, default=0)
    minor = models.PositiveIntegerField(editable=False, default=0)
    title = models.CharField(_("title"), max_length=200, blank=True)
    change_summary = models.TextField(_("change summary"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    source_name = models.CharField(_("source file"), max_length=255, blank=True)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    line_length = models.PositiveSmallIntegerField(
        _("line length"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The line length its line numbers were counted with, fixed when it was published."),
    )
    line_rules = models.PositiveSmallIntegerField(
        _("line breaking rules"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The rules its lines were broken by, fixed when it was published."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["consultation", "major", "minor"]
        verbose_name = _("draft version")
        verbose_name_plural = _("draft versions")
        constraints = [
            models.UniqueConstraint(fields=["consultation", "number"], name="unique_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.consultation} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Section(models.Model):
    """A node of the draft's tree: component > chapter > clause.

    `key` is stable across versions: the same section in version 0.2 carries the key it had in
    0.1, so comments and the revision report can follow it.
    """

    class Kind(models.TextChoices):
        COMPONENT = "component", _("Component")
        CHAPTER = "chapter", _("Chapter")
        CLAUSE = "clause", _("Clause")

    version = models.ForeignKey(DraftVersion, on_delete=models.CASCADE, related_name="sections")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    key = models.CharField(_("stable key"), max_length=64)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    number = models.CharField(_("clause number"), max_length=20, blank=True)
    heading = models.CharField(_("heading"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    position = models.PositiveIntegerField(_("position"), help_text=_("Order in the whole document."))
    depth = models.PositiveSmallIntegerField(default=0)
    # Its line numbers in the whole document (consultations.line_numbers), fixed when the version is published.
    first_line = models.PositiveIntegerField(_("first line"), null=True, blank=True, editable=False)
    line_count = models.PositiveIntegerField(_("line count"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="unique_section_key_per_version"),
            models.UniqueConstraint(fields=["version", "position"], name="unique_section_position_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.heading}".strip()


class EngagementRoundQuerySet(models.QuerySet):
    def due_to_open(self, now: datetime):
        return self.filter(state=EngagementRound.State.SCHEDULED, opens_at__lte=now)

    def due_to_close(self, now: datetime):
        """Open rounds whose window, extensions included, has ended."""
        return self.filter(state=EngagementRound.State.OPEN, final_closes_at__lte=now)

    def open_at(self, now: datetime):
        return self.filter(opens_at__lte=now, final_closes_at__gt=now).exclude(
            state=EngagementRound.State.SCHEDULED, opens_at__gt=now
        )

    def closing_within(self, *, hours: int, now: datetime | None = None):
        now = now or timezone.now()
        return self.filter(
            state=EngagementRound.State.OPEN, closes_at__gt=now, closes_at__lte=now + timedelta(hours=hours)
        )


class EngagementRound(models.Model):
    """A timed window in which participants comment on one draft version."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        # What happened to a closed round since (consolidating, reported) is consolidation's to
        # say, from its runs: consultations.selectors.round_phases asks it (signal round_stages).

    class Visibility(models.TextChoices):
        SECRETARIAT_ONLY = "secretariat_only", _("Secretariat and consultants only")
        AFTER_CLOSE = "after_close", _("All participants, once the round closes")
        LIVE = "live", _("All participants, as soon as submitted")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="rounds")
    version = models.ForeignKey(DraftVersion, on_delete=models.PROTECT, related_name="rounds")
    title = models.CharField(_("title"), max_length=200)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    # The latest of closes_at and every extension: the moment the round closes for everyone.
    # Kept by the services so that beat can find rounds to close with one indexed query.
    final_closes_at = models.DateTimeField(editable=False, db_index=True)
    commenting_roles = models.JSONField(
        _("roles that may comment"), default=list, help_text=_("Roles whose participants may comment.")
    )
    visibility = models.CharField(
        _("visibility of submitted comments"),
        max_length=20,
        choices=Visibility.choices,
        default=Visibility.SECRETARIAT_ONLY,
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.SCHEDULED)
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A round the secretariat closed before its time: the closing time it had been given (closes_at
    # then holds the moment it closed). Empty for a round that closed on time.
    planned_closes_at = models.DateTimeField(_("planned closing time"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EngagementRoundQuerySet.as_manager()

    class Meta:
        ordering = ["consultation", "opens_at", "id"]
        verbose_name = _("engagement round")
        verbose_name_plural = _("engagement rounds")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="round_closes_after_open"),
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(state__in=["scheduled", "open"]),
                name="one_active_round_per_version",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_closed(self) -> bool:
        """Closed for everyone, whether or not it has been consolidated since."""
        return self.state == self.State.CLOSED

    def closes_at_for(self, organisation_id: int | None, extensions: dict[int, datetime] | None = None) -> datetime:
        """When the round closes for one organisation: its extension if it has one."""
        if organisation_id is None:  # no organisation, no extension
            return self.closes_at
        if extensions is None:
            extensions = {e.organisation_id: e.closes_at for e in self.extensions.all()}
        return max(self.closes_at, extensions.get(organisation_id, self.closes_at))

    def is_open_for(self, organisation_id: int | None, at: datetime | None = None, extensions=None) -> bool:
        """Whether writes from this organisation are accepted at this instant.

        The window is half-open: [opens_at, closes_at). At the exact closing second the round
        is closed. A round closed early by the secretariat is closed whatever the clock says.
        """
        at = at or timezone.now()
        if self.state not in (self.State.SCHEDULED, self.State.OPEN):
            return False
        return self.opens_at <= at < self.closes_at_for(organisation_id, extensions)

    @property
    def closed_early(self) -> bool:
        return self.planned_closes_at is not None

    def phase_at(self, at: datetime | None = None) -> str:
        """The state a viewer should see at this instant, even if beat has not run yet."""
        at = at or timezone.now()
        if self.state == self.State.SCHEDULED and at >= self.opens_at:
            return self.State.OPEN if at < self.final_closes_at else self.State.CLOSED
        if self.state == self.State.OPEN and at >= self.final_closes_at:
            return self.State.CLOSED
        return self.state


class RoundExtension(models.Model):
    """A later deadline for one organisation in one round."""

    round = models.ForeignKey(EngagementRound, on_delete=models.CASCADE, related_name="extensions")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="round_extensions")
    closes_at = models.DateTimeField(_("closes at"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["round", "organisation__name"]
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        constraints = [
            models.UniqueConstraint(fields=["round", "organisation"], name="one_extension_per_org_and_round"),
        ]

    def __str__(self) -> str:
        return f"{self.round} / {self.organisation}"


class RoundNotice(models.Model):
    """An e-mail about a round sent to one participant; the unique key makes each go out once."""

    OPENED = "opened"

    round = models.ForeignKey(EngagementRound, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, help_text="opened, or reminder_<hours>h")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user", "kind"], name="one_notice_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user_id} for round {self.round_id}"


class RoundReminder(models.Model):
    """A reminder e-mail the secretariat sent one participant of a late organisation (the outbox row).

    One request reminds every active participant of each chosen organisation; an organisation is
    not reminded twice within REMINDER_INTERVAL (consultations.reminders). Empty sent_at: still to go.
    """

    round = models.ForeignKey(EngagementRound, on_delete=models.CASCADE, related_name="reminders")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        indexes = [
            models.Index(fields=["round", "organisation", "requested_at"], name="reminder_by_round_org"),
            models.Index(fields=["sent_at"], name="reminder_unsent", condition=Q(sent_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"reminder to {self.user_id} for round {self.round_id}"


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _default_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(models.Model):
    """An invitation of an e-mail address into a consultation, with organisation and role."""

    email = models.EmailField(_("e-mail address"))
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="invitations")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="invitations")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_focal_point = models.BooleanField(_("focal point"), default=False)
    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_default_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The e-mail as an outbox entry (docs/jobs.md): empty sent_at means it is still to go out,
    # and the job sweep queues it again after a broker outage or a lost worker.
    sent_at = models.DateTimeField(_("e-mail sent at"), null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When its e-mail task last reached the broker.")
    send_attempts = models.PositiveSmallIntegerField(default=0)
    send_lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return self.email

    def is_usable(self, at=None) -> bool:
        return self.accepted_at is None and (at or timezone.now()) < self.expires_at
