"""The draft itself as a Word document, line-numbered, clean or with the comments in the margin.

Call write_draft_docx(document, fileobj) with a selectors_draft.DraftDocument, from a Celery task
with the requester's language active.

Each numbered line of the version is a paragraph of its own, numbered with the platform's number
(the line breaks are the numbering's, consultations.line_numbers). Word's own line numbering
(w:lnNumType) counts Word's lines, which would not be the platform's; a number written as text
would be in every comment's range and every copy that runs over two lines. So each line is an
item of a one-level list (ooxml.LineNumbers) whose number is the platform's: drawn small and
grey, right-aligned in the hanging indent, and no part of the text. The last line of a
paragraph keeps the space after it.

With comments, each comment is a Word comment (python-docx's Document.add_comment) anchored to
the passage it quotes: the lines are cut into runs where passages start and end, and the comment
spans the runs from its start to its end, across lines; a comment on the whole section is anchored
to the section's heading. Its author is the organisation, its initials the organisation's as in
every Word file (ooxml.organisation_initials: "VN"), its date the submission; its text names the
comment, its type and lines, then the comment and the proposed change.

As the other Word files: A4, the title in the header and "Page n of m" in the footer, the
properties naming the platform, the consultation and the version, the document in the
requester's language and a line in another script (Vietnamese, Thai...) marked with its own.

Every stored text goes through config.text.xml_text: a control character must not break the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.shared import Cm, Mm, Pt
from docx.text.run import Run

from config.pdf_text import FONT_LABELS, complex_script_of, printed_width
from config.text import xml_text

from ..selectors_draft import DraftComment, DraftDocument, DraftLine, DraftSection
from . import ooxml

NUMBER_END = Cm(0.9)
TEXT_INDENT = Cm(1.2)
BODY_SIZE = 10.0
# The smallest size a line of Thai, Lao, Khmer or Burmese is made to fit its column at (a longer
# one wraps, as it would have anyway).
SMALLEST_SIZE = 7.0
# The text column (A4 less 20 mm margins, ooxml.a4_page, less the numbers' indent), in points,
# less a margin for what measuring in the report fonts cannot know of Word's or LibreOffice's layout.
TEXT_COLUMN = (Mm(170) - TEXT_INDENT) / 12700 * 0.96
NUMBER_COLOUR = "57606A"
NUMBER_SIZE = 8.0


def draft_title(document: DraftDocument) -> str:
    return _("%(title)s, version %(number)s") % {
        "title": document.consultation_title,
        "number": document.version_number,
    }


def draft_subtitle(document: DraftDocument) -> str:
    parts = [
        str(
            _("Line numbers at %(length)s characters a line, %(lines)s lines.")
            % {"length": document.line_length, "lines": document.total_lines}
        )
    ]
    if document.with_comments:
        if document.round_title:
            parts.append(
                str(
                    _("With the %(count)s comments of %(round)s you may see.")
                    % {"count": document.comment_count, "round": document.round_title}
                )
            )
        else:
            parts.append(str(_("With the %(count)s comments you may see.") % {"count": document.comment_count}))
    if document.as_of is not None:
        as_of = formats.date_format(timezone.localtime(document.as_of), "DATETIME_FORMAT")
        parts.append(str(_("Data as of %(date)s") % {"date": as_of}))
    return " ".join(parts)


def _numbered_line(paragraph, numbers: ooxml.LineNumbers, number: int, *, last: bool) -> None:
    numbers.number(paragraph, number)
    fmt = paragraph.paragraph_format
    # The list's indents, on the paragraph too: a heading style's own would otherwise win.
    fmt.left_indent = TEXT_INDENT
    fmt.first_line_indent = -(TEXT_INDENT - NUMBER_END)
    fmt.tab_stops.add_tab_stop(TEXT_INDENT, WD_TAB_ALIGNMENT.LEFT)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6) if last else Pt(0)


class _Runs:
    """The runs written for one section's body, by the offsets they hold, to anchor comments on."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, int, Run]] = []

    def add(self, start: int, end: int, run: Run) -> None:
        self.pieces.append((start, end, run))

    def covering(self, start: int, end: int) -> list[Run]:
        return [run for s, e, run in self.pieces if s >= start and e <= end and s < e]


def _cuts(section: DraftSection) -> list[int]:
    cuts: set[int] = set()
    for comment in section.comments:
        if comment.start is not None and comment.end is not None:
            cuts.update((comment.start, comment.end))
    return sorted(cuts)


def _write_line(paragraph, section: DraftSection, line: DraftLine, cuts: list[int], runs: _Runs) -> None:
    text = section.line_text(line)
    end = line.start + len(text)
    points = [line.start, *(c for c in cuts if line.start < c < end), end]
    written = []
    for start, stop in zip(points, points[1:], strict=False):
        if stop > start:
            written.append(paragraph.add_run(xml_text(section.body[start:stop])))
            runs.add(start, stop, written[-1])
    _fit(written, text)


def _fit(written: list[Run], text: str) -> None:
    """A line of Thai, Lao, Khmer or Burmese in its Noto font, smaller if it would not fit the column.

    Its line breaks are the version's (consultations.line_numbers counts what a reader sees, not
    how wide a script's letters are): at the body's size such a line is often wider than a Latin
    one, and Word and LibreOffice would wrap it, two printed lines under one number.
    """
    script = complex_script_of(text)
    if script is None:
        return
    width = printed_width(text, BODY_SIZE)
    size = BODY_SIZE
    if width > TEXT_COLUMN:
        size = max(SMALLEST_SIZE, math.floor(BODY_SIZE * TEXT_COLUMN / width * 2) / 2)
    for run in written:
        ooxml.complex_script_font(run, FONT_LABELS[script])
        if size != BODY_SIZE:
            ooxml.set_font_size(run, size)


def _comment_text(comment: DraftComment) -> list[str]:
    facts = [
        comment.number,
        f"{comment.type_label} ({comment.type})",
        str(_("line %(lines)s") % {"lines": comment.lines}),
    ]
    if comment.is_endorsed:
        facts.append(str(_("National position")))
    if comment.is_hidden:
        facts.append(str(_("Hidden by the secretariat")))
    paragraphs = [" · ".join(facts), comment.body]
    if comment.proposed_change:
        paragraphs.append(str(_("Proposed change: %(change)s") % {"change": comment.proposed_change}))
    return [xml_text(p) for p in paragraphs]


def _add_comment(comments: ooxml.Comments, runs: list[Run], comment: DraftComment, language: str) -> None:
    """A Word comment as the delegation would have left it: by the organisation, dated its submission."""
    comments.add(
        runs,
        author=xml_text(comment.organisation),
        initials=xml_text(comment.initials or ooxml.initials_of(comment.organisation)),
        date=comment.submitted_at or comment.updated_at,
        paragraphs=_comment_text(comment),
        language=[
            "",
            ooxml.text_language(comment.body, document=language),
            *([ooxml.text_language(comment.proposed_change, document=language)] if comment.proposed_change else []),
        ],
    )


def _write_section(
    document, section: DraftSection, *, numbers: ooxml.LineNumbers, comments: ooxml.Comments | None, language: str
) -> None:
    level = min(section.depth + 1, 3)
    heading_runs: list[Run] = []
    for index, line in enumerate(section.heading_lines):
        paragraph = document.add_heading(level=level)
        _numbered_line(paragraph, numbers, line.number, last=index == len(section.heading_lines) - 1)
        text = section.line_text(line, heading=True)
        heading_runs.append(paragraph.add_run(xml_text(text)))
        ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, document=language))
    cuts = _cuts(section) if comments is not None else []
    runs = _Runs()
    for block in section.paragraphs:
        for index, line in enumerate(block):
            paragraph = document.add_paragraph()
            _numbered_line(paragraph, numbers, line.number, last=index == len(block) - 1)
            _write_line(paragraph, section, line, cuts, runs)
            ooxml.set_paragraph_language(paragraph, ooxml.text_language(section.line_text(line), document=language))
    if comments is None:
        return
    for comment in section.comments:
        anchored = (
            runs.covering(comment.start, comment.end) if comment.start is not None and comment.end is not None else []
        )
        # A comment on the whole section (or one whose passage holds no text) is the heading's.
        _add_comment(comments, anchored or heading_runs, comment, language)


def write_draft_docx(
    document: DraftDocument, fileobj: BinaryIO, *, on_section: Callable[[int, int], None] | None = None
) -> None:
    """Write the draft; on_section(done, total) is called after each section (the report's progress)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    title = xml_text(draft_title(document))
    word = Document()
    ooxml.a4_page(word)
    ooxml.set_font_size(word.styles["Normal"], BODY_SIZE)
    ooxml.set_document_language(word, language)
    ooxml.set_core_properties(
        word,
        title=title,
        subject=xml_text(document.version_title or document.consultation_title),
        keywords=", ".join([str(_("draft")), xml_text(document.consultation_title), document.version_number]),
        language=language,
        description=xml_text(draft_subtitle(document)),
    )
    # As a circulated draft: its title at the top of every page, "Page n of m" at the foot.
    ooxml.header_and_footer(
        word, header=title, footer=ooxml.platform_name(), page_label=_("Page %(page)s of %(pages)s")
    )
    comments = ooxml.Comments(word) if document.with_comments else None
    numbers = ooxml.LineNumbers(
        word, number_end=NUMBER_END, text_start=TEXT_INDENT, size=NUMBER_SIZE, colour=NUMBER_COLOUR
    )

    word.add_heading(title, level=0)
    if document.version_title:
        word.add_paragraph(xml_text(document.version_title))
    word.add_paragraph(xml_text(draft_subtitle(document)))
    total = len(document.sections)
    for done, section in enumerate(document.sections, start=1):
        _write_section(word, section, numbers=numbers, comments=comments, language=language)
        if on_section:
            on_section(done, total)
    word.save(fileobj)
