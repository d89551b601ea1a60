"""Consolidation of a round's comments, carry-over to the next version, reports and exports.

What the secretariat used to do by hand in spreadsheets: a ConsolidationRun is a snapshot of
a round's comments (counts, national positions, duplicate groups) tied to the data it was
made from; CarriedAnchor records where each comment landed in the next version; a Report is
a generated file (matrix, feedback, revision report) with its progress; an ImportJob is an
offline template brought back in. A Disposition is the secretariat's decision on a comment
(proposed first by the consultants), made on the consolidated feedback.
"""

import numpy as np
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


ACTIVE_STATUSES = [JobStatus.QUEUED, JobStatus.RUNNING]


class JobLease(models.Model):
    """What config.jobs needs to re-drive a job after a fault (docs/jobs.md)."""

    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed it.")
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task last reached the broker; empty until it does."
    )
    requeues = models.PositiveSmallIntegerField(default=0, help_text="How many times the sweep queued it again.")
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="While running: renewed by its worker; once past, the worker is gone."
    )

    # Each job declares its own status field (JobStatus choices); declared here for the type checker.
    status: str

    class Meta:
        abstract = True

    @property
    def waiting_for_queue(self) -> bool:
        """Queued, but its task has not reached the broker yet (the sweep will send it)."""
        return self.status == JobStatus.QUEUED and self.queued_at is None


class ConsolidationRun(JobLease):
    """One consolidation of a round: a stored snapshot, as of the comments it was made from."""

    round = models.ForeignKey("consultations.EngagementRound", on_delete=models.CASCADE, related_name="consolidations")
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0, help_text="0 to 100")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the snapshot was made from: the latest comment change it includes, how many
    # comments, and a fingerprint of (id, revision) pairs, so a report can say "as of".
    as_of = models.DateTimeField(null=True, blank=True)
    comment_count = models.PositiveIntegerField(default=0)
    fingerprint = models.CharField(max_length=64, blank=True)
    # Counts per section x organisation x type x status, national positions, section order.
    result = models.JSONField(default=dict, blank=True)
    # Made by folding the comments changed since the previous snapshot into its stored grouping
    # state (consolidation.services.incremental), not by grouping every comment again.
    incremental = models.BooleanField(default=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("consolidation")
        verbose_name_plural = _("consolidations")
        constraints = [
            models.UniqueConstraint(
                fields=["round"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_consolidation_per_round",
            ),
        ]

    def __str__(self) -> str:
        return f"consolidation {self.pk} of {self.round}"


# A campaign in ConsolidationListing.campaigns: how many comments and sections it spans, its lowest
# similarity, and whether it is of near-duplicates (1) or of identical texts (0).
CAMPAIGN_RECORD = np.dtype([("size", "<i8"), ("sections", "<i8"), ("similarity", "<f8"), ("near", "<i8")])


class ConsolidationListing(models.Model):
    """The comments a run's snapshot lists: each section's, in reading order, the sections in order.

    Packed, 8 bytes an id (little-endian), each section's share as long as its `total` in the
    run's result (selectors_runs.listed_comment_ids). Kept out of the result's JSON, where a
    million ids were 27 MB of text that PostgreSQL parsed on every write and the run page decoded
    on every read; in a table of its own so that no query of a run loads it by accident.
    """

    run = models.OneToOneField(ConsolidationRun, on_delete=models.CASCADE, primary_key=True, related_name="listing")
    comment_ids = models.BinaryField(default=b"")
    # The run's campaigns (result schema 4; older runs list them in result["campaigns"]), one
    # CAMPAIGN_RECORD each, largest first as grouping.campaigns orders them.
    campaigns = models.BinaryField(default=b"", blank=True)
    # Their comments, packed as comment_ids, each campaign's share as long as its `size` (schema 3
    # and later): 300,000 ids at a million comments.
    campaign_ids = models.BinaryField(default=b"", blank=True)
    # Their sections in order of first appearance, packed the same way, each campaign's share as
    # long as its `sections` (schema 4).
    campaign_section_ids = models.BinaryField(default=b"", blank=True)

    class Meta:
        verbose_name = _("listed comments")
        verbose_name_plural = _("listed comments")

    def __str__(self) -> str:
        return f"comments listed by {self.run}"


class ConsolidationChunk(models.Model):
    """One chunk of a consolidation run: some of its sections, grouped by one Celery task.

    A run is split into chunks of sections balanced by their comment counts; each chunk's task
    stores its part here (durably, so that a redelivered or retried task finds it done and a
    later attempt of the run reuses it), and the run's last task merges the parts into the
    snapshot (consolidation.services.chunks).
    """

    run = models.ForeignKey(ConsolidationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveSmallIntegerField()
    section_ids = models.JSONField(default=list, blank=True)
    planned_comments = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    # Per section: [comments, XOR of their (id, revision) hashes] as the chunk read them, so the
    # merge can tell a part made from other data than its snapshot and compute it again.
    seen = models.JSONField(default=dict, blank=True)
    # Per section, its duplicate groups: [section id, kind, [comment ids], similarity].
    groups = models.JSONField(default=list, blank=True)
    # The chunk's distinct texts for the campaigns across sections (numpy arrays, see chunks.py).
    sketch = models.BinaryField(default=b"", blank=True)
    # The verified candidate pairs across chunks in one share of the LSH bands (this row's index
    # numbers the share), found by a link task after every chunk was done (see chunks.py).
    links = models.BinaryField(default=b"", blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_chunk_per_run_and_index")]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id}"


class GroupingState(models.Model):
    """What the latest snapshot of a round leaves for an incremental run (services.incremental).

    Kept after a full run's snapshot by its remember task (aggregation.consolidation_remember), only
    while no comment has changed since; updated by each incremental run in its snapshot's
    transaction. Valid for its threshold, result schema and grouping method only. It holds each
    comment's text digest at its revision (`comments`); its rows: each distinct text's sorted
    key (GroupingText), their LSH band keys (`band_index`), and every verified similar pair of
    those texts (GroupingPair). A cache: its tables are UNLOGGED on PostgreSQL (migration 0011),
    emptied after a crash, and then the next run is full.
    """

    round = models.OneToOneField("consultations.EngagementRound", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(ConsolidationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    threshold = models.FloatField()
    schema = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=40)
    # Near groups' lowest similarities of the latest snapshot, by the set of their texts: packed
    # records (services.incremental.pack_similarities; as JSON, 60 ms of a run at 100,000 comments).
    similarities = models.BinaryField(default=b"", blank=True)
    # The band keys of the texts of the full run it was made by: every (band key, text), sorted by
    # band key, with the texts' digests and block keys (services.band_index, which also keeps a
    # copy on each machine that uses it); texts added since keep their block keys in their
    # GroupingText rows.
    band_index = models.BinaryField(default=b"", blank=True)
    # Each comment of the snapshot, by id: its revision and its text's digest (none: an empty
    # text), packed records (services.incremental.pack_comments). A run compares the round's
    # comments with them in numpy; as rows joined in SQL they were a fifth of an incremental run.
    comments = models.BinaryField(default=b"", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"grouping state of round {self.round_id}"


class GroupingText(models.Model):
    """A distinct normalised text: its digest, its sorted-token key and, if it was added by an
    incremental run, its MinHash block keys in `bands` (those of the full run's texts are in the
    state's band index)."""

    # No constraint in the database: millions of rows are written by COPY in the snapshot's
    # transaction, and a deferred check per row cost its COMMIT seconds; `forget` deletes them.
    state = models.ForeignKey(GroupingState, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    digest = models.BigIntegerField()
    key = models.TextField()
    bands = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["state", "digest"], name="grouping_one_row_per_text")]
        # The few texts added since the full run, found without reading the others (750,000 rows
        # and 0.5 s at a million comments).
        indexes = [models.Index(fields=["state"], condition=Q(bands__len__gt=0), name="grouping_texts_added")]

    def __str__(self) -> str:
        return f"text {self.digest}"


class GroupingPair(models.Model):
    """Two texts (by digest) that share a band key and reach the threshold: an edge of the graph."""

    # No constraint in the database: millions of rows are written by COPY in the snapshot's
    # transaction, and a deferred check per row cost its COMMIT seconds; `forget` deletes them.
    state = models.ForeignKey(GroupingState, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    first = models.BigIntegerField()
    second = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.first} ~ {self.second}"


class DuplicateGroup(models.Model):
    """Comments on the same section that say the same thing (exact) or nearly so (near).

    Written only by a run's snapshot, by COPY, in the transaction that holds the run's row and
    read the sections; its keys to the run and the section have no constraint in the database
    (Django still deletes a run's or a section's groups with it): their deferred check took 80 ms
    of an incremental run's COMMIT at 100,000 comments, 7,500 groups (docs/performance.md, line 3).
    """

    class Kind(models.TextChoices):
        EXACT = "exact", _("Identical")
        NEAR = "near", _("Near-duplicate")

    run = models.ForeignKey(ConsolidationRun, on_delete=models.CASCADE, related_name="groups", db_constraint=False)
    section = models.ForeignKey(
        "consultations.Section", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    size = models.PositiveIntegerField()
    similarity = models.FloatField(help_text="Lowest pairwise similarity in the group, 0 to 100.")
    comments = models.ManyToManyField(
        "comments.Comment", related_name="duplicate_groups", through="DuplicateGroupMember"
    )

    class Meta:
        ordering = ["run", "section__position", "-size", "id"]
        verbose_name = _("duplicate group")
        verbose_name_plural = _("duplicate groups")

    def __str__(self) -> str:
        return f"{self.kind} group of {self.size} in run {self.run_id}"


class DuplicateGroupMember(models.Model):
    """A comment in a duplicate group (the table Django made for DuplicateGroup.comments).

    Without foreign-key constraints in the database (Django still deletes a group's members with
    it, and a comment's memberships with the comment): a run writes every member of every group
    again, 190,000 rows at a million comments, and the deferred check of their two keys, which
    locks each referenced comment, was 4.8 s of an incremental run's 5.5 s COMMIT
    (docs/performance.md, line 3). The rows are written only by a run's snapshot, from the
    comments it read in the same transaction.
    """

    # Found by the unique index on (group, comment): no index of its own to keep up to date.
    duplicategroup = models.ForeignKey(DuplicateGroup, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    comment = models.ForeignKey("comments.Comment", on_delete=models.CASCADE, db_constraint=False, related_name="+")

    class Meta:
        db_table = "consolidation_duplicategroup_comments"
        unique_together = [("duplicategroup", "comment")]
        verbose_name = _("duplicate group member")
        verbose_name_plural = _("duplicate group members")

    def __str__(self) -> str:
        return f"comment {self.comment_id} in group {self.duplicategroup_id}"


class CarriedAnchor(models.Model):
    """Where a comment made on version N lands in a later version.

    Written only by the carry-over, by COPY, in the transaction that holds the version's row and
    read the comments and the sections it names; its three keys have no constraint in the
    database (Django still deletes a comment's, a version's or a section's anchors with it). Their
    deferred checks, which lock every referenced comment at COMMIT, were 0.2 s of carrying over
    10,000 comments, 0.45-0.6 s in all (docs/performance.md, line 9; docs/decisions.md).
    """

    class Method(models.TextChoices):
        SECTION = "section", _("Whole section")
        EXACT = "exact", _("Passage found unchanged")
        FUZZY = "fuzzy", _("Passage found, edited")
        MOVED = "moved", _("Passage moved to another section")
        ORPHANED = "orphaned", _("Passage no longer in the text")

    # No index of its own: the unique constraint's index on (comment, version) starts with it, and every
    # comment carried writes one row into each index (docs/performance.md, line 9).
    comment = models.ForeignKey(
        "comments.Comment",
        on_delete=models.CASCADE,
        related_name="carried_anchors",
        db_index=False,
        db_constraint=False,
    )
    version = models.ForeignKey(
        "consultations.DraftVersion", on_delete=models.CASCADE, related_name="carried_anchors", db_constraint=False
    )
    section = models.ForeignKey(
        "consultations.Section",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carried_anchors",
        db_constraint=False,
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    position_start = models.PositiveIntegerField(null=True, blank=True)
    position_end = models.PositiveIntegerField(null=True, blank=True)
    quote_exact = models.TextField(blank=True)
    score = models.FloatField(default=100.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "comment"]
        verbose_name = _("carried-over anchor")
        verbose_name_plural = _("carried-over anchors")
        constraints = [
            models.UniqueConstraint(fields=["comment", "version"], name="one_carried_anchor_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.comment_id} in v{self.version_id}: {self.method}"

    @property
    def is_orphaned(self) -> bool:
        return self.method == self.Method.ORPHANED


class Report(JobLease):
    """A generated file, made by a Celery task for the person who asked, with what they may see."""

    class Kind(models.TextChoices):
        RESOLUTION_MATRIX = "resolution_matrix", _("Comment resolution matrix")
        CONSOLIDATED_FEEDBACK = "consolidated_feedback", _("Consolidated feedback")
        REVISION_REPORT = "revision_report", _("Revision report")
        DRAFT = "draft", _("Draft with line numbers")
        DRAFT_WITH_COMMENTS = "draft_comments", _("Draft with line numbers and comments")

    class Format(models.TextChoices):
        XLSX = "xlsx", "XLSX"
        CSV = "csv", "CSV"
        DOCX = "docx", "DOCX"
        PDF = "pdf", "PDF"

    consultation = models.ForeignKey("consultations.Consultation", on_delete=models.CASCADE, related_name="reports")
    round = models.ForeignKey(
        "consultations.EngagementRound", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    version = models.ForeignKey(
        "consultations.DraftVersion",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports",
        help_text=_(
            "For a revision report: the new version, compared with the one before it; for a draft: its version."
        ),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=5, choices=Format.choices)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True, help_text=_("The latest change to the data it includes."))
    source = models.JSONField(default=dict, blank=True, help_text="What it was made from (counts, run id).")

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.format})"


class ImportJob(JobLease):
    """An offline comment template (XLSX) the secretariat brings in for one organisation."""

    round = models.ForeignKey("consultations.EngagementRound", on_delete=models.CASCADE, related_name="imports")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255)
    row_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("template import")
        verbose_name_plural = _("template imports")

    def __str__(self) -> str:
        return f"import {self.file_name} for {self.organisation}"


class CarryOverJob(JobLease):
    """The carry-over of open comments to a published version: queued when it is published."""

    # The version's id is the job's id: the task takes a version id, as it did before jobs had rows.
    version = models.OneToOneField(
        "consultations.DraftVersion", on_delete=models.CASCADE, primary_key=True, related_name="carry_over_job"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="Comments per landing method.")

    class Meta:
        verbose_name = _("carry-over")
        verbose_name_plural = _("carry-overs")

    def __str__(self) -> str:
        return f"carry-over to version {self.version_id}"


class Disposition(models.Model):
    """The secretariat's decision on a comment, possibly proposed first by the consultants."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        ACCEPTED_IN_PART = "accepted_in_part", _("Accepted in part")
        NOTED = "noted", _("Noted")
        NOT_ACCEPTED = "not_accepted", _("Not accepted")
        OUT_OF_SCOPE = "out_of_scope", _("Out of scope")

    comment = models.OneToOneField("comments.Comment", on_delete=models.CASCADE, related_name="disposition")
    # What the consultants propose; the secretariat approves or changes it.
    proposed_decision = models.CharField(_("proposed decision"), max_length=20, choices=Decision.choices, blank=True)
    proposed_response = models.TextField(_("proposed response"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    # The decision itself; empty while only proposed.
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    response = models.TextField(_("response"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The section of the next version that the decision led to changing, if any.
    section_change = models.ForeignKey(
        "consultations.Section", null=True, blank=True, on_delete=models.SET_NULL, related_name="dispositions"
    )
    revision = models.PositiveIntegerField(default=1, help_text="Bumped by every change; the API's ETag.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        indexes = [models.Index(fields=["decision"])]

    def __str__(self) -> str:
        return f"{self.comment_id}: {self.decision or self.proposed_decision or '-'}"

    @property
    def is_decided(self) -> bool:
        return bool(self.decision)


class CommentCount(models.Model):
    """How many comments a round has per section, organisation, status, type, hidden flag and disposition.

    Derived, never written by the application: PostgreSQL triggers on the comment and disposition
    tables keep it in the same transaction as the change (migration 0005_comment_counts), whoever
    writes (services, imports, bulk_create, COPY, raw SQL). The consolidated feedback page and its
    heat map read it instead of counting comments, so that their cost does not grow with the round.
    `manage.py comment_counts --check` compares it with a GROUP BY of the comments; `--rebuild`
    recomputes it (services.counts). A cell whose comments all left keeps its row with n = 0.
    """

    round = models.ForeignKey("consultations.EngagementRound", on_delete=models.CASCADE, related_name="+")
    section = models.ForeignKey("consultations.Section", on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10)
    type = models.CharField(max_length=2)
    is_hidden = models.BooleanField()
    # "none", "proposed" (by the consultants, not decided) or the decision's code.
    disposition = models.CharField(max_length=20)
    n = models.IntegerField(default=0)

    class Meta:
        # No verbose name to translate: nobody sees this table (it is in no admin, page or export).
        constraints = [
            models.UniqueConstraint(
                fields=["round", "section", "organisation", "status", "type", "is_hidden", "disposition"],
                name="comment_count_one_row_per_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.section_id}/{self.organisation_id} {self.status} {self.type}: {self.n}"


class CommentAssignment(models.Model):
    """Who in the consultation's team works on a comment's disposition: the secretariat shares the
    feedback out among the consultants (and itself), each of whom then reads "Assigned to me".

    Separate from Disposition on purpose: assigning is no decision, so it bumps no revision (an
    open disposition form stays valid), touches no count and appears in no export.
    """

    comment = models.OneToOneField(
        "comments.Comment", on_delete=models.CASCADE, primary_key=True, related_name="assignment"
    )
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        # The "Assigned to me" queue: a person's comments, in id order.
        indexes = [models.Index(fields=["assignee", "comment"], name="assignment_assignee_comment")]

    def __str__(self) -> str:
        return f"{self.comment_id} → {self.assignee_id}"
