"""The draft itself as a PDF (reportlab platypus), line-numbered, clean or with the comments in the margin.

Call write_draft_pdf(document, fileobj) with a selectors_draft.DraftDocument, from a Celery task
with the requester's language active. The numbers and line breaks are the version's own
(consultations.line_numbers), the ones the reading pages and the DOCX show: each numbered line is
a row of a table, the number in a narrow first column. With comments the page turns to landscape
and a third column holds, beside the line where each comment's passage starts, the comment (its
number, organisation, type, lines, text and proposed change); the passages are shaded in the text.

The fonts and the script runs are the revision report's (revision_pdf.register_fonts and
config.pdf_text: each script in its font, complex scripts shaped), so whatever font work reaches
that report reaches this one too. The type size is chosen so that a line of the version's line
length fits the text column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

from config.pdf_text import SCRIPT_LEADING, FontSet, ReportText, complex_script_of, printed_width
from config.text import xml_text

from ..selectors_draft import DraftComment, DraftDocument, DraftLine, DraftSection
from .draft_docx import draft_subtitle, draft_title
from .layout_progress import report_layout
from .revision_pdf import register_fonts

MARGIN = 15 * mm
NUMBER_WIDTH = 11 * mm
COMMENTS_WIDTH = 95 * mm
PASSAGE_COLOUR = "#fff1a8"
PARAGRAPH_GAP = 5.0  # points between two paragraphs of the text
NOTE_GAP = 5.0  # points between two comments in the margin
# The average advance of a character of the body font, in ems: how wide a line of
# line_length characters is at a given size (DejaVu Sans is a wide face).
AVERAGE_ADVANCE = 0.56
# The smallest size a too-wide line of Thai, Lao, Khmer or Burmese is set at to fit its row.
SMALLEST_SIZE = 5.0


def _line_spacing(text: ReportText, document: DraftDocument) -> float:
    """The leading of the numbered lines, in font sizes: enough for every script of the draft.

    One spacing for the whole draft, so that a Burmese or Khmer line among Latin ones (which
    need more room, SCRIPT_LEADING) does not stand apart from the lines around it.
    """
    scripts = {
        script
        for section in document.sections
        for script, _run in text.runs(section.label + "\n" + section.body)
        if script in SCRIPT_LEADING
    }
    return max([1.35, *(SCRIPT_LEADING[s] for s in scripts)])


def _styles(font_size: float, fonts: FontSet, spacing: float = 1.35) -> dict[str, ParagraphStyle]:
    FONT, FONT_BOLD = fonts.base.regular, fonts.base.bold  # noqa: N806 - Latin and Vietnamese
    leading = round(font_size * spacing, 1)
    line = ParagraphStyle("line", fontName=FONT, fontSize=font_size, leading=leading)
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=4),
        "meta": ParagraphStyle("meta", fontName=FONT, fontSize=8.5, leading=11, textColor=colors.HexColor("#57606a")),
        "line": line,
        "heading": ParagraphStyle("heading", parent=line, fontName=FONT_BOLD),
        "number": ParagraphStyle(
            "number", parent=line, fontSize=font_size * 0.8, textColor=colors.HexColor("#57606a"), alignment=2
        ),
        "comment": ParagraphStyle("comment", fontName=FONT, fontSize=7.5, leading=9.5),
        "footer": ParagraphStyle("footer", fontName=FONT, fontSize=7.5, leading=9.5),
    }


def _line_markup(
    text: ReportText, section: DraftSection, line: DraftLine, cuts: list[int], passages: list[tuple[int, int]]
) -> str:
    end = line.start + len(section.line_text(line))
    points = [line.start, *(c for c in cuts if line.start < c < end), end]
    out = []
    for start, stop in zip(points, points[1:], strict=False):
        piece = text.markup(xml_text(section.body[start:stop]))
        if any(s <= start and stop <= e for s, e in passages):
            piece = f'<font backColor="{PASSAGE_COLOUR}">{piece}</font>'
        out.append(piece)
    return "".join(out)


def _comment_markup(text: ReportText, comment: DraftComment) -> str:
    facts = [comment.number, comment.organisation, comment.type, str(_("line %(lines)s") % {"lines": comment.lines})]
    if comment.is_endorsed:
        facts.append(str(_("National position")))
    if comment.is_hidden:
        facts.append(str(_("Hidden by the secretariat")))
    parts = [text.bold(xml_text(" · ".join(facts))), text.markup(xml_text(comment.body))]
    if comment.proposed_change:
        label = text.markup(xml_text(str(_("Proposed change:"))))
        parts.append(f"<i>{label}</i> " + text.markup(xml_text(comment.proposed_change)))
    return "<br/>".join(parts)


@dataclass
class _Row:
    """One numbered line: its number, its text, and the space after it (more at a paragraph's end)."""

    number: Paragraph
    text: Paragraph
    gap: float
    height: float = 0.0


@dataclass
class _Note:
    """A comment in the margin, wanted beside row `row` (or as near below it as the notes above allow)."""

    row: int
    paragraph: Flowable
    height: float = 0.0


class NumberedText(Flowable):
    """A section's numbered lines, and with comments a margin column beside them.

    The lines stand at their own leading whatever the margin holds: a comment is set beside the
    line it starts on, or lower when the comments above it reach further down, as a word
    processor's margin balloons do, never by stretching the line it belongs to. (A table row per
    line, as before, grew with its comment and opened gaps of every size in the text.) Split
    across pages between lines; the comments of the lines on this page that do not fit below
    them go on at the top of the next page's margin, a long one split between its lines.
    """

    PAD_LEFT, PAD_RIGHT, NOTE_PAD = 2.0, 4.0, 6.0
    RULE = colors.HexColor("#d0d7de")

    def __init__(self, rows: list[_Row], notes: list[_Note], widths: list[float], note_gap: float) -> None:
        super().__init__()
        self.rows, self.notes, self.widths, self.note_gap = rows, notes, widths, note_gap

    def _note_width(self) -> float:
        return self.widths[2] - self.NOTE_PAD - self.PAD_RIGHT

    def _layout(self) -> tuple[list[float], list[float]]:
        """The top of each row and of each note, from the top of the flowable down.

        Each paragraph is wrapped once (the columns do not change), the parts of a split too;
        again only a comment whose failed split dropped its lines.
        """
        text_width = self.widths[1] - self.PAD_LEFT - self.PAD_RIGHT
        tops, y = [], 0.0
        for row in self.rows:
            if not row.height:
                row.number.wrap(self.widths[0] - self.PAD_LEFT - self.PAD_RIGHT, 1e6)
                row.height = row.text.wrap(text_width, 1e6)[1]
            tops.append(y)
            y += row.height + row.gap
        note_tops, bottom = [], -self.note_gap
        for note in self.notes:
            if not note.height or not hasattr(note.paragraph, "blPara"):
                note.height = note.paragraph.wrap(self._note_width(), 1e6)[1]
            top = max(tops[note.row] if note.row < len(tops) else 0.0, bottom + self.note_gap)
            note_tops.append(top)
            bottom = top + note.height
        return tops, note_tops

    def _height(self) -> float:
        tops, note_tops = self._layout()
        text = tops[-1] + self.rows[-1].height if self.rows else 0.0
        notes = note_tops[-1] + self.notes[-1].height if self.notes else 0.0
        return max(text, notes)

    def wrap(self, availWidth, availHeight):  # noqa: N803 (reportlab's signature)
        self.width, self.height = sum(self.widths), self._height()
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        tops, _note_tops = self._layout()
        fits = 0
        while fits < len(self.rows) and tops[fits] + self.rows[fits].height <= availHeight:
            fits += 1
        head_notes: list[_Note] = []
        carried: list[_Note] = []
        bottom = -self.note_gap
        for note in self.notes:
            if note.row >= fits and note.row < len(self.rows):
                break
            top = max(tops[note.row] if note.row < fits else 0.0, bottom + self.note_gap)
            if carried or top + note.height > availHeight:
                pieces = [] if carried else note.paragraph.split(self._note_width(), availHeight - top)
                if len(pieces) == 2:
                    head_notes.append(_Note(note.row, pieces[0]))
                    carried.append(_Note(0, pieces[1]))
                else:
                    carried.append(_Note(0, note.paragraph, note.height))
                continue
            head_notes.append(_Note(note.row, note.paragraph, note.height))
            bottom = top + note.height
        if not fits and not head_notes:
            return []
        rest_rows = self.rows[fits:]
        rest_notes = carried + [
            _Note(n.row - fits, n.paragraph, n.height) for n in self.notes if fits <= n.row < len(self.rows)
        ]
        parts: list[Flowable] = [NumberedText(self.rows[:fits], head_notes, self.widths, self.note_gap)]
        if rest_rows or rest_notes:
            parts.append(NumberedText(rest_rows, rest_notes, self.widths, self.note_gap))
        return parts

    def draw(self) -> None:
        tops, note_tops = self._layout()
        canvas, height = self.canv, self.height
        x_text = self.widths[0] + self.PAD_LEFT
        for row, top in zip(self.rows, tops, strict=True):
            row.number.drawOn(canvas, self.PAD_LEFT, height - top - row.number.height)
            row.text.drawOn(canvas, x_text, height - top - row.height)
        if len(self.widths) > 2:
            x_rule = self.widths[0] + self.widths[1]
            canvas.saveState()
            canvas.setStrokeColor(self.RULE)
            canvas.setLineWidth(0.5)
            canvas.line(x_rule, 0, x_rule, height)
            canvas.restoreState()
            for note, top in zip(self.notes, note_tops, strict=True):
                note.paragraph.drawOn(canvas, x_rule + self.NOTE_PAD, height - top - note.height)


def _fitted(style: ParagraphStyle, line: str, room: float) -> ParagraphStyle:
    """The line's style, at a smaller size (same leading) if it is Thai, Lao, Khmer or Burmese too wide for its row.

    The type size suits a line of the version's line length in Latin letters; these scripts'
    letters are wider, and a line that wrapped would print two lines beside one number.
    """
    if complex_script_of(line) is None:
        return style
    width = printed_width(line, style.fontSize)
    if width <= room:
        return style
    size = max(SMALLEST_SIZE, math.floor(style.fontSize * room / width * 4) / 4)
    return ParagraphStyle(f"{style.name}-{size}", parent=style, fontSize=size)


def _section_table(
    text: ReportText, section: DraftSection, styles, *, widths: list[float], with_comments: bool
) -> NumberedText:
    passages = [(c.start, c.end) for c in section.comments if c.start is not None and c.end is not None]
    cuts = sorted({offset for passage in passages for offset in passage}) if with_comments else []
    if not with_comments:
        passages = []
    rows: list[_Row] = []
    index_of: dict[int, int] = {}

    def row(number: int, markup: str, style) -> None:
        index_of[number] = len(rows)
        rows.append(_Row(Paragraph(str(number), styles["number"]), text.paragraph(markup, style), 0.0))

    for line in section.heading_lines:
        row(line.number, text.markup(xml_text(section.line_text(line, heading=True)), bold=True), styles["heading"])
    room = widths[1] - NumberedText.PAD_LEFT - NumberedText.PAD_RIGHT
    for block in section.paragraphs:
        if rows:
            rows[-1].gap = PARAGRAPH_GAP  # the space between paragraphs (and after the heading)
        for line in block:
            style = _fitted(styles["line"], section.line_text(line), room)
            row(line.number, _line_markup(text, section, line, cuts, passages), style)
    notes = [
        _Note(index_of.get(c.lines.first, 0), text.paragraph(_comment_markup(text, c), styles["comment"]))
        for c in (section.comments if with_comments else ())
    ]
    return NumberedText(rows, notes, widths, NOTE_GAP)


def write_draft_pdf(
    document: DraftDocument,
    fileobj: BinaryIO,
    *,
    compress: bool = True,
    on_section: Callable[[int, int], None] | None = None,
) -> int:
    """Write the draft to `fileobj`; return the number of pages.

    on_section(done, total) is called as the pages are laid out (the report's progress).
    """
    fonts = register_fonts()
    text = fonts.text()
    pagesize = landscape(A4) if document.with_comments else A4
    frame_width = pagesize[0] - 2 * MARGIN
    text_width = frame_width - NUMBER_WIDTH - (COMMENTS_WIDTH if document.with_comments else 0)
    font_size = max(6.0, min(9.5, text_width / (document.line_length * AVERAGE_ADVANCE)))
    styles = _styles(font_size, fonts, _line_spacing(text, document))
    widths = [NUMBER_WIDTH, text_width] + ([COMMENTS_WIDTH] if document.with_comments else [])
    title = draft_title(document)

    story: list = [text.para(xml_text(title), styles["title"])]
    if document.version_title:
        story.append(text.para(xml_text(document.version_title), styles["meta"]))
    story += [text.para(xml_text(draft_subtitle(document)), styles["meta"]), Spacer(1, 6 * mm)]
    for section in document.sections:
        story += [
            _section_table(text, section, styles, widths=widths, with_comments=document.with_comments),
            Spacer(1, 3 * mm),
        ]

    footer_text = text.para(xml_text(title), styles["footer"])

    def footer(canvas, doc):
        canvas.saveState()
        _width, height = footer_text.wrap(pagesize[0] - 2 * MARGIN - 12 * mm, 12 * mm)
        footer_text.drawOn(canvas, MARGIN, 8 * mm + 7.5 - height)
        canvas.setFont(fonts.base.regular, 7.5)
        canvas.drawRightString(pagesize[0] - MARGIN, 8 * mm, str(doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        fileobj,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=xml_text(title),
        author=xml_text(document.consultation_title),
        invariant=0 if compress else 1,
        pageCompression=1 if compress else 0,
    )
    # Laying out the pages is the long part: reportlab tells how many flowables it has placed.
    report_layout(doc, len(story), on_section)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return doc.page
