"""A suggested edit in the exports: the full proposed text in the matrix, a redline in the feedback DOCX."""

import csv
import io

from docx import Document

from comments.models import Comment
from consolidation.models import JobStatus
from tests.factories import CommentFactory
from tests.helpers.reports import make_report, read_bytes

PASSAGE = "all urban areas by 2028"
EDITED = "all urban and rural areas by 2030"


def _suggestion(open_round, clause, author):
    start = clause.body.index(PASSAGE)
    return CommentFactory(
        round=open_round,
        section=clause,
        author=author,
        status=Comment.Status.SUBMITTED,
        type=Comment.Type.EDITORIAL,
        body="Rural areas too.",
        quote_exact=PASSAGE,
        position_start=start,
        position_end=start + len(PASSAGE),
        proposed_change=EDITED,
        is_suggestion=True,
    )


def test_feedback_docx_shows_the_suggested_edit_struck_and_underlined(
    django_capture_on_commit_callbacks, consultation, open_round, clause, secretariat, vn_delegate
):
    _suggestion(open_round, clause, vn_delegate)

    report = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )

    assert report.status == JobStatus.DONE, report.error
    paragraphs = Document(io.BytesIO(read_bytes(report))).paragraphs
    (redline,) = [p for p in paragraphs if p.text.startswith("Suggested edit of the passage:")]
    struck = [r.text for r in redline.runs if r.font.strike]
    underlined = [r.text for r in redline.runs if r.font.underline]
    assert (struck, underlined) == (["2028"], ["and rural ", "2030"])
    # The proposed change is still there in full, as written.
    assert any(p.text == f"Proposed change: {EDITED}" for p in paragraphs)


def test_the_matrix_keeps_the_full_proposed_text(
    django_capture_on_commit_callbacks, consultation, open_round, clause, secretariat, vn_delegate
):
    _suggestion(open_round, clause, vn_delegate)

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="csv"
    )

    assert report.status == JobStatus.DONE, report.error
    rows = list(csv.reader(io.StringIO(read_bytes(report).decode("utf-8-sig"), newline="")))
    assert any(EDITED in row for row in rows)
