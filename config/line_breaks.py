"""Where a line of text may break: words in Thai, Lao, Khmer and Burmese, never inside a letter.

Thai, Lao, Khmer and Burmese write no spaces between words. Where a line may end in them is
found with a dictionary, as word processors and browsers do: ICU's line break iterator
(UAX #14, with ICU's dictionaries for those four scripts), through icu4py, whose wheel carries
its own ICU (no system library). `line_breaks(text)` gives those opportunities;
`cluster_breaks(text)` gives the places where text may be cut when a single word is longer
than the line (an emergency break, as CSS's overflow-wrap): between user-perceived characters
(ICU's grapheme clusters), never before a combining mark nor after a Thai or Lao vowel written
before its consonant.

Offsets are code points of the Python string (ICU counts UTF-16 units; they are converted).

Without icu4py (`SEGMENTER` is None) there are no breaks inside an unspaced run, and clusters
are approximated from Unicode categories; config.pdf_text.report_fonts() then fails where
settings.REPORT_FONTS_REQUIRED (production, CI) and logs an error elsewhere.
"""

from __future__ import annotations

import importlib
import unicodedata
from functools import lru_cache
from typing import Any


def _breakers() -> Any:
    try:
        return importlib.import_module("icu4py.breakers")
    except ImportError:  # report_fonts() says so, and fails where fonts are required
        return None


_ICU = _breakers()
SEGMENTER = "icu4py" if _ICU is not None else None
PACKAGE = "icu4py (requirements.txt)"

# ZWJ, ZWNJ and CGJ join what is around them; Khmer's coeng and Burmese's virama stack the next
# consonant under this one.
_JOIN_NEXT = frozenset("\u200d\u200c\u034f\u17d2\u1039")
# Thai and Lao vowels written before the consonant they follow in speech (Logical_Order_Exception).
_PREPENDED = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44\u0ec0\u0ec1\u0ec2\u0ec3\u0ec4")


def _offsets(pieces: Any) -> list[int]:
    """The end offset, in code points, of every piece but the last."""
    ends, at = [], 0
    for piece in pieces:
        at += len(piece)
        ends.append(at)
    return ends[:-1]


def _allowed(text: str, index: int) -> bool:
    """False where a cut before text[index] would split a letter from its mark or its vowel."""
    if unicodedata.category(text[index])[0] == "M" or text[index] in _JOIN_NEXT:
        return False
    before = text[index - 1]
    return before not in _JOIN_NEXT and before not in _PREPENDED


@lru_cache(maxsize=8192)
def cluster_breaks(text: str) -> tuple[int, ...]:
    """Offsets 0 < i < len(text) between user-perceived characters, where a too-long word may be cut."""
    if _ICU is not None:
        candidates = _offsets(_ICU.CharacterBreaker(text, "und"))
    else:
        candidates = list(range(1, len(text)))
    return tuple(i for i in candidates if _allowed(text, i))


@lru_cache(maxsize=8192)
def line_breaks(text: str) -> tuple[int, ...]:
    """Offsets 0 < i < len(text) where a line may end before text[i] (UAX #14 with dictionaries).

    The break after a space is before the next word, as UAX #14 gives it; every offset is also
    between clusters (cluster_breaks).
    """
    if _ICU is None or len(text) < 2:
        return ()
    clusters = set(cluster_breaks(text))
    return tuple(i for i in _offsets(_ICU.LineBreaker(text, "und")) if i in clusters)
