"""The draft as a secretariat circulates it: a version's text line by line with its line numbers,
and, when asked, the comments the requester may see beside the lines they are anchored to.

The read model (DraftDocument) is what both writers render (documents/draft_docx.py and
draft_pdf.py). The numbers are the version's own (consultations.line_numbers: fixed when it was
published), the same the reading pages show and a comment's "line" cites. Comments come from
exported_comments (selectors_reports, built on comments.selectors.comments_visible_to): what the
requester may see, drafts left out; withdrawn comments are left out too, since a circulated draft
carries the comments still standing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from comments.models import Comment
from consultations.line_numbers import LineRange, SectionLines, heading_label
from consultations.models import DraftVersion, EngagementRound, Section
from consultations.selectors import lines_of_version, sections_of_version

from . import selectors_reports


@dataclass(frozen=True)
class DraftLine:
    """One numbered line: its number and the offsets [start, end) of its text in the section body
    (in the heading label for heading lines)."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class DraftComment:
    """A comment in the margin, at the lines its anchor covers (the heading's, for a whole-section comment)."""

    pk: int
    number: str
    organisation: str
    type: str
    type_label: str
    body: str
    proposed_change: str
    quote: str
    lines: LineRange
    start: int | None
    end: int | None
    is_endorsed: bool
    is_hidden: bool
    updated_at: datetime
    # A Word comment's initials (ooxml.organisation_initials) and date (the submission).
    initials: str = ""
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class DraftSection:
    pk: int
    depth: int
    label: str  # "<number> <heading>", as numbered
    body: str
    heading_lines: tuple[DraftLine, ...]
    # The body's paragraphs, each a tuple of its lines.
    paragraphs: tuple[tuple[DraftLine, ...], ...]
    comments: tuple[DraftComment, ...]

    def line_text(self, line: DraftLine, *, heading: bool = False) -> str:
        text = self.label if heading else self.body
        return text[line.start : line.end].rstrip("\r\n")


@dataclass(frozen=True)
class DraftDocument:
    consultation_title: str
    version_number: str
    version_title: str
    published_at: datetime | None
    line_length: int
    total_lines: int
    with_comments: bool
    round_title: str
    section_count: int
    comment_count: int
    as_of: datetime | None
    sections: tuple[DraftSection, ...]


def _paragraph_lines(body: str, lines: SectionLines) -> tuple[tuple[DraftLine, ...], ...]:
    """The body's numbered lines grouped by paragraph (a line that follows a blank line starts one)."""
    grouped: list[list[DraftLine]] = []
    previous_end = None
    for number, start, end in lines.numbered_body():
        gap = body[previous_end:start] if previous_end is not None else ""
        if previous_end is None or "\n" in gap:
            grouped.append([])
        grouped[-1].append(DraftLine(number, start, end))
        previous_end = end
    return tuple(tuple(p) for p in grouped)


def draft_comments(*, user, version: DraftVersion, engagement_round: EngagementRound | None = None):
    """The comments on `version` that `user` may see (one round, or every round on it), in document order."""
    qs = selectors_reports.exported_comments(
        user=user, consultation=version.consultation, engagement_round=engagement_round
    )
    return qs.filter(section__version_id=version.pk).exclude(status=Comment.Status.WITHDRAWN)


def _draft_comment(comment: Comment, lines: SectionLines) -> DraftComment:
    from .documents.ooxml import organisation_initials

    return DraftComment(
        pk=comment.pk,
        number=comment.number,
        organisation=comment.organisation.name,
        type=comment.type,
        type_label=str(comment.get_type_display()),
        body=comment.body,
        proposed_change=comment.proposed_change,
        quote=comment.quote_exact,
        lines=lines.range_for(comment.position_start, comment.position_end),
        start=comment.position_start,
        end=comment.position_end,
        is_endorsed=comment.is_endorsed,
        is_hidden=comment.is_hidden,
        updated_at=comment.updated_at,
        initials=organisation_initials(
            country_code=comment.organisation.country_code,
            short_name=comment.organisation.short_name,
            name=comment.organisation.name,
        ),
        submitted_at=comment.submitted_at or comment.created_at,
    )


def draft_document(
    *,
    user,
    version: DraftVersion,
    with_comments: bool,
    engagement_round: EngagementRound | None = None,
    sections: list[Section] | None = None,
) -> DraftDocument:
    """The version's text with its line numbers, and the comments `user` may see when with_comments.

    One query for the text (the version's sections, unless given) and, with comments, one for the
    comments (a server-side cursor): their number does not grow with the document or its comments.
    """
    sections = sections if sections is not None else sections_of_version(version=version)
    numbered = lines_of_version(version=version, sections=sections)
    by_section: dict[int, list[DraftComment]] = {}
    as_of = version.published_at or version.created_at
    comment_count = 0
    if with_comments:
        comments: Iterator[Comment] = draft_comments(
            user=user, version=version, engagement_round=engagement_round
        ).iterator(chunk_size=selectors_reports.CHUNK_SIZE)
        for comment in comments:
            lines = numbered.of(comment.section_id)
            if lines is None:
                continue
            by_section.setdefault(comment.section_id, []).append(_draft_comment(comment, lines))
            comment_count += 1
            if as_of is None or comment.updated_at > as_of:
                as_of = comment.updated_at
    drafted = []
    for section in sections:
        lines = numbered.sections[section.pk]
        ordered = sorted(by_section.get(section.pk, ()), key=lambda c: (c.lines.first, c.start or -1, c.pk))
        drafted.append(
            DraftSection(
                pk=section.pk,
                depth=section.depth,
                label=heading_label(section.number, section.heading),
                body=section.body or "",
                heading_lines=tuple(DraftLine(n, s, e) for n, s, e in lines.numbered_heading()),
                paragraphs=_paragraph_lines(section.body or "", lines),
                comments=tuple(ordered),
            )
        )
    return DraftDocument(
        consultation_title=version.consultation.title,
        version_number=version.number,
        version_title=version.title,
        published_at=version.published_at,
        line_length=numbered.line_length,
        total_lines=numbered.total_lines,
        with_comments=with_comments,
        round_title=engagement_round.title if engagement_round is not None else "",
        section_count=len(drafted),
        comment_count=comment_count,
        as_of=as_of,
        sections=tuple(drafted),
    )
