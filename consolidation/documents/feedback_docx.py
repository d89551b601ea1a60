"""Consolidated feedback as a Word document: the draft section by section, each followed by its comments.

For every section in document order: its number and heading (a Word heading at the section's
depth), its text, then the comments on it (organisation, type, quoted passage, comment,
proposed change, national position) and the secretariat's decision on each.

Every stored text goes through config.text.xml_text on its way in: a comment stored with a
control character (pasted from Word before input was cleaned) must not break the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from django.utils.translation import gettext as _
from docx import Document
from docx.shared import Pt

from comments.models import Comment
from config.text import visible_controls, xml_text
from consultations.models import Section

from .matrix import observations


def _paragraphs(text: str) -> Iterator[str]:
    for block in xml_text(text).split("\n\n"):
        block = block.strip()
        if block:
            yield block


def _comment(document, comment: Comment) -> None:
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
    head = document.add_paragraph()
    head.add_run(xml_text(" · ".join(str(fact) for fact in facts))).bold = True
    if comment.quote_exact:
        quote = document.add_paragraph(style="Quote")
        quote.add_run(xml_text(f"“{comment.quote_exact}”"))
    document.add_paragraph(xml_text(comment.body))
    if comment.proposed_change:
        proposed = document.add_paragraph()
        proposed.add_run(_("Proposed change:")).italic = True
        proposed.add_run(xml_text(" " + comment.proposed_change))
    decided = observations(comment)
    if decided:
        disposition = document.add_paragraph()
        disposition.add_run(_("Disposition:")).bold = True
        disposition.add_run(xml_text(" " + decided))


def write_feedback_docx(
    *,
    title: str,
    subtitle: str,
    sections: Iterable[Section],
    comments: Iterable[Comment],
    fileobj,
    on_comment: Callable[[Comment], None] | None = None,
) -> None:
    """`comments` must come in section order (the order of `sections`); each is written under its section."""
    document = Document()
    document.styles["Normal"].font.size = Pt(10.5)
    document.add_heading(xml_text(title), level=0)
    document.add_paragraph(xml_text(subtitle))
    pending = iter(comments)
    upcoming = next(pending, None)
    for section in sections:
        document.add_heading(xml_text(str(section).strip() or section.heading), level=min(section.depth + 1, 4))
        for block in _paragraphs(section.body):
            document.add_paragraph(block)
        # Comments on sections that are not in `sections` (none, normally) are skipped, not misplaced.
        while upcoming is not None and upcoming.section.position < section.position:
            upcoming = next(pending, None)
        while upcoming is not None and upcoming.section_id == section.pk:
            _comment(document, upcoming)
            if on_comment:
                on_comment(upcoming)
            upcoming = next(pending, None)
    document.save(fileobj)


def feedback_subtitle(*, round_title: str, version_number: str) -> str:
    return _("%(round)s, on version %(version)s of the draft.") % {"round": round_title, "version": version_number}
