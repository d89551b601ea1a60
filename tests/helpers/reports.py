"""Reports and comment templates as the tests make and read them."""

import io

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from consolidation.documents.matrix import write_template_xlsx
from consolidation.models import JobStatus, Report
from consolidation.services import exports

# The resolution matrix's columns, as in the XLSX and the CSV.
HEADER = [
    "MB/NC",
    "Line number",
    "Clause/Subclause",
    "Paragraph/Figure/Table",
    "Type of comment",
    "Comments",
    "Proposed change",
    "Observations of the secretariat",
    "No.",
    "Quoted passage",
    "Status",
    "National position",
    "Moderation",
    "Language",
    "Imported by",
    "Supported by",
]

# Where each field goes in the comment template (the ISO/IEC template's columns, then the platform's).
COLUMNS = {
    "organisation": 1,
    "line": 2,
    "clause": 3,
    "paragraph": 4,
    "type": 5,
    "comment": 6,
    "proposed_change": 7,
    "number": 9,
    "quote": 10,
    "status": 11,
    "language": 14,
    "supported_by": 16,
}
# The template's header row (1-based, as Excel shows it): the header block comes first.
HEADER_ROW = 7


def template_bytes() -> bytes:
    out = io.BytesIO()
    write_template_xlsx(out)
    return out.getvalue()


def filled(rows: list[dict], *, source: bytes | None = None, header_edit=None) -> SimpleUploadedFile:
    """The empty template as a delegation gets it, with `rows` typed in below its header row."""
    workbook = load_workbook(io.BytesIO(source or template_bytes()))
    sheet = workbook["Comments"]
    if header_edit:
        header_edit(sheet)
    for offset, row in enumerate(rows):
        for key, value in row.items():
            sheet.cell(row=HEADER_ROW + 1 + offset, column=COLUMNS[key], value=value)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(
        "viet-nam-comments.xlsx",
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def good_row(**fields) -> dict:
    row = {"clause": "1.1.1", "type": "te", "comment": "Name the rural target too.", "proposed_change": ""}
    row.update(fields)
    return row


def done_report(consultation, user, **fields) -> Report:
    """A finished CSV matrix with a small file, as if its task had run."""
    report = Report.objects.create(
        consultation=consultation,
        kind=Report.Kind.RESOLUTION_MATRIX,
        format=Report.Format.CSV,
        requested_by=user,
        status=JobStatus.DONE,
        progress=100,
        **fields,
    )
    report.file.save(f"matrix-{report.pk}.csv", ContentFile("\ufeffNo.,Organisation\r\n".encode()), save=False)
    report.size = report.file.size
    report.save()
    return report


def make_report(django_capture_on_commit_callbacks, user, consultation, *, kind, fmt, engagement_round=None, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        report = exports.report_request(
            actor=user, consultation=consultation, kind=kind, format=fmt, engagement_round=engagement_round, **kw
        )
    report.refresh_from_db()
    return report


def read_bytes(report: Report) -> bytes:
    with report.file.open("rb") as fileobj:
        return fileobj.read()


def template_with(rows) -> bytes:
    """The empty comment template with rows of (clause, type, comment) typed in below its header row."""
    out = io.BytesIO()
    write_template_xlsx(out)
    workbook = load_workbook(io.BytesIO(out.getvalue()))
    sheet = workbook["Comments"]
    for offset, (clause, kind, body) in enumerate(rows):
        sheet.cell(row=HEADER_ROW + 1 + offset, column=3, value=clause)
        sheet.cell(row=HEADER_ROW + 1 + offset, column=5, value=kind)
        sheet.cell(row=HEADER_ROW + 1 + offset, column=6, value=body)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
