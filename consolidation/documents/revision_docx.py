"""The revision report as a DOCX (python-docx), from selectors_revision.revision_report data.

The same content as the PDF: title, as-of date, statistics (as tables: Word charts need an
embedded workbook python-docx cannot write), then per section the redline, with inserted
runs underlined in green and deleted runs struck through in red, the dispositions that led
to the change, and the open comments. Call write_revision_docx(report, fileobj) from a
Celery task with the requester's language active. The report is passed through
config.text.xml_safe first: a text stored with a control character cannot break the document.
"""

from __future__ import annotations

from typing import BinaryIO

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.shared import Pt, RGBColor

from config.text import visible_controls, xml_safe

from ..redline import Segment, split_paragraphs
from ..selectors_revision import CommentEntry, RevisionReport, SectionDiff

INSERT_COLOUR = RGBColor(0x1A, 0x7F, 0x37)
DELETE_COLOUR = RGBColor(0xCF, 0x22, 0x2E)
MUTED = RGBColor(0x57, 0x60, 0x6A)


def add_redline_runs(paragraph, segments: list[Segment]) -> None:
    for segment in segments:
        run = paragraph.add_run(segment.text)
        if segment.is_insert:
            run.font.underline = True
            run.font.color.rgb = INSERT_COLOUR
        elif segment.is_delete:
            run.font.strike = True
            run.font.color.rgb = DELETE_COLOUR


def _table(document, header: tuple[str, str], rows: list[tuple[str, object]]) -> None:
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = header
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(label), str(value)


def _comment(document, entry: CommentEntry, *, with_landing: bool) -> None:
    head = document.add_paragraph(style="List Bullet")
    head.add_run(entry.number).bold = True
    head.add_run(f" · {visible_controls(entry.organisation)} · {entry.type_label}")
    if entry.quote:
        document.add_paragraph(f"“{entry.quote}”").paragraph_format.left_indent = Pt(18)
    document.add_paragraph(entry.body).paragraph_format.left_indent = Pt(18)
    if entry.proposed_change:
        change = document.add_paragraph()
        change.paragraph_format.left_indent = Pt(18)
        change.add_run(_("Proposed change:") + " ").italic = True
        change.add_run(entry.proposed_change)
    decision = document.add_paragraph()
    decision.paragraph_format.left_indent = Pt(18)
    decision.add_run(entry.decision_label).bold = True
    if entry.response:
        decision.add_run(" – " + entry.response)
    if with_landing:
        if entry.landing is None:
            text = _("Not carried over to this version yet.")
        else:
            text = entry.landing.method_label
            if entry.landing.section_label:
                text += ": " + entry.landing.section_label
            if entry.landing.quote:
                text += " – “" + entry.landing.quote + "”"
        landing = document.add_paragraph()
        landing.paragraph_format.left_indent = Pt(18)
        run = landing.add_run(text)
        run.font.color.rgb = MUTED
        run.font.size = Pt(9)


def _section(document, diff: SectionDiff) -> None:
    heading = document.add_heading(level=min(3, diff.depth + 2))
    heading.add_run(f"[{diff.status_label}] ")
    if diff.number:
        heading.add_run(f"{diff.number} ")
    add_redline_runs(heading, diff.heading_segments)
    if diff.renumbered:
        document.add_paragraph(_("Renumbered from %(old)s to %(new)s.") % {"old": diff.old_number, "new": diff.number})
    if diff.moved:
        document.add_paragraph(_("Moved to another part of the document."))
    for segments in split_paragraphs(diff.body_segments):
        add_redline_runs(document.add_paragraph(), segments)
    if diff.dispositions:
        document.add_paragraph().add_run(_("Changed in response to")).bold = True
        for entry in diff.dispositions:
            _comment(document, entry, with_landing=False)
    if diff.carried:
        document.add_paragraph().add_run(_("Open comments carried to this section")).bold = True
        for entry in diff.carried:
            _comment(document, entry, with_landing=True)


def build_document(report: RevisionReport):
    document = Document()
    title = _("Revision report, version %(number)s") % {"number": report.version_number}
    document.core_properties.title = title
    document.add_paragraph(report.consultation_title)
    document.add_heading(title, level=0)
    if report.previous_number:
        document.add_paragraph(_("Compared with version %(number)s.") % {"number": report.previous_number})
    else:
        document.add_paragraph(_("This is the first version: there is no earlier version to compare it with."))
    as_of = formats.date_format(timezone.localtime(report.as_of), "DATETIME_FORMAT")
    document.add_paragraph(_("As of %(date)s") % {"date": as_of})
    if report.change_summary:
        document.add_heading(_("Change summary"), level=1)
        document.add_paragraph(report.change_summary)
    stats = report.stats
    document.add_heading(_("In numbers"), level=1)
    _table(
        document,
        (_("Sections"), _("Number")),
        [
            (_("Sections changed"), stats["sections_changed"]),
            (_("Sections added"), stats["sections_added"]),
            (_("Sections removed"), stats["sections_removed"]),
            (_("Sections renumbered"), stats["sections_renumbered"]),
            (_("Sections moved"), stats["sections_moved"]),
            (_("Comments still open"), stats["open_count"]),
            (_("Open comments whose passage is gone"), stats["orphaned_count"]),
        ],
    )
    document.add_paragraph()
    _table(
        document,
        (_("Decision"), _("Comments")),
        [*stats["comments_by_decision"], (_("Total"), stats["comments_total"])],
    )
    document.add_heading(_("Section by section"), level=1)
    add_redline_runs(
        document.add_paragraph(),
        [Segment("insert", _("inserted text")), Segment("equal", " · "), Segment("delete", _("deleted text"))],
    )
    for diff in report.sections:
        if diff.is_noteworthy:
            _section(document, diff)
    document.add_heading(_("Comments still open"), level=1)
    for entry in report.open_comments:
        _comment(document, entry, with_landing=True)
    if not report.open_comments:
        document.add_paragraph(_("No open comment."))
    document.add_heading(_("Open comments whose passage is no longer in the text"), level=1)
    for entry in report.orphaned_comments:
        _comment(document, entry, with_landing=True)
    if not report.orphaned_comments:
        document.add_paragraph(_("None."))
    return document


def write_revision_docx(report: RevisionReport, fileobj: BinaryIO) -> None:
    build_document(xml_safe(report)).save(fileobj)
