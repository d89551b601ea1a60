"""Search in a version: its sections' text, and the comments on it that the person may see.

Two bounded queries (a page of sections, a page of comments), whatever the size of the
document or of the rounds: each reads at most one page plus one row (to know whether there is
a next page), never counts every match, and pages stop at MAX_PAGE.

PostgreSQL: full-text search with the 'simple' configuration on text folded by
text_search_fold (unaccent, made immutable; migrations consultations 0006 and comments 0010),
through GIN indexes on exactly the expressions below: accent-insensitive ("quy hoach" finds
"quy hoạch"), whole words, the query in web-search syntax ("a phrase", or, -word). Other
databases (SQLite, the first-look default): every word as a case-insensitive substring,
accents as typed.

Comments: only those comments.selectors.visibility_filter lets the person see, in the rounds on
the version; a comment the person may not see is never a result, nor part of a snippet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Generic, TypeVar

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString

from consultations.models import DraftVersion, EngagementRound, Section

from .models import Comment
from .search_text import QUERY_MAX_LENGTH, WORD, has_match, query_terms, snippet
from .selectors import visibility_filter

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results: past that, a narrower query serves better than more pages

T = TypeVar("T")


@dataclass(frozen=True)
class SectionHit:
    section: Section
    snippet: SafeString


@dataclass(frozen=True)
class CommentHit:
    comment: Comment
    snippet: SafeString
    # Where the words were found: the comment, or its proposed change.
    in_proposed_change: bool


@dataclass(frozen=True)
class HitPage(Generic[T]):
    hits: list[T]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class SearchResults:
    query: str
    terms: list[str]
    sections: HitPage[SectionHit]
    comments: HitPage[CommentHit]


def clean_query(query: str) -> str:
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def _full_text(columns: str, query: str) -> RawSQL:
    """The indexed expression of migrations consultations 0006 / comments 0010 matched against the query."""
    return RawSQL(
        f"to_tsvector('simple'::regconfig, text_search_fold({columns})) "
        "@@ websearch_to_tsquery('simple'::regconfig, text_search_fold(%s))",
        [query],
        output_field=BooleanField(),
    )


def _words_like(fields: tuple[str, ...], query: str) -> Q:
    words = [w for w in WORD.findall(query) if w.lower() != "or"]
    condition = Q()
    for word in words:
        condition &= reduce(or_, (Q(**{f"{field}__icontains": word}) for field in fields))
    return condition if words else Q(pk__in=[])


def _matching_sections(sections: QuerySet[Section], query: str) -> QuerySet[Section]:
    if connection.vendor == "postgresql":
        table = Section._meta.db_table
        return sections.filter(_full_text(f'"{table}"."heading" || \' \' || "{table}"."body"', query))
    return sections.filter(_words_like(("heading", "body"), query))


def _matching_comments(comments: QuerySet[Comment], query: str) -> QuerySet[Comment]:
    if connection.vendor == "postgresql":
        table = Comment._meta.db_table
        return comments.filter(_full_text(f'"{table}"."body" || \' \' || "{table}"."proposed_change"', query))
    return comments.filter(_words_like(("body", "proposed_change"), query))


def visible_in_rounds(*, user, rounds: list[EngagementRound]) -> Q | None:
    """What `user` may see among the comments of these rounds; None: nothing."""
    parts = []
    for engagement_round in rounds:
        condition = visibility_filter(user=user, engagement_round=engagement_round)
        if condition is not None:
            parts.append(Q(condition, round_id=engagement_round.pk))
    return reduce(or_, parts) if parts else None


def _window(queryset: QuerySet, page: int) -> tuple[list, int, bool]:
    page = min(max(1, page), MAX_PAGE)
    start = (page - 1) * PAGE_SIZE
    rows = list(queryset[start : start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE and page < MAX_PAGE


def search_sections(*, version: DraftVersion, query: str, page: int = 1) -> HitPage[SectionHit]:
    """A page of the version's sections whose heading or text match, in document order. One query."""
    query = clean_query(query)
    if not query:
        return HitPage(hits=[], page=1, has_next=False)
    terms = query_terms(query)
    rows, page, has_next = _window(
        _matching_sections(Section.objects.filter(version=version), query).order_by("position", "id"), page
    )
    hits = [SectionHit(section=s, snippet=snippet(s.body or s.heading, terms)) for s in rows]
    return HitPage(hits=hits, page=page, has_next=has_next)


def search_comments(*, user, rounds: list[EngagementRound], query: str, page: int = 1) -> HitPage[CommentHit]:
    """A page of the comments of these rounds that `user` may see and that match, newest first. One query."""
    query = clean_query(query)
    condition = visible_in_rounds(user=user, rounds=rounds)
    if not query or condition is None:
        return HitPage(hits=[], page=1, has_next=False)
    terms = query_terms(query)
    visible = Comment.objects.filter(condition).select_related("organisation", "section")
    rows, page, has_next = _window(_matching_comments(visible, query).order_by("-id"), page)
    hits = []
    for comment in rows:
        in_proposed = not has_match(comment.body, terms) and has_match(comment.proposed_change, terms)
        text = comment.proposed_change if in_proposed else comment.body
        hits.append(CommentHit(comment=comment, snippet=snippet(text, terms), in_proposed_change=in_proposed))
    return HitPage(hits=hits, page=page, has_next=has_next)


def search_version(
    *,
    user,
    version: DraftVersion,
    rounds: list[EngagementRound],
    query: str,
    section_page: int = 1,
    comment_page: int = 1,
) -> SearchResults:
    """Both result lists for the search page: two queries."""
    query = clean_query(query)
    return SearchResults(
        query=query,
        terms=query_terms(query),
        sections=search_sections(version=version, query=query, page=section_page),
        comments=search_comments(
            user=user, rounds=[r for r in rounds if r.version_id == version.pk], query=query, page=comment_page
        ),
    )
