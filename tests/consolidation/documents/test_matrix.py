"""The resolution matrix and the blank template laid out as the ISO/IEC comment template (issue 11).

Both ways of making the matrix (COPY on PostgreSQL, plain values elsewhere) are held to the same
layout: the ISO/IEC columns in their order, a header block, wrapped headers, row heights, an
autofilter, the ge/te/ed drop-down, print settings and document properties.
"""

import csv
import io

import pytest
from django.conf import settings
from django.db import connection
from openpyxl import load_workbook

from comments.models import Comment
from consolidation import selectors_reports
from consolidation.documents import matrix
from consolidation.models import Disposition, JobStatus
from consolidation.services import imports
from consultations.models import Section
from consultations.selectors import lines_of_versions
from tests import factories
from tests.helpers.reports import HEADER, HEADER_ROW, filled, make_report, read_bytes, template_bytes
from tests.helpers.services import require

ISO_HEADERS = [
    "MB/NC",
    "Line number",
    "Clause/Subclause",
    "Paragraph/Figure/Table",
    "Type of comment",
    "Comments",
    "Proposed change",
    "Observations of the secretariat",
]

# Three paragraphs, the second long enough to wrap over several 80-character lines.
LONG_BODY = (
    "Member states will extend 5G coverage to all urban areas by 2028.\n\n"
    + " ".join(["Rural coverage follows in stages, district by district, as spectrum is released."] * 4)
    + "\n\nThe secretariat reports every year."
)


@pytest.fixture(params=["copy", "values"])
def export_path(request, monkeypatch):
    if request.param == "copy":
        require(connection.vendor == "postgresql", "COPY needs PostgreSQL")
    else:
        monkeypatch.setattr(selectors_reports, "copy_available", lambda: False)
    return request.param


@pytest.fixture
def anchored(open_round, version, vn_delegate, partner, secretariat):
    """Comments on a clause of three paragraphs: one spanning wrapped lines, one on the whole clause."""
    section = version.sections.get(key="infra-5g")
    Section.objects.filter(pk=section.pk).update(body=LONG_BODY)
    section.refresh_from_db()
    quote = "district by district, as spectrum is released. Rural coverage follows"
    start = LONG_BODY.index(quote)
    spanning = factories.CommentFactory(
        round=open_round,
        section=section,
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
        type="te",
        body="Long comment. " * 60,
        quote_exact=quote,
        position_start=start,
        position_end=start + len(quote),
    )
    Disposition.objects.create(
        comment=spanning,
        decision=Disposition.Decision.ACCEPTED,
        response="Accepted: the stages are now dated.",
        decided_by=secretariat,
    )
    last = LONG_BODY.index("The secretariat")
    yearly = factories.CommentFactory(
        round=open_round,
        section=section,
        author=partner,
        status=Comment.Status.SUBMITTED,
        type="ed",
        body="Say which month.",
        quote_exact="The secretariat",
        position_start=last,
        position_end=last + len("The secretariat"),
    )
    whole = factories.CommentFactory(
        round=open_round, section=section, author=vn_delegate, status=Comment.Status.SUBMITTED, body="On the clause."
    )
    # A response that is nothing but the decision: the decision alone.
    Disposition.objects.create(
        comment=whole, decision=Disposition.Decision.NOTED, response=" noted. ", decided_by=secretariat
    )
    return {"spanning": spanning, "yearly": yearly, "whole": whole}


def _lines(comment: Comment) -> str:
    """The lines the reading page and the draft's exports give the comment's anchor."""
    version_id = comment.section.version_id
    return str(lines_of_versions(version_ids=[version_id])[version_id].line_range_for_comment(comment))


def _rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=False)]


def test_the_matrix_is_laid_out_as_the_iso_template(
    django_capture_on_commit_callbacks, export_path, consultation, open_round, secretariat, anchored
):
    report = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="resolution_matrix",
        fmt="xlsx",
        engagement_round=open_round,
    )
    assert report.status == JobStatus.DONE, report.error
    workbook = load_workbook(io.BytesIO(read_bytes(report)))
    sheet = workbook["Comments"]

    # The header block names the consultation, version and round; the legend explains the types.
    block = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=3).value for r in range(2, HEADER_ROW)}
    assert sheet["A1"].value == "Comment resolution matrix"
    assert block["Document"] == consultation.title
    assert block["Version"] == f"Version {open_round.version.number}"
    assert block["Round"] == open_round.title
    assert block["As of"]
    assert "ge = general" in sheet.cell(row=HEADER_ROW - 1, column=3).value
    # The ISO/IEC columns first, in order, then the platform's; wrapped, in a row tall enough for them.
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert header == HEADER and header[:8] == ISO_HEADERS
    assert all(cell.alignment.wrap_text and cell.font.b for cell in sheet[HEADER_ROW])
    assert sheet.row_dimensions[HEADER_ROW].height >= 30
    # Autofilter over the headers and every row; the type a drop-down of ge, te, ed.
    rows = _rows(sheet)
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:P{HEADER_ROW + len(rows)}"
    (validation,) = sheet.data_validations.dataValidation
    assert validation.type == "list" and validation.formula1 == '"ge,te,ed"'
    assert str(validation.sqref) == f"E{HEADER_ROW + 1}:E{HEADER_ROW + len(rows)}"
    # Printed landscape, one page wide, the header row on every page, page numbers in the footer.
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # One page wide (1 is the file format's default, which XlsxWriter leaves out), as many pages tall as needed.
    assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert "&P" in sheet.oddFooter.right.text and "&N" in sheet.oddFooter.right.text
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    # The properties name the platform, the consultation and the version, not a library.
    properties = workbook.properties
    assert consultation.title in properties.title
    assert open_round.version.number in properties.subject
    assert properties.creator == settings.SITE_NAME
    assert settings.SITE_NAME in properties.description

    by_number = {row[8]: row for row in rows}
    spanning = by_number[anchored["spanning"].number]
    assert "-" in _lines(anchored["spanning"])  # the quote runs over a wrapped line's end
    # MB/NC the country code; Line number from the anchor (it spans wrapped lines of paragraph 2);
    # Paragraph/Figure/Table the paragraph; the quote in its own column; the decision said once.
    assert spanning[:8] == [
        "VN",
        _lines(anchored["spanning"]),
        "1.1.1",
        "Para. 2",
        "te",
        anchored["spanning"].body,
        None,
        "Accepted: the stages are now dated.",
    ]
    assert spanning[9] == anchored["spanning"].quote_exact
    assert by_number[anchored["yearly"].number][:4] == [
        "Development Partner",
        _lines(anchored["yearly"]),
        "1.1.1",
        "Para. 3",
    ]
    assert by_number[anchored["whole"].number][:4] == ["VN", "3", "1.1.1", None]  # the heading's line
    assert by_number[anchored["whole"].number][7] == "Noted"
    # The long comment's row is tall enough for its wrapped text; a one-line row keeps the default.
    heights = {row[8]: sheet.row_dimensions[HEADER_ROW + 1 + index].height for index, row in enumerate(rows)}
    assert heights[anchored["spanning"].number] >= 15 * 10
    assert heights[anchored["whole"].number] is None
    assert heights[anchored["yearly"].number] == 30  # "Development Partner" wraps in MB/NC: two lines


def test_the_csv_has_the_same_columns_in_the_same_order(
    django_capture_on_commit_callbacks, export_path, consultation, open_round, secretariat, anchored
):
    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="csv"
    )
    rows = list(csv.reader(io.StringIO(read_bytes(report).decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    spanning = next(row for row in rows if row[8] == anchored["spanning"].number)
    assert spanning[:4] == ["VN", _lines(anchored["spanning"]), "1.1.1", "Para. 2"]
    assert spanning[7] == "Accepted: the stages are now dated."


def test_the_blank_template_has_the_matrix_layout():
    workbook = load_workbook(io.BytesIO(template_bytes()))
    sheet = workbook["Comments"]
    assert [cell.value for cell in sheet[HEADER_ROW]] == HEADER
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:P{HEADER_ROW + matrix.TEMPLATE_ROWS}"
    (validation,) = sheet.data_validations.dataValidation
    assert validation.formula1 == '"ge,te,ed"'
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert workbook.properties.creator == settings.SITE_NAME
    # Clause/Subclause is text, so 1.10 stays "1.10".
    assert sheet.column_dimensions["C"].number_format == "@" or sheet["C8"].number_format == "@"


def test_a_filled_blank_template_imports_with_paragraph_references(
    django_capture_on_commit_callbacks, open_round, version, orgs, secretariat, vn_delegate
):
    section = version.sections.get(key="infra-5g")
    Section.objects.filter(pk=section.pk).update(body=LONG_BODY)
    upload = filled(
        [
            {"organisation": "VN", "clause": "1.1.1", "paragraph": "Para. 3", "type": "ed", "comment": "Month?"},
            {"organisation": "VN", "clause": "1.1.1", "paragraph": "Para. 1", "quote": "5G coverage", "type": "te",
             "comment": "Which bands?"},
            {"organisation": "VN", "clause": "1.1.1", "paragraph": "Table 1", "type": "ge", "comment": "Add a table."},
        ]
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.import_request(
            actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=upload
        )
    job.refresh_from_db()

    assert job.status == JobStatus.DONE, job.errors
    by_body = {comment.body: comment for comment in Comment.objects.filter(round=open_round)}
    third = LONG_BODY.index("The secretariat")
    assert (by_body["Month?"].position_start, by_body["Month?"].position_end) == (third, len(LONG_BODY))
    assert by_body["Which bands?"].quote_exact == "5G coverage"
    # A reference to something other than a paragraph stays with the comment, on the whole clause.
    assert by_body["[Table 1] Add a table."].position_start is None


def test_a_paragraph_the_clause_does_not_have_is_refused(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat, vn_delegate
):
    upload = filled([{"clause": "1.1.1", "paragraph": "Para. 4", "type": "ed", "comment": "Which?"}])
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.import_request(
            actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=upload
        )
    job.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert [(e["cell"], e["message"]) for e in job.errors] == [
        (f"D{HEADER_ROW + 1}", f"Row {HEADER_ROW + 1}, column D: Clause 1.1.1 has no paragraph 4.")
    ]
