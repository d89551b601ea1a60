"""Text in PDFs: a font for every ASEAN script, complex scripts shaped, and text that copies back out.

No single font covers Latin with Vietnamese, Thai, Lao, Burmese and Khmer. Every PDF writer
of the platform (reportlab platypus) passes user text through `ReportText.markup`, which
splits it into runs by script and wraps each run in the font that covers it
(`<font name=...>` in Paragraph markup); `ReportText.paragraph` builds the Paragraph and
turns shaping on for the paragraphs that hold a complex script.

Fonts (looked for in settings.REPORT_FONT_DIRS, default: where Debian's fonts-noto-core and
fonts-dejavu-core put them):

    latin    Noto Sans (Latin, Vietnamese, Greek, Cyrillic), else DejaVu Sans
    thai     Noto Sans Thai         lao      Noto Sans Lao
    khmer    Noto Sans Khmer        myanmar  Noto Sans Myanmar

A missing font is never a silent fallback. With settings.REPORT_FONTS_REQUIRED (production,
and the test suite under CI=true) `report_fonts()` raises ImproperlyConfigured naming what to
install. Otherwise it logs an error, and `ReportText.missing_scripts` tells the writer which
scripts of this document had no font, so that the document says so itself.

Shaping: reportlab 5.1 shapes a word with uharfbuzz when the paragraph style has shaping=1
and the font is a shapable TrueType font. Two gaps in it are closed here, once, by
`_install_shaping` (reportlab is pinned; tests/config/test_pdf_text.py guards both):

- a word whose runs use two fonts ("น้ำ," where the comma comes from Noto Sans, which Noto
  Sans Thai lacks) was shaped whole with the first run's font, so the other runs drew wrong
  glyphs. Each font's run is now shaped on its own; Latin runs are left unshaped, as before
  (Vietnamese is precomposed NFC, and unshaped Latin keeps one string per word in the page).
- shaped glyphs that no character maps to (Khmer subscripts, Thai tone marks moved below or
  aside, ligatures) get private-use codes, and pre-base vowels (Khmer េ ែ ៃ, Burmese ေ ြ) are
  drawn before their consonant, and marks are moved by offsets: copied text came out as
  "ែខ\\ue002រ" for "ខ្មែរ", and "ดิจท / ิ ั" for "ดิจิทัล". Each shaped run is now drawn inside a
  marked-content span whose /ActualText is its source text (PDF 32000-1, 14.9.4), which
  pdftotext, Acrobat and pdf.js copy instead of the glyphs.

Line breaks: Thai, Lao, Khmer and Burmese write no spaces between words, and reportlab breaks
lines only at spaces (or anywhere, in a word too long for the line): a long unspaced sentence
broke at the margin, between two letters of a word or between a letter and its mark, or ran
past it. A third replacement, of reportlab's `_getFragWords` (the words a paragraph's lines are
filled with), cuts every word that holds one of those scripts at the breaks ICU's dictionaries
give (config.line_breaks, UAX #14), as pieces that join with no space when they share a line;
a piece still wider than the line is cut between clusters (never before a mark). The word is
shaped once, whole, and cut between its glyphs at those offsets (only where a HarfBuzz cluster
starts), so the pieces keep the whole word's glyphs and widths and are not shaped again. Words
without those scripts keep reportlab's own handling, unless one is wider than the line: then it
is cut between clusters too, not between a letter and its combining mark. Without icu4py
`report_fonts()` fails where REPORT_FONTS_REQUIRED, as for a missing font.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import ShapeData, ShapedFragWord, ShapedStr, TTFont, makeShapedFragWord
from reportlab.platypus import Paragraph, paragraph

from . import line_breaks

logger = logging.getLogger(__name__)

LATIN = "latin"
# The complex scripts of ASEAN member states, and their Unicode blocks.
SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "thai": ((0x0E00, 0x0E7F),),
    "lao": ((0x0E80, 0x0EFF),),
    "myanmar": ((0x1000, 0x109F), (0xAA60, 0xAA7F), (0xA9E0, 0xA9FF)),
    "khmer": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
}
COMPLEX_SCRIPTS = tuple(SCRIPT_RANGES)
# The least leading, in font sizes, at which lines of each script do not touch: marks above and
# below (Thai, Lao), subscripts (Khmer) and Burmese's tall medials and stacked vowels.
SCRIPT_LEADING = {"thai": 1.4, "lao": 1.5, "khmer": 1.65, "myanmar": 1.9}

# Per script: the acceptable fonts, best first, each as (regular file, bold file).
FONT_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    LATIN: (("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"), ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")),
    "thai": (("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),),
    "lao": (("NotoSansLao-Regular.ttf", "NotoSansLao-Bold.ttf"),),
    "myanmar": (("NotoSansMyanmar-Regular.ttf", "NotoSansMyanmar-Bold.ttf"),),
    "khmer": (("NotoSansKhmer-Regular.ttf", "NotoSansKhmer-Bold.ttf"),),
}
FONT_LABELS = {
    LATIN: "Noto Sans (or DejaVu Sans)",
    "thai": "Noto Sans Thai",
    "lao": "Noto Sans Lao",
    "myanmar": "Noto Sans Myanmar",
    "khmer": "Noto Sans Khmer",
}
DEBIAN_PACKAGES = "fonts-noto-core (fonts-dejavu-core for DejaVu Sans)"
DEFAULT_FONT_DIRS = ["/usr/share/fonts/truetype/noto", "/usr/share/fonts/truetype/dejavu"]

_SCRIPT_OF: dict[int, str] = {
    cp: script for script, ranges in SCRIPT_RANGES.items() for low, high in ranges for cp in range(low, high + 1)
}
_COMPLEX_RE = re.compile(
    "[" + "".join(f"\\u{low:04x}-\\u{high:04x}" for ranges in SCRIPT_RANGES.values() for low, high in ranges) + "]"
)
_JOINERS = {0x200C, 0x200D, 0x034F}  # ZWNJ, ZWJ and CGJ shape with the letters around them
_INHERITED, _COMMON = "inherited", "common"


def _char_class(cp: int) -> str:
    """The script of a character, or _INHERITED (a mark: stays with its base), or _COMMON (any font)."""
    script = _SCRIPT_OF.get(cp)
    if script is not None:
        return script
    if cp in _JOINERS:
        return _INHERITED
    category = unicodedata.category(chr(cp))
    if category[0] == "M":
        return _INHERITED
    if category[0] == "L":
        return LATIN
    return _COMMON


@dataclass(frozen=True)
class FontFaces:
    """One script's font as registered with reportlab: names for markup and styles, the file."""

    script: str
    regular: str
    bold: str
    file: str
    chars: frozenset[int]


def font_files(dirs: list[str] | None = None) -> tuple[dict[str, tuple[Path, Path]], list[str]]:
    """The font files found for each script (regular, bold), and the scripts without one."""
    dirs = list(dirs if dirs is not None else getattr(settings, "REPORT_FONT_DIRS", DEFAULT_FONT_DIRS))
    found: dict[str, tuple[Path, Path]] = {}
    for script, choices in FONT_FILES.items():
        for regular_name, bold_name in choices:
            regular = next((Path(d) / regular_name for d in dirs if (Path(d) / regular_name).is_file()), None)
            if regular is None:
                continue
            bold = next((Path(d) / bold_name for d in dirs if (Path(d) / bold_name).is_file()), regular)
            found[script] = (regular, bold)
            break
    return found, [script for script in FONT_FILES if script not in found]


def _register(script: str, regular: str, bold: str) -> FontFaces:
    """Register a regular and a bold face as one family (so that <b> picks the bold)."""
    names = []
    for path in (regular, bold):
        name = "Report-" + Path(path).stem
        registered = name in pdfmetrics.getRegisteredFontNames()
        existing = pdfmetrics.getFont(name) if registered else None  # the same file again would only waste a parse
        if not (isinstance(existing, TTFont) and existing.face.filename == path):
            pdfmetrics.registerFont(TTFont(name, path))
        names.append(name)
    pdfmetrics.registerFontFamily(names[0], normal=names[0], bold=names[1], italic=names[0], boldItalic=names[1])
    font = pdfmetrics.getFont(names[0])
    assert isinstance(font, TTFont)
    return FontFaces(script, names[0], names[1], font.face.filename, frozenset(font.face.charToGlyph))


@dataclass(frozen=True)
class FontSet:
    """The registered fonts of one configuration: a face per script found, and what is missing."""

    faces: dict[str, FontFaces]
    missing: tuple[str, ...]

    @property
    def base(self) -> FontFaces:
        return self.faces[LATIN]

    def text(self) -> ReportText:
        """A fresh writer of markup for one document (it records the scripts it could not show)."""
        return ReportText(self)


_FONT_SETS: dict[tuple[str, ...], FontSet] = {}


def report_fonts() -> FontSet:
    """Register the report fonts (once per REPORT_FONT_DIRS) and install the shaping fixes.

    Raises ImproperlyConfigured when a font is missing and settings.REPORT_FONTS_REQUIRED is on;
    otherwise logs an error (each time a document is made, so that it is seen).
    """
    dirs = tuple(getattr(settings, "REPORT_FONT_DIRS", DEFAULT_FONT_DIRS))
    fonts = _FONT_SETS.get(dirs)
    if fonts is None:
        found, missing = font_files(list(dirs))
        faces = {script: _register(script, str(regular), str(bold)) for script, (regular, bold) in found.items()}
        if LATIN not in faces:  # reportlab's own Vera: Latin without Vietnamese letters
            vera = Path(reportlab.__file__).parent / "fonts"
            faces[LATIN] = _register(LATIN, str(vera / "Vera.ttf"), str(vera / "VeraBd.ttf"))
        fonts = _FONT_SETS[dirs] = FontSet(faces, tuple(missing))
        _install_shaping()
    problems = []
    if fonts.missing:
        problems.append(missing_fonts_message(fonts.missing, list(dirs)))
    if getattr(ttfonts, "uharfbuzz", None) is None:
        problems.append("uharfbuzz is not installed (requirements.txt): Thai, Lao, Khmer and Burmese print unshaped.")
    if line_breaks.SEGMENTER is None:
        problems.append(
            f"{line_breaks.PACKAGE} is not installed: lines of Thai, Lao, Khmer and Burmese break inside words."
        )
    if problems:
        if getattr(settings, "REPORT_FONTS_REQUIRED", False):
            raise ImproperlyConfigured(" ".join(problems))
        logger.error("%s", " ".join(problems))
    return fonts


def missing_fonts_message(missing: tuple[str, ...] | list[str], dirs: list[str]) -> str:
    wanted = ", ".join(f"{FONT_LABELS[s]} ({FONT_FILES[s][0][0]})" for s in missing)
    return (
        f"PDF reports need fonts that are not installed: {wanted}; looked in REPORT_FONT_DIRS={dirs}. "
        f"Install Debian's {DEBIAN_PACKAGES} or point REPORT_FONT_DIRS at the directories that hold them "
        "(docs/production.md). Until then, text in those scripts prints as empty boxes."
    )


_SHAPERS: dict[str, tuple[Any, int]] = {}


def printed_width(text: str, size: float) -> float:
    """The width in points of `text` at `size` in the report fonts, each script in its own, shaped by HarfBuzz.

    What a Word file's line takes when its runs name those fonts (ooxml.complex_script_font):
    the draft DOCX makes a line of Thai, Lao, Khmer or Burmese smaller when it would not fit its
    column (draft_docx), as LibreOffice and Word would otherwise wrap it under one line number.
    """
    import uharfbuzz

    fonts = report_fonts()
    total = 0.0
    for script, piece in fonts.text().runs(text):
        path = fonts.faces.get(script, fonts.base).file
        if path not in _SHAPERS:
            face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
            _SHAPERS[path] = (uharfbuzz.Font(face), face.upem)
        font, upem = _SHAPERS[path]
        buffer = uharfbuzz.Buffer()
        buffer.add_str(piece)
        buffer.guess_segment_properties()
        uharfbuzz.shape(font, buffer, {})
        total += sum(position.x_advance for position in buffer.glyph_positions) * size / upem
    return total


def complex_script_of(text: str) -> str | None:
    """The first of Thai, Lao, Khmer and Burmese that `text` holds, if any."""
    found = _COMPLEX_RE.search(text)
    return _SCRIPT_OF[ord(found.group())] if found else None


# --- markup -----------------------------------------------------------------------------------


@dataclass
class ReportText:
    """Paragraph markup for one document, with each script in its font."""

    fonts: FontSet
    missing_scripts: set[str] = field(default_factory=set)  # met in the text, with no font for them
    no_glyph: set[str] = field(default_factory=set)  # characters no report font has
    _shaped_styles: dict[tuple[int, float], ParagraphStyle] = field(default_factory=dict)

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` as (script whose font draws it, text) runs; marks and joiners stay with their base."""
        base = self.fonts.base
        if text.isascii() or (not _COMPLEX_RE.search(text) and set(map(ord, text)) <= base.chars):
            return [(LATIN, text)] if text else []
        faces = self.fonts.faces
        runs: list[tuple[str, str]] = []
        current, start = LATIN, 0
        for index, char in enumerate(text):
            cp = ord(char)
            kind = _char_class(cp)
            if kind == _INHERITED:
                continue  # with the character before it, whatever font that is
            if kind == _COMMON:
                # Spaces, digits and punctuation stay in the run's font when it has them.
                font = current if cp in faces.get(current, base).chars else LATIN
            elif kind == LATIN:
                font = LATIN
            elif kind in faces:
                font = kind
            else:
                self.missing_scripts.add(kind)
                font = LATIN
            if font == LATIN and cp not in base.chars:
                self.no_glyph.add(char)
            if font != current:
                if index > start:
                    runs.append((current, text[start:index]))
                current, start = font, index
        runs.append((current, text[start:]))
        return runs

    def markup(self, text: str, *, bold: bool = False) -> str:
        """Escaped Paragraph markup of plain `text`: newlines as <br/>, each script in its font.

        bold: the text sits in bold (a bold style, or inside <b>): a <font name=...> resets the
        weight in reportlab's markup, so the bold face is named here.
        """
        parts = []
        faces = self.fonts.faces
        for script, run in self.runs(text):
            escaped = escape(run).replace("\n", "<br/>")
            if script == LATIN:
                parts.append(escaped)
            else:
                face = faces[script]
                parts.append(f'<font name="{face.bold if bold else face.regular}">{escaped}</font>')
        return "".join(parts)

    def bold(self, text: str) -> str:
        """Markup of `text` in bold."""
        return f"<b>{self.markup(text, bold=True)}</b>"

    def scripts_in(self, markup: str) -> list[str]:
        """The complex scripts whose fonts `markup` names."""
        faces = self.fonts.faces
        return [
            s
            for s in COMPLEX_SCRIPTS
            if s in faces and any(f'"{n}"' in markup for n in (faces[s].regular, faces[s].bold))
        ]

    def needs_shaping(self, markup: str) -> bool:
        return bool(self.scripts_in(markup))

    def paragraph(self, markup: str, style: ParagraphStyle) -> Paragraph:
        """A Paragraph of markup made with `markup()`; shaped when it holds a complex script.

        Its lines are spaced for the tallest script in it (SCRIPT_LEADING): Burmese stacks
        above and below the line far more than Latin, and at a Latin leading its lines touch.
        """
        scripts = self.scripts_in(markup)
        if scripts:
            leading = max(style.leading, style.fontSize * max(SCRIPT_LEADING[s] for s in scripts))
            key = (id(style), leading)
            shaped = self._shaped_styles.get(key)
            if shaped is None:
                shaped = self._shaped_styles[key] = ParagraphStyle(style.name + "-shaped", parent=style)
                shaped.shaping = 1
                shaped.leading = leading
            style = shaped
        return Paragraph(markup, style)

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        """A Paragraph of plain text, in the style's weight."""
        return self.paragraph(self.markup(text, bold=self.is_bold(style)), style)

    def is_bold(self, style: ParagraphStyle) -> bool:
        return style.fontName in {face.bold for face in self.fonts.faces.values()}

    def missing_labels(self) -> list[str]:
        return sorted(FONT_LABELS[s] for s in self.missing_scripts)


# --- shaping fixes ----------------------------------------------------------------------------


class SourcedShapeData(ShapeData):
    """A shaped glyph's data, with the source text of its cluster (on the cluster's first glyph)."""

    source: str


def _shape_data(text: ShapedStr) -> list:
    return getattr(text, "__shapeData__")  # noqa: B009 (reportlab's attribute, not in its type stubs)


_COMPLEX_NAMES: dict[int, frozenset[str]] = {}


def _complex_font_names() -> frozenset[str]:
    """The registered faces of the complex scripts (asked once per word: kept per set of font sets)."""
    names = _COMPLEX_NAMES.get(len(_FONT_SETS))
    if names is None:
        names = _COMPLEX_NAMES[len(_FONT_SETS)] = frozenset(
            name
            for fonts in _FONT_SETS.values()
            for script, face in fonts.faces.items()
            if script != LATIN
            for name in (face.regular, face.bold)
        )
    return names


def _with_sources(shaped: list, text: str) -> list:
    """Give each shaped glyph the text of its cluster: the ActualText of what it draws."""
    clusters = sorted({sd.cluster for _f, s in shaped[1:] if isinstance(s, ShapedStr) for sd in _shape_data(s)})
    ends = dict(zip(clusters, clusters[1:] + [len(text)], strict=True))
    seen: set[int] = set()
    for index, (frag, piece) in enumerate(shaped[1:], start=1):
        if not isinstance(piece, ShapedStr):
            continue
        data = []
        for sd in _shape_data(piece):
            sourced = SourcedShapeData(*sd)
            sourced.source = "" if sd.cluster in seen else text[sd.cluster : ends[sd.cluster]]
            seen.add(sd.cluster)
            data.append(sourced)
        shaped[index] = (frag, ShapedStr(str(piece), shapeData=data))  # type: ignore[arg-type]
    return shaped


def _shape_pieces(word) -> tuple[float, list, list[tuple[int, bool]]] | None:
    """A word's pieces shaped one font's run at a time: (width, pieces, where each piece starts).

    Each piece's start is (offset in the word's text, shaped): a shaped piece's glyphs hold
    clusters counted from its run's start, an unshaped piece's characters follow from its own.
    None for a word with no complex script's font.
    """
    complex_names = _complex_font_names()
    pieces = word[1:]
    if not any(f.fontName in complex_names for f, _s in pieces if not hasattr(f, "cbDefn")):
        return None
    groups: list[list] = []
    for frag, text in pieces:
        key = None if hasattr(frag, "cbDefn") else frag.fontName
        if groups and groups[-1][0] == key and key is not None:
            groups[-1][1].append((frag, text))
        else:
            groups.append([key, [(frag, text)]])
    width = 0.0
    merged: list = []
    starts: list[tuple[int, bool]] = []
    offset = 0
    for key, group in groups:
        text = "".join(t for _f, t in group)
        if key in complex_names:
            shaped = _ORIGINALS["shape"]([0.0, *group])
            if isinstance(shaped, ShapedFragWord):
                shaped = _with_sources(list(shaped), text)
                width += shaped[0]
                merged.extend(shaped[1:])
                starts.extend((offset, True) for _piece in shaped[1:])
                offset += len(text)
                continue
        if key is not None:
            width += sum(pdfmetrics.stringWidth(t, f.fontName, f.fontSize) for f, t in group)
        for frag, piece in group:
            merged.append((frag, piece))
            starts.append((offset, False))
            offset += len(piece)
    return width, merged, starts


def _shape_frag_word(word):
    """reportlab's shapeFragWord, one font's run at a time, complex scripts only (see the module)."""
    if isinstance(word, ShapedFragWord):
        return word
    shaped = _shape_pieces(word)
    if shaped is None:
        return word  # Latin only: left as reportlab would draw it unshaped
    width, merged, _starts = shaped
    return makeShapedFragWord(word)([width, *merged])


def _actual_text(text: str) -> str:
    """A PDF text string in UTF-16BE, as hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _format_text(self, text):
    """PDFTextObject._formatText, shaped text inside an /ActualText span that holds its source text."""
    code = _ORIGINALS["format"](self, text)
    if isinstance(text, ShapedStr):
        data = _shape_data(text)
        if any(isinstance(sd, SourcedShapeData) for sd in data):
            source = "".join(
                sd.source if isinstance(sd, SourcedShapeData) else char for sd, char in zip(data, text, strict=False)
            )
            # Always, not only when the glyphs map to other characters: marks moved by the shaper
            # (x offsets) are enough for pdftotext to read "ดิจิทัล" as "ดิจท\nิ ั".
            return f"/Span <</ActualText {_actual_text(source)}>> BDC {code} EMC"
    return code


# --- line breaks -----------------------------------------------------------------------------


def _pieces_between(pieces: list, start: int, end: int) -> list:
    """The (frag, text) pieces of a word's text[start:end], each frag with its part of the text."""
    out, at = [], 0
    for frag, text in pieces:
        low, high = max(start, at), min(end, at + len(text))
        if low < high:
            out.append((frag, text[low - at : high - at]))
        at += len(text)
    return out


def _pieces_width(pieces: list) -> float:
    return sum(pdfmetrics.stringWidth(t, f.fontName, f.fontSize) for f, t in pieces)


# reportlab's names for a word with soft hyphens, and for the frag kind of plain text.
_SHYWord = getattr(paragraph, "_SHYWord")  # noqa: B009 (private, not in the type stubs)
_FK_TEXT = getattr(paragraph, "_FK_TEXT")  # noqa: B009


def _segment_frag_word(word: list, max_width: float | None) -> list:
    """A word cut at its line break opportunities, as words that join with no space (see the module)."""
    if isinstance(word, (_SHYWord, ShapedFragWord)) or len(word) < 2:
        return [word]  # soft hyphens are reportlab's own; shaped words were segmented already
    pieces = word[1:]
    if any(hasattr(f, "cbDefn") or getattr(f, "_fkind", _FK_TEXT) != _FK_TEXT for f, _t in pieces):
        return [word]
    text = "".join(t for _f, t in pieces)
    if not _COMPLEX_RE.search(text):
        if not max_width or word[0] <= max_width:
            return [word]  # no complex script, and it fits: reportlab's word as it was
        return _cut(word, text, pieces, None, (), max_width)
    shaped = _shape_pieces(word)
    if shaped is None:  # the script's font is missing (its letters are boxes): cut as written
        return _cut(word, text, pieces, None, line_breaks.line_breaks(text), max_width)
    # Shaped once, as a whole, then cut between its clusters: the pieces keep the glyphs and
    # widths of the whole word's shaping, and each piece is a shaped word already.
    _width, merged, starts = shaped
    return _cut(word, text, merged, starts, line_breaks.line_breaks(text), max_width)


def _cut(
    word: list, text: str, pieces: list, starts: list[tuple[int, bool]] | None, cuts: tuple[int, ...], max_width
) -> list:
    """`word` cut at `cuts` and, where a piece is still wider than max_width, between clusters.

    pieces: (frag, str or ShapedStr) drawing `text` in order; starts: for each, its offset in
    text and whether it is shaped (None: the word's own pieces, none shaped).
    """
    if starts is None:
        starts, at = [], 0
        for _frag, piece in pieces:
            starts.append((at, False))
            at += len(piece)
    offsets: list[list[int]] = []  # for each piece: the offset in text of each of its glyphs
    advances = [0.0] * (len(text) + 1)
    for (frag, piece), (base, is_shaped) in zip(pieces, starts, strict=True):
        if is_shaped:
            data = _shape_data(piece)
            offsets.append([base + sd.cluster for sd in data])
            for offset, sd in zip(offsets[-1], data, strict=True):
                advances[offset] += sd.x_advance * frag.fontSize / 1000
        else:
            offsets.append(list(range(base, base + len(piece))))
            for offset, char in zip(offsets[-1], piece, strict=True):
                advances[offset] += pdfmetrics.stringWidth(char, frag.fontName, frag.fontSize)
    # Only where a glyph's cluster starts: a cut inside a shaped cluster would split its glyphs.
    starts_at = {offset for glyphs in offsets for offset in glyphs}
    bounds = [0, *(c for c in cuts if c in starts_at), len(text)]
    final = [0]
    for start, end in zip(bounds, bounds[1:], strict=False):
        if max_width and sum(advances[start:end]) > max_width:  # wider than the line
            final.extend(i for i in line_breaks.cluster_breaks(text) if start < i < end and i in starts_at)
        final.append(end)
    if len(final) == 2:
        return [word]
    shaped_kind = any(isinstance(p, ShapedStr) for _f, p in pieces)
    words = []
    for index, (start, end) in enumerate(zip(final, final[1:], strict=False)):
        part: list[tuple[Any, str]] = []
        for (frag, piece), glyphs in zip(pieces, offsets, strict=True):
            # Glyphs are in the order of their clusters (left to right, HarfBuzz's monotone clusters).
            low, high = bisect_left(glyphs, start), bisect_left(glyphs, end)
            if low == high:
                continue
            if isinstance(piece, ShapedStr):
                data = _shape_data(piece)[low:high]
                part.append((frag, ShapedStr(str.__getitem__(piece, slice(low, high)), shapeData=data)))  # type: ignore[arg-type]
            else:
                part.append((frag, piece[low:high]))
        # Only the last piece keeps the word's kind (_HSFrag: a space follows it); a plain list
        # is a word that the next one follows with no space.
        kind = type(word) if index == len(final) - 2 else list
        if shaped_kind:
            kind = makeShapedFragWord(kind())
        words.append(kind([sum(advances[start:end]), *part]))
    return words


def _get_frag_words(frags, maxWidth=None):  # noqa: N803 (reportlab's signature)
    """reportlab's _getFragWords, each word cut where a line may break inside it."""
    words = _ORIGINALS["frag_words"](frags, maxWidth)
    if getattr(paragraph, "_processed_frags")(frags):  # noqa: B009
        return words  # the rest of a split paragraph: its words are cut already
    return [piece for word in words for piece in _segment_frag_word(word, maxWidth)]


def _set_rise(self, rise):
    """PDFTextObject.setRise, remembering the rise it sets when it replaces the previous one.

    reportlab 5.1 replaces "a Ts" followed at once by "b Ts" with "b Ts" but keeps "a" as the
    current rise, so the glyph after a mark lowered by the shaper was drawn lowered too: in
    "កម្ពុជា" the vowel ុ sits under the subscript ព, and ជា was drawn down there with it.
    """
    code = f"{fp_str(rise)} Ts"
    if self._code and self._code[-1].endswith(" Ts"):
        self._y += self._rise  # undo the replaced rise
        self._code[-1] = code
    else:
        self._code.append(code)
    self._rise = rise
    self._y -= rise


_ORIGINALS: dict[str, Any] = {}


def _install_shaping() -> None:
    if _ORIGINALS:
        return
    from reportlab.pdfgen import textobject

    _ORIGINALS["shape"] = getattr(paragraph, "shapeFragWord")  # noqa: B009 (not in the type stubs)
    _ORIGINALS["format"] = getattr(textobject.PDFTextObject, "_formatText")  # noqa: B009
    _ORIGINALS["frag_words"] = getattr(paragraph, "_getFragWords")  # noqa: B009
    _ORIGINALS["rise"] = textobject.PDFTextObject.setRise
    setattr(paragraph, "shapeFragWord", _shape_frag_word)  # noqa: B010
    setattr(textobject.PDFTextObject, "_formatText", _format_text)  # noqa: B010
    setattr(paragraph, "_getFragWords", _get_frag_words)  # noqa: B010
    setattr(textobject.PDFTextObject, "setRise", _set_rise)  # noqa: B010
