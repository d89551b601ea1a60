"""Reads for the consolidated feedback page: the heat map, the filtered comment list, duplicates.

Everything here issues a fixed number of queries whatever the number of comments, sections
or organisations: one aggregate for the heat map, one count and one page of comments (with
author, organisation, section and disposition joined), one for the page's duplicate groups.
Only submitted comments are consolidated; the list is scoped by comments_visible_to.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Organisation
from comments.models import Comment
from comments.selectors import comments_visible_to
from consultations.models import Consultation, DraftVersion, EngagementRound, Participation, Section

from .models import ConsolidationRun, Disposition, DuplicateGroup, JobStatus

PER_PAGE = 25

DISPOSITION_NONE = "none"
DISPOSITION_PROPOSED = "proposed"


@dataclass(frozen=True)
class FeedbackFilters:
    """What the list is narrowed to; empty values do not filter."""

    section_id: int | None = None
    organisation_id: int | None = None
    role: str = ""
    comment_type: str = ""
    disposition: str = ""
    text: str = ""
    duplicates_only: bool = False


@dataclass
class HeatMap:
    """Submitted comments per (section, organisation), sections in document order."""

    sections: list[Section]
    organisations: list[Organisation]
    counts: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def max_count(self) -> int:
        return max(self.counts.values(), default=0)

    def count(self, section_id: int, organisation_id: int) -> int:
        return self.counts.get((section_id, organisation_id), 0)


@dataclass
class GroupInfo:
    id: int
    size: int
    kind: str
    kind_label: str


def latest_done_run(*, engagement_round: EngagementRound) -> ConsolidationRun | None:
    return (
        ConsolidationRun.objects.filter(round=engagement_round, status=JobStatus.DONE)
        .order_by("-finished_at", "-requested_at", "-id")
        .first()
    )


def submitted_comments(*, user, engagement_round: EngagementRound) -> QuerySet[Comment]:
    return comments_visible_to(user=user, engagement_round=engagement_round).filter(status=Comment.Status.SUBMITTED)


def feedback_heatmap(*, user, engagement_round: EngagementRound) -> HeatMap:
    """Three queries: the sections, the organisations (participants of commenting roles and
    whoever commented) and one aggregate of submitted comments per cell."""
    sections = list(engagement_round.version.sections.order_by("position"))
    comments = submitted_comments(user=user, engagement_round=engagement_round)
    counts = {
        (row["section_id"], row["organisation_id"]): row["n"]
        for row in comments.order_by().values("section_id", "organisation_id").annotate(n=Count("id"))
    }
    participants = Participation.objects.filter(
        consultation_id=engagement_round.consultation_id, role__in=engagement_round.commenting_roles or []
    ).values("organisation_id")
    commented = Comment.objects.filter(round=engagement_round, status=Comment.Status.SUBMITTED).values(
        "organisation_id"
    )
    organisations = list(
        Organisation.objects.filter(Q(pk__in=participants) | Q(pk__in=commented)).order_by("kind", "name")
    )
    return HeatMap(sections=sections, organisations=organisations, counts=counts)


def _normalise_text(text: str) -> str:
    # Vietnamese typed on some keyboards arrives decomposed (NFD); stored text is NFC.
    return unicodedata.normalize("NFC", (text or "").strip())


def filtered_comments(
    *, user, engagement_round: EngagementRound, filters: FeedbackFilters, run: ConsolidationRun | None
) -> QuerySet[Comment]:
    qs = submitted_comments(user=user, engagement_round=engagement_round)
    if filters.section_id:
        qs = qs.filter(section_id=filters.section_id)
    if filters.organisation_id:
        qs = qs.filter(organisation_id=filters.organisation_id)
    if filters.role:
        # The role comes with the author's participation in this consultation.
        qs = qs.filter(
            Exists(
                Participation.objects.filter(
                    consultation_id=engagement_round.consultation_id, user_id=OuterRef("author_id"), role=filters.role
                )
            )
        )
    if filters.comment_type:
        qs = qs.filter(type=filters.comment_type)
    if filters.disposition == DISPOSITION_NONE:
        qs = qs.filter(Q(disposition__isnull=True) | Q(disposition__decision="", disposition__proposed_decision=""))
    elif filters.disposition == DISPOSITION_PROPOSED:
        qs = qs.filter(disposition__decision="").exclude(disposition__proposed_decision="")
    elif filters.disposition in Disposition.Decision.values:
        qs = qs.filter(disposition__decision=filters.disposition)
    text = _normalise_text(filters.text)
    if text:
        qs = qs.filter(Q(body__icontains=text) | Q(proposed_change__icontains=text) | Q(quote_exact__icontains=text))
    if filters.duplicates_only:
        if run is None:
            return qs.none()
        qs = qs.filter(
            Exists(DuplicateGroup.comments.through.objects.filter(duplicategroup__run=run, comment_id=OuterRef("pk")))
        )
    return qs


def feedback_page(
    *, user, engagement_round: EngagementRound, filters: FeedbackFilters, run: ConsolidationRun | None, page_number
) -> Page:
    """One page of the filtered list. Each comment carries `disposition_or_none` and `group` (GroupInfo or None)."""
    qs = (
        filtered_comments(user=user, engagement_round=engagement_round, filters=filters, run=run)
        .select_related(
            "author",
            "organisation",
            "section",
            "disposition",
            "disposition__proposed_by",
            "disposition__decided_by",
            "disposition__section_change__version",
        )
        .order_by("section__position", "organisation__name", "id")
    )
    page = Paginator(qs, PER_PAGE).get_page(page_number)
    comments = list(page.object_list)
    groups = groups_for_comments(run=run, comment_ids=[c.pk for c in comments])
    for comment in comments:
        try:
            comment.disposition_or_none = comment.disposition
        except Disposition.DoesNotExist:
            comment.disposition_or_none = None
        comment.group = groups.get(comment.pk)
        comment.round = engagement_round
    page.object_list = comments
    return page


def groups_for_comments(*, run: ConsolidationRun | None, comment_ids: list[int]) -> dict[int, GroupInfo]:
    if run is None or not comment_ids:
        return {}
    links = (
        DuplicateGroup.comments.through.objects.filter(duplicategroup__run=run, comment_id__in=comment_ids)
        .select_related("duplicategroup")
        .order_by("duplicategroup__size", "duplicategroup_id")
    )
    found: dict[int, GroupInfo] = {}
    for link in links:
        group = link.duplicategroup
        # A comment in two groups: show the larger one (ordered ascending, the last wins).
        found[link.comment_id] = GroupInfo(
            id=group.pk, size=group.size, kind=group.kind, kind_label=group.get_kind_display()
        )
    return found


def feedback_comment(*, user, engagement_round: EngagementRound, pk: int, run: ConsolidationRun | None) -> Comment:
    """One comment of the list, decorated as feedback_page does, for re-rendering its row; else 404."""
    qs = (
        submitted_comments(user=user, engagement_round=engagement_round)
        .filter(pk=pk)
        .select_related(
            "author",
            "organisation",
            "section",
            "disposition",
            "disposition__proposed_by",
            "disposition__decided_by",
            "disposition__section_change__version",
        )
    )
    comment = qs.first()
    if comment is None:
        raise Http404
    return _decorate(comment, run=run, engagement_round=engagement_round)


def _decorate(comment: Comment, *, run: ConsolidationRun | None, engagement_round: EngagementRound) -> Comment:
    try:
        comment.disposition_or_none = comment.disposition
    except Disposition.DoesNotExist:
        comment.disposition_or_none = None
    comment.group = groups_for_comments(run=run, comment_ids=[comment.pk]).get(comment.pk)
    comment.round = engagement_round
    return comment


def disposition_summary(*, user, engagement_round: EngagementRound) -> dict[str, int]:
    """How far the secretariat has come: submitted comments, decided, proposed only. One query."""
    return submitted_comments(user=user, engagement_round=engagement_round).aggregate(
        total=Count("id"),
        decided=Count("id", filter=~Q(disposition__decision="") & Q(disposition__isnull=False)),
        proposed=Count("id", filter=Q(disposition__decision="") & ~Q(disposition__proposed_decision="")),
    )


def later_sections(*, consultation: Consultation, version: DraftVersion) -> list[Section]:
    """Sections of versions after `version`: where a decision may have led to a change. One query."""
    return list(
        Section.objects.filter(version__consultation=consultation)
        .filter(Q(version__major__gt=version.major) | Q(version__major=version.major, version__minor__gt=version.minor))
        .select_related("version")
        .order_by("version__major", "version__minor", "position")
    )


def get_group_for_round(*, engagement_round: EngagementRound, pk: int) -> DuplicateGroup:
    group = DuplicateGroup.objects.filter(pk=pk, run__round=engagement_round).select_related("run").first()
    if group is None:
        raise Http404
    return group
