"""The draft itself as DOCX and PDF with its line numbers, clean or with the comments in the margin."""

import html
import io
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn

from comments.models import Comment
from config import jobs
from consolidation.models import JobStatus, Report
from consolidation.selectors_draft import draft_document
from consolidation.services import exports
from consultations.models import EngagementRound, Section
from consultations.selectors import lines_of_version
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.pdf import UNSPACED, words
from tests.helpers.reports import make_report, read_bytes
from tests.helpers.services import soffice_path
from tests.helpers.word import convert_with_libreoffice, list_numbered

pytestmark = pytest.mark.django_db

LONG = (
    "Member states will extend 5G coverage to all urban areas by 2028 and to rural areas by 2030, "
    "sharing towers and spectrum where a single network would serve a community better than several.\n\n"
    "Các quốc gia thành viên sẽ phát triển hạ tầng số liền mạch và bao trùm cho mọi cộng đồng, "
    "ประเทศสมาชิกจะพัฒนาโครงสร้างพื้นฐานดิจิทัล."
)


@pytest.fixture
def clause(version):
    Section.objects.filter(version=version, key="infra-5g").update(body=LONG)
    return version.sections.get(key="infra-5g")


@pytest.fixture
def comments(clause, open_round, vn_delegate, th_delegate):
    def make(author, *, quote="", **fields):
        anchor = {}
        if quote:
            start = LONG.index(quote)
            anchor = {"quote_exact": quote, "position_start": start, "position_end": start + len(quote)}
        fields = {"status": Comment.Status.SUBMITTED, **anchor, **fields}
        return CommentFactory(round=open_round, section=clause, author=author, **fields)

    return {
        # From the first line into the second.
        "vn_span": make(vn_delegate, quote="rural areas by 2030, sharing towers", type="te", body="Name the areas."),
        "vn_whole": make(vn_delegate, type="ge", body="The clause needs a baseline."),
        "th_vi": make(th_delegate, quote="hạ tầng số", type="ed", body="ขอบคุณ: a Thai delegation's note."),
        "th_withdrawn": make(th_delegate, quote="towers", body="Withdrawn one.", status=Comment.Status.WITHDRAWN),
        "vn_draft": make(vn_delegate, quote="towers", body="Still a draft.", status=Comment.Status.DRAFT),
    }


def _draft(capture, user, consultation, version, *, kind="draft", fmt="docx", **kw):
    report = make_report(capture, user, consultation, kind=kind, fmt=fmt, version=version, **kw)
    assert report.status == JobStatus.DONE, report.error
    return report


def _docx(report) -> Document:
    return Document(io.BytesIO(read_bytes(report)))


def _anchored_text(document) -> dict[str, str]:
    """Each Word comment's id -> every character of the document between its range start and end."""
    open_ids: list[str] = []
    found: dict[str, str] = {}
    for element in document.element.body.iter():
        if element.tag == qn("w:commentRangeStart"):
            open_ids.append(element.get(qn("w:id")))
            found[open_ids[-1]] = ""
        elif element.tag == qn("w:commentRangeEnd"):
            open_ids.remove(element.get(qn("w:id")))
        elif element.tag == qn("w:t") or (element.tag == qn("w:tab") and element.getparent().tag == qn("w:r")):
            for comment_id in open_ids:
                found[comment_id] += "\t" if element.tag == qn("w:tab") else element.text or ""
    return found


def _pdf_text(report) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(read_bytes(report))
        pdf.flush()
        return subprocess.run(
            ["pdftotext", "-layout", pdf.name, "-"], check=True, capture_output=True, text=True
        ).stdout


def _expected_lines(version) -> list[tuple[int, str]]:
    """(number, text) of every numbered line of the version, headings included."""
    sections = list(version.sections.order_by("position"))
    numbered = lines_of_version(version=version, sections=sections).sections
    out = []
    for section in sections:
        label = f"{section.number} {section.heading}".strip()
        lines = numbered[section.pk]
        out += [(n, label[s:e]) for n, s, e in lines.numbered_heading()]
        out += [(n, section.body[s:e].rstrip("\r\n")) for n, s, e in lines.numbered_body()]
    return out


def test_clean_docx_has_every_line_with_its_number_and_no_comment(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, vn_delegate
):
    report = _draft(django_capture_on_commit_callbacks, vn_delegate, consultation, version)
    document = _docx(report)
    # The numbers are the list's, not text: the paragraphs hold the lines and nothing else.
    numbered = list_numbered(document)
    assert numbered == _expected_lines(version)
    assert any("hạ tầng số" in text for _, text in numbered) and any("ประเทศสมาชิก" in text for _, text in numbered)
    assert list(document.comments) == []
    assert "Name the areas." not in "\n".join(p.text for p in document.paragraphs)
    assert document.core_properties.title == f"{consultation.title}, version {version.number}"
    assert report.source["lines"] == _expected_lines(version)[-1][0]
    assert report.source["line_length"] == 80


def test_docx_with_comments_anchors_each_visible_comment_to_its_passage(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, secretariat
):
    report = _draft(django_capture_on_commit_callbacks, secretariat, consultation, version, kind="draft_comments")
    document = _docx(report)
    word_comments = {c.comment_id: c for c in document.comments}
    by_body = {c.text.split("\n")[1]: c for c in word_comments.values()}
    # Drafts and withdrawn comments are not circulated; everything else the secretariat sees is.
    assert set(by_body) == {"Name the areas.", "The clause needs a baseline.", "ขอบคุณ: a Thai delegation's note."}
    anchored = _anchored_text(document)
    span = by_body["Name the areas."]
    assert anchored[str(span.comment_id)] == "rural areas by 2030, sharing towers"
    assert anchored[str(by_body["ขอบคุณ: a Thai delegation's note."].comment_id)] == "hạ tầng số"
    # A comment on the whole section is the heading's.
    assert anchored[str(by_body["The clause needs a baseline."].comment_id)] == "1.1.1 5G and 6G networks"
    lines = lines_of_version(version=version).sections[clause.pk]
    start = LONG.index("rural areas")
    expected = lines.range_for(start, start + len("rural areas by 2030, sharing towers"))
    assert expected.first != expected.last
    assert f"line {expected}" in span.text.split("\n")[0]
    assert span.author == comments["vn_span"].organisation.name
    assert report.source["comments"] == 3


def test_comments_in_the_margin_leave_the_lines_evenly_spaced(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, secretariat
):
    """Each line at the text's own leading, whatever the margin beside it holds (only paragraphs add space)."""
    steps = {}
    for kind in ("draft", "draft_comments"):
        report = _draft(django_capture_on_commit_callbacks, secretariat, consultation, version, kind=kind, fmt="pdf")
        positions = _number_positions(report)
        assert [n for _p, _t, n in positions] == list(range(1, len(positions) + 1))
        steps[kind] = {
            round(top - previous_top, 1)
            for (page, top, _n), (previous_page, previous_top, _m) in zip(positions[1:], positions, strict=False)
            if page == previous_page
        }
    # The same line, paragraph and section steps as without comments: 3 of them, not one per comment
    # (the Thai line as far from its neighbours as the Latin ones: one spacing for the draft).
    assert steps["draft_comments"] == steps["draft"], steps
    assert len(steps["draft"]) == 3, steps


def test_a_delegate_sees_only_their_delegations_comments_in_the_margin(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, vn_delegate, open_round
):
    assert open_round.visibility == EngagementRound.Visibility.SECRETARIAT_ONLY
    report = _draft(django_capture_on_commit_callbacks, vn_delegate, consultation, version, kind="draft_comments")
    bodies = {c.text.split("\n")[1] for c in _docx(report).comments}
    assert bodies == {"Name the areas.", "The clause needs a baseline."}

    pdf = _draft(
        django_capture_on_commit_callbacks, vn_delegate, consultation, version, kind="draft_comments", fmt="pdf"
    )
    text = _pdf_text(pdf)
    assert "Name the areas." in text and "Thai delegation" not in text


def _number_positions(report) -> list[tuple[int, float, int]]:
    """(page, top in points, line number) of each line number printed in the PDF's number column."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(read_bytes(report))
        pdf.flush()
        printed = words(Path(pdf.name))
    number_column_end = (15 + 11) * 72 / 25.4 + 6  # draft_pdf.MARGIN + NUMBER_WIDTH + the frame's padding
    return sorted((w.page, w.top, int(w.text)) for w in printed if w.text.isdigit() and w.right <= number_column_end)


def test_clean_pdf_prints_every_line_beside_its_number(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, vn_delegate
):
    report = _draft(django_capture_on_commit_callbacks, vn_delegate, consultation, version, fmt="pdf")
    rows = [line.strip() for line in _pdf_text(report).splitlines() if line.strip()]
    for number, text in _expected_lines(version):
        words = text.split()
        # The number, then the line's first and last words, on one printed line.
        assert any(row.startswith(f"{number} ") and words[0] in row and words[-1] in row for row in rows), (
            number,
            text,
        )
    assert "Name the areas." not in "\n".join(rows)


def test_pdf_with_comments_puts_each_comment_beside_the_line_it_starts_on(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, secretariat
):
    report = _draft(
        django_capture_on_commit_callbacks, secretariat, consultation, version, kind="draft_comments", fmt="pdf"
    )
    rows = _pdf_text(report).splitlines()
    lines = lines_of_version(version=version).sections[clause.pk]
    start = LONG.index("rural areas")
    cited = lines.range_for(start, start + len("rural areas by 2030, sharing towers"))
    number = comments["vn_span"].number
    row = next(r for r in rows if f"{number} ·" in r)
    assert row.strip().startswith(f"{cited.first} ")  # the comment's head sits on the line it starts on
    assert f"line {cited}" in " ".join(rows)
    assert "Name the areas." in "\n".join(rows) and "Thai delegation" in "\n".join(rows)
    assert "Withdrawn one." not in "\n".join(rows) and "Still a draft." not in "\n".join(rows)


def test_progress_moves_in_steps_through_a_long_draft(
    django_capture_on_commit_callbacks, monkeypatch, consultation, version, secretariat
):
    chapter = version.sections.get(key="infra")
    for position in range(5, 65):
        factories.SectionFactory(version=version, parent=chapter, depth=2, position=position, body=LONG)
    seen = []
    real = jobs.renew

    def renew(*args, **fields):
        seen.append(fields.get("progress"))
        return real(*args, **fields)

    monkeypatch.setattr(jobs, "renew", renew)
    for fmt in ("docx", "pdf"):
        seen.clear()
        _draft(django_capture_on_commit_callbacks, secretariat, consultation, version, fmt=fmt)
        steps = [p for p in seen if p is not None]
        assert steps == sorted(steps) and len(steps) >= 10, (fmt, steps)
        assert steps[-1] >= 90


def test_a_draft_needs_its_version_and_a_round_on_it(consultation, version, open_round, secretariat):
    with pytest.raises(ValidationError) as excinfo:
        exports.report_request(actor=secretariat, consultation=consultation, kind="draft", format="pdf")
    assert "Choose the version of the draft to make." in excinfo.value.messages
    later = factories.DraftVersionFactory(consultation=consultation, number="0.2")
    factories.SectionFactory(version=later, key="intro", position=1)
    with pytest.raises(ValidationError) as excinfo:
        exports.report_request(
            actor=secretariat,
            consultation=consultation,
            kind="draft_comments",
            format="docx",
            version=later,
            engagement_round=open_round,
        )
    assert "This round is on another version of the draft." in excinfo.value.messages
    with pytest.raises(ValidationError):
        exports.report_request(
            actor=secretariat, consultation=consultation, kind="draft", format="xlsx", version=version
        )


def test_the_read_model_costs_the_same_queries_however_long_the_draft_and_its_comments(
    version, clause, comments, open_round, secretariat, th_delegate
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    version = type(version).objects.select_related("consultation").get(pk=version.pk)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            document = draft_document(user=secretariat, version=version, with_comments=True)
        return len(captured.captured_queries), document.comment_count

    measure()  # warm up per-process caches
    small, count = measure()
    assert count == 3
    chapter = version.sections.get(key="infra")
    for position in range(5, 45):
        section = factories.SectionFactory(version=version, parent=chapter, depth=2, position=position, body=LONG)
        CommentFactory(round=open_round, section=section, author=th_delegate, status=Comment.Status.SUBMITTED)
    assert measure() == (small, 43)


def test_the_version_page_offers_the_draft_files_and_a_button_queues_one(
    client, django_capture_on_commit_callbacks, consultation, version, vn_delegate, outsider
):
    client.force_login(vn_delegate)
    page = client.get(reverse("consultations:version", args=[consultation.slug, version.number])).content.decode()
    for what in ("draft:docx", "draft:pdf", "draft_comments:docx", "draft_comments:pdf"):
        assert f'name="what" value="{what}"' in page
    assert "Draft with line numbers and comments (PDF)" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("consolidation:report_create", args=[consultation.slug]),
            {"what": "draft_comments:pdf", "version": version.pk},
        )
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.kind, report.format, report.version_id, report.requested_by) == (
        "draft_comments",
        "pdf",
        version.pk,
        vn_delegate,
    )


def test_the_docx_is_a_document_to_circulate_page_numbers_properties_languages_and_dated_comments(
    django_capture_on_commit_callbacks, consultation, version, clause, comments, secretariat
):
    """As the other Word files: the title on every page, "Page n of m", the platform as author, and
    each margin comment dated its submission with the organisation's initials (VN, as MB/NC)."""
    from datetime import UTC, datetime

    from django.conf import settings
    from django.utils import timezone

    submitted = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    Comment.objects.filter(pk=comments["vn_span"].pk).update(submitted_at=submitted)
    comments["vn_span"].organisation.__class__.objects.filter(pk=comments["vn_span"].organisation_id).update(
        short_name="Viet Nam"
    )
    report = _draft(django_capture_on_commit_callbacks, secretariat, consultation, version, kind="draft_comments")
    document = _docx(report)
    section = document.sections[0]
    assert section.header.paragraphs[0].text == f"{consultation.title}, version {version.number}"
    footer = section.footer.paragraphs[0]._p
    assert [i.text.strip() for i in footer.iter(qn("w:instrText"))] == ["PAGE", "NUMPAGES"]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    core = document.core_properties
    assert core.author == core.last_modified_by == settings.SITE_NAME
    assert core.created.year == timezone.now().year and core.keywords and core.language == "en-GB"
    span = next(c for c in document.comments if "Name the areas." in c.text)
    assert (span.author, span.initials) == ("Viet Nam", "VN")
    assert span.timestamp == submitted
    languages = {}
    for paragraph in document.paragraphs:
        tags = {lang.get(qn("w:val")) for lang in paragraph._p.iter(qn("w:lang"))}
        for sample, code in (("hạ tầng số", "vi-VN"), ("ประเทศสมาชิก", "th-TH"), ("Member states will", "")):
            if sample in paragraph.text:
                languages[code] = tags
    # Each line in its script's language; English lines inherit the document's.
    assert languages == {"vi-VN": {"vi-VN"}, "th-TH": {"th-TH"}, "": set()}


WORD_BOX = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
EVERY_SCRIPT = "\n\n".join(
    [
        "Các quốc gia thành viên sẽ phát triển hạ tầng số liền mạch và bao trùm cho mọi cộng đồng, "
        "kể cả vùng sâu, vùng xa và hải đảo, với mục tiêu phủ sóng băng rộng tới mọi xã vào năm 2030.",
        *(sentence * 2 for sentence in UNSPACED.values()),
    ]
)


def _beside_numbers(pdf: Path, *, numbers_end: float, text_start: float) -> tuple[list[int], list[str]]:
    """The line numbers printed in `pdf`, and the words of the text column printed beside none of them.

    numbers_end: where the right-aligned numbers end at most; text_start: where the text column
    begins (points from the left edge).
    """
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    numbers, unnumbered = [], []
    for page in boxes.split("<page ")[1:]:
        placed = [
            (float(x0), (float(y0) + float(y1)) / 2, float(x1), html.unescape(text))
            for x0, y0, x1, y1, text in WORD_BOX.findall(page)
        ]
        rows = sorted((y, int(text)) for _x0, y, x1, text in placed if x1 < numbers_end and text.isdigit())
        numbers += [number for _y, number in rows]
        if not rows:
            continue
        top, bottom = rows[0][0] - 6, rows[-1][0] + 6
        # Every word of the text column between the first and the last number sits beside a number.
        unnumbered += [
            text
            for x0, y, _x1, text in placed
            if x0 > text_start and top <= y <= bottom and not any(abs(y - row_y) <= 5 for row_y, _n in rows)
        ]
    return numbers, unnumbered


@pytest.mark.libreoffice
@pytest.mark.poppler
@pytest.mark.parametrize("kind", ["draft", "draft_comments"])
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_each_numbered_line_of_every_script_prints_on_one_line(
    django_capture_on_commit_callbacks, consultation, version, secretariat, kind, fmt, tmp_path
):
    """A numbered line that wraps prints two lines under one number: "line 12" would then be two
    lines of the page. Vietnamese, Thai, Lao, Khmer and Burmese lines of the version's line length
    each fit the text column: of the PDF, and of the DOCX as LibreOffice prints it."""
    Section.objects.filter(version=version, key="infra-5g").update(body=EVERY_SCRIPT)
    report = _draft(django_capture_on_commit_callbacks, secretariat, consultation, version, kind=kind, fmt=fmt)
    source = tmp_path / f"draft.{fmt}"
    source.write_bytes(read_bytes(report))
    if fmt == "docx":
        # A4, 20 mm margins, the numbers right-aligned at 9 mm and the text at 12 mm: 90.7 pt.
        pdf, numbers_end, text_start = convert_with_libreoffice(soffice_path(), source, "pdf", tmp_path), 86, 88
    else:
        # draft_pdf: 15 mm margin, an 11 mm number column: the text at 80 pt.
        pdf, numbers_end, text_start = source, 79, 80

    numbers, unnumbered = _beside_numbers(pdf, numbers_end=numbers_end, text_start=text_start)

    assert numbers == [n for n, _text in _expected_lines(version)]
    assert not unnumbered, unnumbered[:5]
