"""The revision report as a DOCX (python-docx), from selectors_revision.revision_report data.

The same content as the PDF: title, as-of date, statistics (as tables: Word charts need an
embedded workbook python-docx cannot write), then per section the changes and the
dispositions that led to them, then the open comments.

The redline is made of real tracked changes (ooxml.TrackedChanges): every inserted word is a
<w:ins>, every deleted word a <w:del>, so that a secretariat can go through them in Word or
LibreOffice (Review) and accept or reject each. Their author is the platform (settings.SITE_NAME):
the platform computed the difference between two published versions, and a version records no
person as its author that the report may name; their date is the version's publication
(its creation while it is not published). Accepting every change in a section's text gives the
new version's text, rejecting every change the old one. The changes carry no colour or
strike-through of their own: Word and LibreOffice draw them, and accepting one leaves plain text.

Each changed section is followed by a table of the comments its change answered (number,
organisation, type, comment, decision and response). Headings never skip a level; tables repeat
their header row on every page and the decision table, Total row included, stays on one page;
the header names the consultation and version, the footer numbers the pages; the core
properties name the platform, the consultation and the version; the document's language is the
requester's (the active language: the Celery task activates it), and a paragraph in another
script (a Vietnamese section in an English report) carries its own.

Call write_revision_docx(report, fileobj) from a Celery task with the requester's language
active. The report is passed through config.text.xml_safe first: a text stored with a control
character cannot break the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from docx import Document
from docx.shared import Pt, RGBColor

from config.redline import DELETE, INSERT, Segment
from config.text import visible_controls, xml_safe

from ..selectors_revision import CommentEntry, RevisionReport, SectionDiff
from . import ooxml
from .wording import response_without_decision

MUTED = RGBColor(0x57, 0x60, 0x6A)


class _Writer:
    def __init__(self, report: RevisionReport):
        self.report = report
        self.language = translation.get_language() or settings.LANGUAGE_CODE
        self.document = Document()
        self.changes = ooxml.TrackedChanges(
            author=ooxml.platform_name(), date=report.published_at or report.generated_at
        )
        self.levels = ooxml.HeadingLevels()

    # --- building blocks ---------------------------------------------------------------------

    def heading(self, text: str = "", *, depth: int):
        """A heading at `depth` (1 for a part of the report), never more than one below the last."""
        return self.document.add_heading(text, level=self.levels.level(depth))

    def paragraph(self, text: str = "", *, language: str = "", style: str | None = None):
        paragraph = self.document.add_paragraph(text, style=style)
        ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, language, self.language))
        return paragraph

    def table(self, header: tuple[str, ...], rows: list[tuple[object, ...]], *, keep_together: bool = False):
        table = ooxml.header_table(self.document, header, rows)
        if keep_together:
            ooxml.keep_table_together(table)
        return table

    def label(self, text: str):
        """A bold line introducing what follows, kept on the page of what it introduces."""
        paragraph = self.paragraph()
        paragraph.add_run(text).bold = True
        paragraph.paragraph_format.keep_with_next = True
        return paragraph

    def mark_language(self, paragraph, text: str) -> None:
        """`paragraph` in the language `text`'s script tells, when that is not the document's."""
        ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, document=self.language))

    def redline(self, paragraph, segments: list[Segment]) -> None:
        for segment in segments:
            self.changes.add(paragraph, segment)

    # --- the parts ---------------------------------------------------------------------------

    def front_matter(self) -> None:
        report = self.report
        title = _("Revision report, version %(number)s") % {"number": report.version_number}
        subject = _("%(consultation)s, version %(version)s") % {
            "consultation": report.consultation_title,
            "version": report.version_number,
        }
        document = self.document
        ooxml.set_font_size(document.styles["Normal"], 10.5)
        ooxml.a4_page(document)
        ooxml.set_document_language(document, self.language)
        ooxml.set_core_properties(
            document,
            title=title,
            subject=subject,
            keywords=", ".join(
                [str(_("revision report")), str(_("tracked changes")), report.consultation_title, report.version_number]
            ),
            language=self.language,
            description=self.compared_with(),
        )
        ooxml.header_and_footer(
            document,
            header=subject,
            footer=ooxml.platform_name(),
            page_label=_("Page %(page)s of %(pages)s"),
        )
        self.paragraph(report.consultation_title)
        document.add_heading(title, level=0)
        self.paragraph(self.compared_with())
        as_of = formats.date_format(timezone.localtime(report.as_of), "DATETIME_FORMAT")
        self.paragraph(_("As of %(date)s") % {"date": as_of})
        if report.change_summary:
            self.heading(_("Change summary"), depth=1)
            self.paragraph(report.change_summary)

    def compared_with(self) -> str:
        if self.report.previous_number:
            return _("Compared with version %(number)s.") % {"number": self.report.previous_number}
        return _("This is the first version: there is no earlier version to compare it with.")

    def numbers(self) -> None:
        stats = self.report.stats
        self.heading(_("In numbers"), depth=1)
        self.table(
            (_("Sections"), _("Number")),
            [
                (_("Sections changed"), stats["sections_changed"]),
                (_("Sections added"), stats["sections_added"]),
                (_("Sections removed"), stats["sections_removed"]),
                (_("Sections renumbered"), stats["sections_renumbered"]),
                (_("Sections moved"), stats["sections_moved"]),
                # As the PDF and the revision page: the whole the decision table totals, then what is open.
                (_("Comments of the earlier rounds"), stats["comments_total"]),
                (_("Comments still open"), stats["open_count"]),
                (_("Open comments whose passage is gone"), stats["orphaned_count"]),
            ],
            keep_together=True,
        )
        self.paragraph()
        self.label(_("Comments by decision"))
        self.table(
            (_("Decision"), _("Comments")),
            [*stats["comments_by_decision"], (_("Total"), stats["comments_total"])],
            keep_together=True,
        )

    def section(self, diff: SectionDiff) -> None:
        heading = self.heading(depth=diff.depth + 2)
        heading.add_run(f"[{diff.status_label}] ")
        if diff.renumbered and diff.old_number:
            self.redline(heading, [Segment(DELETE, diff.old_number), Segment(INSERT, diff.number)])
            heading.add_run(" ")
        elif diff.number:
            heading.add_run(f"{diff.number} ")
        self.redline(heading, diff.heading_segments)
        ooxml.set_paragraph_language(heading, ooxml.text_language(diff.heading, document=self.language))
        if diff.renumbered:
            self.paragraph(_("Renumbered from %(old)s to %(new)s.") % {"old": diff.old_number, "new": diff.number})
        if diff.moved:
            self.paragraph(_("Moved to another part of the document."))
        for segments, mark in ooxml.tracked_paragraphs(diff.body_segments):
            paragraph = self.document.add_paragraph()
            self.redline(paragraph, segments)
            self.changes.mark_paragraph(paragraph, mark)
            text = "".join(s.text for s in segments)
            ooxml.set_paragraph_language(paragraph, ooxml.text_language(text, document=self.language))
        if diff.dispositions:
            self.label(_("Changed in response to"))
            self.dispositions(diff.dispositions)
        if diff.carried:
            self.label(_("Open comments carried to this section"))
            for entry in diff.carried:
                self.comment(entry, with_landing=True)

    def dispositions(self, entries: list[CommentEntry]) -> None:
        """The comments a section's change answered, one row each, beside the change."""
        table = self.table((_("No."), _("Organisation"), _("Type"), _("Comment"), _("Decision")), [])
        for entry in entries:
            cells = table.add_row().cells
            cells[0].text = entry.number
            cells[1].text = visible_controls(entry.organisation)
            cells[2].text = entry.type_label
            comment = cells[3].paragraphs[0]
            if entry.quote:
                comment.add_run(f"“{entry.quote}”").italic = True
                ooxml.set_paragraph_language(comment, ooxml.text_language(entry.quote, document=self.language))
                comment = cells[3].add_paragraph()
            comment.add_run(entry.body)
            ooxml.set_paragraph_language(comment, ooxml.text_language(entry.body, document=self.language))
            if entry.proposed_change:
                change = cells[3].add_paragraph()
                change.add_run(_("Proposed change:") + " ").italic = True
                change.add_run(entry.proposed_change)
                self.mark_language(change, entry.proposed_change)
            decision = cells[4].paragraphs[0]
            decision.add_run(entry.decision_label).bold = True
            response = response_without_decision(entry.response, entry.decision)
            if response:
                self.mark_language(cells[4].add_paragraph(response), response)
        ooxml.repeat_header_row(table)
        ooxml.column_widths(table, (14, 32, 22, 60, 42))
        self.document.add_paragraph()

    def comment(self, entry: CommentEntry, *, with_landing: bool) -> None:
        # The comment's number and author, the passage and its text: lines of one paragraph, on
        # one page (the bullet's indent holds the lines after the first).
        block = self.document.add_paragraph(style="List Bullet")
        ooxml.add_line(block, entry.number, bold=True)
        block.add_run(f" · {visible_controls(entry.organisation)} · {entry.type_label}")
        if entry.quote:
            language = ooxml.text_language(entry.quote, document=self.language)
            ooxml.add_line(block, f"“{entry.quote}”", language=language)
        ooxml.add_line(block, entry.body, language=ooxml.text_language(entry.body, document=self.language))
        ooxml.keep_block_together(block)
        if entry.proposed_change:
            change = self.paragraph()
            change.paragraph_format.left_indent = Pt(18)
            change.add_run(_("Proposed change:") + " ").italic = True
            change.add_run(entry.proposed_change)
            self.mark_language(change, entry.proposed_change)
        decision = self.paragraph()
        decision.paragraph_format.left_indent = Pt(18)
        decision.add_run(entry.decision_label).bold = True
        response = response_without_decision(entry.response, entry.decision)
        if response:
            decision.add_run(" – " + response)
        if with_landing:
            if entry.landing is None:
                text = _("Not carried over to this version yet.")
            else:
                text = entry.landing.method_label
                if entry.landing.section_label:
                    text += ": " + entry.landing.section_label
                if entry.landing.quote:
                    text += " – “" + entry.landing.quote + "”"
            landing = self.paragraph()
            landing.paragraph_format.left_indent = Pt(18)
            run = landing.add_run(text)
            run.font.color.rgb = MUTED
            ooxml.set_font_size(run, 9)

    def build(self, on_progress: Callable[[int, int], None] | None = None):
        report = self.report
        noteworthy = [diff for diff in report.sections if diff.is_noteworthy]
        steps = len(noteworthy) + 2
        self.front_matter()
        self.numbers()
        self.heading(_("Section by section"), depth=1)
        when = formats.date_format(timezone.localtime(report.published_at or report.generated_at), "DATETIME_FORMAT")
        self.paragraph(
            _(
                "The changes are tracked, by %(author)s on %(date)s: Word and LibreOffice list each insertion "
                "and deletion under Review, to accept or reject."
            )
            % {"author": ooxml.platform_name(), "date": when}
        )
        for done, diff in enumerate(noteworthy, start=1):
            self.section(diff)
            if on_progress:
                on_progress(done, steps)
        self.levels.reset(0)
        self.heading(_("Comments still open"), depth=1)
        for entry in report.open_comments:
            self.comment(entry, with_landing=True)
        if not report.open_comments:
            self.paragraph(_("No open comment."))
        if on_progress:
            on_progress(steps - 1, steps)
        self.heading(_("Open comments whose passage is no longer in the text"), depth=1)
        for entry in report.orphaned_comments:
            self.comment(entry, with_landing=True)
        if not report.orphaned_comments:
            self.paragraph(_("None."))
        return self.document


def build_document(report: RevisionReport, on_progress: Callable[[int, int], None] | None = None):
    return _Writer(report).build(on_progress)


def write_revision_docx(
    report: RevisionReport, fileobj: BinaryIO, *, on_progress: Callable[[int, int], None] | None = None
) -> None:
    """Write the report; on_progress(done, total) is called after each changed section is written."""
    build_document(xml_safe(report), on_progress).save(fileobj)
