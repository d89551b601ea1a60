"""Reads for the consolidated feedback page: the heat map, the filtered comment list, duplicates.

Everything here issues a fixed number of queries whatever the number of comments, sections
or organisations, and for the organisers (who alone read this page) none of them grows with the
number of comments: the heat map, the totals and the list's count read CommentCount (kept by
PostgreSQL triggers, see consolidation/models.py), and the list's page is cut from at most
PER_PAGE (section, organisation) cells, each read in id order through an index: one query for the
cells, one for the ids of the page, one for the page's comments (author, organisation, section and
disposition joined), one for their duplicate groups. The text, role and near-duplicate filters
cannot be counted in advance: with them, and for anyone else (or on SQLite), the list is counted
and sorted by the database as before. Only submitted comments are consolidated; the list is scoped
by comments_visible_to.

The list is given as read models (FeedbackItem, DispositionView...: frozen dataclasses) that
the page's templates render and the API serializes alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Organisation
from comments.models import Comment, CommentSupport
from comments.selectors import comments_visible_to
from consultations.models import Consultation, DraftVersion, EngagementRound, Participation, Role, Section
from consultations.rules import is_organiser
from consultations.selectors import commenting_participations

from .models import (
    CommentAssignment,
    CommentCount,
    ConsolidationRun,
    Disposition,
    DuplicateGroup,
    DuplicateGroupMember,
    JobStatus,
)
from .services.counts import maintained as counts_maintained

PER_PAGE = 25

DISPOSITION_NONE = "none"
DISPOSITION_PROPOSED = "proposed"

# The "assigned" filter: to the viewer, to nobody, else a person's id.
ASSIGNED_TO_ME = "me"
ASSIGNED_TO_NOBODY = "none"

# The list's orders. Section order and organisation are cut from CommentCount's cells; the others
# are counted there and sorted by the database (see feedback_page).
SORT_SECTION = "section"
SORT_ORGANISATION = "organisation"
SORT_TYPE = "type"
SORT_STATUS = "status"
SORT_NEWEST = "newest"
SORT_SUPPORT = "support"  # the most supported first (co-sponsorship by other delegations)
SORTS = (SORT_SECTION, SORT_ORGANISATION, SORT_TYPE, SORT_STATUS, SORT_NEWEST, SORT_SUPPORT)

# The "support" filter: comments other delegations support, or that none supports.
SUPPORT_ANY = "supported"
SUPPORT_NONE = "unsupported"


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
    assigned: str = ""  # ASSIGNED_TO_ME, ASSIGNED_TO_NOBODY or a person's id
    support: str = ""  # SUPPORT_ANY or SUPPORT_NONE
    sort: str = SORT_SECTION


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


@dataclass(frozen=True)
class GroupInfo:
    """The duplicate group a comment belongs to in the latest finished run."""

    id: int
    size: int
    kind: str
    kind_label: str


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str  # the full name, else the e-mail address

    def get_full_name(self) -> str:
        """As accounts.User names itself (PersonSerializer reads it)."""
        return self.name


@dataclass(frozen=True)
class OrganisationRef:
    id: int
    name: str
    short_name: str
    country_code: str


@dataclass(frozen=True)
class SectionRef:
    id: int
    key: str
    number: str
    heading: str
    version_number: str = ""  # filled where the version matters (a disposition's section_change)


@dataclass(frozen=True)
class DispositionView:
    """A comment's disposition: the consultants' proposal and the secretariat's decision."""

    decision: str
    decision_label: str
    response: str
    decided_by: PersonRef | None
    decided_at: datetime | None
    proposed_decision: str
    proposed_decision_label: str
    proposed_response: str
    proposed_by: PersonRef | None
    proposed_at: datetime | None
    section_change: SectionRef | None
    revision: int

    @property
    def state(self) -> str:
        """A decision code, DISPOSITION_PROPOSED or DISPOSITION_NONE."""
        if self.decision:
            return self.decision
        return DISPOSITION_PROPOSED if self.proposed_decision else DISPOSITION_NONE


@dataclass(frozen=True)
class FeedbackItem:
    """A submitted comment on the consolidated feedback list, with its disposition and group."""

    id: int
    section: SectionRef
    author: PersonRef
    organisation: OrganisationRef
    type: str
    type_label: str
    body: str
    proposed_change: str
    language: str
    quote_exact: str
    quote_prefix: str
    quote_suffix: str
    position_start: int | None
    position_end: int | None
    is_endorsed: bool
    is_hidden: bool
    submitted_at: datetime | None
    disposition: DispositionView | None
    group: GroupInfo | None
    assignee: PersonRef | None = None
    # The other delegations that support the comment, by name (feedback_items reads them).
    supporters: tuple[OrganisationRef, ...] = ()
    # The proposed change is an edit of the quoted passage (shown as a redline, as on the card).
    is_suggestion: bool = False

    @property
    def pk(self) -> int:
        return self.id

    @property
    def number(self) -> str:
        return f"C{self.id}"

    @property
    def is_anchored(self) -> bool:
        return self.position_start is not None


def person_ref(user) -> PersonRef:
    return PersonRef(id=user.pk, name=user.get_full_name())


def section_ref(section: Section, *, with_version: bool = False) -> SectionRef:
    return SectionRef(
        id=section.pk,
        key=section.key,
        number=section.number,
        heading=section.heading,
        version_number=section.version.number if with_version else "",
    )


def disposition_view(disposition: Disposition | None) -> DispositionView | None:
    """The read model of a disposition (its people and section_change joined, or one query each)."""
    d = disposition
    if d is None:
        return None
    return DispositionView(
        decision=d.decision,
        decision_label=d.get_decision_display() if d.decision else "",
        response=d.response,
        decided_by=person_ref(d.decided_by) if d.decided_by_id else None,
        decided_at=d.decided_at,
        proposed_decision=d.proposed_decision,
        proposed_decision_label=d.get_proposed_decision_display() if d.proposed_decision else "",
        proposed_response=d.proposed_response,
        proposed_by=person_ref(d.proposed_by) if d.proposed_by_id else None,
        proposed_at=d.proposed_at,
        section_change=section_ref(d.section_change, with_version=True) if d.section_change is not None else None,
        revision=d.revision,
    )


def feedback_item_of(
    comment: Comment, *, group: GroupInfo | None, supporters: tuple[OrganisationRef, ...] = ()
) -> FeedbackItem:
    """The read model of a comment fetched with feedback_comments' joins (no query)."""
    try:
        disposition: Disposition | None = comment.disposition
    except Disposition.DoesNotExist:
        disposition = None
    try:
        assignment: CommentAssignment | None = comment.assignment
    except CommentAssignment.DoesNotExist:
        assignment = None
    organisation = comment.organisation
    return FeedbackItem(
        id=comment.pk,
        section=section_ref(comment.section),
        author=person_ref(comment.author),
        organisation=OrganisationRef(
            id=organisation.pk,
            name=organisation.name,
            short_name=organisation.short_name,
            country_code=organisation.country_code,
        ),
        type=comment.type,
        type_label=comment.get_type_display(),
        body=comment.body,
        proposed_change=comment.proposed_change,
        is_suggestion=comment.is_suggestion,
        language=comment.language,
        quote_exact=comment.quote_exact,
        quote_prefix=comment.quote_prefix,
        quote_suffix=comment.quote_suffix,
        position_start=comment.position_start,
        position_end=comment.position_end,
        is_endorsed=comment.is_endorsed,
        is_hidden=comment.is_hidden,
        submitted_at=comment.submitted_at,
        disposition=disposition_view(disposition),
        group=group,
        assignee=person_ref(assignment.assignee) if assignment is not None else None,
        supporters=supporters,
    )


def latest_done_run(*, engagement_round: EngagementRound) -> ConsolidationRun | None:
    """The round's latest finished run, without its result: the result holds every section's ordered
    comment ids (megabytes at a million comments, most of the feedback page's time if read)."""
    return (
        ConsolidationRun.objects.filter(round=engagement_round, status=JobStatus.DONE)
        .defer("result")
        .order_by("-finished_at", "-requested_at", "-id")
        .first()
    )


def submitted_comments(*, user, engagement_round: EngagementRound) -> QuerySet[Comment]:
    return comments_visible_to(user=user, engagement_round=engagement_round).filter(status=Comment.Status.SUBMITTED)


def reads_counts(*, user, engagement_round: EngagementRound) -> bool:
    """Whether `user` sees exactly what CommentCount counts: every submitted comment of the round
    (organisers do, hidden ones included), and the counts are kept here (PostgreSQL)."""
    return counts_maintained() and bool(is_organiser(user, engagement_round.consultation))


def _submitted_counts(engagement_round: EngagementRound) -> QuerySet[CommentCount]:
    return CommentCount.objects.filter(round=engagement_round, status=Comment.Status.SUBMITTED, n__gt=0)


def feedback_heatmap(*, user, engagement_round: EngagementRound) -> HeatMap:
    """Three queries: the sections, the organisations (participants of commenting roles and
    whoever commented) and the submitted comments per cell (from CommentCount for organisers)."""
    sections = list(engagement_round.version.sections.order_by("position"))
    participants = commenting_participations(engagement_round=engagement_round).values("organisation_id")
    if reads_counts(user=user, engagement_round=engagement_round):
        cells = _submitted_counts(engagement_round).order_by().values("section_id", "organisation_id")
        counts = {(row["section_id"], row["organisation_id"]): row["n"] for row in cells.annotate(n=Sum("n"))}
        commented: QuerySet | set[int] = {organisation_id for _section_id, organisation_id in counts}
    else:
        comments = submitted_comments(user=user, engagement_round=engagement_round)
        counts = {
            (row["section_id"], row["organisation_id"]): row["n"]
            for row in comments.order_by().values("section_id", "organisation_id").annotate(n=Count("id"))
        }
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
        qs = qs.filter(Exists(DuplicateGroupMember.objects.filter(duplicategroup__run=run, comment_id=OuterRef("pk"))))
    if filters.assigned == ASSIGNED_TO_ME:
        qs = qs.filter(assignment__assignee=user)
    elif filters.assigned == ASSIGNED_TO_NOBODY:
        qs = qs.filter(assignment__isnull=True)
    elif filters.assigned.isdigit():
        qs = qs.filter(assignment__assignee_id=int(filters.assigned))
    if filters.support in (SUPPORT_ANY, SUPPORT_NONE):
        supported = Exists(CommentSupport.objects.filter(comment_id=OuterRef("pk")))
        qs = qs.filter(supported if filters.support == SUPPORT_ANY else ~supported)
    return qs


def _support_count() -> Coalesce:
    """A comment's supports, counted per row (through the support's (comment, organisation) index)."""
    counted = (
        CommentSupport.objects.filter(comment_id=OuterRef("pk"))
        .order_by()
        .values("comment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted[:1]), 0)


def _state_rank() -> Case:
    """Undecided first (what is left to do), then proposed, then decided."""
    return Case(
        When(Q(disposition__isnull=True) | Q(disposition__decision="", disposition__proposed_decision=""), then=0),
        When(disposition__decision="", then=1),
        default=2,
        output_field=IntegerField(),
    )


def _type_rank() -> Case:
    """The types in their declared order (general, technical, editorial)."""
    return Case(
        *(When(type=value, then=rank) for rank, value in enumerate(Comment.Type.values)),
        default=len(Comment.Type.values),
        output_field=IntegerField(),
    )


def sorted_comments(qs: QuerySet[Comment], sort: str) -> QuerySet[Comment]:
    """The list in the chosen order; the comment's id breaks every tie (a stable page)."""
    if sort == SORT_ORGANISATION:
        return qs.order_by("organisation__name", "organisation_id", "section__position", "id")
    if sort == SORT_TYPE:
        return qs.annotate(type_rank=_type_rank()).order_by("type_rank", "section__position", "id")
    if sort == SORT_STATUS:
        return qs.annotate(state_rank=_state_rank()).order_by("state_rank", "section__position", "id")
    if sort == SORT_NEWEST:
        return qs.order_by(F("submitted_at").desc(nulls_last=True), "-id")
    if sort == SORT_SUPPORT:
        return qs.annotate(support_count=_support_count()).order_by("-support_count", "section__position", "id")
    return qs.order_by("section__position", "organisation__name", "organisation_id", "id")


_FEEDBACK_RELATED = (
    "author",
    "organisation",
    "section",
    "disposition",
    "disposition__proposed_by",
    "disposition__decided_by",
    "disposition__section_change__version",
    "assignment__assignee",
)


def feedback_comments(
    *, user, engagement_round: EngagementRound, filters: FeedbackFilters, run: ConsolidationRun | None
) -> QuerySet[Comment]:
    """The filtered list with everything a FeedbackItem needs joined, in the filters' order
    (document order unless another is chosen).

    The page paginates it by number, the API by cursor (its own ordering); both then turn
    the page's comments into FeedbackItems with feedback_items.
    """
    return sorted_comments(
        filtered_comments(user=user, engagement_round=engagement_round, filters=filters, run=run).select_related(
            *_FEEDBACK_RELATED
        ),
        filters.sort,
    )


def feedback_items(*, comments: Iterable[Comment], run: ConsolidationRun | None) -> list[FeedbackItem]:
    """Read models of comments fetched by feedback_comments; one query for their duplicate groups,
    one for their supporters."""
    comments = list(comments)
    ids = [c.pk for c in comments]
    groups = groups_for_comments(run=run, comment_ids=ids)
    supporters = supporters_for_comments(comment_ids=ids)
    return [
        feedback_item_of(comment, group=groups.get(comment.pk), supporters=supporters.get(comment.pk, ()))
        for comment in comments
    ]


def supporters_for_comments(*, comment_ids: list[int]) -> dict[int, tuple[OrganisationRef, ...]]:
    """{comment id: the organisations supporting it, by name}. One query (none for no ids)."""
    if not comment_ids:
        return {}
    found: dict[int, list[OrganisationRef]] = {}
    rows = (
        CommentSupport.objects.filter(comment_id__in=comment_ids)
        .order_by("organisation__name", "organisation_id")
        .values_list(
            "comment_id",
            "organisation_id",
            "organisation__name",
            "organisation__short_name",
            "organisation__country_code",
        )
    )
    for comment_id, org_id, name, short_name, code in rows:
        found.setdefault(comment_id, []).append(
            OrganisationRef(id=org_id, name=name, short_name=short_name, country_code=code)
        )
    return {comment_id: tuple(orgs) for comment_id, orgs in found.items()}


def _countable(filters: FeedbackFilters) -> bool:
    """Whether CommentCount can count the filtered list (section, organisation, type, disposition)."""
    return not (
        filters.role or _normalise_text(filters.text) or filters.duplicates_only or filters.assigned or filters.support
    )


def _cell_counts(engagement_round: EngagementRound, filters: FeedbackFilters) -> QuerySet[CommentCount]:
    counts = _submitted_counts(engagement_round)
    if filters.section_id:
        counts = counts.filter(section_id=filters.section_id)
    if filters.organisation_id:
        counts = counts.filter(organisation_id=filters.organisation_id)
    if filters.comment_type:
        counts = counts.filter(type=filters.comment_type)
    if filters.disposition in (DISPOSITION_NONE, DISPOSITION_PROPOSED, *Disposition.Decision.values):
        counts = counts.filter(disposition=filters.disposition)
    return counts


def _ordered_cells(engagement_round: EngagementRound, filters: FeedbackFilters) -> list[tuple[int, int, int]]:
    """(section, organisation, comments) of the filtered list, in its order (section order, or by
    organisation). Three queries, none of which reads comments: the cells' totals, the sections'
    positions, the organisations' names (sorting here is cheaper than joining every counted row to
    its section and organisation)."""
    totals = list(
        _cell_counts(engagement_round, filters)
        .order_by()
        .values("section_id", "organisation_id")
        .annotate(total=Sum("n"))
        .values_list("section_id", "organisation_id", "total")
    )
    positions = dict(engagement_round.version.sections.values_list("pk", "position"))
    names = dict(Organisation.objects.filter(pk__in={o for _s, o, _n in totals}).order_by().values_list("pk", "name"))
    if filters.sort == SORT_ORGANISATION:
        return sorted(
            (cell for cell in totals if cell[2] > 0),
            key=lambda cell: (names.get(cell[1], ""), cell[1], positions.get(cell[0], 0)),
        )
    return sorted(
        (cell for cell in totals if cell[2] > 0),
        key=lambda cell: (positions.get(cell[0], 0), names.get(cell[1], ""), cell[1]),
    )


def _cells_total(engagement_round: EngagementRound, filters: FeedbackFilters) -> int:
    """How many comments the filtered list holds, from CommentCount: one query."""
    return _cell_counts(engagement_round, filters).aggregate(total=Coalesce(Sum("n"), 0))["total"]


class CountedSorted:
    """The filtered list in an order the cells do not give (type, status, newest): its length from
    CommentCount, a slice of ids sorted by the database, then the page's comments by id."""

    def __init__(self, total: int, ordered: QuerySet[Comment], run: ConsolidationRun | None):
        self.total, self.ordered, self.run = total, ordered, run

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key: slice) -> list[FeedbackItem]:
        start, stop, _step = key.indices(self.total)
        ids = list(self.ordered.values_list("id", flat=True)[start:stop])
        if not ids:
            return []
        found = {c.pk: c for c in Comment.objects.filter(pk__in=ids).select_related(*_FEEDBACK_RELATED).order_by()}
        return feedback_items(comments=[found[pk] for pk in ids if pk in found], run=self.run)


class CountedCells:
    """The filtered list as Paginator sees it: its length from CommentCount, a slice read cell by cell.

    `cells` are (section, organisation, comments) in the list's order (section position,
    organisation name and id); a slice of the list falls on at most as many cells as it has
    comments, and from each it takes a run of ids through the (section, organisation, id) index.
    """

    def __init__(self, cells: list[tuple[int, int, int]], comments: QuerySet[Comment], run: ConsolidationRun | None):
        self.cells, self.comments, self.run = cells, comments, run
        self.total = sum(n for _s, _o, n in cells)

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key: slice) -> list[FeedbackItem]:
        start, stop, _step = key.indices(self.total)
        runs, seen = [], 0
        for section_id, organisation_id, n in self.cells:
            if seen + n > start and seen < stop:
                skip = max(0, start - seen)
                runs.append(
                    self.comments.filter(section_id=section_id, organisation_id=organisation_id)
                    .order_by("id")
                    .values_list("id", flat=True)[skip : min(n, stop - seen)]
                )
            seen += n
            if seen >= stop:
                break
        if not runs:
            return []
        ids = list(runs[0].union(*runs[1:], all=True)) if len(runs) > 1 else list(runs[0])
        # The ids come from the scoped list; fetched by id alone, the query's plan does not depend
        # on how much of the table the round holds.
        found = {c.pk: c for c in Comment.objects.filter(pk__in=ids).select_related(*_FEEDBACK_RELATED).order_by()}
        # The runs come back in cell order; within a cell, in id order.
        return feedback_items(comments=[found[pk] for pk in ids if pk in found], run=self.run)


def feedback_page(
    *, user, engagement_round: EngagementRound, filters: FeedbackFilters, run: ConsolidationRun | None, page_number
) -> Page:
    """One page of the filtered list; its object_list holds FeedbackItems.

    For organisers with countable filters: four queries whatever the round's size (the cells,
    the page's ids, its comments, their duplicate groups) in section or organisation order; in
    another order, the count comes from CommentCount and the database sorts the page's ids.
    Otherwise the database counts and sorts the filtered list."""
    if reads_counts(user=user, engagement_round=engagement_round) and _countable(filters):
        comments = filtered_comments(user=user, engagement_round=engagement_round, filters=filters, run=run)
        counted: CountedCells | CountedSorted
        if filters.sort in (SORT_SECTION, SORT_ORGANISATION):
            counted = CountedCells(_ordered_cells(engagement_round, filters), comments, run)
        else:
            total = _cells_total(engagement_round, filters)
            counted = CountedSorted(total, sorted_comments(comments, filters.sort), run)
        # Paginator only takes len() and one slice of it (the stubs ask for a full sequence).
        paginator: Paginator = Paginator(counted, PER_PAGE)  # type: ignore[arg-type]
        return paginator.get_page(page_number)
    qs = feedback_comments(user=user, engagement_round=engagement_round, filters=filters, run=run)
    page = Paginator(qs, PER_PAGE).get_page(page_number)
    # The page holds read models, not the comments it was cut from (django-stubs types it on the model).
    page.object_list = feedback_items(comments=page.object_list, run=run)  # type: ignore[assignment]
    return page


def groups_for_comments(*, run: ConsolidationRun | None, comment_ids: list[int]) -> dict[int, GroupInfo]:
    if run is None or not comment_ids:
        return {}
    links = (
        DuplicateGroupMember.objects.filter(duplicategroup__run=run, comment_id__in=comment_ids)
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


def feedback_item(*, user, engagement_round: EngagementRound, pk: int, run: ConsolidationRun | None) -> FeedbackItem:
    """One comment of the list as feedback_page gives it, for re-rendering its row; else 404."""
    comment = (
        submitted_comments(user=user, engagement_round=engagement_round)
        .filter(pk=pk)
        .select_related(*_FEEDBACK_RELATED)
        .first()
    )
    if comment is None:
        raise Http404
    return feedback_item_of(
        comment,
        group=groups_for_comments(run=run, comment_ids=[comment.pk]).get(comment.pk),
        supporters=supporters_for_comments(comment_ids=[comment.pk]).get(comment.pk, ()),
    )


def disposition_summary(*, user, engagement_round: EngagementRound) -> dict[str, int]:
    """How far the secretariat has come: submitted comments, decided, proposed only. One query
    (over CommentCount for organisers)."""
    if reads_counts(user=user, engagement_round=engagement_round):
        return _submitted_counts(engagement_round).aggregate(
            total=Coalesce(Sum("n"), 0),
            decided=Coalesce(Sum("n", filter=Q(disposition__in=Disposition.Decision.values)), 0),
            proposed=Coalesce(Sum("n", filter=Q(disposition=DISPOSITION_PROPOSED)), 0),
        )
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


# consultations.rules.is_consultation_team as a query: the roles a comment may be assigned to
# (consolidation.be_assigned; the service asks the rule itself for the one person chosen).
TEAM_ROLES = (Role.SECRETARIAT, Role.CONSULTANT)


def assignable_people(*, consultation: Consultation) -> list[PersonRef]:
    """The consultation's team, by name: whom the secretariat may give a comment to. One query."""
    participations = (
        Participation.objects.filter(consultation=consultation, role__in=TEAM_ROLES, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email", "user_id")
    )
    return [person_ref(p.user) for p in participations]
