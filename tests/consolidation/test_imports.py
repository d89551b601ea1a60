"""Offline comment templates: the secretariat imports a delegation's filled XLSX, all rows or none."""

import io
import os
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from comments.models import Comment, CommentRevision
from consolidation.documents.matrix import write_template_xlsx
from consolidation.models import ImportJob, JobStatus
from consolidation.services import imports
from consolidation.tasks.reports import import_template
from tests import factories

VI_BODY = "Cần làm rõ lộ trình phủ sóng 5G cho vùng nông thôn."
COLUMNS = {"clause": 3, "paragraph": 4, "type": 5, "comment": 6, "proposed_change": 7, "language": 12}


def template_bytes() -> bytes:
    out = io.BytesIO()
    write_template_xlsx(out)
    return out.getvalue()


def filled(rows: list[dict], *, source: bytes | None = None, header_edit=None) -> SimpleUploadedFile:
    """The empty template as a delegation gets it, with `rows` typed in from row 2."""
    workbook = load_workbook(io.BytesIO(source or template_bytes()))
    sheet = workbook["Comments"]
    if header_edit:
        header_edit(sheet)
    for offset, row in enumerate(rows):
        for key, value in row.items():
            sheet.cell(row=2 + offset, column=COLUMNS[key], value=value)
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


def run_import(django_capture_on_commit_callbacks, actor, engagement_round, organisation, upload) -> ImportJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.import_request(
            actor=actor, engagement_round=engagement_round, organisation=organisation, upload=upload
        )
    job.refresh_from_db()
    return job


@pytest.fixture(autouse=True)
def _viet_nam_takes_part(vn_delegate):
    """Viet Nam, whose templates are imported, is a participant; Thailand only where a test says so."""


@pytest.fixture
def closed_round(open_round):
    open_round.state = open_round.State.CLOSED
    open_round.save()
    return open_round


# --- the good path --------------------------------------------------------------------------


def test_a_filled_template_becomes_submitted_comments_imported_by_the_secretariat(
    django_capture_on_commit_callbacks, closed_round, orgs, secretariat, vn_delegate
):
    upload = filled(
        [
            good_row(
                paragraph="5G coverage",
                type="GE",
                comment=VI_BODY,
                proposed_change="Thêm vùng nông thôn.",
                language="vi",
            ),
            good_row(clause="1.1.2", type="ed ", comment="Typo: renewable.", paragraph=None),
        ]
    )

    job = run_import(django_capture_on_commit_callbacks, secretariat, closed_round, orgs["vn"], upload)

    assert job.status == JobStatus.DONE, job.errors
    assert (job.created_count, job.row_count, job.progress, job.errors) == (2, 2, 100, [])
    first, second = Comment.objects.filter(round=closed_round).order_by("id")
    assert first.section.number == "1.1.1"
    assert (first.type, first.body, first.proposed_change, first.language) == (
        "ge",
        VI_BODY,
        "Thêm vùng nông thôn.",
        "vi",
    )
    assert (first.quote_exact, first.position_start, first.position_end) == ("5G coverage", 26, 37)
    assert second.section.number == "1.1.2" and second.type == "ed" and second.quote_exact == ""
    for comment in (first, second):
        assert comment.status == Comment.Status.SUBMITTED and comment.submitted_at
        assert comment.organisation == orgs["vn"]
        assert comment.author == secretariat and comment.imported_by == secretariat
        revision = CommentRevision.objects.get(comment=comment)
        assert (revision.action, revision.status, revision.actor) == ("created", "submitted", secretariat)
    imported = AuditEntry.objects.filter(action="comment.imported")
    assert sorted(int(e.target_id) for e in imported) == [first.pk, second.pk]
    assert {e.data["row"] for e in imported} == {2, 3}
    assert job.file_name == "viet-nam-comments.xlsx"


def test_round_trip_export_the_matrix_and_import_it_back(
    django_capture_on_commit_callbacks, open_round, orgs, consultation, secretariat, th_delegate, vn_delegate
):
    from consolidation.services import exports

    imported = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["th"],
        filled([good_row(paragraph="all urban areas", comment="Which areas?"), good_row(clause="1.1.2", type="ge")]),
    )
    assert imported.status == JobStatus.DONE
    with django_capture_on_commit_callbacks(execute=True):
        report = exports.report_request(
            actor=secretariat, consultation=consultation, kind="resolution_matrix", format="xlsx"
        )
    report.refresh_from_db()
    with report.file.open("rb") as fileobj:
        exported = fileobj.read()
    rows = list(load_workbook(io.BytesIO(exported))["Comments"].iter_rows(min_row=2, values_only=True))
    assert [row[12] for row in rows] == [secretariat.full_name or secretariat.email] * 2  # Imported by

    again = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        SimpleUploadedFile("matrix.xlsx", exported),
    )

    assert again.status == JobStatus.DONE, again.errors
    copies = Comment.objects.filter(organisation=orgs["vn"]).order_by("id")
    originals = Comment.objects.filter(organisation=orgs["th"]).order_by("id")
    assert [(c.section_id, c.type, c.body, c.quote_exact) for c in copies] == [
        (c.section_id, c.type, c.body, c.quote_exact) for c in originals
    ]


def test_running_the_task_twice_imports_once(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], filled([good_row()]))

    import_template.delay(job.pk)

    assert Comment.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.created_count == 1


# --- refused rows: nothing is imported --------------------------------------------------------


def _failed(job: ImportJob) -> list[dict]:
    assert job.status == JobStatus.FAILED
    assert Comment.objects.count() == 0
    assert not AuditEntry.objects.filter(action="comment.imported").exists()
    return job.errors


def test_a_missing_column_is_named_and_nothing_is_imported(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    def drop_type(sheet):
        sheet.delete_cols(5)

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        filled([{"clause": "1.1.1", "paragraph": "", "type": "Name it.", "comment": ""}], header_edit=drop_type),
    )

    errors = _failed(job)
    assert errors == [
        {
            "row": 1,
            "column": "Type of comment",
            "message": "The column “Type of comment” is missing or renamed. Keep the headers of the template.",
        }
    ]


def test_a_renamed_column_is_named(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    def rename(sheet):
        sheet.cell(row=1, column=6, value="Comment text")
        sheet.cell(row=1, column=3, value="Section")

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        filled([good_row()], header_edit=rename),
    )

    assert [(e["row"], e["column"]) for e in _failed(job)] == [(1, "Clause"), (1, "Comments")]


def test_headers_match_whatever_their_case_and_spacing(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    def shout(sheet):
        sheet.cell(row=1, column=5, value="  TYPE OF   COMMENT: ")

    job = run_import(
        django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], filled([good_row()], header_edit=shout)
    )

    assert job.status == JobStatus.DONE, job.errors


def test_each_bad_cell_is_listed_with_its_row_and_column(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    upload = filled(
        [
            good_row(),
            good_row(clause="9.9"),
            good_row(type="xx"),
            good_row(comment="   "),
            good_row(paragraph="6G everywhere"),
            good_row(proposed_change="x" * 10_001),
            good_row(comment="y" * 10_001),
        ]
    )

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], upload)

    errors = _failed(job)
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "Clause"),
        (4, "Type of comment"),
        (5, "Comments"),
        (6, "Paragraph/Figure/Table"),
        (7, "Proposed change"),
        (8, "Comments"),
    ]
    assert errors[0]["message"] == "There is no clause 9.9 in version 0.1."
    assert "ge" in errors[1]["message"] and "te" in errors[1]["message"] and "ed" in errors[1]["message"]
    assert "not found" in errors[3]["message"]
    assert "10,000" in errors[4]["message"]
    assert job.row_count == 7


def test_one_bad_row_among_twenty_imports_nothing(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    rows = [good_row(comment=f"Comment {n}") for n in range(20)]
    rows[12]["type"] = "technical-ish"

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], filled(rows))

    assert [(e["row"], e["column"]) for e in _failed(job)] == [(14, "Type of comment")]
    assert job.created_count == 0


def test_an_empty_template_is_refused(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], filled([]))

    assert "no comments" in _failed(job)[0]["message"]


# --- refused uploads: nothing is stored -------------------------------------------------------


def _pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _fake_xlsx() -> bytes:
    """Declares a workbook but holds none: openpyxl cannot open it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [_pdf(), os.urandom(4096), b"", _docx(), _fake_xlsx()],
    ids=["pdf-renamed", "random-bytes", "empty", "docx", "zip-without-workbook"],
)
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(open_round, orgs, secretariat, content):
    with pytest.raises(ValidationError, match="not an XLSX workbook"):
        imports.import_request(
            actor=secretariat,
            engagement_round=open_round,
            organisation=orgs["vn"],
            upload=SimpleUploadedFile("comments.xlsx", content),
        )
    assert not ImportJob.objects.exists()


class HugeUpload(SimpleUploadedFile):
    """Reports 50 MB and fails the test if anything reads it."""

    def __init__(self):
        super().__init__("huge.xlsx", b"")
        self.size = 50 * 1024 * 1024

    def read(self, *args, **kwargs):
        raise AssertionError("a file over the limit was read")

    def chunks(self, *args, **kwargs):
        raise AssertionError("a file over the limit was read")

    def seek(self, *args, **kwargs):
        raise AssertionError("a file over the limit was read")


def test_a_50_mb_upload_is_refused_before_it_is_read(open_round, orgs, secretariat):
    with pytest.raises(ValidationError, match="50.0 MB"):
        imports.import_request(
            actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=HugeUpload()
        )
    assert not ImportJob.objects.exists()


def test_the_size_limit_is_a_setting(settings, open_round, orgs, secretariat):
    settings.IMPORT_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="at most"):
        imports.import_request(
            actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=filled([good_row()])
        )


def test_a_zip_bomb_is_refused(open_round, orgs, secretariat):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "spreadsheetml.sheet.main+xml")
        archive.writestr("xl/padding.xml", b"\0" * (220 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024

    with pytest.raises(ValidationError, match="unpacks"):
        imports.import_request(
            actor=secretariat,
            engagement_round=open_round,
            organisation=orgs["vn"],
            upload=SimpleUploadedFile("bomb.xlsx", out.getvalue()),
        )


# --- who ------------------------------------------------------------------------------------


def test_the_organisation_must_take_part_in_the_consultation(open_round, secretariat):
    stranger = factories.OrganisationFactory(name="Atlantis", country_code="AT")

    with pytest.raises(ValidationError, match="does not take part"):
        imports.import_request(
            actor=secretariat, engagement_round=open_round, organisation=stranger, upload=filled([good_row()])
        )


@pytest.mark.parametrize(
    ("persona", "error"),
    [("vn_focal_point", PermissionDenied), ("consultant", PermissionDenied), ("outsider", Http404)],
)
def test_only_the_secretariat_imports(personas, open_round, orgs, persona, error):
    with pytest.raises(error):
        imports.import_request(
            actor=personas[persona], engagement_round=open_round, organisation=orgs["vn"], upload=filled([good_row()])
        )
    assert not ImportJob.objects.exists()


def test_a_site_admin_may_import(django_capture_on_commit_callbacks, open_round, orgs, site_admin):
    job = run_import(django_capture_on_commit_callbacks, site_admin, open_round, orgs["vn"], filled([good_row()]))

    assert job.status == JobStatus.DONE
    assert Comment.objects.get().imported_by == site_admin


def test_a_workbook_with_a_title_above_the_header_is_read(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ISO/IEC comment template — Viet Nam"])
    sheet.append([])
    sheet.append(
        ["No.", "Organisation", "Clause", "Paragraph/Figure/Table", "Type of comment", "Comments", "Proposed change",
         "Observations of the secretariat"]
    )  # fmt: skip
    sheet.append(["VN-1", "VN", 1.1, None, "te", "On the chapter.", None, None])  # a clause Excel took for a number
    sheet.append(["VN-2", "VN", "1.1.2", None, "te", "", None, None])
    out = io.BytesIO()
    workbook.save(out)

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        SimpleUploadedFile("vn.xlsx", out.getvalue()),
    )

    assert _failed(job) == [{"row": 5, "column": "Comments", "message": "The comment cannot be empty."}]
