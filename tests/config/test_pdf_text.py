"""config.pdf_text: each script in a font that has it, shaped, and copied back out as written."""

import io
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import SimpleDocTemplate

from config.pdf_text import font_files, report_fonts
from tests.helpers.pdf import PdfText, pdftotext

THAI = "ที่นี่ น้ำ"  # tone marks over upper vowels: shaped into their raised forms
KHMER = "ភាសាខ្មែរ"  # a subscript consonant and a vowel drawn before its consonant
LAO = "ພາສາລາວ"
BURMESE = "မြန်မာဘာသာ"  # medial ra, drawn around the consonant before it
VIETNAMESE = "Đề nghị sửa đổi"


def build(texts: list[str], *, bold: bool = False) -> bytes:
    fonts = report_fonts()
    writer = fonts.text()
    style = ParagraphStyle("body", fontName=fonts.base.bold if bold else fonts.base.regular, fontSize=11, leading=16)
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, invariant=1, pageCompression=0).build([writer.para(text, style) for text in texts])
    return buffer.getvalue()


@pytest.mark.fonts
def test_each_script_runs_in_its_own_font_and_marks_stay_with_their_letter():
    writer = report_fonts().text()
    runs = writer.runs(f"Góp ý “{THAI}”, {KHMER} {LAO} {BURMESE} e\u0301")
    assert runs == [
        ("latin", "Góp ý “"),
        ("thai", THAI),  # ่ and ้ are marks: they never leave their consonant
        ("latin", "”, "),  # Noto Sans Thai has no curly quotes or comma: Noto Sans draws them
        ("khmer", KHMER + " "),  # the space stays in the Khmer font, which has one
        ("lao", LAO + " "),
        ("myanmar", BURMESE + " "),
        ("latin", "e\u0301"),
    ]
    assert writer.missing_scripts == set() and writer.no_glyph == set()


@pytest.mark.fonts
def test_markup_escapes_user_text_and_names_the_bold_face_in_bold():
    fonts = report_fonts()
    writer = fonts.text()
    thai = fonts.faces["thai"]
    assert writer.markup("<b>1 & 2</b>\nที่") == f'&lt;b&gt;1 &amp; 2&lt;/b&gt;<br/><font name="{thai.regular}">ที่</font>'
    assert writer.bold("ที่") == f'<b><font name="{thai.bold}">ที่</font></b>'


@pytest.mark.fonts
@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_every_glyph_drawn_exists_in_its_embedded_font(bold):
    pdf = PdfText.read(build([VIETNAMESE, f"“{THAI}”,", KHMER, LAO, BURMESE], bold=bold))
    assert pdf.glyphs_missing() == []
    weight = "Bold" if bold else "Regular"
    assert pdf.fonts_drawing(THAI) == {f"NotoSansThai-{weight}"}
    assert pdf.fonts_drawing(KHMER) == {f"NotoSansKhmer-{weight}"}
    assert pdf.fonts_drawing(LAO) == {f"NotoSansLao-{weight}"}
    assert pdf.fonts_drawing(BURMESE) == {f"NotoSansMyanmar-{weight}"}
    assert pdf.fonts_drawing(VIETNAMESE) == {f"NotoSans-{weight}"}


@pytest.mark.fonts
def test_the_glyph_check_sees_an_empty_box():
    """The check above can fail: a character no report font has is drawn as .notdef, and found."""
    pdf = PdfText.read(build(["漢字"]))
    assert [font for font, _char in pdf.glyphs_missing()] == ["NotoSans-Regular", "NotoSans-Regular"]


@pytest.mark.fonts
@pytest.mark.parametrize("word", [THAI, KHMER, BURMESE], ids=["thai", "khmer", "burmese"])
def test_complex_scripts_are_shaped_not_mapped_letter_by_letter(word):
    from reportlab.pdfbase import pdfmetrics

    pdf = PdfText.read(build([word]))
    drawn = pdf.spans()[word]  # drawn inside a span that copies out as the word
    (font,) = {d.font for d in drawn}
    face = pdfmetrics.getFont("Report-" + font).face
    letter_by_letter = [face.charToGlyph[ord(char)] for char in word if char != " "]
    shaped = [face.charToGlyph[u] for d in drawn for u in d.unicode if u != 0x20]
    assert shaped != letter_by_letter
    assert all(shaped), "a shaped glyph is .notdef"


@pytest.mark.fonts
def test_latin_is_drawn_unshaped_as_one_string_per_word():
    pdf = PdfText.read(build([VIETNAMESE]))
    assert pdf.spans() == {}
    assert VIETNAMESE in "".join(d.text for d in pdf.drawn)


@pytest.mark.fonts
@pytest.mark.poppler
def test_pdftotext_gives_back_every_word(tmp_path):
    path = tmp_path / "scripts.pdf"
    path.write_bytes(build([VIETNAMESE, f"“{THAI}”,", KHMER, LAO, BURMESE]))
    lines = pdftotext(path).split("\n")
    for line in (VIETNAMESE, f"“{THAI}”,", KHMER, LAO, BURMESE):
        assert line in lines


# --- a missing font ---------------------------------------------------------------------------


@pytest.fixture
def latin_only(tmp_path, settings):
    """REPORT_FONT_DIRS with Noto Sans and nothing else."""
    for path in font_files()[0]["latin"]:  # there, for tests marked `fonts`
        (tmp_path / path.name).symlink_to(path)
    settings.REPORT_FONT_DIRS = [str(tmp_path)]
    return tmp_path


@pytest.mark.fonts
def test_a_missing_font_fails_where_fonts_are_required(latin_only, settings):
    settings.REPORT_FONTS_REQUIRED = True
    with pytest.raises(ImproperlyConfigured) as failure:
        report_fonts()
    message = str(failure.value)
    for font in ("Noto Sans Thai", "Noto Sans Lao", "Noto Sans Khmer", "Noto Sans Myanmar", "fonts-noto-core"):
        assert font in message


@pytest.mark.fonts
def test_a_missing_font_is_logged_and_recorded_where_not_required(latin_only, settings, caplog):
    settings.REPORT_FONTS_REQUIRED = False
    with caplog.at_level(logging.ERROR, logger="config.pdf_text"):
        writer = report_fonts().text()
    assert "Noto Sans Thai" in caplog.text
    assert writer.runs(f"A {THAI}") == [("latin", f"A {THAI}")]
    assert writer.missing_labels() == ["Noto Sans Thai"]


def test_a_directory_without_fonts_leaves_every_script_missing(tmp_path):
    assert font_files([str(tmp_path)]) == ({}, ["latin", "thai", "lao", "myanmar", "khmer"])
