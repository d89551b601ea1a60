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

from collections.abc import Callable
from typing import BinaryIO

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from config.pdf_text import FontSet, ReportText
from config.text import xml_text

from ..selectors_draft import DraftComment, DraftDocument, DraftLine, DraftSection
from .draft_docx import draft_subtitle, draft_title
from .layout_progress import report_layout
from .revision_pdf import register_fonts

MARGIN = 15 * mm
NUMBER_WIDTH = 11 * mm
COMMENTS_WIDTH = 95 * mm
PASSAGE_COLOUR = "#fff1a8"
# The average advance of a character of the body font, in ems: how wide a line of
# line_length characters is at a given size (DejaVu Sans is a wide face).
AVERAGE_ADVANCE = 0.56


def _styles(font_size: float, fonts: FontSet) -> dict[str, ParagraphStyle]:
    FONT, FONT_BOLD = fonts.base.regular, fonts.base.bold  # noqa: N806 - Latin and Vietnamese
    leading = round(font_size * 1.35, 1)
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


def _section_table(
    text: ReportText, section: DraftSection, styles, *, widths: list[float], with_comments: bool
) -> Table:
    passages = [(c.start, c.end) for c in section.comments if c.start is not None and c.end is not None]
    cuts = sorted({offset for passage in passages for offset in passage}) if with_comments else []
    if not with_comments:
        passages = []
    by_line: dict[int, list[DraftComment]] = {}
    for comment in section.comments if with_comments else ():
        by_line.setdefault(comment.lines.first, []).append(comment)

    rows: list[list] = []
    gaps: list[int] = []

    def row(number: int, markup: str, style) -> None:
        cells: list = [Paragraph(str(number), styles["number"]), text.paragraph(markup, style)]
        if with_comments:
            notes = by_line.get(number, [])
            cells.append([text.paragraph(_comment_markup(text, c), styles["comment"]) for c in notes] or "")
        rows.append(cells)

    for line in section.heading_lines:
        row(line.number, text.markup(xml_text(section.line_text(line, heading=True)), bold=True), styles["heading"])
    for block in section.paragraphs:
        if rows:
            gaps.append(len(rows) - 1)
        for line in block:
            row(line.number, _line_markup(text, section, line, cuts, passages), styles["line"])
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    commands: list[tuple] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]
    for index in gaps:  # the space between paragraphs (and after the heading)
        commands.append(("BOTTOMPADDING", (0, index), (-1, index), 5))
    if with_comments:
        commands.append(("LINEBEFORE", (2, 0), (2, -1), 0.5, colors.HexColor("#d0d7de")))
        commands.append(("LEFTPADDING", (2, 0), (2, -1), 6))
    table.setStyle(TableStyle(commands))
    return table


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
    styles = _styles(font_size, fonts)
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
