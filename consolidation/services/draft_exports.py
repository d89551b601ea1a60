"""The draft itself, line-numbered, as DOCX or PDF, clean or with comments: two kinds of report.

They are requested, queued, made and downloaded as every other report (services.exports:
report_request, report_generate, the reports page); exports.py registers the kinds, formats and
makers defined here. The file is made from selectors_draft.draft_document: the version's text
with its line numbers and, "with comments", the comments the requester may see (one round, or
every round on the version), each beside the line its passage starts on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from consultations.models import DraftVersion, EngagementRound

from ..documents.draft_docx import write_draft_docx
from ..documents.draft_pdf import write_draft_pdf
from ..models import Report
from ..selectors_draft import draft_document
from .progress import stepped

Kind = Report.Kind
Format = Report.Format

DRAFT_KINDS = (Kind.DRAFT, Kind.DRAFT_WITH_COMMENTS)
DRAFT_FORMATS: dict[str, tuple[str, ...]] = {kind: (Format.DOCX, Format.PDF) for kind in DRAFT_KINDS}
DRAFT_WRITERS: dict[str, Callable] = {Format.DOCX: write_draft_docx, Format.PDF: write_draft_pdf}


class _Job(Protocol):
    """What services.exports passes as the report's tally: the job's id and the attempt holding it."""

    report_id: int
    attempt: int


def check_draft_request(*, kind: str, version: DraftVersion | None, engagement_round: EngagementRound | None) -> None:
    """A draft needs its version; a round, if one is chosen, must be a round on that version."""
    if kind not in DRAFT_KINDS:
        return
    if version is None:
        raise ValidationError({"version": _("Choose the version of the draft to make.")})
    if engagement_round is not None and engagement_round.version_id != version.pk:
        raise ValidationError({"engagement_round": _("This round is on another version of the draft.")})


def make_draft(report: Report, path: str, tally_factory: Callable[[int], _Job]) -> dict:
    version = report.version
    if version is None:  # report_request requires one; a report made some other way may lack it
        raise ValidationError(_("Choose the version of the draft to make."))
    job = tally_factory(0)
    with_comments = report.kind == Kind.DRAFT_WITH_COMMENTS
    document = draft_document(
        user=report.requested_by, version=version, with_comments=with_comments, engagement_round=report.round
    )
    with open(path, "wb") as fileobj:
        DRAFT_WRITERS[report.format](document, fileobj, on_section=stepped(job.report_id, job.attempt))
    source = {
        "version": version.number,
        "line_length": document.line_length,
        "lines": document.total_lines,
        "sections": document.section_count,
    }
    if with_comments:
        source["comments"] = document.comment_count
    return {"as_of": document.as_of, "source": source}


DRAFT_MAKERS: dict[str, Callable] = {kind: make_draft for kind in DRAFT_KINDS}
