"""Reports and exports, opened as the real files: the matrix (XLSX, CSV) and the feedback DOCX.

Every export holds what its requester may see: the round here is secretariat_only, so a
delegate's export holds their own delegation's comments and nothing else.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from comments.models import Comment, CommentFlag
from consolidation import selectors_reports
from consolidation.documents import matrix
from consolidation.models import Disposition, JobStatus, Report
from consolidation.services import exports
from consolidation.tasks.reports import generate_report
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.reports import HEADER, HEADER_ROW, make_report, read_bytes

VI_BODY = "Đề nghị bổ sung mục tiêu năng lượng tái tạo cho các trung tâm dữ liệu khu vực."
VI_PROPOSAL = "Thêm “ít nhất 50% vào năm 2030”."


def _at(minutes: int):
    return timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)


@pytest.fixture
def data(consultation, version, open_round, secretariat, consultant, vn_delegate, th_delegate, partner):
    """Comments on 1.1.1 (5G) and 1.1.2 (data centres), made in a known order."""
    clause = version.sections.get(key="infra-5g")  # "Member states will extend 5G coverage to all urban areas by 2028."
    data_centres = version.sections.get(key="infra-dc")

    def make(author, section, *, minutes, quote="", **fields):
        anchor = {}
        if quote:
            start = section.body.index(quote)
            anchor = {"quote_exact": quote, "position_start": start, "position_end": start + len(quote)}
        comment = CommentFactory(
            round=open_round, section=section, author=author, status=Comment.Status.SUBMITTED, **anchor, **fields
        )
        Comment.objects.filter(pk=comment.pk).update(created_at=_at(minutes))
        return comment

    comments = {
        # 1.1.2 first in time, but comes after 1.1.1 in the matrix
        "vn_dc": make(
            vn_delegate,
            data_centres,
            minutes=1,
            type="te",
            body=VI_BODY,
            proposed_change=VI_PROPOSAL,
            language="vi",
            is_endorsed=True,
        ),
        "th_urban": make(th_delegate, clause, minutes=2, quote="all urban areas", type="ed", body="Say which areas."),
        "th_5g": make(
            th_delegate,
            clause,
            minutes=3,
            quote="5G coverage",
            type="te",
            body="Add 6G trials.",
            is_hidden=True,
            hidden_reason="Off topic",
        ),
        "vn_whole": make(vn_delegate, clause, minutes=4, type="ge", body="The clause needs a baseline."),
        "partner_dc": make(partner, data_centres, minutes=5, type="ge", body="Cite the energy study."),
    }
    CommentFactory(round=open_round, section=clause, author=vn_delegate, status=Comment.Status.DRAFT, body="Draft")
    Disposition.objects.create(
        comment=comments["vn_dc"],
        decision=Disposition.Decision.ACCEPTED_IN_PART,
        response="Accepted in part: Target added for 2030.",  # the decision repeated: written once
        decided_by=secretariat,
        decided_at=timezone.now(),
    )
    Disposition.objects.create(  # proposed only: not in the matrix
        comment=comments["th_urban"], proposed_decision=Disposition.Decision.NOTED, proposed_response="Internal note"
    )
    CommentFlag.objects.create(comment=comments["partner_dc"], flagged_by=th_delegate, reason="Duplicate")
    # Other delegations' support, in the order they stated it: the partner first, then Thailand.
    factories.CommentSupportFactory(comment=comments["vn_dc"], supported_by=partner)
    factories.CommentSupportFactory(comment=comments["vn_dc"], supported_by=th_delegate)
    return comments


def xlsx_rows(report: Report) -> list[list]:
    workbook = load_workbook(io.BytesIO(read_bytes(report)))
    sheet = workbook["Comments"]
    # From the header row on: the header block above it says what the matrix is of.
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=HEADER_ROW)]


def _none_to_empty(rows):
    return [["" if value is None else value for value in row] for row in rows]


# --- XLSX -----------------------------------------------------------------------------------


# Lines of version 0.1: 1 "1 Strategic outcomes", 2 "1.1 ...", 3 "1.1.1 5G and 6G networks", 4 its one-line
# body, 5 "1.1.2 Data centres" (consultations.line_numbers).
LINE_5G, LINE_URBAN, LINE_DC = "4", "4", "5"


def test_secretariat_matrix_has_the_iso_columns_and_every_comment_in_clause_and_passage_order(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
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
    rows = _none_to_empty(xlsx_rows(report))
    assert rows[0] == HEADER
    c = data
    assert rows[1:] == [
        # MB/NC (a member state's country code, a partner's name), Line number (a whole-section comment cites
        # the heading's line), Clause/Subclause, Paragraph/Figure/Table, Type, Comments, Proposed change,
        # Observations; then No. (the comment's number), Quoted passage and the platform's columns (Supported
        # by last, empty: nobody stated support here).
        # 1.1.1: the whole-section comment first, then passages in text order
        ["VN", "3", "1.1.1", "", "ge", "The clause needs a baseline.", "", "", c["vn_whole"].number, "", "Submitted", "no", "", "", "", ""],  # noqa: E501
        ["TH", LINE_5G, "1.1.1", "Para. 1", "te", "Add 6G trials.", "", "", c["th_5g"].number, "5G coverage", "Submitted", "no", "hidden", "", "", ""],  # noqa: E501
        ["TH", LINE_URBAN, "1.1.1", "Para. 1", "ed", "Say which areas.", "", "", c["th_urban"].number, "all urban areas", "Submitted", "no", "", "", "", ""],  # noqa: E501
        # 1.1.2, in the order they were written
        ["VN", LINE_DC, "1.1.2", "", "te", VI_BODY, VI_PROPOSAL, "Accepted in part: Target added for 2030.", c["vn_dc"].number, "", "Submitted", "yes", "", "vi", "", "Development Partner, TH"],  # noqa: E501
        ["Development Partner", LINE_DC, "1.1.2", "", "ge", "Cite the energy study.", "", "", c["partner_dc"].number, "", "Submitted", "no", "flagged", "", "", ""],  # noqa: E501
    ]  # fmt: skip


def test_matrix_header_is_bold_and_frozen(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
):
    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    sheet = load_workbook(io.BytesIO(read_bytes(report)))["Comments"]
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert all(cell.font.b for cell in sheet[HEADER_ROW])
    assert not sheet[f"A{HEADER_ROW + 1}"].font.b


def test_delegate_matrix_holds_only_their_own_delegation_under_secretariat_only(
    django_capture_on_commit_callbacks, consultation, open_round, vn_delegate, data
):
    report = make_report(
        django_capture_on_commit_callbacks,
        vn_delegate,
        consultation,
        kind="resolution_matrix",
        fmt="xlsx",
        engagement_round=open_round,
    )

    rows = xlsx_rows(report)
    assert [row[8] for row in rows[1:]] == [data["vn_whole"].number, data["vn_dc"].number]
    assert {row[0] for row in rows[1:]} == {"VN"}
    assert report.source["comments"] == 2


def test_live_round_shows_others_but_hides_what_the_secretariat_hid(
    django_capture_on_commit_callbacks, consultation, open_round, partner, data
):
    open_round.visibility = open_round.Visibility.LIVE
    open_round.save()

    report = make_report(
        django_capture_on_commit_callbacks, partner, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    numbers = [row[8] for row in xlsx_rows(report)[1:]]
    assert data["th_5g"].number not in numbers  # hidden: organisers and Thailand only
    assert numbers == [
        data["vn_whole"].number,
        data["th_urban"].number,
        data["vn_dc"].number,
        data["partner_dc"].number,
    ]


def test_matrix_of_all_rounds_scopes_each_round_by_its_own_visibility(
    django_capture_on_commit_callbacks, consultation, version, open_round, vn_delegate, th_delegate, data
):
    closed = factories.EngagementRoundFactory(
        version=version,
        title="First stakeholder engagement",
        state="closed",
        opens_at=timezone.now() - timedelta(days=60),
        closes_at=timezone.now() - timedelta(days=30),
        visibility="after_close",
    )
    earlier = CommentFactory(
        round=closed,
        section=version.sections.get(key="infra-dc"),
        author=th_delegate,
        status=Comment.Status.SUBMITTED,
        body="From the first round.",
    )

    report = make_report(
        django_capture_on_commit_callbacks, vn_delegate, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    numbers = [row[8] for row in xlsx_rows(report)[1:]]
    # the closed after_close round first (it opened first), then Viet Nam's own in the live one
    assert numbers == [earlier.number, data["vn_whole"].number, data["vn_dc"].number]


def test_a_comment_that_looks_like_a_formula_stays_text(
    django_capture_on_commit_callbacks, consultation, open_round, version, vn_delegate
):
    CommentFactory(
        round=open_round,
        section=version.sections.get(key="infra-5g"),
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
        body='=HYPERLINK("http://evil.example","x")',
    )

    xlsx = make_report(
        django_capture_on_commit_callbacks, vn_delegate, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    as_csv = make_report(
        django_capture_on_commit_callbacks, vn_delegate, consultation, kind="resolution_matrix", fmt="csv"
    )

    cell = load_workbook(io.BytesIO(read_bytes(xlsx)))["Comments"][f"F{HEADER_ROW + 1}"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://evil.example","x")'
    rows = list(csv.reader(io.StringIO(read_bytes(as_csv).decode("utf-8-sig"))))
    assert rows[1][5] == '\'=HYPERLINK("http://evil.example","x")'


def test_xlsx_is_written_in_constant_memory_with_formulas_left_as_text(
    django_capture_on_commit_callbacks, monkeypatch, consultation, secretariat, data
):
    made = []
    real = matrix.xlsxwriter.Workbook

    def recording_workbook(*args, **kwargs):
        made.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(matrix.xlsxwriter, "Workbook", recording_workbook)

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    assert report.status == JobStatus.DONE
    assert len(made) == 1
    assert made[0]["constant_memory"] is True
    assert made[0]["strings_to_formulas"] is False


def test_without_copy_rows_stream_from_a_chunked_iterator(
    django_capture_on_commit_callbacks, monkeypatch, consultation, secretariat, data
):
    from django.db.models.query import QuerySet

    monkeypatch.setattr(selectors_reports, "copy_available", lambda: False)  # SQLite's path, on any database

    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)

    make_report(django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx")

    assert chunk_sizes == [500]


# --- CSV ------------------------------------------------------------------------------------


def test_csv_starts_with_the_utf8_bom_and_holds_the_same_rows_as_the_xlsx(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
):
    as_xlsx = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    as_csv = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="csv"
    )

    raw = read_bytes(as_csv)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows == _none_to_empty(xlsx_rows(as_xlsx))
    assert VI_BODY in rows[4]
    assert as_csv.file.name.endswith(".csv")


# --- DOCX -----------------------------------------------------------------------------------


def test_feedback_docx_has_each_section_followed_by_its_comments_and_dispositions(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
):
    report = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )

    assert report.status == JobStatus.DONE, report.error
    paragraphs = [p.text for p in Document(io.BytesIO(read_bytes(report))).paragraphs]

    def at(text: str, after: int = 0) -> int:
        return next(i for i, p in enumerate(paragraphs) if i >= after and text in p)

    h_outcomes = at("1 Strategic outcomes")
    h_infra = at("1.1 Seamless and inclusive digital infrastructure")
    h_5g = at("1.1.1 5G and 6G networks")
    h_dc = at("1.1.2 Data centres")
    assert h_outcomes < h_infra < h_5g < h_dc
    assert paragraphs[h_5g + 1] == "Member states will extend 5G coverage to all urban areas by 2028."
    # 1.1.1's comments between its heading and the next one, in passage order
    whole, g5, urban = (
        at("The clause needs a baseline.", h_5g),
        at("Add 6G trials.", h_5g),
        at("Say which areas.", h_5g),
    )
    assert h_5g < whole < g5 < urban < h_dc
    # Each comment: who, the passage and what they said, as lines of one paragraph
    head, quote, body = paragraphs[g5].split("\n")
    assert head.startswith(f"{data['th_5g'].number} · Thailand · Technical (te)")
    assert (quote, body) == ("“5G coverage”", "Add 6G trials.")
    # 1.1.2: Viet Nam's comment with its proposal, national position and disposition
    vn = at(VI_BODY, h_dc)
    assert paragraphs[vn] == f"{data['vn_dc'].number} · Viet Nam · Technical (te) · National position\n{VI_BODY}"
    assert paragraphs[vn + 1] == f"Proposed change: {VI_PROPOSAL}"
    assert paragraphs[vn + 2] == "Disposition: Accepted in part: Target added for 2030."
    assert at("Cite the energy study.", h_dc) > vn
    assert not any("Internal note" in p for p in paragraphs)
    assert not any(p == "Draft" for p in paragraphs)


def test_delegate_feedback_docx_holds_only_what_they_see(
    django_capture_on_commit_callbacks, consultation, open_round, th_delegate, data
):
    report = make_report(
        django_capture_on_commit_callbacks,
        th_delegate,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )

    text = "\n".join(p.text for p in Document(io.BytesIO(read_bytes(report))).paragraphs)
    assert "Add 6G trials." in text and "Say which areas." in text
    assert VI_BODY not in text and "Cite the energy study." not in text


# --- the job ----------------------------------------------------------------------------------


def test_generation_marks_progress_and_done_with_the_file_stored_and_as_of_set(
    django_capture_on_commit_callbacks, monkeypatch, consultation, open_round, secretariat, data
):
    progress = []
    real = exports._set_progress
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(exports, "_set_progress", lambda tally, value: (progress.append(value), real(tally, value)))

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    assert report.status == JobStatus.DONE
    assert report.progress == 100
    assert progress == sorted(progress) and progress[0] == 5 and len(progress) == 3  # start, after 2 and 4 rows
    assert report.file.name.startswith("reports/")
    assert report.file.storage.exists(report.file.name)
    assert report.size == len(read_bytes(report)) > 0
    included = Comment.objects.exclude(status=Comment.Status.DRAFT)
    latest = max(
        [c.updated_at for c in included]
        + [d.updated_at for d in Disposition.objects.exclude(decision="").filter(comment__in=included)]
    )
    assert report.as_of == latest
    assert report.source["comments"] == 5
    assert report.source["organisations"] == 3
    assert report.source["by_type"] == {"ge": 2, "te": 2, "ed": 1}
    assert report.started_at and report.finished_at


def test_a_second_delivery_of_a_finished_report_does_not_make_it_again(
    django_capture_on_commit_callbacks, consultation, open_round, vn_delegate, data
):
    report = make_report(
        django_capture_on_commit_callbacks, vn_delegate, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    first_name, finished_at = report.file.name, report.finished_at
    CommentFactory(
        round=open_round,
        section=data["vn_whole"].section,
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
        body="Added later.",
    )

    assert generate_report.delay(report.pk).get() is None

    report.refresh_from_db()
    assert report.status == JobStatus.DONE
    assert report.attempts == 1
    assert (report.file.name, report.finished_at) == (first_name, finished_at)
    assert len(xlsx_rows(report)) == 1 + 2  # as it was made: the later comment is not in it
    assert report.file.storage.exists(first_name)


def test_a_run_while_another_is_live_does_nothing(consultation, secretariat, data):
    report = Report.objects.create(
        consultation=consultation,
        kind="resolution_matrix",
        format="xlsx",
        requested_by=secretariat,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=2),  # its worker renews it: alive
    )

    assert exports.report_generate(report_id=report.pk) is None
    report.refresh_from_db()
    assert report.status == JobStatus.RUNNING and not report.file


def test_a_failure_is_recorded_with_a_message(
    django_capture_on_commit_callbacks, monkeypatch, consultation, secretariat, data
):
    def broken(rows, fileobj):
        raise RuntimeError("disk full")

    monkeypatch.setattr(matrix, "write_matrix_xlsx", broken)

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    assert report.status == JobStatus.FAILED
    assert "could not be made" in report.error
    assert not report.file


def test_a_requester_who_left_gets_a_failed_report(consultation, vn_delegate, data):
    report = Report.objects.create(
        consultation=consultation, kind="resolution_matrix", format="xlsx", requested_by=vn_delegate
    )
    vn_delegate.participations.all().delete()
    vn_delegate.__dict__.pop("_participation_cache", None)

    exports.report_generate(report_id=report.pk)

    report.refresh_from_db()
    assert report.status == JobStatus.FAILED
    assert not report.file


@pytest.mark.parametrize(
    ("kind", "fmt", "message"),
    [("consolidated_feedback", "docx", "Choose the round"), ("revision_report", "pdf", "Choose the version")],
)
def test_a_stored_report_missing_its_round_or_version_fails_saying_so(consultation, secretariat, kind, fmt, message):
    # report_request refuses these; a row written some other way (the admin, a shell) must not crash the worker.
    report = Report.objects.create(consultation=consultation, kind=kind, format=fmt, requested_by=secretariat)

    exports.report_generate(report_id=report.pk)

    report.refresh_from_db()
    assert report.status == JobStatus.FAILED
    assert message in report.error
    assert not report.file


# --- asking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fmt"),
    [
        ("resolution_matrix", "docx"),
        ("resolution_matrix", "pdf"),
        ("consolidated_feedback", "xlsx"),
        ("nonsense", "xlsx"),
    ],
)
def test_a_kind_in_a_format_it_is_not_made_in_is_refused(consultation, open_round, secretariat, kind, fmt):
    with pytest.raises(ValidationError):
        exports.report_request(
            actor=secretariat, consultation=consultation, kind=kind, format=fmt, engagement_round=open_round
        )
    assert not Report.objects.exists()


def test_consolidated_feedback_needs_a_round(consultation, secretariat):
    with pytest.raises(ValidationError) as exc:
        exports.report_request(
            actor=secretariat, consultation=consultation, kind="consolidated_feedback", format="docx"
        )
    assert "engagement_round" in exc.value.error_dict


def test_a_round_of_another_consultation_is_refused(consultation, other_consultation, secretariat):
    foreign = factories.EngagementRoundFactory(version=factories.DraftVersionFactory(consultation=other_consultation))

    with pytest.raises(ValidationError):
        exports.report_request(
            actor=secretariat,
            consultation=consultation,
            kind="resolution_matrix",
            format="xlsx",
            engagement_round=foreign,
        )
    assert not Report.objects.exists()


def test_an_outsider_cannot_ask_for_a_report(consultation, outsider):
    with pytest.raises(Http404):
        exports.report_request(actor=outsider, consultation=consultation, kind="resolution_matrix", format="xlsx")


@pytest.mark.parametrize(("fmt", "magic"), [("docx", b"PK"), ("pdf", b"%PDF")])
def test_revision_report_is_made_by_the_revision_writers(
    django_capture_on_commit_callbacks, consultation, version, secretariat, fmt, magic
):
    new = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2, previous=version)
    factories.SectionFactory(version=new, key="infra-5g", number="1.1.1", heading="5G and 6G networks", position=1)

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="revision_report", fmt=fmt, version=new
    )

    assert report.status == JobStatus.DONE, report.error
    assert read_bytes(report).startswith(magic)
    assert report.source["version"] == "0.2"
    assert report.as_of is not None


def test_revision_report_needs_a_version(consultation, secretariat):
    with pytest.raises(ValidationError) as exc:
        exports.report_request(actor=secretariat, consultation=consultation, kind="revision_report", format="docx")
    assert "version" in exc.value.error_dict


def test_export_permission_is_checked(monkeypatch, consultation, vn_delegate):
    monkeypatch.setattr(type(vn_delegate), "has_perm", lambda self, perm, obj=None: perm != "consolidation.export")
    with pytest.raises(PermissionDenied):
        exports.report_request(actor=vn_delegate, consultation=consultation, kind="resolution_matrix", format="xlsx")


# --- text stored before input was cleaned ----------------------------------------------------

# What pasting from Word, a terminal or an old system leaves in a comment (issue 8, item 8).
CONTROLS = {"vertical-tab": "\x0b", "bell": "\x07", "form-feed": "\x0c", "escape": "\x1b"}


def _docx_text(data: bytes) -> str:
    return "\n".join(paragraph.text for paragraph in Document(io.BytesIO(data)).paragraphs)


@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
def test_a_stored_control_character_breaks_no_document_of_its_round(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data, orgs, char
):
    from config.text import clean_text

    body = f"First line{char}second line of the legacy comment."
    proposal = f"Replace{char}with this."
    # Straight into the database, as legacy data: no service cleans it.
    Comment.objects.filter(pk=data["vn_whole"].pk).update(body=body, proposed_change=proposal)
    Disposition.objects.filter(comment=data["vn_dc"]).update(response=f"Accepted{char}in part.")
    type(orgs["vn"]).objects.filter(pk=orgs["vn"].pk).update(name=f"Viet{char}Nam")
    expected_body, expected_proposal = clean_text(body), clean_text(proposal)
    number = data["vn_whole"].number

    xlsx = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )
    csv_report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="csv"
    )
    feedback = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )

    for report in (xlsx, csv_report, feedback):
        assert report.status == JobStatus.DONE, report.error
    row = next(row for row in xlsx_rows(xlsx) if row[8] == number)
    assert (row[0], row[5], row[6]) == ("VN", expected_body, expected_proposal)
    text = read_bytes(csv_report).decode("utf-8-sig")
    assert char not in text
    assert next(r for r in csv.reader(io.StringIO(text)) if r[8] == number)[5] == expected_body
    shown = _docx_text(read_bytes(feedback))
    assert expected_body in shown and expected_proposal in shown and "in part." in shown
    assert char not in shown


def test_names_with_bidi_controls_show_them_in_the_matrix(
    django_capture_on_commit_callbacks, consultation, secretariat, data, orgs
):
    # MB/NC shows a partner's name (it has no country code).
    type(orgs["partner"]).objects.filter(pk=orgs["partner"].pk).update(name="Viet\u202eNam\u200b")

    report = make_report(
        django_capture_on_commit_callbacks, secretariat, consultation, kind="resolution_matrix", fmt="xlsx"
    )

    names = {row[0] for row in xlsx_rows(report)[1:]}
    assert "Viet[U+202E]Nam[U+200B]" in names
    assert not any("\u202e" in name for name in names)


def test_a_download_name_is_ascii_whatever_the_titles_hold(
    django_capture_on_commit_callbacks, client, consultation, open_round, secretariat, data
):
    from consultations.models import EngagementRound

    EngagementRound.objects.filter(pk=open_round.pk).update(title="Vòng 2 evil\u202excod.exe \x1b")
    open_round.refresh_from_db()
    report = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )
    client.force_login(secretariat)

    response = client.get(_download_url(report))

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.isascii() and disposition.isprintable()
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition.upper()
    assert "vong-2-evilxcodexe" in disposition


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_download_name_keeps_the_words_of_a_vietnamese_title(
    django_capture_on_commit_callbacks, client, consultation, open_round, secretariat, data, via
):
    from urllib.parse import quote, unquote

    from consultations.models import EngagementRound

    EngagementRound.objects.filter(pk=open_round.pk).update(title="Vòng góp ý sửa đổi")
    open_round.refresh_from_db()
    report = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="resolution_matrix",
        fmt="csv",
        engagement_round=open_round,
    )
    client.force_login(secretariat)

    url = _download_url(report) if via == "page" else f"/api/v1/reports/{report.pk}/download/"
    response = client.get(url)

    assert response.status_code == 200
    words = f"adm-2030-comment-resolution-matrix-vòng-góp-ý-sửa-đổi-{report.pk}.csv"
    fallback = f"adm-2030-comment-resolution-matrix-vong-gop-y-sua-doi-{report.pk}.csv"  # đ as d, not dropped
    assert response["Content-Disposition"] == (f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(words)}")
    assert unquote(response["Content-Disposition"].split("UTF-8''")[1]) == words
    # What is stored stays ASCII.
    assert report.file.name.rsplit("/", 1)[1].startswith(
        f"adm-2030-comment-resolution-matrix-vong-gop-y-sua-doi-{report.pk}"
    )


def _download_url(report) -> str:
    from django.urls import reverse

    return reverse("consolidation:report_download", args=[report.consultation.slug, report.pk])
