"""Read what a reportlab PDF draws: which glyphs of which embedded font, and the text they stand for.

Only for PDFs written uncompressed (compress=False): the page content and the ToUnicode maps
are then plain text. pypdf is not a dependency; poppler-utils (pdftotext, pdftoppm) is used
where a reader's view is wanted (tests marked `poppler`).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.pdfbase import pdfmetrics

# Long sentences with no space in them, as these scripts are written.
UNSPACED = {
    "thai": "ประเทศไทยมีประชากรประมาณหกสิบเก้าล้านคนและเป็นสมาชิกผู้ก่อตั้งของสมาคมประชาชาติแห่งเอเชียตะวันออกเฉียงใต้"
    "ซึ่งก่อตั้งขึ้นในปีพุทธศักราชสองพันห้าร้อยสิบ",
    "lao": "ສາທາລະນະລັດປະຊາທິປະໄຕປະຊາຊົນລາວເປັນສະມາຊິກຂອງສະມາຄົມປະຊາຊາດແຫ່ງອາຊີຕາເວັນອອກສ່ຽງໃຕ້ນັບແຕ່ປີພັນເກົ້າຮ້ອຍເກົ້າສິບເຈັດ",
    "khmer": "ព្រះរាជាណាចក្រកម្ពុជាបានក្លាយជាសមាជិកនៃសមាគមប្រជាជាតិអាស៊ីអាគ្នេយ៍នៅឆ្នាំមួយពាន់ប្រាំបួនរយកៅសិបប្រាំបួន",
    "burmese": "မြန်မာနိုင်ငံသည်အရှေ့တောင်အာရှနိုင်ငံများအသင်းတွင်တစ်ထောင့်ကိုးရာကိုးဆယ့်ခုနစ်ခုနှစ်တွင်အဖွဲ့ဝင်ဖြစ်လာခဲ့သည်",
}


def assert_broken_between_words(sentence: str, lines: list[str]) -> None:
    """`lines` print `sentence` whole, each ending where the segmenter allows, none on a mark."""
    import unicodedata

    from config import line_breaks

    assert "".join(lines) == sentence
    words = set(line_breaks.line_breaks(sentence))
    at = 0
    for line in lines[:-1]:
        at += len(line)
        assert at in words, f"a line ends inside a word: …{sentence[at - 6 : at]}|{sentence[at : at + 6]}…"
        assert unicodedata.category(sentence[at])[0] != "M", "a line starts with a combining mark"


_OBJECT_RE = re.compile(rb"(\d+) 0 obj\r?\n(.*?)\r?\nendobj", re.S)
_STREAM_RE = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
_FONT_RE = re.compile(rb"/BaseFont /(?:[A-Z]{6}\+)?(\S+) .*?/Name /(\S+) .*?/ToUnicode (\d+) 0 R", re.S)
_BFCHAR_RE = re.compile(rb"<([0-9A-F]{2})> <([0-9A-F]+)>")
_CONTENTS_RE = re.compile(rb"/Contents (\d+) 0 R")
_TOKEN_RE = re.compile(
    rb"/Span <</ActualText <FEFF([0-9A-F]*)>>> BDC|(EMC)|/(\S+) [\d.]+ Tf|\(((?:\\[0-7]{1,3}|\\.|[^\\)])*)\)"
    rb"|(-?[\d.]+) Ts"
)
_ESCAPE_RE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(escaped, escaped)

    return _ESCAPE_RE.sub(one, literal)


@dataclass
class Drawn:
    """One string shown on a page: the embedded font's name, the codes, what ToUnicode makes of them."""

    font: str
    codes: bytes
    unicode: list[int]
    actual_text: str | None  # the /ActualText of the marked-content span it is drawn in
    rise: float = 0.0  # how far above the baseline (the text rise, Ts), in points

    @property
    def text(self) -> str:
        return "".join(chr(u) for u in self.unicode)


@dataclass
class PdfText:
    data: bytes
    fonts: dict[str, tuple[str, dict[int, int]]] = field(default_factory=dict)  # resource -> (font, ToUnicode)
    drawn: list[Drawn] = field(default_factory=list)

    @classmethod
    def read(cls, data: bytes) -> PdfText:
        objects = {int(number): body for number, body in _OBJECT_RE.findall(data)}
        pdf = cls(data)
        for body in objects.values():
            font = _FONT_RE.search(body)
            if font and b"/Subtype /TrueType" in body:
                name, resource, cmap_ref = font.groups()
                cmap = _STREAM_RE.search(objects[int(cmap_ref)])
                assert cmap, "the ToUnicode map is compressed: write the PDF with compress=False"
                to_unicode = {int(c, 16): int(u, 16) for c, u in _BFCHAR_RE.findall(cmap.group(1))}
                pdf.fonts[resource.decode()] = (name.decode(), to_unicode)
        for body in objects.values():
            if b"/Type /Page" in body and b"/Contents" in body:
                stream = _STREAM_RE.search(objects[int(_CONTENTS_RE.search(body).group(1))])
                pdf._read_content(stream.group(1))
        return pdf

    def _read_content(self, content: bytes) -> None:
        font, actual, rise = "", None, 0.0
        for match in _TOKEN_RE.finditer(content):
            span, emc, resource, literal, ts = match.groups()
            if ts is not None:
                rise = float(ts)
            elif span is not None:
                actual = bytes.fromhex(span.decode()).decode("utf-16-be")
            elif emc:
                actual = None
            elif resource is not None:
                font = resource.decode()
            elif font in self.fonts:
                name, to_unicode = self.fonts[font]
                codes = _unescape(literal)
                self.drawn.append(Drawn(name, codes, [to_unicode.get(c, 0) for c in codes], actual, rise))

    def glyphs_missing(self) -> list[tuple[str, str]]:
        """(font, character) for every drawn code that shows the font's .notdef (an empty box)."""
        missing = []
        for drawn in self.drawn:
            face = pdfmetrics.getFont("Report-" + drawn.font).face
            for code, u in zip(drawn.codes, drawn.unicode, strict=True):
                if code == 0 or face.charToGlyph.get(u, 0) == 0:
                    missing.append((drawn.font, chr(u)))
        return missing

    def spans(self) -> dict[str, list[Drawn]]:
        """ActualText -> what is drawn inside that span."""
        found: dict[str, list[Drawn]] = {}
        for drawn in self.drawn:
            if drawn.actual_text is not None:
                found.setdefault(drawn.actual_text, []).append(drawn)
        return found

    def fonts_drawing(self, text: str) -> set[str]:
        """The fonts whose glyphs draw `text` (within a span whose ActualText holds it, or as plain text)."""
        return {
            d.font
            for d in self.drawn
            if (d.actual_text is not None and text in d.actual_text) or (d.actual_text is None and text in d.text)
        }


def pdftotext(path: Path, *, layout: bool = False) -> str:
    """The text a reader copies out of the PDF; with layout, each printed line on a line of its own."""
    options = ["-layout"] if layout else []
    return subprocess.run(
        ["pdftotext", *options, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()


@dataclass(frozen=True)
class Word:
    """A word as pdftotext places it: its page (from 1), its box in points from the top left, its text."""

    page: int
    left: float
    top: float
    right: float
    bottom: float
    text: str


_WORD_RE = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def words(path: Path) -> list[Word]:
    """Every word of the PDF with where it is printed (pdftotext -bbox)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    return [
        Word(page, float(left), float(top), float(right), float(bottom), text)
        for page, body in enumerate(html.split("<page ")[1:], start=1)
        for left, top, right, bottom, text in _WORD_RE.findall(body)
    ]


def ink_box(png: Path) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) in pixels of everything drawn on a rendered page (not white)."""
    from PIL import Image, ImageOps

    with Image.open(png) as image:
        return ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 24 else 0).getbbox()


def render_page(path: Path, page: int, out_stem: Path, *, dpi: int = 110) -> Path:
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile", str(path), str(out_stem)],
        check=True,
        timeout=60,
    )
    return out_stem.with_suffix(".png")
