"""The matrix exports stream plain values (issue 10): the same bytes as before, a fixed query count, sheets split.

The CSV is compared byte for byte with a reference writer kept here: the implementation the
export had before it streamed values (one Comment instance per row, its matrix_row, and
clean_text without its ASCII fast path). Whatever the export does to go faster, it must write
exactly what that wrote, for the demo consultation and for the awkward cells (formulas,
control characters, bidi names, quotes, commas and line breaks, imports, decisions).
"""

import csv
import io
import re
import unicodedata

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import User
from comments.models import Comment, CommentFlag
from config.text import visible_controls
from consolidation import selectors_reports
from consolidation.documents import matrix
from consolidation.models import Disposition, JobStatus, Report
from consolidation.services import exports
from consultations.models import Consultation
from tests import factories
from tests.helpers.reports import HEADER, make_report, read_bytes

# --- the reference: the matrix as the export wrote it before it streamed values -----------------

_LINE_BREAKS_RE = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_CONTROLS_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _reference_clean(value) -> str:
    if value is None or not value:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _CONTROLS_RE.sub("", _LINE_BREAKS_RE.sub("\n", text))


def _reference_cell(value) -> str:
    text = _reference_clean(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def _reference_row(comment: Comment) -> list[str]:
    try:
        disposition = comment.disposition
    except Comment.disposition.RelatedObjectDoesNotExist:
        disposition = None
    observations = ""
    if disposition is not None and disposition.decision:
        decision = disposition.get_decision_display()
        observations = f"{decision}: {disposition.response}" if disposition.response else str(decision)
    flags = (["hidden"] if comment.is_hidden else []) + (["flagged"] if getattr(comment, "is_flagged", False) else [])
    imported_by = comment.imported_by
    return [
        comment.number,
        visible_controls(comment.organisation.name),
        comment.section.number,
        comment.quote_exact,
        comment.type,
        comment.body,
        comment.proposed_change,
        observations,
        str(comment.get_status_display()),
        "yes" if comment.is_endorsed else "no",
        ", ".join(flags),
        comment.language,
        "" if imported_by is None else visible_controls(imported_by.full_name or imported_by.email),
    ]


def reference_csv(*, user, consultation, engagement_round=None) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for comment in selectors_reports.exported_comments(
        user=user, consultation=consultation, engagement_round=engagement_round
    ):
        writer.writerow([_reference_cell(value) for value in _reference_row(comment)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _csv_report(django_capture_on_commit_callbacks, user, consultation, **kw) -> bytes:
    report = make_report(
        django_capture_on_commit_callbacks, user, consultation, kind="resolution_matrix", fmt="csv", **kw
    )
    assert report.status == JobStatus.DONE, report.error
    return read_bytes(report)


# --- the same bytes -------------------------------------------------------------------------


@pytest.mark.postgres
def test_demo_csv_is_byte_for_byte_what_the_export_wrote_before(django_capture_on_commit_callbacks, db):
    from demo.seed import CONSULTATION_SLUG, seed_demo

    seed_demo()
    consultation = Consultation.objects.get(slug=CONSULTATION_SLUG)
    first_round, _second = consultation.rounds.order_by("opens_at")
    requesters = [User.objects.get(email="secretariat@example.org")] + list(
        User.objects.filter(organisation__name="Viet Nam", is_active=True).order_by("pk")[:1]
    )
    assert Comment.objects.exclude(status=Comment.Status.DRAFT).count() > 20  # the demo has comments
    for user in requesters:
        for engagement_round in (None, first_round):
            made = _csv_report(
                django_capture_on_commit_callbacks, user, consultation, engagement_round=engagement_round
            )
            expected = reference_csv(user=user, consultation=consultation, engagement_round=engagement_round)
            assert made == expected, (user.email, engagement_round)


AWKWARD = [
    '=HYPERLINK("http://evil.example","x")',
    "+1 more",
    "-minus",
    "@SUM(A1)",
    "\tTabbed",
    "\rreturn first",
    'He said "no", then, left',
    "two\r\nlines\rand\x0bmore\x0cpages",
    "bell\x07 escape\x1b del\x7f nel\x85 c1\x9a",
    "Cafe\u0301 composed",  # NFD: written as NFC
    "Đề nghị bổ sung “ít nhất 50%”",
    "line\u2028sep\u2029para",
    "",
]


def test_awkward_cells_are_written_byte_for_byte_as_before(
    django_capture_on_commit_callbacks, consultation, open_round, version, secretariat, vn_delegate, orgs
):
    section = version.sections.get(key="infra-5g")
    type(orgs["vn"]).objects.filter(pk=orgs["vn"].pk).update(name='Viet\u202eNam\u200b, "VN"')
    importer = factories.UserFactory(full_name="", email="importer@example.org")
    comments = []
    for i, text in enumerate(AWKWARD):
        comments.append(
            factories.CommentFactory(
                round=open_round,
                section=section,
                author=vn_delegate,
                status=Comment.Status.WITHDRAWN if i % 5 == 4 else Comment.Status.SUBMITTED,
                body=text or "x",
                proposed_change=AWKWARD[-1 - i],
                language="vi" if i % 2 else "",
                is_endorsed=bool(i % 3 == 0),
                is_hidden=bool(i % 4 == 0),
                imported_by=importer if i % 3 == 1 else None,
            )
        )
    Comment.objects.filter(pk=comments[0].pk).update(quote_exact="=1+1")  # as stored before input was cleaned
    Disposition.objects.create(
        comment=comments[1],
        decision=Disposition.Decision.ACCEPTED,
        response="=cmd|' /C calc'!A0",
        decided_by=secretariat,
    )
    Disposition.objects.create(comment=comments[2], decision=Disposition.Decision.NOT_ACCEPTED, decided_by=secretariat)
    Disposition.objects.create(comment=comments[3], proposed_decision=Disposition.Decision.NOTED)
    CommentFlag.objects.create(comment=comments[4], flagged_by=secretariat, reason="Spam")
    CommentFlag.objects.create(comment=comments[5], flagged_by=secretariat, reason="Old", resolved_at=timezone.now())

    made = _csv_report(django_capture_on_commit_callbacks, secretariat, consultation)

    assert made == reference_csv(user=secretariat, consultation=consultation)
    rows = list(csv.reader(io.StringIO(made.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(AWKWARD)
    assert rows[1][5] == '\'=HYPERLINK("http://evil.example","x")'


# --- queries do not grow with rows ----------------------------------------------------------


def _many_comments(engagement_round, version, authors, count: int) -> None:
    sections = list(version.sections.filter(key__in=["infra-5g", "infra-dc"]))
    Comment.objects.bulk_create(
        [
            Comment(
                round=engagement_round,
                section=sections[i % 2],
                author=authors[i % len(authors)],
                organisation=authors[i % len(authors)].organisation,
                type="te",
                body=f"Point {i}",
                status=Comment.Status.SUBMITTED,
            )
            for i in range(count)
        ]
    )


def _queries_for(report: Report) -> int:
    with CaptureQueriesContext(connection) as queries:
        exports.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == JobStatus.DONE, report.error
    return len(queries)


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_matrix_query_count_does_not_grow_with_its_rows(
    fmt, consultation, version, open_round, secretariat, vn_delegate, th_delegate
):
    counts = {}
    for size in (10, 500):
        Comment.objects.all().delete()
        _many_comments(open_round, version, [vn_delegate, th_delegate], size)
        report = Report.objects.create(
            consultation=consultation,
            round=open_round,
            kind=Report.Kind.RESOLUTION_MATRIX,
            format=fmt,
            requested_by=secretariat,
        )
        counts[size] = _queries_for(report)
        assert report.source["comments"] == size
    assert counts[10] == counts[500]


# --- the sheet goes on past Excel's row limit -----------------------------------------------


def test_the_xlsx_matrix_goes_on_in_a_second_sheet_past_the_row_limit(
    django_capture_on_commit_callbacks, monkeypatch, consultation, open_round, version, secretariat, vn_delegate
):
    _many_comments(open_round, version, [vn_delegate], 7)
    whole = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    monkeypatch.setattr(matrix, "MAX_SHEET_ROWS", 4)  # a header and 3 rows a sheet

    split = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    assert split.status == JobStatus.DONE, split.error
    workbook = load_workbook(io.BytesIO(read_bytes(split)))
    assert workbook.sheetnames == ["Comments", "Comments (2)", "Comments (3)"]
    sheets = [[[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in workbook.worksheets]
    assert [len(rows) for rows in sheets] == [4, 4, 2]
    for sheet, rows in zip(workbook.worksheets, sheets, strict=True):
        assert rows[0] == HEADER
        assert sheet.freeze_panes == "A2"
    whole_rows = [
        [cell.value for cell in row] for row in load_workbook(io.BytesIO(read_bytes(whole)))["Comments"].iter_rows()
    ]
    assert whole_rows[0] == HEADER
    assert [row for rows in sheets for row in rows[1:]] == whole_rows[1:]
