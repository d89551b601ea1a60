"""Offline comment templates: the secretariat imports a delegation's filled XLSX, all rows or none."""

import io
import os
import shutil
import subprocess
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from comments.models import Comment, CommentRevision
from consolidation.models import ImportJob, JobStatus
from consolidation.services import imports
from consolidation.tasks.reports import import_template
from tests import factories
from tests.helpers.reports import HEADER_ROW, filled, good_row

VI_BODY = "Cần làm rõ lộ trình phủ sóng 5G cho vùng nông thôn."


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


# --- the good path --------------------------------------------------------------------------


def test_a_filled_template_becomes_submitted_comments_imported_by_the_secretariat(
    django_capture_on_commit_callbacks, closed_round, orgs, secretariat, vn_delegate
):
    upload = filled(
        [
            good_row(
                quote="5G coverage",
                type="GE",
                comment=VI_BODY,
                proposed_change="Thêm vùng nông thôn.",
                language="vi",
            ),
            good_row(clause="1.1.2", type="ed ", comment="Typo: renewable.", quote=None),
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
    assert {e.data["row"] for e in imported} == {HEADER_ROW + 1, HEADER_ROW + 2}
    assert job.file_name == "viet-nam-comments.xlsx"


def test_a_supported_by_column_filled_in_a_template_is_ignored(
    django_capture_on_commit_callbacks, closed_round, orgs, secretariat
):
    # Support is stated by a delegation on the platform; another delegation's file cannot state it.
    upload = filled([good_row(comment="Name the target year.", supported_by="TH, Lao PDR")])

    job = run_import(django_capture_on_commit_callbacks, secretariat, closed_round, orgs["vn"], upload)

    assert job.status == JobStatus.DONE, job.errors
    comment = Comment.objects.get(round=closed_round)
    assert comment.body == "Name the target year." and not comment.supports.exists()


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
            "row": HEADER_ROW,
            "column": "Type of comment",
            "message": "The column “Type of comment” is missing or renamed. Keep the headers of the template.",
        }
    ]


def test_a_renamed_column_is_named(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    def rename(sheet):
        sheet.cell(row=HEADER_ROW, column=6, value="Comment text")
        sheet.cell(row=HEADER_ROW, column=3, value="Section")

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        filled([good_row()], header_edit=rename),
    )

    assert [(e["row"], e["column"]) for e in _failed(job)] == [
        (HEADER_ROW, "Clause/Subclause"),
        (HEADER_ROW, "Comments"),
    ]


def test_headers_match_whatever_their_case_and_spacing(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    def shout(sheet):
        sheet.cell(row=HEADER_ROW, column=5, value="  TYPE OF   COMMENT: ")

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
            good_row(quote="6G everywhere"),
            good_row(proposed_change="x" * 10_001),
            good_row(comment="y" * 10_001),
        ]
    )

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], upload)

    errors = _failed(job)
    assert [(e["row"], e["column"]) for e in errors] == [
        (9, "Clause/Subclause"),
        (10, "Type of comment"),
        (11, "Comments"),
        (12, "Quoted passage"),
        (13, "Proposed change"),
        (14, "Comments"),
    ]
    assert errors[0]["message"] == "Row 9, column C: There is no clause 9.9 in version 0.1."
    assert errors[0]["cell"] == "C9"
    assert "ge" in errors[1]["message"] and "te" in errors[1]["message"] and "ed" in errors[1]["message"]
    assert "not found" in errors[3]["message"]
    assert "10,000" in errors[4]["message"]
    assert job.row_count == 7


def test_one_bad_row_among_twenty_imports_nothing(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    rows = [good_row(comment=f"Comment {n}") for n in range(20)]
    rows[12]["type"] = "technical-ish"

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], filled(rows))

    assert [(e["row"], e["column"]) for e in _failed(job)] == [(20, "Type of comment")]
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

    assert _failed(job) == [
        {"row": 5, "column": "Comments", "cell": "F5", "message": "Row 5, column F: The comment cannot be empty."}
    ]


# --- misattribution, exports, duplicates, formulas: refused with row and column ---------------


def _messages(job: ImportJob) -> list[str]:
    return [error["message"] for error in _failed(job)]


def test_a_row_naming_another_organisation_is_refused_and_nothing_is_imported(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    upload = filled(
        [
            good_row(organisation="Viet Nam", comment="Ours, named."),
            good_row(organisation=None, comment="Ours, blank: the import's organisation."),
            good_row(organisation="  VIET-NAM ", comment="Ours, spelt differently."),
            good_row(organisation="VN", comment="Ours, by country code."),
            good_row(organisation="Thailand", comment="Thailand's position, not ours."),
            good_row(organisation="Atlantis", comment="Nobody's."),
        ]
    )

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], upload)

    errors = _failed(job)
    assert [(e["row"], e["column"], e["cell"]) for e in errors] == [
        (12, "MB/NC", "A12"),
        (13, "MB/NC", "A13"),
    ]
    assert errors[0]["message"].startswith("Row 12, column A: this row is for Thailand but the import is for Viet Nam.")
    assert errors[1]["message"].startswith("Row 13, column A: this row is for Atlantis")
    # The refusal is on the record, with how many rows were refused.
    entry = AuditEntry.objects.get(action="import.failed", target_id=str(job.pk))
    assert entry.consultation_id == open_round.consultation_id
    assert entry.data["errors"] == 2


def test_the_earlier_organisation_header_is_read_as_the_mb_nc(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    def iso_header(sheet):
        sheet.cell(row=HEADER_ROW, column=1, value="Organisation")

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        filled([good_row(organisation="TH")], header_edit=iso_header),
    )

    assert _messages(job) == [
        "Row 8, column A: this row is for TH but the import is for Viet Nam. "
        "Import each organisation's rows in a file of its own."
    ]


@pytest.fixture
def round_one(open_round, orgs, secretariat, vn_delegate, th_delegate, partner):
    """A first round with 26 comments from the organisations taking part, some with dispositions."""
    from consolidation.models import Disposition
    from tests.factories import CommentFactory

    clauses = list(open_round.version.sections.filter(number__in=["1.1.1", "1.1.2"]))
    authors = [vn_delegate, th_delegate, partner]
    for n in range(26):
        comment = CommentFactory(
            round=open_round,
            section=clauses[n % 2],
            author=authors[n % 3],
            status=Comment.Status.SUBMITTED,
            type=("ge", "te", "ed")[n % 3],
            body=f"Round-one comment {n}.",
        )
        if n % 4 == 0:
            Disposition.objects.create(comment=comment, decision="noted", response="Noted.", decided_by=secretariat)
    return open_round


def _export(django_capture_on_commit_callbacks, secretariat, consultation) -> bytes:
    from consolidation.services import exports

    with django_capture_on_commit_callbacks(execute=True):
        report = exports.report_request(
            actor=secretariat, consultation=consultation, kind="resolution_matrix", format="xlsx"
        )
    report.refresh_from_db()
    assert report.status == JobStatus.DONE, report.error
    with report.file.open("rb") as fileobj:
        return fileobj.read()


def test_the_exported_resolution_matrix_reimported_is_refused_as_an_export(
    django_capture_on_commit_callbacks, round_one, orgs, consultation, secretariat
):
    exported = _export(django_capture_on_commit_callbacks, secretariat, consultation)
    before = Comment.objects.count()
    assert before == 26

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        round_one,
        orgs["vn"],
        SimpleUploadedFile("round-1-matrix.xlsx", exported),
    )

    assert job.status == JobStatus.FAILED
    assert Comment.objects.count() == before
    assert not AuditEntry.objects.filter(action="comment.imported").exists()
    by_row: dict[int, list[dict]] = {}
    for error in job.errors:
        by_row.setdefault(error["row"], []).append(error)
    # Every one of the 26 rows is refused as a row of the export (its Status column is filled)...
    assert sorted(by_row) == list(range(HEADER_ROW + 1, HEADER_ROW + 27))
    for errors in by_row.values():
        assert any(e["column"] == "Status" and "export" in e["message"] for e in errors), errors
    # ...and the rows of Thailand and the partner also as another organisation's.
    misfiled = [e for e in job.errors if e["column"] == "MB/NC"]
    assert len(misfiled) == 17
    assert {e["message"].split(": ", 1)[1].split(" but")[0] for e in misfiled} == {
        "this row is for TH",
        "this row is for Development Partner",  # a partner has no country code: its name
    }


def test_an_export_cut_down_to_the_iso_columns_is_still_recognised_by_its_comment_numbers(
    django_capture_on_commit_callbacks, round_one, orgs, consultation, secretariat
):
    workbook = load_workbook(io.BytesIO(_export(django_capture_on_commit_callbacks, secretariat, consultation)))
    sheet = workbook["Comments"]
    sheet.delete_cols(11, 5)  # Status and after: only the ISO/IEC columns, No. and the quote are left
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        sheet.cell(row=row, column=1, value="Viet Nam")  # and every row relabelled as ours
    out = io.BytesIO()
    workbook.save(out)

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        round_one,
        orgs["vn"],
        SimpleUploadedFile("m.xlsx", out.getvalue()),
    )

    assert job.status == JobStatus.FAILED
    numbered = [e for e in job.errors if e["column"] == "No."]
    assert len(numbered) == 26
    first = Comment.objects.order_by("section__position", "position_start", "created_at", "pk").first()
    assert any(e["message"].startswith("Row ") and f"comment C{first.pk} exported" in e["message"] for e in numbered)
    assert Comment.objects.count() == 26


def test_the_same_file_imported_twice_is_refused_the_second_time(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    upload = filled([good_row(comment="First."), good_row(clause="1.1.2", comment="Second.", proposed_change="X")])
    content = upload.read()

    first = run_import(
        django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], SimpleUploadedFile("a.xlsx", content)
    )
    assert first.status == JobStatus.DONE
    made = {c.body: c.number for c in Comment.objects.all()}

    second = run_import(
        django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], SimpleUploadedFile("a.xlsx", content)
    )

    assert second.status == JobStatus.FAILED
    assert Comment.objects.count() == 2
    assert [(e["row"], e["cell"]) for e in second.errors] == [(8, "F8"), (9, "F9")]
    assert second.errors[0]["message"].startswith(
        f"Row 8, column F: this comment is already in the round for Viet Nam as {made['First.']}"
    )
    assert made["Second."] in second.errors[1]["message"]


def test_the_same_comment_for_another_organisation_is_not_a_duplicate(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat, th_delegate
):
    content = filled([good_row(comment="Both delegations say this.")]).read()
    for org in ("vn", "th"):
        job = run_import(
            django_capture_on_commit_callbacks,
            secretariat,
            open_round,
            orgs[org],
            SimpleUploadedFile("a.xlsx", content),
        )
        assert job.status == JobStatus.DONE, job.errors
    assert Comment.objects.count() == 2


def test_a_row_repeated_in_the_file_is_refused_naming_the_first(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    upload = filled(
        [
            good_row(comment="Say which areas."),
            good_row(comment="Something else."),
            good_row(comment="  Say   which areas. "),  # the same, spacing aside
            good_row(comment="Say which areas.", type="ed"),  # another type: another comment
        ]
    )

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], upload)

    assert _messages(job) == [
        "Row 10, column F: this row repeats row 8 (same clause, type, comment and proposed change)."
    ]


def test_cells_holding_formulas_or_error_values_are_refused(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat
):
    upload = filled(
        [
            good_row(comment='=HYPERLINK("https://example.org/position","click")'),
            good_row(proposed_change="=CONCAT(A1,B1)", comment="Fine text."),
            good_row(comment="#NAME?"),  # openpyxl stores this as an error cell, as Excel would
            good_row(type='=LOWER("TE")', comment="Typed by formula."),
            good_row(comment="An honest row."),
        ]
    )
    workbook = load_workbook(io.BytesIO(upload.read()))
    assert workbook["Comments"]["F10"].data_type == "e"  # a real error cell, not the text

    job = run_import(django_capture_on_commit_callbacks, secretariat, open_round, orgs["vn"], upload)

    errors = _failed(job)
    assert [e["cell"] for e in errors] == ["F8", "G9", "F10", "E11"]
    assert errors[0]["message"].startswith('Row 8, column F: this cell holds a formula (=HYPERLINK("https://')
    assert errors[2]["message"] == (
        "Row 10, column F: this cell holds the spreadsheet error #NAME?, not text. Type the text itself."
    )
    assert not Comment.objects.filter(body__in=["click", "#NAME?"]).exists()


def test_error_values_typed_as_text_are_refused_too(django_capture_on_commit_callbacks, open_round, orgs, secretariat):
    workbook = load_workbook(io.BytesIO(filled([good_row()]).read()))
    cell = workbook["Comments"]["F8"]
    cell.value = "#REF!"
    cell.data_type = "s"  # what a CSV round trip leaves: the text of the error
    out = io.BytesIO()
    workbook.save(out)

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        SimpleUploadedFile("x.xlsx", out.getvalue()),
    )

    assert _messages(job) == [
        "Row 8, column F: this cell holds the spreadsheet error #REF!, not text. Type the text itself."
    ]


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.libreoffice
def test_a_template_resaved_by_libreoffice_with_formulas_is_refused(
    django_capture_on_commit_callbacks, open_round, orgs, secretariat, tmp_path
):
    source = filled(
        [
            good_row(comment="Typed text survives."),
            good_row(comment='=HYPERLINK("https://example.org","click")'),
            good_row(comment="=EXCELONLYFUNCTION(1)"),
        ]
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "template.xlsx").write_bytes(source.read())
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path / "out"),
            str(tmp_path / "in" / "template.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    resaved = (tmp_path / "out" / "template.xlsx").read_bytes()
    computed = load_workbook(io.BytesIO(resaved), data_only=True)["Comments"]
    assert (computed["F9"].value, computed["F10"].value) == ("click", "#NAME?")  # what used to be imported

    job = run_import(
        django_capture_on_commit_callbacks,
        secretariat,
        open_round,
        orgs["vn"],
        SimpleUploadedFile("template.xlsx", resaved),
    )

    errors = _failed(job)
    assert [e["cell"] for e in errors] == ["F9", "F10"]
    assert all("holds a formula" in e["message"] for e in errors)


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_file_it_once(monkeypatch, open_round, orgs, secretariat):
    """Both read the file before either writes; the second to write finds the first's comments."""
    import threading

    from django.db import connection

    content = filled([good_row(comment="Once only."), good_row(clause="1.1.2", comment="Also once.")]).read()
    jobs = []
    for name in ("a.xlsx", "b.xlsx"):
        job = ImportJob(round=open_round, organisation=orgs["vn"], requested_by=secretariat, file_name=name)
        job.file.save(name, SimpleUploadedFile(name, content), save=False)
        job.save()
        jobs.append(job)
    both_read = threading.Barrier(2, timeout=30)
    real_read_rows = imports.read_rows

    def read_then_wait(job):
        result = real_read_rows(job)
        both_read.wait()
        return result

    monkeypatch.setattr(imports, "read_rows", read_then_wait)
    outcomes = {}

    def run(job_id):
        try:
            outcomes[job_id] = imports.import_execute(job_id=job_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job.pk,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(outcome.status for outcome in outcomes.values())
    assert statuses == [JobStatus.DONE, JobStatus.FAILED]
    assert Comment.objects.filter(organisation=orgs["vn"]).count() == 2
    failed = next(outcome for outcome in outcomes.values() if outcome.status == JobStatus.FAILED)
    assert all("already in the round" in e["message"] for e in failed.errors)
