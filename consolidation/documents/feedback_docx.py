"""Consolidated feedback as a Word document: the draft as a reviewer would have commented it.

First a summary: the comments counted by type, by organisation and by decision. Then, for
every section in document order: its number and heading (a Word heading at the section's
depth, never skipping a level), its text, and every comment on it as a Word comment in the
margin, anchored to the passage it quotes (to the heading when it is on the whole section),
as the delegation's reviewer would have left it; then the same comments written out (the
margin does not print): organisation, type, quoted passage, comment, proposed change,
national position, and the secretariat's decision.

A Word comment's author is the commenting organisation, its initials the organisation's short
name or country code, its date the comment's submission. Exports name organisations, never
the person who wrote a comment (the matrix and this document alike), so neither does the
margin. Its text: number and type, the comment, the proposed change and, once decided, the
secretariat's decision and response. Proposals of the consultants are internal: only decided
dispositions appear (matrix.observations decides what is disclosed).

The document's language is the requester's (the task activates it); a paragraph written in
another language carries its own: a comment's declared language, or the script of the text
(Vietnamese letters, Thai, Lao, Khmer, Burmese). Every stored text goes through
config.text.xml_text on its way in: a comment stored with a control character (pasted from
Word before input was cleaned) must not break the document.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from docx import Document

from comments.highlight import paragraphs as paragraph_offsets
from comments.models import Comment
from config.redline import DELETE, INSERT, diff_words
from config.text import visible_controls, xml_text
from consultations.models import Section

from ..models import Disposition
from . import ooxml
from .matrix import observations
from .wording import decided_text


def _paragraphs(text: str) -> Iterator[str]:
    for block in xml_text(text).split("\n\n"):
        block = block.strip()
        if block:
            yield block


def _facts(comment: Comment) -> list[str]:
    facts = [
        comment.number,
        visible_controls(comment.organisation.name),
        f"{comment.get_type_display()} ({comment.type})",
    ]
    if comment.is_endorsed:
        facts.append(str(_("National position")))
    if comment.status == Comment.Status.WITHDRAWN:
        facts.append(str(_("Withdrawn")))
    if comment.is_hidden:
        facts.append(str(_("Hidden by the secretariat")))
    return facts


def _decision(comment: Comment) -> str:
    """The decided disposition as it reads ("Accepted: response"), "" while undecided or only proposed."""
    if not observations(comment):
        return ""
    disposition = comment.disposition
    return decided_text(
        decision=disposition.decision, label=str(disposition.get_decision_display()), response=disposition.response
    )


def _covering(pieces: list[tuple[int, int, object]], starts: list[int], start: int | None, end: int | None) -> list:
    """The runs of `pieces` (start, end, run), sorted and apart, that hold text of [start, end)."""
    if start is None or end is None or not pieces:
        return []
    index = max(bisect.bisect_right(starts, start) - 1, 0)
    covered = []
    while index < len(pieces) and pieces[index][0] < end:
        if pieces[index][1] > start:
            covered.append(pieces[index][2])
        index += 1
    return covered


def _initials(comment: Comment) -> str:
    organisation = comment.organisation
    return xml_text(
        ooxml.organisation_initials(
            country_code=organisation.country_code, short_name=organisation.short_name, name=organisation.name
        )
    )


class _Writer:
    def __init__(self, *, title: str, subtitle: str):
        self.language = translation.get_language() or settings.LANGUAGE_CODE
        self.document = Document()
        self.comments = ooxml.Comments(self.document)
        self.levels = ooxml.HeadingLevels()
        self.by_type: Counter[str] = Counter()
        self.by_organisation: Counter[str] = Counter()
        self.endorsed_by_organisation: Counter[str] = Counter()
        self.by_decision: Counter[str] = Counter()
        document = self.document
        ooxml.set_font_size(document.styles["Normal"], 10.5)
        ooxml.a4_page(document)
        ooxml.set_document_language(document, self.language)
        ooxml.set_core_properties(
            document,
            title=title,
            subject=subtitle,
            keywords=", ".join([str(_("consolidated feedback")), str(_("comments"))]),
            language=self.language,
        )
        ooxml.header_and_footer(
            document, header=title, footer=ooxml.platform_name(), page_label=_("Page %(page)s of %(pages)s")
        )
        document.add_heading(title, level=0)
        self.paragraph(subtitle)
        self.summary = document.add_heading(_("Summary"), level=self.levels.level(1))
        self.levels.reset(0)

    def paragraph(self, text: str = "", *, declared: str = "", style: str | None = None):
        paragraph = self.document.add_paragraph(text, style=style)
        ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, declared, self.language))
        return paragraph

    # --- a section and its comments ------------------------------------------------------

    def section(self, section: Section, comments: list[Comment]) -> None:
        heading = self.document.add_heading(
            xml_text(str(section).strip() or section.heading), level=self.levels.level(section.depth + 1)
        )
        # Each paragraph cut into runs where a comment's passage starts or ends, so that the
        # comment can be anchored to exactly those runs. Offsets count code points of the body
        # as stored; each piece is cleaned on its way in.
        body = section.body or ""
        cuts = {point for c in comments for point in (c.position_start, c.position_end) if point is not None}
        pieces: list[tuple[int, int, object]] = []  # (start, end, run) in text order
        for start, end in paragraph_offsets(body):
            paragraph = self.document.add_paragraph()
            points = sorted({start, end} | {p for p in cuts if start < p < end})
            for piece_start, piece_end in zip(points, points[1:], strict=False):
                pieces.append((piece_start, piece_end, paragraph.add_run(xml_text(body[piece_start:piece_end]))))
            text = body[start:end]
            ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, document=self.language))
        starts = [piece[0] for piece in pieces]
        for comment in comments:
            covered = _covering(pieces, starts, comment.position_start, comment.position_end)
            # On the whole section, or an anchor that no longer fits the text: on the heading.
            runs = covered or heading.runs
            self.margin_comment(comment, runs)
        for comment in comments:
            self.written_out(comment)

    def margin_comment(self, comment: Comment, runs) -> None:
        facts = _facts(comment)
        lines = [xml_text(" · ".join([facts[0], *facts[2:]]))]
        languages = [""]  # what the platform writes is in the document's language
        body_language = ooxml.text_language(comment.body, comment.language, self.language)
        for text in _paragraphs(comment.body):
            lines.append(text)
            languages.append(body_language)
        if comment.proposed_change:
            lines.append(_("Proposed change:") + " " + xml_text(comment.proposed_change))
            languages.append(ooxml.text_language(comment.proposed_change, comment.language, self.language))
        decided = _decision(comment)
        if decided:
            lines.append(_("Disposition:") + " " + xml_text(decided))
            languages.append(ooxml.text_language(decided, document=self.language))
        self.comments.add(
            runs,
            author=xml_text(visible_controls(comment.organisation.name)),
            initials=_initials(comment),
            date=comment.submitted_at or comment.created_at,
            paragraphs=lines,
            language=languages,
        )

    def written_out(self, comment: Comment) -> None:
        # Who commented, the passage and what they said: lines of one paragraph, on one page.
        block = self.document.add_paragraph()
        ooxml.add_line(block, xml_text(" · ".join(str(fact) for fact in _facts(comment))), bold=True)
        if comment.quote_exact:
            language = ooxml.text_language(comment.quote_exact, document=self.language)
            ooxml.add_line(block, xml_text(f"“{comment.quote_exact}”"), language=language, style="Quote Char")
        language = ooxml.text_language(comment.body, comment.language, self.language)
        ooxml.add_line(block, xml_text(comment.body), language=language)
        ooxml.keep_block_together(block)
        if comment.proposed_change:
            proposed = self.document.add_paragraph()
            proposed.add_run(_("Proposed change:")).italic = True
            proposed.add_run(xml_text(" " + comment.proposed_change))
            language = ooxml.text_language(comment.proposed_change, comment.language, self.language)
            ooxml.set_paragraph_language(proposed, language)
            if comment.is_suggestion and comment.quote_exact:
                self.suggested_edit(comment, language)
        decided = _decision(comment)
        if decided:
            disposition = self.document.add_paragraph()
            disposition.add_run(_("Disposition:")).bold = True
            disposition.add_run(xml_text(" " + decided))
        self.count(comment)

    def suggested_edit(self, comment: Comment, language: str) -> None:
        """A suggested edit of the passage as a redline: struck deletions, underlined insertions.

        Formatting, not tracked changes: this document reports what delegations asked for, and a
        reviewer accepting "all changes" in it must not rewrite the quoted passages.
        """
        paragraph = self.document.add_paragraph()
        paragraph.add_run(_("Suggested edit of the passage:")).italic = True
        paragraph.add_run(" ")
        for segment in diff_words(comment.quote_exact, comment.proposed_change):
            run = paragraph.add_run(xml_text(segment.text))
            if segment.op == DELETE:
                run.font.strike = True
            elif segment.op == INSERT:
                run.font.underline = True
        ooxml.set_paragraph_language(paragraph, language)

    def count(self, comment: Comment) -> None:
        self.by_type[comment.get_type_display()] += 1
        organisation = xml_text(visible_controls(comment.organisation.name))
        self.by_organisation[organisation] += 1
        if comment.is_endorsed:
            self.endorsed_by_organisation[organisation] += 1
        if comment.status == Comment.Status.WITHDRAWN:
            self.by_decision[str(_("Withdrawn"))] += 1
        elif observations(comment):
            self.by_decision[str(comment.disposition.get_decision_display())] += 1
        else:
            self.by_decision[str(_("No decision yet"))] += 1

    # --- the summary ---------------------------------------------------------------------

    def table(self, header: tuple[str, ...], rows: list[tuple[object, ...]]):
        return ooxml.header_table(self.document, header, rows)

    def write_summary(self) -> None:
        """The counts, written once every comment is known, moved up under the Summary heading."""
        total = sum(self.by_type.values())
        blocks = []
        types = [str(label) for _code, label in Comment.Type.choices]
        decisions = [str(label) for _code, label in Disposition.Decision.choices] + [str(_("No decision yet"))]
        if self.by_decision[str(_("Withdrawn"))]:
            decisions.append(str(_("Withdrawn")))
        organisations = sorted(self.by_organisation, key=lambda name: (-self.by_organisation[name], name))
        for title, header, rows in (
            (
                _("Comments by type"),
                (_("Type"), _("Comments")),
                [(label, self.by_type[label]) for label in types],
            ),
            (
                _("Comments by organisation"),
                (_("Organisation"), _("Comments"), _("National positions")),
                [(name, self.by_organisation[name], self.endorsed_by_organisation[name]) for name in organisations],
            ),
            (
                _("Comments by decision"),
                (_("Decision"), _("Comments")),
                [(label, self.by_decision[label]) for label in decisions],
            ),
        ):
            heading = self.document.add_heading(title, level=2)
            total_row: tuple[object, ...] = (_("Total"), total)
            if len(header) == 3:
                total_row = (_("Total"), total, sum(self.endorsed_by_organisation.values()))
            table = self.table(header, [*rows, total_row])
            ooxml.keep_table_together(table)
            blocks.extend([heading._p, table._tbl, self.document.add_paragraph()._p])
        anchor = self.summary._p
        for block in blocks:
            anchor.addnext(block)
            anchor = block


def write_feedback_docx(
    *,
    title: str,
    subtitle: str,
    sections: Iterable[Section],
    comments: Iterable[Comment],
    fileobj,
    on_comment: Callable[[Comment], None] | None = None,
) -> None:
    """`comments` must come in section order (the order of `sections`); each is written under its section.

    One section's comments are held at a time: its text is cut where their passages start and end.
    """
    writer = _Writer(title=xml_text(title), subtitle=xml_text(subtitle))
    pending = iter(comments)
    upcoming = next(pending, None)
    for section in sections:
        # Comments on sections that are not in `sections` (none, normally) are skipped, not misplaced.
        while upcoming is not None and upcoming.section.position < section.position:
            upcoming = next(pending, None)
        on_section: list[Comment] = []
        while upcoming is not None and upcoming.section_id == section.pk:
            on_section.append(upcoming)
            if on_comment:
                on_comment(upcoming)
            upcoming = next(pending, None)
        writer.section(section, on_section)
    writer.write_summary()
    writer.document.save(fileobj)


def feedback_subtitle(*, round_title: str, version_number: str) -> str:
    return _("%(round)s, on version %(version)s of the draft.") % {"round": round_title, "version": version_number}
