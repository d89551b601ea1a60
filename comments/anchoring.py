"""Text anchors as in the W3C Web Annotation data model.

An anchor is a TextQuoteSelector (exact, prefix, suffix) plus a TextPositionSelector
(start, end) on a section's plain text. The browser sends both; the server checks that the
quote is really there, at the given position or close to it, and stores positions it has
verified. Positions count Unicode code points, as Python strings and the JavaScript in
static/js/anchoring.js do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTEXT_CHARS = 32
# How far (in characters) from the given position a quote may be found and still count as
# the passage the reader selected: the text rendered in a browser can differ slightly
# (line endings, trimmed spaces).
NEARBY_CHARS = 64


@dataclass(frozen=True)
class Anchor:
    exact: str
    prefix: str
    suffix: str
    start: int
    end: int

    def as_selectors(self) -> list[dict]:
        return [
            {"type": "TextQuoteSelector", "exact": self.exact, "prefix": self.prefix, "suffix": self.suffix},
            {"type": "TextPositionSelector", "start": self.start, "end": self.end},
        ]


def anchor_at(text: str, start: int, end: int) -> Anchor:
    """The anchor for text[start:end], with the context the server sees."""
    return Anchor(
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS) : start],
        suffix=text[end : end + CONTEXT_CHARS],
        start=start,
        end=end,
    )


def _occurrences(text: str, exact: str) -> list[int]:
    found, index = [], text.find(exact)
    while index != -1:
        found.append(index)
        index = text.find(exact, index + 1)
    return found


def _context_score(text: str, start: int, end: int, prefix: str, suffix: str) -> int:
    before = text[max(0, start - len(prefix)) : start]
    after = text[end : end + len(suffix)]
    score = 0
    for a, b in zip(reversed(before), reversed(prefix), strict=False):
        if a != b:
            break
        score += 1
    for a, b in zip(after, suffix, strict=False):
        if a != b:
            break
        score += 1
    return score


def anchor_check(
    text: str, *, exact: str, prefix: str = "", suffix: str = "", start: int | None = None, end: int | None = None
) -> Anchor:
    """Verify a selection against the section text; raise ValidationError if it is not there."""
    if not exact or not exact.strip():
        raise ValidationError({"quote_exact": _("The selected passage is empty.")})
    if len(exact) > len(text):
        raise ValidationError({"quote_exact": _("The selected passage is longer than the section text.")})
    if start is not None:
        if end is None or start < 0 or end <= start or start >= len(text):
            raise ValidationError({"position_start": _("The selection lies outside the section text.")})
        # An end a little past the text is tolerated: the quote may still be found nearby.
        if end <= len(text) and text[start:end] == exact:
            return anchor_at(text, start, end)
    candidates = _occurrences(text, exact)
    if start is not None:
        candidates = [c for c in candidates if abs(c - start) <= NEARBY_CHARS]
    if not candidates:
        raise ValidationError(
            {
                "quote_exact": _(
                    "The selected passage was not found in this section's text. Reload the page and select it again."
                )
            }
        )

    def rank(candidate: int) -> tuple[int, int]:
        score = _context_score(text, candidate, candidate + len(exact), prefix, suffix)
        distance = abs(candidate - start) if start is not None else 0
        return (-score, distance)

    best = min(candidates, key=rank)
    return anchor_at(text, best, best + len(exact))
