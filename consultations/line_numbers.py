"""Line numbers of a version's text: stable, document-wide, as ISO drafts and OpenSlides print them.

A version's text is numbered continuously from its first section to its last: each section's
heading ("<number> <heading>") is one or more lines, then each paragraph of its body, wrapped at
a fixed line length (settings.LINE_LENGTH, 80 by default, as OpenSlides' fixed line length) so
that "line 123" means the same passage on every screen and in every file. Paragraphs are
separated by blank lines (the same split as the reading page, comments.highlight); a single line
break inside a paragraph starts a new line; blank lines get no number.

Everything here is a pure function of the text and the line length: the same text always gives
the same numbers. A published version is immutable, so its numbering never changes; the length
it was numbered with is stored on the version when it is published (and each section's first
line and line count, consultations.services.version_publish), so a later change of the setting
leaves published numbers alone. Versions numbered before that (or drafts) are numbered from
their text with the current setting, which gives the same numbers as long as it has not changed.

Widths count what a reader sees, not bytes or code points: a combining mark (Thai vowels and tone
marks above and below, Vietnamese diacritics typed as combining marks) and format characters
(zero-width space, joiners) take no width; wide East Asian characters take two. A line breaks
after a run of spaces, after a zero-width space (how Thai, Khmer, Lao and Burmese mark word
boundaries when they mark them at all) or after a hyphen; a word longer than the line (or a
run of Thai with no break opportunity) is cut at the line length, never between a letter and its
marks.

Rules: how lines break has been refined once, and a published version keeps the rules it was
numbered with (DraftVersion.line_rules, like its line length), so its numbers never move:

    1  breaks at spaces, zero-width spaces and hyphens only; an unspaced run of Thai, Lao, Khmer
       or Burmese is cut at the line length, inside a word (versions published before rules 2)
    2  also between the words of Thai, Lao, Khmer and Burmese, as ICU's dictionaries find them
       (config.line_breaks), wherever a script of those four is on either side of the break;
       Latin and Vietnamese lines are the same as under rules 1

Offsets are code points, as everywhere in anchoring (comments.anchoring): a line is the half-open
range [start, end) of the section body it holds, and the lines of a paragraph cover it exactly,
so every offset of the body has one line (offsets in the blank lines between paragraphs belong
to the line before them).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from django.conf import settings

from config import line_breaks

DEFAULT_LINE_LENGTH = 80
# The line breaking rules new versions are numbered with (see the module).
LEGACY_RULES, WORD_RULES = 1, 2
CURRENT_RULES = WORD_RULES
# A blank line: a line break, then one or more lines holding nothing but spaces or tabs.
PARAGRAPH_BREAK = re.compile(r"\r?\n(?:[ \t]*\r?\n)+")
SPACES = frozenset(" \t")
# A line may end after these (they stay at the end of the line they close).
BREAK_AFTER = frozenset("\u200b-\u2010\u2013")


def line_length() -> int:
    """The length new versions are numbered with (settings.LINE_LENGTH)."""
    return int(getattr(settings, "LINE_LENGTH", DEFAULT_LINE_LENGTH))


def paragraphs(body: str) -> list[tuple[int, int]]:
    """(start, end) code-point offsets of each non-blank paragraph of body."""
    found, start = [], 0
    for match in PARAGRAPH_BREAK.finditer(body):
        found.append((start, match.start()))
        start = match.end()
    found.append((start, len(body)))
    return [(s, e) for s, e in found if body[s:e].strip()]


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    """How many positions of a line a character takes: 0 for marks and format characters, 2 for wide ones."""
    if ch in "\r\n":
        return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


# Thai, Lao, Burmese and Khmer: the scripts written without spaces between words.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


def _complex(ch: str) -> bool:
    return _UNSPACED.match(ch) is not None


def word_breaks(text: str, start: int, end: int) -> frozenset[int]:
    """Offsets in (start, end) where a line may break between two words of Thai, Lao, Khmer or Burmese."""
    if not _UNSPACED.search(text, start, end):
        return frozenset()
    segment = text[start:end]
    return frozenset(
        start + i
        for i in line_breaks.line_breaks(segment)
        if _complex(segment[i - 1]) or _complex(segment[i])  # Latin keeps the rules-1 breaks
    )


def wrap(text: str, start: int, end: int, width: int, rules: int = CURRENT_RULES) -> list[tuple[int, int]]:
    """Greedy wrapping of text[start:end] (one line of the source, no line break inside) at `width`.

    Returns the (start, end) offsets of each line; together they cover [start, end) exactly.
    Spaces at the end of a line hang (they do not count towards its width).
    """
    if width < 1:
        raise ValueError("The line length must be at least 1.")
    between_words = word_breaks(text, start, end) if rules >= WORD_RULES else frozenset()
    lines: list[tuple[int, int]] = []
    line_start = start
    used = 0  # width of text[line_start:i], trailing spaces included
    brk = -1  # where the next line starts if this one ends at the last break opportunity
    brk_used = 0  # width of text[line_start:brk]
    i = start
    while i < end:
        ch = text[i]
        if ch in SPACES:
            j = i
            while j < end and text[j] in SPACES:
                j += 1
            used += j - i
            brk, brk_used = j, used
            i = j
            continue
        if i in between_words and i > line_start:
            brk, brk_used = i, used
        w = char_width(ch)
        if w and used + w > width and i > line_start:
            if brk > line_start:
                # End the line at the last break opportunity (spaces before it hang at its end).
                lines.append((line_start, brk))
                used -= brk_used
                line_start = brk
            if used + w > width and i > line_start:
                # No opportunity (a word longer than the line, Thai without spaces): cut before i.
                lines.append((line_start, i))
                line_start, used = i, 0
            brk = -1
        used += w
        i += 1
        if ch in BREAK_AFTER:
            brk, brk_used = i, used
    lines.append((line_start, end))
    return lines


def _source_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The lines of text[start:end] as written: each ends after its line break ("\\n" or "\\r\\n")."""
    found = []
    while True:
        newline = text.find("\n", start, end)
        if newline == -1:
            found.append((start, end))
            return found
        found.append((start, newline + 1))
        start = newline + 1


def _content_end(text: str, start: int, end: int) -> int:
    """end, less the line break that closes the line (it takes no place of its own)."""
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return end


def wrap_text(text: str, width: int, rules: int = CURRENT_RULES) -> list[tuple[int, int]]:
    """Every numbered line of a text: its paragraphs, each source line wrapped at width."""
    lines: list[tuple[int, int]] = []
    for p_start, p_end in paragraphs(text):
        for s_start, s_end in _source_lines(text, p_start, p_end):
            wrapped = wrap(text, s_start, _content_end(text, s_start, s_end), width, rules)
            last_start, _last_end = wrapped[-1]
            wrapped[-1] = (last_start, s_end)  # the line break belongs to the line it ends
            lines.extend(wrapped)
    return lines


def heading_label(number: str, heading: str) -> str:
    """The heading as numbered and printed: "<clause number> <heading>"."""
    return f"{number} {heading}".strip()


@dataclass(frozen=True)
class LineRange:
    """The lines a passage covers, cited as "12" or "12-14"."""

    first: int
    last: int

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class SectionLines:
    """One section's numbered lines: its heading's, then its body's.

    heading_lines hold offsets into the heading label (heading_label), body_lines offsets into
    the body; the n-th of heading_lines + body_lines is line first_line + n.
    """

    first_line: int
    heading_lines: tuple[tuple[int, int], ...]
    body_lines: tuple[tuple[int, int], ...]

    @property
    def line_count(self) -> int:
        return len(self.heading_lines) + len(self.body_lines)

    @property
    def last_line(self) -> int:
        return self.first_line + self.line_count - 1

    @property
    def first_body_line(self) -> int:
        return self.first_line + len(self.heading_lines)

    def numbered_body(self) -> list[tuple[int, int, int]]:
        """(line number, start, end) of each line of the body."""
        first = self.first_body_line
        return [(first + n, s, e) for n, (s, e) in enumerate(self.body_lines)]

    def numbered_heading(self) -> list[tuple[int, int, int]]:
        return [(self.first_line + n, s, e) for n, (s, e) in enumerate(self.heading_lines)]

    def line_at(self, offset: int) -> int:
        """The line holding body offset `offset` (the heading's first line when the body has none)."""
        if not self.body_lines:
            return self.first_line
        index = bisect_right(self._starts, offset) - 1
        return self.first_body_line + max(index, 0)

    @cached_property
    def _starts(self) -> list[int]:
        return [s for s, _e in self.body_lines]

    def range_for(self, start: int | None, end: int | None) -> LineRange:
        """The lines of the passage [start, end) of the body; a comment on the whole section cites its heading."""
        if start is None:
            return LineRange(self.first_line, self.first_line)
        first = self.line_at(start)
        last = self.line_at(max(start, (end if end is not None else start + 1) - 1))
        return LineRange(first, max(first, last))


def number_section(
    *, number: str, heading: str, body: str, first_line: int, width: int, rules: int = CURRENT_RULES
) -> SectionLines:
    label = heading_label(number, heading)
    heading_lines = wrap_text(label, width, rules) or [(0, len(label))]
    return SectionLines(
        first_line=first_line,
        heading_lines=tuple(heading_lines),
        body_lines=tuple(wrap_text(body or "", width, rules)),
    )


@dataclass(frozen=True)
class SectionText:
    """What numbering needs of a section (a Section has these attributes)."""

    pk: int
    number: str
    heading: str
    body: str


def number_document(
    sections: Iterable, *, width: int, first_line: int = 1, rules: int = CURRENT_RULES
) -> dict[int, SectionLines]:
    """Number every section of a version, in the order given (document order), from first_line on."""
    numbered: dict[int, SectionLines] = {}
    line = first_line
    for section in sections:
        lines = number_section(
            number=section.number,
            heading=section.heading,
            body=section.body,
            first_line=line,
            width=width,
            rules=rules,
        )
        numbered[section.pk] = lines
        line += lines.line_count
    return numbered


@dataclass(frozen=True)
class VersionLines:
    """A whole version's numbering: each section's lines, by section id."""

    line_length: int
    sections: dict[int, SectionLines]

    @property
    def total_lines(self) -> int:
        return max((lines.last_line for lines in self.sections.values()), default=0)

    def of(self, section_id: int) -> SectionLines | None:
        return self.sections.get(section_id)

    def range_for(self, *, section_id: int, start: int | None, end: int | None) -> LineRange | None:
        """The lines of a passage of a section (None for a section not in this version)."""
        lines = self.sections.get(section_id)
        return lines.range_for(start, end) if lines is not None else None

    def line_range_for_comment(self, comment) -> LineRange | None:
        """The lines a comment's anchor covers: the line of its start, to the line of its end.

        `comment` is anything with section_id, position_start and position_end (a Comment, a
        row of values); a comment on the whole section cites the section heading's line.
        """
        return self.range_for(section_id=comment.section_id, start=comment.position_start, end=comment.position_end)


def version_lines(*, stored_length: int | None, sections: list, stored_rules: int | None = None) -> VersionLines:
    """The numbering of a version from its sections (all of them, in document order).

    A version numbered at publication (stored_length set, each section's first_line stored)
    keeps those numbers: each section is wrapped with the stored length and rules (rules 1 when
    none were stored) from its stored first line. Any other version is numbered from its text
    with the current setting and rules.
    """
    if stored_length and all(getattr(s, "first_line", None) is not None for s in sections):
        rules = stored_rules or LEGACY_RULES
        return VersionLines(
            line_length=stored_length,
            sections={
                s.pk: number_section(
                    number=s.number,
                    heading=s.heading,
                    body=s.body,
                    first_line=s.first_line,
                    width=stored_length,
                    rules=rules,
                )
                for s in sections
            },
        )
    width = stored_length or line_length()
    rules = stored_rules or (LEGACY_RULES if stored_length else CURRENT_RULES)
    return VersionLines(line_length=width, sections=number_document(sections, width=width, rules=rules))
