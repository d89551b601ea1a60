"""The revision report as a PDF (reportlab platypus), from selectors_revision.revision_report data.

Call write_revision_pdf(report, fileobj) from a Celery task with the requester's language
active (the report is passed through config.text.xml_safe first: reportlab's paragraph
markup is XML too); fileobj is any binary file-like object (a temporary file, then the Report's storage).
reportlab keeps the pages it has laid out until it writes them, so memory grows with the
report's length, not with the database: the task never loads more than the report data.

Fonts: reportlab's Helvetica and the Vera fonts it ships have no Vietnamese letters
(ạ, ế, ữ...). DejaVu Sans, which covers them, is looked for in REPORT_FONT_DIRS (default: the
Debian fonts-dejavu-core location); without it the PDF falls back to Vera and logs a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from config.text import visible_controls, xml_safe, xml_text

from ..redline import Segment, split_paragraphs
from ..selectors_revision import CommentEntry, RevisionReport, SectionDiff

logger = logging.getLogger(__name__)

FONT = "RevisionSans"
FONT_BOLD = "RevisionSans-Bold"
DEFAULT_FONT_DIRS = ["/usr/share/fonts/truetype/dejavu"]
INSERT_COLOUR = "#1a7f37"
DELETE_COLOUR = "#cf222e"


def _font_file() -> str:
    font = pdfmetrics.getFont(FONT)
    if not isinstance(font, TTFont):
        raise RuntimeError(f"{FONT} is registered as a {type(font).__name__}, not as a TrueType font.")
    return font.face.filename


def register_fonts() -> str:
    """Register FONT and FONT_BOLD once; return the file used, for the log and the tests."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return _font_file()
    for directory in getattr(settings, "REPORT_FONT_DIRS", DEFAULT_FONT_DIRS):
        regular, bold = Path(directory) / "DejaVuSans.ttf", Path(directory) / "DejaVuSans-Bold.ttf"
        if regular.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold if bold.exists() else regular)))
            break
    else:
        logger.warning("DejaVu Sans not found: the revision PDF falls back to Vera, without Vietnamese letters")
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    return _font_file()


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, alignment=TA_LEFT, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=18, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=13, leading=17, spaceBefore=10),
        "h3": ParagraphStyle("h3", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8),
        "body": base,
        "meta": ParagraphStyle("meta", parent=base, textColor=colors.HexColor("#57606a"), fontSize=8.5),
        "comment": ParagraphStyle("comment", parent=base, leftIndent=8 * mm, fontSize=9),
    }


def _text(value: str) -> str:
    return escape(xml_text(value)).replace("\n", "<br/>")


def redline_markup(segments: list[Segment]) -> str:
    """Paragraph markup: inserted text underlined and green, deleted text struck through and red."""
    parts = []
    for segment in segments:
        text = _text(segment.text)
        if segment.is_insert:
            parts.append(f'<u><font color="{INSERT_COLOUR}">{text}</font></u>')
        elif segment.is_delete:
            parts.append(f'<strike><font color="{DELETE_COLOUR}">{text}</font></strike>')
        else:
            parts.append(text)
    return "".join(parts)


def _bar_chart(title: str, rows: list[tuple[str, int]]) -> Drawing:
    height = 24 + 18 * max(len(rows), 1)
    drawing = Drawing(160 * mm, height + 20)
    chart = HorizontalBarChart()
    # The stubs type the plot area's position and size as int; reportlab takes any number.
    chart.x, chart.y = 55 * mm, 10  # type: ignore[assignment]
    chart.width, chart.height = 95 * mm, height  # type: ignore[assignment]
    chart.data = [[count for _label, count in rows] or [0]]
    chart.categoryAxis.categoryNames = [label for label, _count in rows] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.reverseDirection = True  # first row on top, as in the table
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueStep = max(1, (max((c for _l, c in rows), default=0) + 4) // 5)
    chart.bars[0].fillColor = colors.HexColor("#0b5cad")
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(String(0, height + 12, title, fontName=FONT_BOLD, fontSize=10))
    return drawing


def _stats_table(report: RevisionReport, style) -> Table:
    stats = report.stats
    rows = [
        (_("Sections changed"), stats["sections_changed"]),
        (_("Sections added"), stats["sections_added"]),
        (_("Sections removed"), stats["sections_removed"]),
        (_("Sections renumbered"), stats["sections_renumbered"]),
        (_("Sections moved"), stats["sections_moved"]),
        (_("Comments on the previous version"), stats["comments_total"]),
        (_("Comments still open"), stats["open_count"]),
        (_("Open comments whose passage is gone"), stats["orphaned_count"]),
    ]
    table = Table(
        [[Paragraph(_text(label), style), str(value)] for label, value in rows], colWidths=[110 * mm, 25 * mm]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _comment_flowables(entry: CommentEntry, styles, *, with_landing: bool) -> list:
    head = f"<b>{_text(entry.number)}</b> · {_text(visible_controls(entry.organisation))} · {_text(entry.type_label)}"
    lines: list[Flowable] = [Paragraph(head, styles["comment"])]
    if entry.quote:
        lines.append(Paragraph("“" + _text(entry.quote) + "”", styles["comment"]))
    lines.append(Paragraph(_text(entry.body), styles["comment"]))
    if entry.proposed_change:
        lines.append(Paragraph(_text(_("Proposed change:")) + " " + _text(entry.proposed_change), styles["comment"]))
    decision = f"<b>{_text(entry.decision_label)}</b>"
    if entry.response:
        decision += " – " + _text(entry.response)
    lines.append(Paragraph(decision, styles["comment"]))
    if with_landing:
        if entry.landing is None:
            landing = _("Not carried over to this version yet.")
        else:
            landing = entry.landing.method_label
            if entry.landing.section_label:
                landing += ": " + entry.landing.section_label
            if entry.landing.quote:
                landing += " – “" + entry.landing.quote + "”"
        lines.append(Paragraph(_text(landing), styles["meta"]))
    lines.append(Spacer(1, 3))
    return [KeepTogether(lines)]


def _section_flowables(diff: SectionDiff, styles) -> list:
    number = f"{_text(diff.number)} " if diff.number else ""
    flowables = [
        Paragraph(f"[{_text(diff.status_label)}] {number}{redline_markup(diff.heading_segments)}", styles["h3"])
    ]
    if diff.renumbered:
        note = _("Renumbered from %(old)s to %(new)s.") % {"old": diff.old_number, "new": diff.number}
        flowables.append(Paragraph(_text(note), styles["meta"]))
    if diff.moved:
        flowables.append(Paragraph(_text(_("Moved to another part of the document.")), styles["meta"]))
    for paragraph in split_paragraphs(diff.body_segments):
        flowables.append(Paragraph(redline_markup(paragraph), styles["body"]))
    if diff.dispositions:
        flowables.append(Paragraph(_text(_("Changed in response to")), styles["body"]))
        for entry in diff.dispositions:
            flowables += _comment_flowables(entry, styles, with_landing=False)
    if diff.carried:
        flowables.append(Paragraph(_text(_("Open comments carried to this section")), styles["body"]))
        for entry in diff.carried:
            flowables += _comment_flowables(entry, styles, with_landing=True)
    return flowables


def build_story(report: RevisionReport) -> list:
    register_fonts()
    styles = _styles()
    title = _("Revision report, version %(number)s") % {"number": report.version_number}
    story: list[Flowable] = [
        Paragraph(_text(report.consultation_title), styles["meta"]),
        Paragraph(_text(title), styles["title"]),
    ]
    if report.previous_number:
        compared = _("Compared with version %(number)s.") % {"number": report.previous_number}
    else:
        compared = _("This is the first version: there is no earlier version to compare it with.")
    as_of = _("As of %(date)s") % {"date": formats.date_format(timezone.localtime(report.as_of), "DATETIME_FORMAT")}
    story += [Paragraph(_text(compared), styles["body"]), Paragraph(_text(as_of), styles["meta"])]
    if report.change_summary:
        story += [
            Paragraph(_text(_("Change summary")), styles["h2"]),
            Paragraph(_text(report.change_summary), styles["body"]),
        ]
    story += [Paragraph(_text(_("In numbers")), styles["h2"]), _stats_table(report, styles["body"]), Spacer(1, 6)]
    story.append(_bar_chart(_("Comments by decision"), report.stats["comments_by_decision"]))
    story.append(_bar_chart(_("Sections by change"), report.stats["sections_by_status"]))
    story.append(Paragraph(_text(_("Section by section")), styles["h2"]))
    legend = redline_markup(
        [Segment("insert", _("inserted text")), Segment("equal", " · "), Segment("delete", _("deleted text"))]
    )
    story.append(Paragraph(legend, styles["meta"]))
    for diff in report.sections:
        if diff.is_noteworthy:
            story += _section_flowables(diff, styles)
    story.append(Paragraph(_text(_("Comments still open")), styles["h2"]))
    for entry in report.open_comments:
        story += _comment_flowables(entry, styles, with_landing=True)
    if not report.open_comments:
        story.append(Paragraph(_text(_("No open comment.")), styles["body"]))
    story.append(Paragraph(_text(_("Open comments whose passage is no longer in the text")), styles["h2"]))
    for entry in report.orphaned_comments:
        story += _comment_flowables(entry, styles, with_landing=True)
    if not report.orphaned_comments:
        story.append(Paragraph(_text(_("None.")), styles["body"]))
    return story


def write_revision_pdf(report: RevisionReport, fileobj: BinaryIO, *, compress: bool = True) -> int:
    """Write the report to `fileobj`; return the number of pages.

    compress=False leaves the page content readable (the golden tests look for the redline
    words in it); the output is also byte-for-byte reproducible then (invariant).
    """
    report = xml_safe(report)
    title = _("Revision report, version %(number)s") % {"number": report.version_number}

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.drawString(18 * mm, 10 * mm, f"{report.consultation_title} – {title}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        fileobj,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=report.consultation_title,
        invariant=0 if compress else 1,
        pageCompression=1 if compress else 0,
    )
    doc.build(build_story(report), onFirstPage=footer, onLaterPages=footer)
    return doc.page
