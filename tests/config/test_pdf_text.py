"""config.pdf_text: each script in a font that has it, shaped, and copied back out as written."""

import io
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

from config import line_breaks
from config.pdf_text import _ORIGINALS, font_files, report_fonts
from tests.helpers.pdf import UNSPACED, PdfText, assert_broken_between_words, ink_box, pdftotext, render_page

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


@pytest.mark.fonts
def test_a_glyph_after_a_lowered_mark_is_drawn_back_on_the_baseline():
    """In "កម្ពុជា" the vowel ុ sits under the subscript ព; ជា after it stands on the baseline again."""
    import uharfbuzz
    from reportlab.pdfbase import pdfmetrics

    word, size = "កម្ពុជា", 11
    drawn = PdfText.read(build([word])).spans()[word]
    face = pdfmetrics.getFont(report_fonts().faces["khmer"].regular).face
    buffer = uharfbuzz.Buffer()
    buffer.add_str(word)
    buffer.guess_segment_properties()
    font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(face.filename)))
    uharfbuzz.shape(font, buffer, {"kern": True, "liga": True})
    expected = [round(size * p.y_offset / face.unitsPerEm, 2) for p in buffer.glyph_positions]
    assert [round(d.rise, 2) for d in drawn for _code in d.codes] == expected
    assert expected[-1] == 0 and min(expected) < 0


# --- line breaks ------------------------------------------------------------------------------

MARGIN = 10 * mm
PADDING = 6  # a frame's own padding, in points, on each side
DPI = 100


def narrow(texts: list[str], width: float) -> bytes:
    """The texts in lines `width` wide, from MARGIN on."""
    writer = report_fonts().text()
    style = ParagraphStyle("body", fontName=report_fonts().base.regular, fontSize=11, leading=18)
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=(width + 2 * MARGIN, 297 * mm),
        leftMargin=MARGIN - PADDING,
        rightMargin=MARGIN - PADDING,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        invariant=1,
        pageCompression=0,
    ).build([writer.para(text, style) for text in texts])
    return buffer.getvalue()


def printed_lines(tmp_path, data: bytes) -> list[str]:
    path = tmp_path / "narrow.pdf"
    path.write_bytes(data)
    return [line.strip() for line in pdftotext(path, layout=True).splitlines() if line.strip()]


def assert_within_frame(tmp_path, width: float) -> None:
    """Nothing is drawn right of the lines' width on the rendered page (a pixel for rounding)."""
    box = ink_box(render_page(tmp_path / "narrow.pdf", 1, tmp_path / "page", dpi=DPI))
    assert box is not None
    assert box[0] >= MARGIN * DPI / 72 - 1
    right_edge = (MARGIN + width) * DPI / 72 + 1
    assert box[2] <= right_edge, f"ink reaches {box[2]} px, the frame ends at {right_edge:.0f} px"


@pytest.mark.fonts
@pytest.mark.poppler
@pytest.mark.parametrize("script", list(UNSPACED))
def test_an_unspaced_sentence_breaks_only_between_words_and_stays_in_the_frame(script, tmp_path):
    sentence, width = UNSPACED[script], 52 * mm
    lines = printed_lines(tmp_path, narrow([sentence], width))
    assert len(lines) >= 3
    assert_broken_between_words(sentence, lines)  # every letter printed once, copied out as written
    assert_within_frame(tmp_path, width)


@pytest.mark.fonts
@pytest.mark.poppler
@pytest.mark.parametrize("script", list(UNSPACED))
def test_lines_of_each_script_do_not_touch_at_a_latin_leading(script, tmp_path):
    """A style spaced for Latin (leading 1.3 sizes) still leaves a clear row between two lines of any script."""
    from PIL import Image
    from reportlab.pdfgen.canvas import Canvas

    writer = report_fonts().text()
    style = ParagraphStyle("tight", fontName=report_fonts().base.regular, fontSize=11, leading=14.3)
    paragraph = writer.para(UNSPACED[script], style)
    size, dpi = (50 * mm, 100 * mm), 150
    path = tmp_path / "tight.pdf"
    canvas = Canvas(str(path), pagesize=size)
    _width, height = paragraph.wrapOn(canvas, size[0] - 10 * mm, size[1])
    top = size[1] - 5 * mm
    paragraph.drawOn(canvas, 5 * mm, top - height)
    canvas.save()
    leading = paragraph.style.leading
    baselines = [top - style.fontSize - k * leading for k in range(len(paragraph.blPara.lines))]
    assert len(baselines) >= 3
    with Image.open(render_page(path, 1, tmp_path / "tight", dpi=dpi)) as page:
        grey = page.convert("L")
        blank = [all(grey.getpixel((x, y)) > 200 for x in range(grey.width)) for y in range(grey.height)]
    for upper, lower in zip(baselines, baselines[1:], strict=False):
        rows = range(round((size[1] - upper) * dpi / 72) + 1, round((size[1] - lower) * dpi / 72) - 1)
        assert any(blank[row] for row in rows), f"the lines on baselines {upper:.0f} and {lower:.0f} touch"


@pytest.mark.fonts
@pytest.mark.poppler
@pytest.mark.parametrize(("script", "word"), [("khmer", "ព្រះរាជាណាចក្រ"), ("thai", "ประชาธิปไตย")])
def test_a_word_wider_than_the_frame_is_cut_between_letters_with_their_marks(script, word, tmp_path):
    width = 14 * mm  # narrower than the word, wider than any of its letters with their marks
    lines = printed_lines(tmp_path, narrow([word + word], width))
    assert len(lines) >= 3 and "".join(lines) == word + word
    at = 0
    for line in lines[:-1]:
        at += len(line)
        assert at in line_breaks.cluster_breaks(word + word), f"cut inside a letter: {line!r}"
    assert_within_frame(tmp_path, width)


@pytest.mark.fonts
@pytest.mark.poppler
def test_a_highlight_starting_inside_a_thai_word_keeps_the_breaks_between_words(tmp_path):
    """The draft shades a comment's passage, which may start and end inside a word."""
    sentence = UNSPACED["thai"]
    start, end = sentence.index("ประมาณ") + 3, sentence.index("สมาชิก") + 2
    writer = report_fonts().text()
    shaded = f'<font backColor="#fff1a8">{writer.markup(sentence[start:end])}</font>'
    markup = writer.markup(sentence[:start]) + shaded + writer.markup(sentence[end:])
    style = ParagraphStyle("body", fontName=report_fonts().base.regular, fontSize=11, leading=18)
    buffer = io.BytesIO()
    width = 52 * mm
    SimpleDocTemplate(
        buffer,
        pagesize=(width + 2 * MARGIN, 297 * mm),
        leftMargin=MARGIN - PADDING,
        rightMargin=MARGIN - PADDING,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
    ).build([writer.paragraph(markup, style)])
    lines = printed_lines(tmp_path, buffer.getvalue())
    assert len(lines) >= 3
    assert_broken_between_words(sentence, lines)
    assert_within_frame(tmp_path, width)


def _lines(paragraph, width: float) -> list[str]:
    paragraph.wrap(width, 10_000)
    return ["".join(word.text for word in line.words).strip() for line in paragraph.blPara.lines]


@pytest.mark.fonts
def test_latin_and_vietnamese_lines_are_as_reportlab_breaks_them(monkeypatch):
    from reportlab.platypus import paragraph

    fonts = report_fonts()
    writer = fonts.text()
    style = ParagraphStyle("body", fontName=fonts.base.regular, fontSize=11, leading=16)
    text = (
        "Đề nghị sửa đổi điều 3.1: các quốc gia thành viên sẽ phát triển hạ tầng số liền mạch, "
        "see https://example.org/a/very/long/path/that/is/wider/than/the/frame/itself and the đồ-án."
    )
    markup = writer.markup(text[:40]) + writer.bold(text[40:90]) + writer.markup(text[90:])
    ours = _lines(writer.paragraph(markup, style), 40 * mm)
    monkeypatch.setattr(paragraph, "_getFragWords", _ORIGINALS["frag_words"])
    assert ours == _lines(writer.paragraph(markup, style), 40 * mm)
    assert len(ours) > 5


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


@pytest.mark.fonts
def test_a_missing_segmenter_fails_where_fonts_are_required(settings, monkeypatch):
    monkeypatch.setattr(line_breaks, "SEGMENTER", None)
    settings.REPORT_FONTS_REQUIRED = True
    with pytest.raises(ImproperlyConfigured, match="icu4py"):
        report_fonts()


def test_a_directory_without_fonts_leaves_every_script_missing(tmp_path):
    assert font_files([str(tmp_path)]) == ({}, ["latin", "thai", "lao", "myanmar", "khmer"])
