"""Reads for the revision report: version N+1 compared with the version before it.

The report is plain data (dataclasses of strings, numbers and redline segments) so that the
web page, the PDF and the DOCX writers render the same thing without touching the database.
Which comments appear is decided by comments.selectors.comments_visible_to, round by round:
a participant sees in the report exactly the comments they may see elsewhere.

"Open" comments are defined once, here (open_comments_filter), and used by the carry-over too.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext as _

from comments.models import Comment
from comments.selectors import comments_visible_to
from config.redline import Segment, diff_words, has_changes, render_html
from consultations.models import DraftVersion, EngagementRound, Section
from consultations.rules import is_organiser

from .models import CarriedAnchor, Disposition


def open_comments_filter(*, probe: bool = False) -> Q:
    """A comment is open when it was submitted and the secretariat has not decided on it yet.

    No disposition at all, or one only proposed by the consultants (decision still empty),
    leaves it open. Drafts and withdrawn comments are never open, and a decided comment is
    closed whatever the decision. Open comments are carried over to each new version.

    `probe`: the same rule with each comment's disposition looked up on its own (one probe of the
    disposition's unique index per comment) instead of joined, for a read of a few rounds'
    comments in a database of many: joined, PostgreSQL hashed every disposition of the database
    (the carry-over of 10,000 comments: 0.14 s of it with 370,000 dispositions elsewhere, 28 ms
    probed), since it cannot know how many of the rounds' comments have one.
    """
    if probe:
        decision = Subquery(Disposition.objects.filter(comment=OuterRef("pk")).values("decision")[:1])
        return Q(status=Comment.Status.SUBMITTED) & Q(Exact(Coalesce(decision, Value("")), ""))
    return Q(status=Comment.Status.SUBMITTED) & (Q(disposition__isnull=True) | Q(disposition__decision=""))


def rounds_before(*, version: DraftVersion) -> QuerySet[EngagementRound]:
    """The rounds held on versions earlier than `version` in its consultation."""
    return (
        EngagementRound.objects.filter(consultation_id=version.consultation_id)
        .filter(Q(version__major__lt=version.major) | Q(version__major=version.major, version__minor__lt=version.minor))
        .select_related("consultation", "version")
        .order_by("opens_at", "id")
    )


def visible_comments_in_rounds(*, user, rounds: list[EngagementRound]) -> QuerySet[Comment]:
    """One queryset of what `user` may see in each of `rounds`, each round under its own policy."""
    querysets = [comments_visible_to(user=user, engagement_round=r) for r in rounds]
    if not querysets:
        return Comment.objects.none()
    return reduce(operator.or_, querysets)


# --- the report's data --------------------------------------------------------------------

STATUS_ADDED = "added"
STATUS_REMOVED = "removed"
STATUS_CHANGED = "changed"
STATUS_UNCHANGED = "unchanged"
UNDECIDED = "undecided"


def status_labels() -> dict[str, str]:
    return {
        STATUS_ADDED: _("Added"),
        STATUS_REMOVED: _("Removed"),
        STATUS_CHANGED: _("Changed"),
        STATUS_UNCHANGED: _("Unchanged"),
    }


@dataclass
class Landing:
    """Where an open comment landed in the new version (its CarriedAnchor)."""

    method: str
    method_label: str
    section_key: str = ""
    section_label: str = ""
    quote: str = ""
    score: float = 100.0

    @property
    def is_orphaned(self) -> bool:
        return self.method == CarriedAnchor.Method.ORPHANED


@dataclass
class CommentEntry:
    pk: int
    number: str
    organisation: str
    type_label: str
    round_title: str
    section_label: str  # the section it was made on, in its own version
    body: str
    proposed_change: str
    quote: str
    decision: str  # a Disposition.Decision value, or UNDECIDED
    decision_label: str
    response: str
    landing: Landing | None = None


@dataclass
class SectionDiff:
    key: str
    status: str
    status_label: str
    number: str
    heading: str
    old_number: str
    depth: int
    renumbered: bool
    moved: bool
    heading_segments: list[Segment]
    body_segments: list[Segment]
    dispositions: list[CommentEntry] = field(default_factory=list)
    carried: list[CommentEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.number} {self.heading}".strip()

    @property
    def heading_html(self):
        return render_html(self.heading_segments)

    @property
    def body_html(self):
        return render_html(self.body_segments)

    @property
    def is_noteworthy(self) -> bool:
        """Shown in full: changed in any way, or with comments attached."""
        return (
            self.status != STATUS_UNCHANGED or self.renumbered or self.moved or bool(self.dispositions or self.carried)
        )


@dataclass
class RevisionReport:
    consultation_title: str
    consultation_slug: str
    version_number: str
    version_title: str
    change_summary: str
    previous_number: str  # empty for a first version
    published_at: datetime | None
    as_of: datetime
    generated_at: datetime
    is_organiser: bool
    sections: list[SectionDiff]
    stats: dict
    open_comments: list[CommentEntry]
    orphaned_comments: list[CommentEntry]
    carry_over_pending: int  # open comments without a CarriedAnchor yet


def _section_label(section: Section | None) -> str:
    if section is None:
        return ""
    return f"{section.number} {section.heading}".strip()


def _decision(comment: Comment, *, is_organiser: bool) -> tuple[str, str, str]:
    """(code, label, response) as this reader may see them: proposals only for organisers."""
    labels = dict(Disposition.Decision.choices)
    disposition = getattr(comment, "disposition", None)
    if disposition is not None and disposition.decision:
        return disposition.decision, str(labels[disposition.decision]), disposition.response
    if disposition is not None and disposition.proposed_decision and is_organiser:
        label = _("Proposed: %(decision)s") % {"decision": labels[disposition.proposed_decision]}
        return UNDECIDED, label, disposition.proposed_response
    return UNDECIDED, _("No decision yet"), ""


def _entry(comment: Comment, *, is_organiser: bool, landing: Landing | None = None) -> CommentEntry:
    code, label, response = _decision(comment, is_organiser=is_organiser)
    return CommentEntry(
        pk=comment.pk,
        number=comment.number,
        organisation=comment.organisation.name,
        type_label=str(comment.get_type_display()),
        round_title=comment.round.title,
        section_label=_section_label(comment.section),
        body=comment.body,
        proposed_change=comment.proposed_change,
        quote=comment.quote_exact,
        decision=code,
        decision_label=label,
        response=response,
        landing=landing,
    )


def _diff_sections(old_sections: list[Section], new_sections: list[Section]) -> list[SectionDiff]:
    """Sections matched by key, in the new document order; removed ones where they used to be."""
    labels = status_labels()
    old_by_key = {s.key: s for s in old_sections}
    new_keys = {s.key for s in new_sections}
    # Keyed by a parent id that may be None: a top-level section has no parent key.
    old_key_by_pk: dict[int | None, str] = {s.pk: s.key for s in old_sections}
    new_key_by_pk: dict[int | None, str] = {s.pk: s.key for s in new_sections}
    # A removed section is listed after the nearest section before it that survived.
    removed_after: dict[str | None, list[Section]] = defaultdict(list)
    last_surviving = None
    for old_section in old_sections:
        if old_section.key in new_keys:
            last_surviving = old_section.key
        else:
            removed_after[last_surviving].append(old_section)

    def removed(old: Section) -> SectionDiff:
        return SectionDiff(
            key=old.key,
            status=STATUS_REMOVED,
            status_label=labels[STATUS_REMOVED],
            number=old.number,
            heading=old.heading,
            old_number=old.number,
            depth=old.depth,
            renumbered=False,
            moved=False,
            heading_segments=diff_words(old.heading, ""),
            body_segments=diff_words(old.body, ""),
        )

    diffs = [removed(old) for old in removed_after[None]]
    for new in new_sections:
        old = old_by_key.get(new.key)
        if old is None:
            status, old_number, renumbered, moved = STATUS_ADDED, "", False, False
        else:
            old_number = old.number
            renumbered = old.number != new.number
            moved = old_key_by_pk.get(old.parent_id) != new_key_by_pk.get(new.parent_id)
            status = STATUS_UNCHANGED
        heading_segments = diff_words(old.heading if old else "", new.heading)
        body_segments = diff_words(old.body if old else "", new.body)
        if old is not None and (has_changes(heading_segments) or has_changes(body_segments)):
            status = STATUS_CHANGED
        diffs.append(
            SectionDiff(
                key=new.key,
                status=status,
                status_label=labels[status],
                number=new.number,
                heading=new.heading,
                old_number=old_number,
                depth=new.depth,
                renumbered=renumbered,
                moved=moved,
                heading_segments=heading_segments,
                body_segments=body_segments,
            )
        )
        diffs.extend(removed(o) for o in removed_after.get(new.key, []))
    return diffs


def revision_report(*, user, version: DraftVersion) -> RevisionReport:
    """The revision report of `version` for `user`, in a fixed number of queries.

    Queries: the previous version, both versions' sections, the earlier rounds, the open
    comments (with their landing in this version: one prefetch), the comments whose
    disposition changed a section of this version, and the counts by decision.
    """
    consultation = version.consultation
    organiser = bool(is_organiser(user, consultation))
    previous = DraftVersion.objects.filter(pk=version.previous_id).first() if version.previous_id else None
    version_ids = [version.pk] + ([previous.pk] if previous else [])
    sections = list(Section.objects.filter(version_id__in=version_ids).order_by("position"))
    new_sections = [s for s in sections if s.version_id == version.pk]
    old_sections = [s for s in sections if previous and s.version_id == previous.pk]
    # Looked up by nullable ids (an orphaned landing, a disposition without a section change).
    new_by_pk: dict[int | None, Section] = {s.pk: s for s in new_sections}
    diffs = _diff_sections(old_sections, new_sections)
    diff_by_key = {d.key: d for d in diffs if d.status != STATUS_REMOVED}

    rounds = list(rounds_before(version=version))
    visible = visible_comments_in_rounds(user=user, rounds=rounds)
    method_labels = dict(CarriedAnchor.Method.choices)
    stamps = [version.published_at or version.created_at]

    open_comments: list[CommentEntry] = []
    orphaned: list[CommentEntry] = []
    pending = 0
    open_qs = (
        visible.filter(open_comments_filter())
        .select_related("organisation", "section", "round", "disposition")
        .prefetch_related(
            Prefetch("carried_anchors", queryset=CarriedAnchor.objects.filter(version=version), to_attr="landings")
        )
        .order_by("id")
    )
    for comment in open_qs:
        stamps.append(comment.updated_at)
        anchor = comment.landings[0] if comment.landings else None
        landing = None
        if anchor is not None:
            stamps.append(anchor.created_at)
            section = new_by_pk.get(anchor.section_id)
            landing = Landing(
                method=anchor.method,
                method_label=str(method_labels.get(anchor.method, anchor.method)),
                section_key=section.key if section else "",
                section_label=_section_label(section),
                quote=anchor.quote_exact,
                score=anchor.score,
            )
        else:
            pending += 1
        entry = _entry(comment, is_organiser=organiser, landing=landing)
        if landing is not None and landing.is_orphaned:
            orphaned.append(entry)
        else:
            open_comments.append(entry)
        if landing is not None and landing.section_key in diff_by_key and not landing.is_orphaned:
            diff_by_key[landing.section_key].carried.append(entry)
    position = {s.key: s.position for s in new_sections}
    open_comments.sort(
        key=lambda e: (position.get(e.landing.section_key, 0) if e.landing else 10**9, e.pk),
    )

    changed_by = (
        visible.filter(disposition__section_change__version=version)
        .select_related("organisation", "section", "round", "disposition")
        .order_by("id")
    )
    for changed in changed_by:
        stamps.extend([changed.updated_at, changed.disposition.updated_at])
        target = new_by_pk.get(changed.disposition.section_change_id)
        if target is not None and target.key in diff_by_key:
            diff_by_key[target.key].dispositions.append(_entry(changed, is_organiser=organiser))

    decision_labels = dict(Disposition.Decision.choices)
    decision_counts = {code: 0 for code in decision_labels}
    decision_counts[UNDECIDED] = 0
    total = 0
    if rounds:
        # The same comments as the open ones counted below: every submitted comment of the rounds
        # before this version (not only those on the previous version), so that the table's
        # "No decision yet" row is the number of comments still open, carried ones included.
        counted = (
            visible.filter(status=Comment.Status.SUBMITTED)
            .values("disposition__decision")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in counted:
            code = row["disposition__decision"] or UNDECIDED
            decision_counts[code] = decision_counts.get(code, 0) + row["n"]
            total += row["n"]
    by_status = {key: 0 for key in status_labels()}
    for diff in diffs:
        by_status[diff.status] += 1
    stats = {
        "sections_added": by_status[STATUS_ADDED],
        "sections_removed": by_status[STATUS_REMOVED],
        "sections_changed": by_status[STATUS_CHANGED],
        "sections_unchanged": by_status[STATUS_UNCHANGED],
        "sections_renumbered": sum(1 for d in diffs if d.renumbered),
        "sections_moved": sum(1 for d in diffs if d.moved),
        "sections_by_status": [(label, by_status[key]) for key, label in status_labels().items()],
        "comments_total": total,
        "comments_by_decision": [
            (str(decision_labels.get(code, _("No decision yet"))), count) for code, count in decision_counts.items()
        ],
        "decision_counts": decision_counts,
        "open_count": len(open_comments) + len(orphaned),
        "orphaned_count": len(orphaned),
    }
    now = timezone.now()
    return RevisionReport(
        consultation_title=consultation.title,
        consultation_slug=consultation.slug,
        version_number=version.number,
        version_title=version.title,
        change_summary=version.change_summary,
        previous_number=previous.number if previous else "",
        published_at=version.published_at,
        as_of=max(s for s in stamps if s is not None) if any(stamps) else now,
        generated_at=now,
        is_organiser=organiser,
        sections=diffs,
        stats=stats,
        open_comments=open_comments,
        orphaned_comments=orphaned,
        carry_over_pending=pending,
    )


def carried_into_section(*, user, section: Section) -> list[CarriedAnchor]:
    """Open comments of earlier rounds that landed on this section, as `user` may see them.

    Two queries whatever the number of comments: the earlier rounds, then the landings.
    """
    rounds = list(rounds_before(version=section.version))
    if not rounds:
        return []
    visible = visible_comments_in_rounds(user=user, rounds=rounds).filter(open_comments_filter())
    return list(
        CarriedAnchor.objects.filter(version_id=section.version_id, section=section, comment__in=visible.values("pk"))
        .select_related("comment__organisation", "comment__round__version")
        .order_by("position_start", "comment_id")
    )
