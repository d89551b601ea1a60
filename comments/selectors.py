"""Which comments a person may see: one selector, used by pages, search, the API and exports.

The rules (docs/roles_and_permissions.md):
* drafts are seen only inside the author's organisation;
* secretariat, consultants and site admins see every submitted and withdrawn comment;
* other participants see their own organisation's comments, and other organisations'
  submitted comments only when the round's visibility policy allows it (live: at once;
  after_close: once the round has closed for everyone; secretariat_only: never) and their
  role is one the round admits;
* a comment the secretariat hid is seen only by the organisers (secretariat, consultants, site
  admins) and the author's organisation.
Anything else is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection
from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Window, prefetch_related_objects
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404
from django.utils import timezone

from accounts.models import Organisation
from config.rows import Columns, converted
from consultations.models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Participation,
    Role,
    RoundExtension,
    Section,
)
from consultations.rules import is_organiser, participation_for, remember_participation, role_may_comment
from consultations.selectors import commenting_participations

from .mentions import preferred_handle
from .models import Comment, CommentFlag, CommentReturn, CommentSupport, NationalPosition, Reply


def others_comments_visible(*, engagement_round: EngagementRound, now: datetime | None = None) -> bool:
    policy = engagement_round.visibility
    if policy == EngagementRound.Visibility.LIVE:
        return True
    if policy == EngagementRound.Visibility.AFTER_CLOSE:
        return engagement_round.phase_at(now or timezone.now()) not in (
            EngagementRound.State.SCHEDULED,
            EngagementRound.State.OPEN,
        )
    return False


def visibility_filter(*, user, engagement_round: EngagementRound, now: datetime | None = None) -> Q | None:
    """The Q that selects what `user` may see among a round's comments; None: nothing.

    It names only organisation_id, status and is_hidden, which consolidation.CommentCount keys
    its counts by too: the same Q counts what a person sees there (consolidation.
    selectors_section_counts; tests/consolidation/test_section_counts.py holds the two equal).
    """
    participation = participation_for(user, engagement_round.consultation)
    own_org = participation.organisation_id if participation else None
    own = Q(organisation_id=own_org) if own_org else Q(pk__in=[])
    if is_organiser(user, engagement_round.consultation):
        return own | Q(status__in=[Comment.Status.SUBMITTED, Comment.Status.WITHDRAWN])
    if participation is None:
        return None
    if role_may_comment(participation.role, engagement_round) and others_comments_visible(
        engagement_round=engagement_round, now=now
    ):
        return own | Q(status=Comment.Status.SUBMITTED, is_hidden=False)
    return own


def comments_visible_to(*, user, engagement_round: EngagementRound, now: datetime | None = None) -> QuerySet[Comment]:
    condition = visibility_filter(user=user, engagement_round=engagement_round, now=now)
    if condition is None:
        return Comment.objects.none()
    return Comment.objects.filter(condition, round=engagement_round)


def thread_audience(
    *, engagement_round: EngagementRound, organisation_id: int, status: str, is_hidden: bool = False
) -> QuerySet[Participation]:
    """The participations of the people who may see a comment of `organisation_id` with this status.

    comments_visible_to turned around, for @mentions (who can be named, whom the autocomplete
    lists): the comment's own delegation always; the consultation's team once it is submitted (or
    withdrawn); the round's other commenters when its visibility shows them others' comments now
    and the comment is submitted and not hidden. Site admins act for no delegation and are not
    in it. tests/comments/test_mentions.py holds it to comments_visible_to for every persona.
    """
    who = Q(organisation_id=organisation_id)
    if status in (Comment.Status.SUBMITTED, Comment.Status.WITHDRAWN):
        who |= Q(role__in=[Role.SECRETARIAT, Role.CONSULTANT])
        if (
            status == Comment.Status.SUBMITTED
            and not is_hidden
            and others_comments_visible(engagement_round=engagement_round)
        ):
            who |= Q(pk__in=commenting_participations(engagement_round=engagement_round).values("pk"))
    return Participation.objects.filter(who, consultation_id=engagement_round.consultation_id, user__is_active=True)


def mention_candidates(
    *, user, engagement_round: EngagementRound, comment: Comment | None = None, query: str = "", limit: int = 8
) -> list[tuple[str, str, str]]:
    """(handle, name, organisation) of up to `limit` people `user` may name in a thread, matching `query`.

    The thread of `comment`, or (None) a comment `user` is writing now, as its delegation will
    submit it. Only the thread's audience, never the writer: the list reveals no one else. One query.
    """
    participation = participation_for(user, engagement_round.consultation)
    if comment is None:
        if participation is None:
            return []
        audience = thread_audience(
            engagement_round=engagement_round,
            organisation_id=participation.organisation_id,
            status=Comment.Status.SUBMITTED,
        )
    else:
        audience = thread_audience(
            engagement_round=engagement_round,
            organisation_id=comment.organisation_id,
            status=comment.status,
            is_hidden=comment.is_hidden,
        )
    participations = list(audience.select_related("user", "organisation"))
    everyone = [p.user for p in participations]
    query = query.strip().lstrip("@").casefold()
    found = []
    for p in sorted(participations, key=lambda p: ((p.user.full_name or p.user.email).casefold(), p.user_id)):
        if p.user_id == user.pk:
            continue
        handle = preferred_handle(p.user, everyone)
        if query and not (handle.startswith(query) or query in (p.user.full_name or "").casefold()):
            continue
        found.append((handle, p.user.get_full_name(), p.organisation.name))
        if len(found) >= limit:
            break
    return found


def _replies() -> QuerySet[Reply]:
    """Replies are seen by whoever sees their comment: callers narrow them to visible comments."""
    return Reply.objects.select_related("author", "organisation").order_by("created_at", "id")


def get_comment_for_user(*, user, pk, for_update: bool = False) -> Comment:
    """One comment the user may see, or 404."""
    comment = (
        Comment.objects.select_related("round__consultation", "section", "organisation", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if comment is None:
        raise Http404
    if not comments_visible_to(user=user, engagement_round=comment.round).filter(pk=comment.pk).exists():
        raise Http404
    return comment


def in_own_delegation(*, user, comment: Comment) -> bool:
    """Whether the comment is of the organisation `user` acts for in its consultation.

    What the round lets a person read of other delegations is theirs to read, not to act on: a
    focal point's acts on a comment (sending it back) are a 404 outside their delegation.
    """
    participation = participation_for(user, comment.round.consultation)
    return participation is not None and participation.organisation_id == comment.organisation_id


_TARGET_ROUND = Columns(EngagementRound, "r")
_TARGET_CONSULTATION = Columns(Consultation, "c", after=_TARGET_ROUND)
_TARGET_VERSION = Columns(DraftVersion, "v", after=_TARGET_CONSULTATION)
_TARGET_WRITER = Columns(Participation, "p", after=_TARGET_VERSION)
_TARGET_ORGANISATION = Columns(Organisation, "o", after=_TARGET_WRITER)
_TARGET_SECTION = Columns(Section, "s", after=_TARGET_ORGANISATION)
_TARGET_PARTS = (
    _TARGET_ROUND,
    _TARGET_CONSULTATION,
    _TARGET_VERSION,
    _TARGET_WRITER,
    _TARGET_ORGANISATION,
    _TARGET_SECTION,
)


@lru_cache(maxsize=1)
def _writing_target_sql() -> str:
    extension = RoundExtension._meta.db_table
    return (
        "SELECT " + ", ".join(part.sql for part in _TARGET_PARTS) + f', (SELECT x."closes_at" FROM "{extension}" x'
        ' WHERE x."round_id" = r."id" AND x."organisation_id" = p."organisation_id" LIMIT 1)'
        f" FROM {_TARGET_ROUND.table}"
        f' JOIN {_TARGET_CONSULTATION.table} ON c."id" = r."consultation_id"'
        f' JOIN {_TARGET_VERSION.table} ON v."id" = r."version_id"'
        f' LEFT JOIN {_TARGET_WRITER.table} ON p."consultation_id" = c."id" AND p."user_id" = %s'
        f' LEFT JOIN {_TARGET_ORGANISATION.table} ON o."id" = p."organisation_id"'
        f' LEFT JOIN {_TARGET_SECTION.table} ON s."version_id" = v."id" AND s."key" = %s'
        ' WHERE r."id" = %s AND c."slug" = %s'
    )


def writing_target_for_user(
    *, user, slug: str, round_id: int, key: str, with_extensions: bool = True
) -> tuple[EngagementRound, Section]:
    """The round of consultation `slug` (with its consultation, version and, unless told not to,
    its extensions) and the section `key` of its version, where `user` would write; 404 for
    anything the user may not see.

    One query reads the round, its consultation and version, the user's participation (with its
    organisation: the permission checks below and comment_create need no query for it) and the
    section, and the writer's own extension (`own_extension`, the closing time of the extension
    granted to the participation's organisation, or None: comments.services.comment_create reads it
    with `fresh=True`); one more for all the round's extensions when `with_extensions` (the form's
    note). It is written in SQL (config.rows): every comment POST makes it, and the ORM's
    version of it (two filtered relations, a subquery, five related models) cost a comment POST a
    fifth of its time to build and compile, ten times what PostgreSQL takes to run it.
    """
    writer_id = user.pk if getattr(user, "is_authenticated", False) else None
    with connection.cursor() as cursor:
        cursor.execute(_writing_target_sql(), [writer_id, key, round_id, slug])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    # The round, its consultation and version are there whenever the row is (inner joins).
    engagement_round, consultation = _TARGET_ROUND.build(row), _TARGET_CONSULTATION.build(row)
    version, participation = _TARGET_VERSION.build(row), _TARGET_WRITER.build(row)
    section = _TARGET_SECTION.build(row)
    assert engagement_round is not None and consultation is not None and version is not None
    engagement_round.consultation = consultation
    engagement_round.version = version
    engagement_round.own_extension = converted(RoundExtension._meta.get_field("closes_at"), row[-1])  # type: ignore[attr-defined]
    if participation is not None:
        participation.organisation = _TARGET_ORGANISATION.build(row)  # type: ignore[assignment]
        participation.consultation = consultation
    remember_participation(user, consultation, participation)
    if not user.has_perm("consultations.view_consultation", consultation):
        raise Http404
    if version.status != DraftVersion.Status.PUBLISHED and not user.has_perm(
        "consultations.manage_versions", consultation
    ):
        raise Http404
    if section is None:
        raise Http404
    section.version = version
    if with_extensions:
        prefetch_related_objects(
            [engagement_round], Prefetch("extensions", queryset=RoundExtension.objects.select_related("organisation"))
        )
    return engagement_round, section


@dataclass(frozen=True)
class SectionComment:
    """One card of a section's comment column: the comment, how many replies it has and the first ones.

    The comment's round and section are the objects the page already holds, so that the card and
    the permission checks on it cost no query.
    """

    comment: Comment
    reply_count: int
    preview_replies: tuple[Reply, ...]
    # The other delegations that support the comment, by name, and whether the viewer's is one.
    supporters: tuple[str, ...] = ()
    supported_by_me: bool = False

    @property
    def more_replies(self) -> bool:
        """Whether the thread is longer than the preview (the card then links to all replies)."""
        return self.reply_count > len(self.preview_replies)


def section_comments(
    *, user, engagement_round: EngagementRound, section: Section, reply_preview: int = 3
) -> list[SectionComment]:
    """Every visible comment on one section with its author, reply count and first replies.

    Two queries however many comments and replies there are, but the list grows with the section:
    pages use section_window (one bounded page) instead.
    """
    comments = list(_section_queryset(user=user, engagement_round=engagement_round, section=section))
    return _cards(
        comments,
        engagement_round=engagement_round,
        section=section,
        reply_preview=reply_preview,
        viewer_organisation_id=_viewer_organisation_id(user, engagement_round),
    )


def _viewer_organisation_id(user, engagement_round: EngagementRound) -> int | None:
    participation = participation_for(user, engagement_round.consultation)
    return participation.organisation_id if participation else None


SECTION_PAGE_SIZE = 10
# The order of a section's comment column (its windows and their highlights alike).
SECTION_ORDER = ("position_start", "created_at", "id")


@dataclass(frozen=True)
class SectionFilter:
    """Which of a section's comments the column shows: whose (all visible / own delegation), type, status, page."""

    scope: str = "all"  # "all" or "own"
    comment_type: str = ""
    status: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query) -> SectionFilter:
        """From a query string (request.GET or the htmx current URL's); anything unknown falls back to all."""
        scope = query.get("scope", "")
        comment_type = query.get("type", "")
        status = query.get("status", "")
        try:
            page = max(1, int(query.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        return cls(
            scope="own" if scope == "own" else "all",
            comment_type=comment_type if comment_type in Comment.Type.values else "",
            status=status if status in Comment.Status.values else "",
            page=page,
        )

    def condition(self, organisation_id: int | None) -> Q:
        condition = Q()
        if self.scope == "own":
            condition &= Q(organisation_id=organisation_id) if organisation_id else Q(pk__in=[])
        if self.comment_type:
            condition &= Q(type=self.comment_type)
        if self.status:
            condition &= Q(status=self.status)
        return condition


@dataclass(frozen=True)
class SectionCounts:
    """The visible comments on a section, in all and per type, and how many the filter matches."""

    total: int
    by_type: tuple[tuple[str, str, int], ...]  # (code, label, count)
    matching: int


@dataclass(frozen=True)
class SectionWindow:
    """One page of a section's comment column: its cards, the counts and where the other pages are."""

    cards: list[SectionComment]
    counts: SectionCounts
    filter: SectionFilter
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def comments(self) -> list[Comment]:
        """The comments of the window whose passages the text highlights (withdrawn ones are not)."""
        return [c.comment for c in self.cards if c.comment.status != Comment.Status.WITHDRAWN]


def section_counts(
    *, user, engagement_round: EngagementRound, section: Section, section_filter: SectionFilter | None = None
) -> SectionCounts:
    """The counts of the section's visible comments: one aggregate query, grouped by type (a
    comment POST sends them back; one count per type cost it twice the Python)."""
    section_filter = section_filter or SectionFilter()
    visible = comments_visible_to(user=user, engagement_round=engagement_round).filter(section=section)
    participation = participation_for(user, engagement_round.consultation)
    organisation_id = participation.organisation_id if participation else None
    condition = section_filter.condition(organisation_id)
    matching = Count("id", filter=condition) if condition else Count("id")
    rows = visible.order_by().values_list("type").annotate(n=Count("id"), matching=matching)
    by_type = {code: (n, matched) for code, n, matched in rows}
    return SectionCounts(
        total=sum(n for n, _ in by_type.values()),
        by_type=tuple((code, str(label), by_type.get(code, (0, 0))[0]) for code, label in Comment.Type.choices),
        matching=sum(matched for _, matched in by_type.values()),
    )


def supporters_of(comment_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """{comment id: [(organisation id, name)...]} of the delegations supporting them, by name. One query."""
    found: dict[int, list[tuple[int, str]]] = {}
    if not comment_ids:
        return found
    rows = (
        CommentSupport.objects.filter(comment_id__in=comment_ids)
        .order_by("organisation__name", "organisation_id")
        .values_list("comment_id", "organisation_id", "organisation__name")
    )
    for comment_id, organisation_id, name in rows:
        found.setdefault(comment_id, []).append((organisation_id, name))
    return found


def _cards(
    comments: list[Comment],
    *,
    engagement_round: EngagementRound,
    section: Section,
    reply_preview: int,
    viewer_organisation_id: int | None = None,
) -> list[SectionComment]:
    if not comments:
        return []
    # Only submitted comments take support: drafts need no lookup (a page of drafts costs no query).
    supported = supporters_of([c.pk for c in comments if c.status == Comment.Status.SUBMITTED])
    replies = (
        Reply.objects.none()
        if reply_preview <= 0
        else _replies()
        .filter(comment_id__in=[c.pk for c in comments])
        .annotate(row=Window(RowNumber(), partition_by=[F("comment_id")], order_by=[F("created_at"), F("id")]))
        .filter(row__lte=reply_preview)
    )
    by_comment: dict[int, list[Reply]] = {}
    for reply in replies if reply_preview > 0 else ():
        by_comment.setdefault(reply.comment_id, []).append(reply)
    cards = []
    for comment in comments:
        # The same objects for every comment: templates and permission checks need no query.
        comment.round = engagement_round
        comment.section = section
        supporters = supported.get(comment.pk, [])
        cards.append(
            SectionComment(
                comment=comment,
                reply_count=comment.reply_count,  # type: ignore[attr-defined]
                preview_replies=tuple(by_comment.get(comment.pk, ())),
                supporters=tuple(name for _org, name in supporters),
                supported_by_me=viewer_organisation_id is not None
                and any(org == viewer_organisation_id for org, _name in supporters),
            )
        )
    return cards


def _section_queryset(*, user, engagement_round: EngagementRound, section: Section) -> QuerySet[Comment]:
    return (
        comments_visible_to(user=user, engagement_round=engagement_round)
        .filter(section=section)
        .select_related("author", "organisation", "endorsed_by", "resolved_by")
        .annotate(reply_count=_reply_count(), return_note=_return_note())
        .order_by(*SECTION_ORDER)
    )


def _reply_count() -> Coalesce:
    """A comment's replies, counted per row in a subquery (not a GROUP BY over the join): with
    a LIMIT, PostgreSQL sorts the comments first and counts the replies of the page only."""
    counted = (
        Reply.objects.filter(comment=OuterRef("pk")).order_by().values("comment").annotate(n=Count("id")).values("n")
    )
    return Coalesce(Subquery(counted[:1]), 0)


def _return_note() -> Subquery:
    """The focal point's note of the latest return (comments.CommentReturn), per row like the reply count."""
    latest = CommentReturn.objects.filter(comment=OuterRef("pk")).order_by("-at", "-id").values("note")
    return Subquery(latest[:1])


def latest_return(*, comment: Comment) -> CommentReturn | None:
    """The latest time the comment was sent back to its author, with the note; one query."""
    return CommentReturn.objects.filter(comment=comment).order_by("-at", "-id").first()


def section_window(
    *,
    user,
    engagement_round: EngagementRound,
    section: Section,
    section_filter: SectionFilter | None = None,
    per_page: int = SECTION_PAGE_SIZE,
    reply_preview: int = 3,
) -> SectionWindow:
    """One page of the visible comments on a section, filtered, with the counts.

    Three queries however many comments there are (the counts, the page's comments, their first
    replies); the page holds at most `per_page` cards, so its size does not grow with the section.
    """
    section_filter = section_filter or SectionFilter()
    counts = section_counts(
        user=user, engagement_round=engagement_round, section=section, section_filter=section_filter
    )
    page, pages, condition = _window_page(user, engagement_round, section_filter, counts, per_page)
    start = (page - 1) * per_page
    comments = list(
        _section_queryset(user=user, engagement_round=engagement_round, section=section).filter(condition)[
            start : start + per_page
        ]
    )
    cards = _cards(
        comments,
        engagement_round=engagement_round,
        section=section,
        reply_preview=reply_preview,
        viewer_organisation_id=_viewer_organisation_id(user, engagement_round),
    )
    return SectionWindow(cards=cards, counts=counts, filter=section_filter, page=page, pages=pages)


def _window_page(
    user, engagement_round: EngagementRound, section_filter: SectionFilter, counts: SectionCounts, per_page: int
) -> tuple[int, int, Q]:
    """The page a window shows (the filter's, or the last one there is), the number of pages, and
    the filter's condition on the visible comments."""
    pages = max(1, -(-counts.matching // per_page))
    participation = participation_for(user, engagement_round.consultation)
    organisation_id = participation.organisation_id if participation else None
    return min(section_filter.page, pages), pages, section_filter.condition(organisation_id)


@dataclass(frozen=True)
class HighlightedPassage:
    """Where a comment of a window is anchored in the section text: what the text's highlights need."""

    pk: int
    position_start: int | None
    position_end: int | None


def section_window_passages(
    *,
    user,
    engagement_round: EngagementRound,
    section: Section,
    section_filter: SectionFilter | None = None,
    per_page: int = SECTION_PAGE_SIZE,
) -> tuple[SectionCounts, list[HighlightedPassage]]:
    """The counts of a window and the passages its text highlights (SectionWindow.comments), without
    its cards: what a write sends back out of band for the window the writer has open. Two queries
    (the counts; the window's ids and positions, no author, organisation or replies)."""
    section_filter = section_filter or SectionFilter()
    counts = section_counts(
        user=user, engagement_round=engagement_round, section=section, section_filter=section_filter
    )
    page, _pages, condition = _window_page(user, engagement_round, section_filter, counts, per_page)
    start = (page - 1) * per_page
    rows = (
        comments_visible_to(user=user, engagement_round=engagement_round)
        .filter(condition, section=section)
        .order_by(*SECTION_ORDER)
        .values_list("pk", "position_start", "position_end", "status")[start : start + per_page]
    )
    passages = [
        HighlightedPassage(pk, position_start, position_end)
        for pk, position_start, position_end, status in rows
        if status != Comment.Status.WITHDRAWN
    ]
    return counts, passages


def new_comment_card(*, comment: Comment) -> SectionComment:
    """The card of a comment just created (comments.services.comment_create): no replies yet, and its
    author and organisation are the objects the service wrote it with, so it costs no query."""
    return SectionComment(comment=comment, reply_count=0, preview_replies=())


def section_comment_card(*, user, comment: Comment, reply_preview: int = 3) -> SectionComment:
    """One comment's card as the section column shows it (reply count, first replies): two queries.

    `comment` is one the caller fetched (and may see); its round and section are kept on the card.
    """
    engagement_round, section = comment.round, comment.section
    found = list(_section_queryset(user=user, engagement_round=engagement_round, section=section).filter(pk=comment.pk))
    if not found:
        return SectionComment(comment=comment, reply_count=0, preview_replies=())
    return _cards(
        found,
        engagement_round=engagement_round,
        section=section,
        reply_preview=reply_preview,
        viewer_organisation_id=_viewer_organisation_id(user, engagement_round),
    )[0]


def comment_thread(*, comment: Comment) -> QuerySet[Reply]:
    """The replies to a comment the caller has already fetched through get_comment_for_user."""
    return _replies().filter(comment=comment)


def delegation_comments(
    *,
    user,
    consultation,
    engagement_round=None,
    status: str = "",
    comment_type: str = "",
    endorsed: bool | None = None,
    text: str = "",
) -> QuerySet[Comment]:
    """'My delegation's comments': every comment of the user's organisation in a consultation, filtered."""
    participation = participation_for(user, consultation)
    if participation is None:
        return Comment.objects.none()
    qs = (
        Comment.objects.filter(round__consultation=consultation, organisation_id=participation.organisation_id)
        .select_related("round", "section", "author", "endorsed_by")
        .annotate(reply_count=Count("replies", distinct=True))
        .order_by("-updated_at", "-id")
    )
    if engagement_round is not None:
        qs = qs.filter(round=engagement_round)
    if status:
        qs = qs.filter(status=status)
    if comment_type:
        qs = qs.filter(type=comment_type)
    if endorsed is not None:
        qs = qs.filter(is_endorsed=endorsed)
    if text.strip():
        text = text.strip()
        qs = qs.filter(Q(body__icontains=text) | Q(proposed_change__icontains=text) | Q(quote_exact__icontains=text))
    return qs


def position_changed_since_submission(
    *, position: NationalPosition | None, endorsed_now: int, last_endorsed_at: datetime | None
) -> bool:
    """Whether a submitted national position no longer matches the endorsements: submit it again.

    A withdrawn or added endorsement changes the count; a swap of one comment for another keeps
    the count but leaves an endorsement later than the submission. False when never submitted.
    The response tracker and the national position page both ask this.
    """
    if position is None:
        return False
    return endorsed_now != position.endorsed_count or (
        last_endorsed_at is not None and last_endorsed_at > position.submitted_at
    )


def endorsement_state(*, engagement_round: EngagementRound, organisation_id: int | None) -> tuple[int, datetime | None]:
    """An organisation's endorsed submitted comments now, and the latest endorsement. One query."""
    if organisation_id is None:
        return 0, None
    found = Comment.objects.filter(
        round=engagement_round, organisation_id=organisation_id, status=Comment.Status.SUBMITTED, is_endorsed=True
    ).aggregate(n=Count("id"), last=Max("endorsed_at"))
    return found["n"], found["last"]


def endorsed_count(*, engagement_round: EngagementRound, organisation_id: int | None) -> int:
    """An organisation's submitted comments endorsed now (in its national position). One query.

    The national position page, the API's national position and the submission itself count
    with this; 0 for no organisation.
    """
    if organisation_id is None:
        return 0
    return Comment.objects.filter(
        round=engagement_round, organisation_id=organisation_id, status=Comment.Status.SUBMITTED, is_endorsed=True
    ).count()


def national_position_for(*, organisation_id: int, engagement_round: EngagementRound) -> NationalPosition | None:
    return (
        NationalPosition.objects.filter(round=engagement_round, organisation_id=organisation_id)
        .select_related("submitted_by")
        .first()
    )


@dataclass(frozen=True)
class PositionRow:
    """One member state on the secretariat's positions overview."""

    organisation: Organisation
    submitted_count: int
    endorsed_now: int
    position: NationalPosition | None


def positions_overview(*, consultation, engagement_round: EngagementRound) -> list[PositionRow]:
    """For the secretariat: each member state's submitted and endorsed comments and its position."""
    submitted = Q(comments__round=engagement_round, comments__status=Comment.Status.SUBMITTED)
    organisations = (
        Organisation.objects.filter(
            pk__in=Participation.objects.filter(consultation=consultation, role=Role.MEMBER_STATE).values(
                "organisation_id"
            )
        )
        .annotate(
            submitted_count=Count("comments", filter=submitted),
            endorsed_now=Count("comments", filter=submitted & Q(comments__is_endorsed=True)),
        )
        .order_by("name")
    )
    positions = {
        p.organisation_id: p
        for p in NationalPosition.objects.filter(round=engagement_round).select_related("submitted_by")
    }
    return [
        PositionRow(
            organisation=org,
            submitted_count=org.submitted_count,
            endorsed_now=org.endorsed_now,
            position=positions.get(org.pk),
        )
        for org in organisations
    ]


def comment_flags(*, comment: Comment) -> list[CommentFlag]:
    return list(CommentFlag.objects.filter(comment=comment).select_related("flagged_by", "resolved_by"))


def comment_history(*, comment: Comment):
    return comment.revisions.select_related("actor").order_by("number")
