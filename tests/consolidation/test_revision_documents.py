"""Golden tests of the revision report documents: what a reader opening the PDF finds.

pdftotext and pypdf are not available here, so the PDF is written uncompressed and
reproducible, and its page content is read directly. The DOCX is checked in
tests/consolidation/documents/test_revision_docx.py.
"""

import io
import re

import pytest
from docx import Document
from docx.oxml.ns import qn

from comments.models import Comment
from consolidation.documents.revision_pdf import register_fonts, write_revision_pdf
from consolidation.selectors_revision import revision_report
from consolidation.services.carry_over import carry_over_comments
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.carry_over import build_world
from tests.helpers.word import paragraph_text

pytestmark = pytest.mark.django_db

VI_BODY_OLD = "Các quốc gia thành viên sẽ mở rộng vùng phủ sóng 5G."
VI_BODY_NEW = "Các quốc gia thành viên sẽ nhanh chóng mở rộng vùng phủ sóng 5G."


@pytest.fixture
def report(consultation, version, vn_delegate, th_delegate, secretariat):
    world = build_world(consultation, version, vn_delegate, th_delegate)
    factories.SectionFactory(
        version=version, key="vi", number="2", heading="Hạ tầng số", body=VI_BODY_OLD, position=20, depth=0
    )
    factories.SectionFactory(
        version=world["new"], key="vi", number="2", heading="Hạ tầng số", body=VI_BODY_NEW, position=20, depth=0
    )
    decided = world["comments"]["decided"].disposition
    decided.section_change = world["new"].sections.get(key="infra-dc")
    decided.response = "Đã chấp nhận: the clause now names the data centres."
    decided.save()
    CommentFactory(
        section=version.sections.get(key="vi"),
        round=world["round"],
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
        body="Đề nghị bổ sung vùng nông thôn.",
    )
    carry_over_comments(version_id=world["new"].pk)
    return revision_report(user=secretariat, version=world["new"])


def pdf_bytes(report) -> bytes:
    buffer = io.BytesIO()
    write_revision_pdf(report, buffer, compress=False)
    return buffer.getvalue()


def test_pdf_has_pages_the_redline_and_the_charts(report):
    data = pdf_bytes(report)
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type /Page\b", data))
    assert pages >= 1
    # Shown text is in the content streams as (...) Tj strings; ASCII letters keep their codes.
    shown = b"".join(re.findall(rb"\((.*?)\) Tj", data))
    for words in (b"and peri-urban", b"2030", b"2028", b"Revision report, version 0.2", b"Comments by decision"):
        assert words in shown, words
    # Inserted text is drawn green and underlined (a line under it), deleted text red and struck.
    for colour in (b".101961 .498039 .215686", b".811765 .133333 .180392"):  # #1a7f37, #cf222e
        assert colour + b" rg" in data  # the text
        assert colour + b" RG" in data  # the line under or through it


@pytest.mark.fonts
def test_pdf_embeds_a_font_with_vietnamese_letters(report):
    assert register_fonts().base.file.endswith("NotoSans-Regular.ttf"), "Noto Sans is needed for Vietnamese"
    data = pdf_bytes(report)
    assert b"+NotoSans-Regular" in data
    # The ToUnicode map of the embedded subset lists the Vietnamese letters that were drawn.
    for letter in "ạốởịậ":
        assert f"<{ord(letter):04X}>".encode() in data, letter


# --- every ASEAN script --------------------------------------------------------------------

# Comments as delegations write them: Vietnamese, Thai (tone marks over vowels), Khmer (a
# subscript consonant, a vowel drawn before its consonant), Lao, Burmese (medial ra).
ASEAN_COMMENTS = {
    "vietnamese": "Đề nghị sửa đổi điều này.",
    "thai": "ที่นี่ น้ำ",
    "khmer": "ភាសាខ្មែរ",
    "lao": "ພາສາລາວ",
    "burmese": "မြန်မာဘာသာ",
}
THAI_TITLE = "แผนแม่บทดิจิทัลอาเซียน"


@pytest.fixture
def asean_report(consultation, version, vn_delegate, th_delegate, secretariat):
    world = build_world(consultation, version, vn_delegate, th_delegate)
    consultation.title = f"ASEAN Digital Masterplan 2030 – {THAI_TITLE}"  # the footer of every page
    consultation.save()
    for body in ASEAN_COMMENTS.values():
        CommentFactory(
            section=version.sections.get(key="infra-5g"),
            round=world["round"],
            author=th_delegate,
            status=Comment.Status.SUBMITTED,
            body=body,
        )
    carry_over_comments(version_id=world["new"].pk)
    return revision_report(user=secretariat, version=world["new"])


@pytest.mark.fonts
def test_pdf_draws_every_asean_script_with_glyphs_of_its_own_font(asean_report):
    from tests.helpers.pdf import PdfText

    pdf = PdfText.read(pdf_bytes(asean_report))
    assert pdf.glyphs_missing() == []  # not one empty box
    assert pdf.fonts_drawing(ASEAN_COMMENTS["vietnamese"]) == {"NotoSans-Regular"}
    assert pdf.fonts_drawing(ASEAN_COMMENTS["thai"]) == {"NotoSansThai-Regular"}
    assert pdf.fonts_drawing(ASEAN_COMMENTS["khmer"]) == {"NotoSansKhmer-Regular"}
    assert pdf.fonts_drawing(ASEAN_COMMENTS["lao"]) == {"NotoSansLao-Regular"}
    assert pdf.fonts_drawing(ASEAN_COMMENTS["burmese"]) == {"NotoSansMyanmar-Regular"}
    assert pdf.fonts_drawing(THAI_TITLE) == {"NotoSansThai-Regular"}  # the footer


@pytest.mark.fonts
def test_pdf_shapes_khmer_and_burmese(asean_report):
    from reportlab.pdfbase import pdfmetrics

    from tests.helpers.pdf import PdfText

    spans = PdfText.read(pdf_bytes(asean_report)).spans()
    for word in (ASEAN_COMMENTS["khmer"], ASEAN_COMMENTS["burmese"]):
        drawn = spans[word]
        face = pdfmetrics.getFont("Report-" + drawn[0].font).face
        letter_by_letter = [face.charToGlyph[ord(char)] for char in word]
        assert [face.charToGlyph[u] for d in drawn for u in d.unicode] != letter_by_letter, word


@pytest.mark.fonts
@pytest.mark.poppler
def test_pdftotext_reads_every_script_back(asean_report, tmp_path):
    from tests.helpers.pdf import pdftotext

    path = tmp_path / "revision.pdf"
    with open(path, "wb") as fileobj:
        write_revision_pdf(asean_report, fileobj)  # compressed, as users get it
    lines = pdftotext(path).split("\n")
    for body in ASEAN_COMMENTS.values():
        assert body in lines, body
    assert f"ASEAN Digital Masterplan 2030 – {THAI_TITLE} – Revision report, version 0.2" in lines


@pytest.mark.fonts
@pytest.mark.poppler
def test_long_unspaced_comments_break_between_words(
    consultation, version, vn_delegate, th_delegate, secretariat, tmp_path
):
    """A comment of a sentence without spaces wraps in its table cell between words, never mid-word."""
    from tests.helpers.pdf import UNSPACED, assert_broken_between_words, pdftotext

    world = build_world(consultation, version, vn_delegate, th_delegate)
    sentences = {script: sentence * 2 for script, sentence in UNSPACED.items()}  # wider than the page
    for body in sentences.values():
        CommentFactory(
            section=version.sections.get(key="infra-5g"),
            round=world["round"],
            author=th_delegate,
            status=Comment.Status.SUBMITTED,
            body=body,
        )
    carry_over_comments(version_id=world["new"].pk)
    path = tmp_path / "revision.pdf"
    with open(path, "wb") as fileobj:
        write_revision_pdf(revision_report(user=secretariat, version=world["new"]), fileobj)
    printed = [line.strip() for line in pdftotext(path).split("\n")]
    for script, sentence in sentences.items():
        first = next(i for i, line in enumerate(printed) if line and sentence.startswith(line))
        lines, text = [], ""
        while text != sentence:
            assert printed[first + len(lines)], f"{script}: the comment stops short"
            lines.append(printed[first + len(lines)])
            text += lines[-1]
            assert sentence.startswith(text), f"{script}: {lines[-1]!r} is not what follows"
        assert len(lines) >= 2, script  # long enough to wrap
        assert_broken_between_words(sentence, lines)


def test_pdf_says_which_fonts_it_lacks_where_fonts_are_not_required(asean_report, tmp_path, settings, caplog):
    """Outside production and CI, a server without the Thai font still makes the report, and says so."""
    from config.pdf_text import font_files

    for paths in font_files()[0].get("latin", ()):
        (tmp_path / paths.name).symlink_to(paths)
    settings.REPORT_FONT_DIRS = [str(tmp_path)]
    settings.REPORT_FONTS_REQUIRED = False
    shown = b"".join(re.findall(rb"\((.*?)\) Tj", pdf_bytes(asean_report)))
    assert b"Some text in this report cannot be shown" in shown
    assert "Noto Sans Thai" in caplog.text and "Noto Sans Khmer" in caplog.text


@pytest.mark.fonts
def test_pdf_fails_without_its_fonts_where_they_are_required(asean_report, tmp_path, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.REPORT_FONT_DIRS = [str(tmp_path)]
    settings.REPORT_FONTS_REQUIRED = True
    with pytest.raises(ImproperlyConfigured, match="Noto Sans Khmer"):
        pdf_bytes(asean_report)


def test_pdf_is_reproducible_uncompressed(report):
    assert pdf_bytes(report) == pdf_bytes(report)


# --- text stored before input was cleaned ----------------------------------------------------

CONTROLS = {"vertical-tab": "\x0b", "bell": "\x07", "form-feed": "\x0c", "escape": "\x1b"}


@pytest.fixture
def legacy_world(consultation, version, vn_delegate, th_delegate):
    """A version 0.2 whose comments, responses, names and section text were stored with `char` in them."""

    def make(char: str) -> dict:
        from accounts.models import Organisation
        from consolidation.models import Disposition
        from consultations.models import Section

        world = build_world(consultation, version, vn_delegate, th_delegate)
        comments = world["comments"]
        Comment.objects.filter(pk=comments["whole"].pk).update(body=f"Open comment{char}on two lines.")
        Disposition.objects.filter(comment=comments["decided"]).update(
            response=f"Noted{char}with thanks.", section_change=world["new"].sections.get(key="infra-dc")
        )
        Section.objects.filter(version=world["new"], key="infra-dc").update(body=f"Data centres{char}use geothermal.")
        Organisation.objects.filter(pk=vn_delegate.organisation_id).update(name=f"Viet{char}Nam")
        carry_over_comments(version_id=world["new"].pk)
        return world

    return make


@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_a_stored_control_character_breaks_no_revision_report(
    django_capture_on_commit_callbacks, legacy_world, consultation, secretariat, char, fmt
):
    from consolidation.models import JobStatus
    from tests.helpers.reports import make_report, read_bytes

    world = legacy_world(char)

    made = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="revision_report",
        fmt=fmt,
        version=world["new"],
    )

    assert made.status == JobStatus.DONE, made.error
    data = read_bytes(made)
    if fmt == "docx":
        # Every text of the document: paragraphs, table cells, tracked insertions and deletions.
        text = "\n".join(paragraph_text(p) for p in Document(io.BytesIO(data)).element.body.iter(qn("w:p")))
        assert char not in text
        for words in ("on two lines.", "with thanks.", "geothermal", "Open comment", "Viet"):
            assert words in text, words
    else:
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        # The same writer, uncompressed, so that the drawn text can be read.
        shown = b"".join(
            re.findall(rb"\((.*?)\) Tj", pdf_bytes(revision_report(user=secretariat, version=world["new"])))
        )
        for words in (b"on two lines.", b"with thanks.", b"geothermal"):
            assert words in shown, words


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_a_long_revision_report_shows_its_progress_in_steps(
    django_capture_on_commit_callbacks, monkeypatch, consultation, version, vn_delegate, th_delegate, secretariat, fmt
):
    """Not 5 then 100: the bar moves while the sections are written (or the pages laid out)."""
    from config import jobs
    from consolidation.models import JobStatus
    from tests.helpers.reports import make_report

    world = build_world(consultation, version, vn_delegate, th_delegate)
    chapter = world["new"].sections.get(key="infra")
    for position in range(7, 47):
        factories.SectionFactory(
            version=world["new"], parent=chapter, depth=2, position=position, body=f"New clause {position}. " * 40
        )
    seen: list[int] = []
    real = jobs.renew

    def renew(*args, **fields):
        if fields.get("progress") is not None:
            seen.append(fields["progress"])
        return real(*args, **fields)

    monkeypatch.setattr(jobs, "renew", renew)
    made = make_report(
        django_capture_on_commit_callbacks,
        secretariat,
        consultation,
        kind="revision_report",
        fmt=fmt,
        version=world["new"],
    )

    assert made.status == JobStatus.DONE, made.error
    between = [p for p in seen if 5 < p < 100]
    assert len(between) >= 8, seen
    assert seen == sorted(seen) and made.progress == 100
