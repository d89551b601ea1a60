"""What a search matched, shown: words folded as the database folds them, and a snippet with <mark>.

The database matches accent-insensitively (text_search_fold, unaccent: "quy hoach" finds "quy
hoạch"); the page must mark the same words in the text as written. `fold` maps each character
to one character (its base letter, lowercased; đ to d), so a position in the folded text is the
same position in the original, and the marks land on the letters as written.

Pure: no database, no Django model.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

QUERY_MAX_LENGTH = 200
SNIPPET_CHARS = 240
WORD = re.compile(r"\w+", re.UNICODE)
# Operators of websearch_to_tsquery that are not words to find: "or", and words after "-".
NEGATED = re.compile(r"(?:^|\s)-\"[^\"]*\"|(?:^|\s)-\w+", re.UNICODE)
SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "s"}


def fold_char(char: str) -> str:
    if char in SPECIAL:
        return SPECIAL[char]
    base = unicodedata.normalize("NFD", char)[0]
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def fold(text: str) -> str:
    """Accents off, lowercased, one character for one: len(fold(t)) == len(t)."""
    return "".join(fold_char(c) for c in text)


def query_terms(query: str) -> list[str]:
    """The folded words a query looks for (not "or", not the words it excludes with "-")."""
    wanted = NEGATED.sub(" ", query)
    seen: list[str] = []
    for word in WORD.findall(fold(wanted)):
        if word != "or" and word not in seen:
            seen.append(word)
    return seen


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.UNICODE)


def has_match(text: str, terms: list[str]) -> bool:
    pattern = _pattern(terms)
    return bool(pattern and pattern.search(fold(text or "")))


def snippet(text: str, terms: list[str], *, width: int = SNIPPET_CHARS) -> SafeString:
    """About `width` characters of `text` around its first match, the matched words in <mark>, escaped."""
    text = text or ""
    folded = fold(text)
    pattern = _pattern(terms)
    matches = list(pattern.finditer(folded)) if pattern else []
    start = 0
    if matches and len(text) > width:
        first = matches[0].start()
        start = max(0, first - width // 3)
        # Begin at a word: back to the space before, unless that is the text's start.
        space = text.rfind(" ", 0, start)
        start = 0 if space < 0 or start == 0 else space + 1
    end = min(len(text), start + width)
    if end < len(text):
        space = text.find(" ", end)
        end = len(text) if space < 0 or space - end > 30 else space
    parts = ["…" if start > 0 else ""]
    position = start
    for match in matches:
        if match.end() <= start or match.start() >= end:
            continue
        a, b = max(match.start(), start), min(match.end(), end)
        parts.append(escape(text[position:a]))
        parts.append(f"<mark>{escape(text[a:b])}</mark>")
        position = b
    parts.append(escape(text[position:end]))
    if end < len(text):
        parts.append("…")
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text is escaped above
