"""The revision report as a PDF (reportlab platypus), from selectors_revision.revision_report data.

Call write_revision_pdf(report, fileobj) from a Celery task with the requester's language
active (the report is passed through config.text.xml_safe first: reportlab's paragraph
markup is XML too); fileobj is any binary file-like object (a temporary file, then the Report's storage).
reportlab keeps the pages it has laid out until it writes them, so memory grows with the
report's length, not with the database: the task never loads more than the report data.

Fonts and scripts: every text the report draws (paragraphs, table cells, chart labels, the
footer) goes through config.pdf_text, which puts Thai, Lao, Khmer and Burmese in their Noto
fonts, shapes them, and keeps the drawn text extractable. A font missing where
REPORT_FONTS_REQUIRED is on (production, CI) fails the report; elsewhere the report says on
its first page which scripts it could not show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from config.pdf_text import FontSet, ReportText, report_fonts
from config.redline import Segment, split_paragraphs
from config.text import visible_controls, xml_safe

from ..selectors_revision import CommentEntry, RevisionReport, SectionDiff
from .layout_progress import report_layout

logger = logging.getLogger(__name__)

INSERT_COLOUR = "#1a7f37"
DELETE_COLOUR = "#cf222e"
BAR_COLOUR = "#0b5cad"
MUTED_COLOUR = "#57606a"


def register_fonts() -> FontSet:
    """The report fonts, registered with reportlab (config.pdf_text.report_fonts)."""
    return report_fonts()


def _styles(fonts: FontSet) -> dict[str, ParagraphStyle]:
    regular, bold = fonts.base.regular, fonts.base.bold
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13, alignment=TA_LEFT, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=18, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=13, leading=17, spaceBefore=10),
        "h3": ParagraphStyle("h3", parent=base, fontName=bold, fontSize=11, leading=14, spaceBefore=8),
        "body": base,
        "meta": ParagraphStyle("meta", parent=base, textColor=colors.HexColor(MUTED_COLOUR), fontSize=8.5),
        "warning": ParagraphStyle("warning", parent=base, textColor=colors.HexColor(DELETE_COLOUR)),
        "comment": ParagraphStyle("comment", parent=base, leftIndent=8 * mm, fontSize=9),
        "chart_title": ParagraphStyle("chart_title", parent=base, fontName=bold, fontSize=10, leading=13),
        "chart_label": ParagraphStyle(
            "chart_label", parent=base, fontSize=8, leading=10, alignment=TA_RIGHT, spaceAfter=0
        ),
        "footer": ParagraphStyle("footer", parent=base, fontSize=7.5, leading=9.5, spaceAfter=0),
    }


class BarChart(Flowable):
    """Horizontal bars, one per row: the label (a shaped Paragraph, any script), the bar, the count."""

    LABEL_WIDTH = 55 * mm
    BAR_WIDTH = 95 * mm
    ROW_HEIGHT = 16

    def __init__(self, title: Paragraph, rows: list[tuple[Paragraph, int]], *, font: str):
        super().__init__()
        self.title, self.rows, self.font = title, rows, font
        self._heights: list[float] = []

    def wrap(self, avail_width, avail_height):
        self._title_height = self.title.wrap(self.LABEL_WIDTH + self.BAR_WIDTH, avail_height)[1] + 6
        self._heights = [
            max(self.ROW_HEIGHT, label.wrap(self.LABEL_WIDTH - 4, avail_height)[1] + 4) for label, _c in self.rows
        ]
        self.width = self.LABEL_WIDTH + self.BAR_WIDTH + 15 * mm
        self.height = self._title_height + sum(self._heights) + 8
        return self.width, self.height

    def draw(self):
        canvas = self.canv
        top = self.height
        self.title.drawOn(canvas, 0, top - self._title_height + 6)
        largest = max((count for _label, count in self.rows), default=0) or 1
        y = top - self._title_height
        x0 = self.LABEL_WIDTH
        canvas.setStrokeColor(colors.HexColor("#8c959f"))
        canvas.setLineWidth(0.5)
        canvas.line(x0, y, x0, y - sum(self._heights))
        canvas.setFillColor(colors.HexColor(BAR_COLOUR))
        for (label, count), height in zip(self.rows, self._heights, strict=True):
            y -= height
            label_height = label.height
            label.drawOn(canvas, 0, y + (height - label_height) / 2)
            bar = self.BAR_WIDTH * count / largest
            canvas.setFillColor(colors.HexColor(BAR_COLOUR))
            if bar:
                canvas.rect(x0, y + height * 0.2, bar, height * 0.6, stroke=0, fill=1)
            canvas.setFillColor(colors.black)
            canvas.setFont(self.font, 7)
            canvas.drawString(x0 + bar + 3, y + height / 2 - 2.5, str(count))


@dataclass
class _Writer:
    text: ReportText
    styles: dict[str, ParagraphStyle]

    def para(self, value: str, style: str) -> Paragraph:
        return self.text.para(value, self.styles[style])

    def markup_para(self, markup: str, style: str) -> Paragraph:
        return self.text.paragraph(markup, self.styles[style])

    def redline(self, segments: list[Segment], *, bold: bool = False) -> str:
        """Paragraph markup: inserted text underlined and green, deleted text struck through and red."""
        parts = []
        for segment in segments:
            text = self.text.markup(segment.text, bold=bold)
            if segment.is_insert:
                parts.append(f'<u><font color="{INSERT_COLOUR}">{text}</font></u>')
            elif segment.is_delete:
                parts.append(f'<strike><font color="{DELETE_COLOUR}">{text}</font></strike>')
            else:
                parts.append(text)
        return "".join(parts)

    def bar_chart(self, title: str, rows: list[tuple[str, int]]) -> BarChart:
        labels = [(self.para(label, "chart_label"), count) for label, count in rows]
        return BarChart(self.para(title, "chart_title"), labels, font=self.text.fonts.base.regular)

    def stats_table(self, report: RevisionReport) -> Table:
        stats = report.stats
        rows = [
            (_("Sections changed"), stats["sections_changed"]),
            (_("Sections added"), stats["sections_added"]),
            (_("Sections removed"), stats["sections_removed"]),
            (_("Sections renumbered"), stats["sections_renumbered"]),
            (_("Sections moved"), stats["sections_moved"]),
            (_("Comments of the earlier rounds"), stats["comments_total"]),
            (_("Comments still open"), stats["open_count"]),
            (_("Open comments whose passage is gone"), stats["orphaned_count"]),
        ]
        table = Table([[self.para(label, "body"), str(value)] for label, value in rows], colWidths=[110 * mm, 25 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.text.fonts.base.regular),
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    def comment(self, entry: CommentEntry, *, with_landing: bool) -> list:
        t = self.text
        head = (
            f"{t.bold(entry.number)} · {t.markup(visible_controls(entry.organisation))} · {t.markup(entry.type_label)}"
        )
        lines: list[Flowable] = [self.markup_para(head, "comment")]
        if entry.quote:
            lines.append(self.para("“" + entry.quote + "”", "comment"))
        lines.append(self.para(entry.body, "comment"))
        if entry.proposed_change:
            lines.append(self.para(_("Proposed change:") + " " + entry.proposed_change, "comment"))
        decision = t.bold(entry.decision_label)
        if entry.response:
            decision += " – " + t.markup(entry.response)
        lines.append(self.markup_para(decision, "comment"))
        if with_landing:
            if entry.landing is None:
                landing = _("Not carried over to this version yet.")
            else:
                landing = entry.landing.method_label
                if entry.landing.section_label:
                    landing += ": " + entry.landing.section_label
                if entry.landing.quote:
                    landing += " – “" + entry.landing.quote + "”"
            lines.append(self.para(landing, "meta"))
        lines.append(Spacer(1, 3))
        return [KeepTogether(lines)]

    def section(self, diff: SectionDiff) -> list:
        t = self.text
        number = f"{t.markup(diff.number, bold=True)} " if diff.number else ""
        heading = f"[{t.markup(diff.status_label, bold=True)}] {number}{self.redline(diff.heading_segments, bold=True)}"
        flowables = [self.markup_para(heading, "h3")]
        if diff.renumbered:
            note = _("Renumbered from %(old)s to %(new)s.") % {"old": diff.old_number, "new": diff.number}
            flowables.append(self.para(note, "meta"))
        if diff.moved:
            flowables.append(self.para(_("Moved to another part of the document."), "meta"))
        for paragraph in split_paragraphs(diff.body_segments):
            flowables.append(self.markup_para(self.redline(paragraph), "body"))
        if diff.dispositions:
            flowables.append(self.para(_("Changed in response to"), "body"))
            for entry in diff.dispositions:
                flowables += self.comment(entry, with_landing=False)
        if diff.carried:
            flowables.append(self.para(_("Open comments carried to this section"), "body"))
            for entry in diff.carried:
                flowables += self.comment(entry, with_landing=True)
        return flowables


def _title(report: RevisionReport) -> str:
    return _("Revision report, version %(number)s") % {"number": report.version_number}


def build_story(report: RevisionReport, writer: _Writer | None = None) -> list:
    w = writer or _Writer(register_fonts().text(), _styles(register_fonts()))
    story: list[Flowable] = [w.para(report.consultation_title, "meta"), w.para(_title(report), "title")]
    if report.previous_number:
        compared = _("Compared with version %(number)s.") % {"number": report.previous_number}
    else:
        compared = _("This is the first version: there is no earlier version to compare it with.")
    as_of = _("As of %(date)s") % {"date": formats.date_format(timezone.localtime(report.as_of), "DATETIME_FORMAT")}
    story += [w.para(compared, "body"), w.para(as_of, "meta")]
    if report.change_summary:
        story += [w.para(_("Change summary"), "h2"), w.para(report.change_summary, "body")]
    story += [w.para(_("In numbers"), "h2"), w.stats_table(report), Spacer(1, 6)]
    story.append(w.bar_chart(_("Comments by decision"), report.stats["comments_by_decision"]))
    story.append(Spacer(1, 6))
    story.append(w.bar_chart(_("Sections by change"), report.stats["sections_by_status"]))
    story.append(w.para(_("Section by section"), "h2"))
    legend = w.redline(
        [Segment("insert", _("inserted text")), Segment("equal", " · "), Segment("delete", _("deleted text"))]
    )
    story.append(w.markup_para(legend, "meta"))
    for diff in report.sections:
        if diff.is_noteworthy:
            story += w.section(diff)
    story.append(w.para(_("Comments still open"), "h2"))
    for entry in report.open_comments:
        story += w.comment(entry, with_landing=True)
    if not report.open_comments:
        story.append(w.para(_("No open comment."), "body"))
    story.append(w.para(_("Open comments whose passage is no longer in the text"), "h2"))
    for entry in report.orphaned_comments:
        story += w.comment(entry, with_landing=True)
    if not report.orphaned_comments:
        story.append(w.para(_("None."), "body"))
    return story


def write_revision_pdf(
    report: RevisionReport,
    fileobj: BinaryIO,
    *,
    compress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the report to `fileobj`; return the number of pages.

    compress=False leaves the page content readable (the golden tests look for the redline
    words in it); the output is also byte-for-byte reproducible then (invariant).
    """
    report = xml_safe(report)
    fonts = register_fonts()
    writer = _Writer(fonts.text(), _styles(fonts))
    title = _title(report)
    footer_text = writer.para(f"{report.consultation_title} – {title}", "footer")

    story = build_story(report, writer)
    missing = writer.text.missing_labels()
    if missing:
        logger.error(
            "Revision report of version %s: %s not installed on this server; that text prints as empty boxes.",
            report.version_number,
            ", ".join(missing),
        )
        note = _(
            "Some text in this report cannot be shown: the fonts for it (%(fonts)s) are not installed on "
            "the server, so it prints as empty boxes. Tell the platform's administrator."
        ) % {"fonts": ", ".join(missing)}
        story.insert(2, writer.para(note, "warning"))
    elif writer.text.no_glyph:
        logger.warning(
            "Revision report of version %s: no report font has %s; they print as empty boxes.",
            report.version_number,
            "".join(sorted(writer.text.no_glyph))[:50],
        )

    def footer(canvas, doc):
        canvas.saveState()
        width, height = footer_text.wrap(A4[0] - 36 * mm - 12 * mm, 15 * mm)
        footer_text.drawOn(canvas, 18 * mm, 10 * mm + 7.5 - height)
        canvas.setFont(fonts.base.regular, 7.5)
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
    report_layout(doc, len(story), on_progress)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return doc.page
