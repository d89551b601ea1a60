"""The matrix exports stream (issue 10): the same bytes as before, a fixed query count, sheets split.

The CSV is compared byte for byte with a reference writer kept here: the implementation the
export had before it streamed values (one Comment instance per row, its matrix_row, and
clean_text without its ASCII fast path). Whatever the export does to go faster, it must write
exactly what that wrote, for the demo consultation and for the awkward cells (formulas,
control characters, bidi names, quotes, commas and line breaks, imports, decisions). Both
paths are held to it: PostgreSQL's ("copy": the cells made in SQL and streamed by COPY) and
the other databases' ("values": plain values on a server-side cursor, cells made in Python).
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
from consolidation.documents.wording import response_without_decision
from consolidation.models import Disposition, JobStatus, Report
from consolidation.services import exports
from consultations.line_numbers import paragraphs
from consultations.models import Consultation
from consultations.selectors import lines_of_versions
from tests import factories
from tests.helpers.reports import HEADER, make_report, read_bytes
from tests.helpers.services import require

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
        response = response_without_decision(disposition.response, disposition.decision)
        observations = f"{decision}: {response}" if response else str(decision)
    flags = (["hidden"] if comment.is_hidden else []) + (["flagged"] if getattr(comment, "is_flagged", False) else [])
    imported_by = comment.imported_by
    organisation = comment.organisation
    lines = lines_of_versions(version_ids=[comment.section.version_id])[comment.section.version_id]
    paragraph = ""
    if comment.position_start is not None:
        starts = [start for start, _end in paragraphs(comment.section.body)]
        paragraph = f"Para. {max(1, sum(1 for start in starts if start <= comment.position_start))}"
    return [
        visible_controls(organisation.country_code or organisation.short_name or organisation.name),
        str(lines.line_range_for_comment(comment)),
        comment.section.number,
        paragraph,
        comment.type,
        comment.body,
        comment.proposed_change,
        observations,
        comment.number,
        comment.quote_exact,
        str(comment.get_status_display()),
        "yes" if comment.is_endorsed else "no",
        ", ".join(flags),
        comment.language,
        "" if imported_by is None else visible_controls(imported_by.full_name or imported_by.email),
        ", ".join(
            visible_controls(s.organisation.country_code or s.organisation.short_name or s.organisation.name)
            for s in comment.supports.select_related("organisation").order_by("id")
        ),
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


def reference_xlsx_rows(*, user, consultation, engagement_round=None) -> list[list]:
    """The XLSX cells as the export wrote them before: xml_text of each cell, empty cells empty."""
    return [HEADER] + [
        [_reference_clean(value) or None for value in _reference_row(comment)]
        for comment in selectors_reports.exported_comments(
            user=user, consultation=consultation, engagement_round=engagement_round
        )
    ]


def _xlsx_rows(report: Report) -> list[list]:
    sheet = load_workbook(io.BytesIO(read_bytes(report)))["Comments"]
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=matrix.HEADER_ROW + 1)]


@pytest.fixture(params=["copy", "values"])
def export_path(request, monkeypatch):
    """Each test runs on both ways of making the matrix: COPY (PostgreSQL only) and plain values."""
    if request.param == "copy":
        require(connection.vendor == "postgresql", "COPY needs PostgreSQL")
    else:
        monkeypatch.setattr(selectors_reports, "copy_available", lambda: False)
    return request.param


def _csv_report(django_capture_on_commit_callbacks, user, consultation, **kw) -> bytes:
    report = make_report(
        django_capture_on_commit_callbacks, user, consultation, kind="resolution_matrix", fmt="csv", **kw
    )
    assert report.status == JobStatus.DONE, report.error
    return read_bytes(report)


# --- the same bytes -------------------------------------------------------------------------


@pytest.mark.postgres
def test_demo_csv_is_byte_for_byte_what_the_export_wrote_before(django_capture_on_commit_callbacks, db, export_path):
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
    django_capture_on_commit_callbacks, export_path, consultation, open_round, version, secretariat, vn_delegate, orgs
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
    # Observations: the response's own repetition of the decision dropped (in either language),
    # a response that is only the label, an empty one; line breaks, NFD and controls as stored
    # before input was cleaned.
    decided = {
        5: (Disposition.Decision.ACCEPTED_IN_PART, "Accepted in part: Target added\r\nfor 2030."),
        6: (Disposition.Decision.NOTED, "Noted."),
        7: (Disposition.Decision.NOT_ACCEPTED, "Không chấp nhận — Cafe\u0301 bell\x07 kept"),
        8: (Disposition.Decision.OUT_OF_SCOPE, "  "),
        9: (Disposition.Decision.ACCEPTED, "+1 from us"),
    }
    for index, (decision, response) in decided.items():
        Disposition.objects.create(comment=comments[index], decision=decision, response=response)
    CommentFlag.objects.create(comment=comments[4], flagged_by=secretariat, reason="Spam")
    CommentFlag.objects.create(comment=comments[5], flagged_by=secretariat, reason="Old", resolved_at=timezone.now())
    # Supporters: a country code, a short name, a bare name with bidi controls, one opening with "=".
    supporters = [
        factories.OrganisationFactory(name="Thailand", country_code="TH"),
        factories.OrganisationFactory(name="Asian Development Bank", short_name="ADB", country_code="", kind="partner"),
        factories.OrganisationFactory(name="Lao\u202e PDR\u200b", short_name="", country_code="", kind="partner"),
        factories.OrganisationFactory(name='=Evil, "org"', short_name="", country_code="", kind="partner"),
    ]
    supported = (
        (comments[1], supporters),
        (comments[6], supporters[3:]),
        (comments[7], []),
        (comments[8], supporters[1:3]),
    )
    for comment, organisations in supported:
        for organisation in reversed(organisations):  # the order they supported, not the names'
            factories.CommentSupportFactory(
                comment=comment, organisation=organisation, supported_by=factories.UserFactory()
            )

    made = _csv_report(django_capture_on_commit_callbacks, secretariat, consultation)

    assert made == reference_csv(user=secretariat, consultation=consultation)
    rows = list(csv.reader(io.StringIO(made.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(AWKWARD)
    assert rows[1][5] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0][-1] == "Supported by"
    named = ['=Evil, "org"', "Lao\u202e PDR\u200b", "ADB", "TH"]  # in the order they supported
    assert rows[2][-1] == "'" + ", ".join(visible_controls(name) for name in named)
    assert rows[7][-1] == '\'=Evil, "org"'
    assert rows[8][-1] == ""
    assert rows[9][-1] == visible_controls("Lao\u202e PDR\u200b") + ", ADB"
    observations = [row[7] for row in rows[1:]]
    assert observations[1] == "Accepted: =cmd|' /C calc'!A0"
    assert observations[2] == "Not accepted"
    assert observations[3] == ""  # a proposal is internal
    assert observations[5:10] == [
        "Accepted in part: Target added\nfor 2030.",
        "Noted",
        "Not accepted: Caf\u00e9 bell kept",
        "Out of scope",
        "Accepted: +1 from us",
    ]
    # The XLSX holds the same cells, cleaned, without the CSV's apostrophes.
    xlsx = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    assert xlsx.status == JobStatus.DONE, xlsx.error
    assert _xlsx_rows(xlsx) == reference_xlsx_rows(user=secretariat, consultation=consultation)


def test_every_formula_prefix_is_neutralised_in_every_text_a_person_writes(
    django_capture_on_commit_callbacks, export_path, consultation, open_round, version, secretariat, vn_delegate, orgs
):
    """OWASP's CSV injection: a cell starting with = + - @ or a tab gets an apostrophe; the XLSX keeps it as text."""
    section = version.sections.get(key="infra-5g")
    type(orgs["vn"]).objects.filter(pk=orgs["vn"].pk).update(name="@Viet Nam", country_code="@V")
    importer = factories.UserFactory(full_name="=IMPORTER()", email="importer@example.org")
    prefixes = ["=", "+", "-", "@", "\t"]
    for prefix in prefixes:
        comment = factories.CommentFactory(
            round=open_round,
            section=section,
            author=vn_delegate,
            status=Comment.Status.SUBMITTED,
            body=f"{prefix}SUM(1,2)",
            proposed_change=f"{prefix}cmd|' /C calc'!A0",
            imported_by=importer,
        )
        Comment.objects.filter(pk=comment.pk).update(quote_exact=f"{prefix}1+1")
        Disposition.objects.create(comment=comment, decision=Disposition.Decision.NOTED, decided_by=secretariat)

    made = _csv_report(django_capture_on_commit_callbacks, secretariat, consultation)

    rows = list(csv.reader(io.StringIO(made.decode("utf-8-sig"), newline="")))[1:]
    assert len(rows) == len(prefixes)
    by_body = {row[5]: row for row in rows}
    for prefix in prefixes:
        row = by_body["'" + prefix + "SUM(1,2)"]
        assert row[0] == "'@V"  # MB/NC: the country code
        assert row[9] == "'" + prefix + "1+1"
        assert row[6] == "'" + prefix + "cmd|' /C calc'!A0"
        assert row[14] == "'=IMPORTER()"
    assert made == reference_csv(user=secretariat, consultation=consultation)
    xlsx = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    cells = _xlsx_rows(xlsx)[1:]
    assert sorted(row[5] for row in cells) == sorted(prefix + "SUM(1,2)" for prefix in prefixes)


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


def _statements_for(report: Report) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        exports.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == JobStatus.DONE, report.error
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_matrix_query_count_does_not_grow_with_its_rows(
    fmt, export_path, consultation, version, open_round, secretariat, vn_delegate, th_delegate
):
    statements = {}
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
        statements[size] = _statements_for(report)
        assert report.source["comments"] == size
        assert report.source["by_type"] == {"te": size}
    assert len(statements[10]) == len(statements[500])
    copies = [sql for sql in statements[500] if sql.startswith("COPY (")]
    if export_path == "copy":
        # The rows leave the database by one COPY; the report's counts come from one aggregate.
        assert len(copies) == 1
        assert not any("FETCH" in sql or "DECLARE" in sql for sql in statements[500])
        assert len(statements[500]) == EXPECTED_QUERIES_WITH_COPY
    else:
        assert copies == []


# The claim (a savepoint, an UPDATE, a SELECT), the report, the requester's permission (2),
# the aggregate, progress 5%, the COPY, the file recorded, its audit entry (one call: the
# chain's lock, its last entry, the INSERT) and the report returned; the anchors of the round's sections
# (the line numbers: the version and its sections; the bodies' paragraphs) and their temporary table
# (dropped if left over, created, analysed, dropped).
EXPECTED_QUERIES_WITH_COPY = 20


# --- the sheet goes on past Excel's row limit -----------------------------------------------


def test_the_xlsx_matrix_goes_on_in_a_second_sheet_past_the_row_limit(
    django_capture_on_commit_callbacks, monkeypatch, consultation, open_round, version, secretariat, vn_delegate
):
    _many_comments(open_round, version, [vn_delegate], 7)
    whole = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    monkeypatch.setattr(matrix, "MAX_SHEET_ROWS", matrix.HEADER_ROW + 4)  # the header block, a header, 3 rows

    split = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    assert split.status == JobStatus.DONE, split.error
    workbook = load_workbook(io.BytesIO(read_bytes(split)))
    assert workbook.sheetnames == ["Comments", "Comments (2)", "Comments (3)"]
    first = matrix.HEADER_ROW + 1  # the header row, as Excel numbers it
    sheets = [[[cell.value for cell in row] for row in sheet.iter_rows(min_row=first)] for sheet in workbook.worksheets]
    assert [len(rows) for rows in sheets] == [4, 4, 2]
    for sheet, rows in zip(workbook.worksheets, sheets, strict=True):
        assert rows[0] == HEADER
        assert sheet.freeze_panes == f"A{first + 1}"
    whole_rows = [
        [cell.value for cell in row]
        for row in load_workbook(io.BytesIO(read_bytes(whole)))["Comments"].iter_rows(min_row=first)
    ]
    assert whole_rows[0] == HEADER
    assert [row for rows in sheets for row in rows[1:]] == whole_rows[1:]


# --- a failure midway -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_writer_failing_midway_fails_the_report_and_the_database_still_answers(
    fmt, monkeypatch, consultation, version, open_round, secretariat, vn_delegate
):
    """COPY holds its connection until the last row: a writer that gives up must end it, or nothing more runs."""
    _many_comments(open_round, version, [vn_delegate], 50)

    def broken(rows, *args, **kwargs):
        rows = iter(rows)
        next(rows), next(rows)
        raise RuntimeError("disk full")

    monkeypatch.setattr(matrix, "write_matrix_csv_lines" if fmt == "csv" else "write_matrix_xlsx", broken)
    report = Report.objects.create(
        consultation=consultation,
        round=open_round,
        kind=Report.Kind.RESOLUTION_MATRIX,
        format=fmt,
        requested_by=secretariat,
    )

    exports.report_generate(report_id=report.pk)

    report.refresh_from_db()
    assert report.status == JobStatus.FAILED
    assert report.error.startswith("The report could not be made.")
    assert Comment.objects.filter(round=open_round).count() == 50
