"""Text as it comes in and as it goes out: one place that decides which characters are kept.

Pasted text carries characters that are not text: Word's manual line break arrives as \\x0b,
its page break as \\x0c, terminals leave \\x1b and \\x07. XML 1.0 (every DOCX and XLSX) has no
place for them, so a single one used to make every document of its round fail. And Unicode's
bidirectional overrides and zero-width characters let a name or a file name display as
something else ("evil\\u202eexe.live" shows as "evil" + "evil.exe" reversed).

- clean_text: for every stored text (comment, proposed change, reply, section text, import
  row). NFC; \\r\\n, \\r, \\x0b, \\x0c, NEL, U+2028 and U+2029 become \\n; every other C0/C1
  control character (except \\t and \\n) and what XML cannot hold are dropped.
- clean_name: for names of people and organisations and uploaded file names: clean_text on
  one line, without bidi controls and zero-width characters, spaces collapsed.
- xml_text: what every document writer passes to python-docx, openpyxl and reportlab, so that
  text stored before clean_text existed (or written around it) cannot break a document.
- spreadsheet_text: a CSV cell (matrix, audit log) that a spreadsheet will not run as a formula.
- visible_controls: shows bidi controls and zero-width characters as [U+202E] on pages.
- attachment_disposition: a Content-Disposition header with an ASCII fallback (transliterated:
  đ as d) and RFC 6266 filename* in UTF-8 that keeps the words, without controls.
- filename_words: a title as words for a file name, in any script, or transliterated to ASCII.

This module lives in config/ because every app may import it (it imports nothing of theirs):
comments, consultations, accounts and consolidation all use it without breaking the import
direction between them.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from urllib.parse import quote

# Line breaks that are not \n: vertical tab (Word's Shift+Enter), form feed (page break),
# NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
_LINE_BREAKS_RE = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# C0 except \t and \n, DEL, C1; lone surrogates and the non-characters XML forbids.
_CONTROLS_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Bidi embeddings, overrides and isolates, the directional marks, zero-width characters, BOM.
BIDI_AND_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_INVISIBLE_RE = re.compile(f"[{BIDI_AND_INVISIBLE}]")
_SPACES_RE = re.compile(r"\s+")
# In ASCII text, what clean_text changes: C0 controls but \t and \n (\r, \x0b, \x0c among them), DEL.
_ASCII_UNCLEAN_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str | None) -> str:
    """Text to store: NFC, \\n line breaks, no control characters but \\t and \\n."""
    if not value:
        return ""
    text = str(value)
    if text.isascii() and _ASCII_UNCLEAN_RE.search(text) is None:
        return text  # already clean (ASCII is its own NFC): the common case of exports, made fast
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS_RE.sub("\n", text)
    return _CONTROLS_RE.sub("", text)


def clean_name(value: str | None) -> str:
    """A name or file name to store: clean_text on one line, no bidi controls or zero-width characters."""
    text = _INVISIBLE_RE.sub("", clean_text(value))
    return _SPACES_RE.sub(" ", text).strip()


def xml_text(value) -> str:
    """Any value as text that XML (DOCX, XLSX, reportlab markup) can hold; None is ""."""
    if value is None:
        return ""
    return clean_text(str(value))


# Cells a spreadsheet would run as a formula when a CSV is opened (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value) -> str:
    """xml_text for a CSV cell, with an apostrophe before what a spreadsheet would run as a formula."""
    text = xml_text(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def visible_controls(value) -> str:
    """Bidi controls and zero-width characters as visible [U+XXXX] marks; the rest unchanged."""
    if value is None:
        return ""
    return _INVISIBLE_RE.sub(lambda match: f"[U+{ord(match.group()):04X}]", str(value))


# Letters that NFKD does not decompose into a base letter and marks, so that dropping the marks
# would drop the letter ("sửa đổi" became "sua-oi"); and dashes, which would vanish.
_TRANSLITERATIONS = str.maketrans(
    {
        "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ŀ": "l", "Ŀ": "L",
        "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS", "þ": "th", "Þ": "Th",
        "ħ": "h", "Ħ": "H", "ı": "i", "ŧ": "t", "Ŧ": "T", "ŋ": "ng", "Ŋ": "NG", "ĸ": "k",
        "–": "-", "—": "-", "‐": "-", "‑": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
    }
)  # fmt: skip


def transliterate(value: str) -> str:
    """Latin text in ASCII: accents dropped, đ as d, æ as ae, ß as ss; other scripts dropped."""
    decomposed = unicodedata.normalize("NFKD", value).translate(_TRANSLITERATIONS)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def ascii_filename(name: str, *, default: str = "download") -> str:
    """An ASCII stand-in for a file name: transliterated, anything else unsafe as "_"."""
    ascii_only = transliterate(clean_name(name))
    safe = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", ascii_only).strip(" ._")
    return safe or default


def filename_words(value: str, *, ascii: bool = False, max_length: int = 120) -> str:
    """Words for a file name, lower case, joined by "-": "Vòng góp ý sửa đổi" -> "vòng-góp-ý-sửa-đổi".

    Like Django's slugify, but letters keep their marks in every script (slugify's allow_unicode
    drops Thai vowel signs and Khmer subscripts, which are marks, not word characters); with
    ascii=True transliterated first ("vong-gop-y-sua-doi"). Cut at a word's end within max_length.
    """
    text = clean_name(value)
    if ascii:
        text = transliterate(text)
    kept = "".join(
        char if unicodedata.category(char)[0] in "LMN" else "-" if char in " -_" else "" for char in text.lower()
    )
    words = re.sub("-+", "-", kept).strip("-")
    if len(words) > max_length:
        cut = words[: max_length + 1]
        words = cut.rsplit("-", 1)[0] if "-" in cut else words[:max_length]
    return words


def attachment_disposition(name: str, *, as_attachment: bool = True) -> str:
    """Content-Disposition for a download: filename= in ASCII for old clients, filename*= in UTF-8."""
    kind = "attachment" if as_attachment else "inline"
    cleaned = clean_name(name).replace("/", "_").replace("\\", "_") or "download"
    fallback = ascii_filename(cleaned)
    header = f'{kind}; filename="{fallback}"'
    if fallback != cleaned:
        header += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return header


def xml_safe(value):
    """xml_text applied to every string inside `value`: dataclasses, lists, tuples and dicts are copied.

    The revision writers take a whole report (dataclasses of strings); cleaning it once here
    means a field added later is covered too.
    """
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, list):
        return [xml_safe(item) for item in value]
    if isinstance(value, tuple):
        return tuple(xml_safe(item) for item in value)
    if isinstance(value, dict):
        return {key: xml_safe(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: xml_safe(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value
