"""Word-level redline between two texts: what a reader of the revision report sees as changed.

The texts are split into word, punctuation and whitespace tokens, compared with
difflib.SequenceMatcher, and turned into segments of equal, inserted and deleted text. The
segments are plain data, so the web page (<ins>/<del>), the PDF and the DOCX render the same
diff: the revision report between versions (consolidation) and a suggested edit of a quoted
passage on a comment (comments). It lives in config/ so that both apps use this one home.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

EQUAL = "equal"
INSERT = "insert"
DELETE = "delete"

# A word (letters with their diacritics, digits), a run of whitespace, or one other character.
TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Segment:
    op: str  # EQUAL, INSERT or DELETE
    text: str

    @property
    def is_insert(self) -> bool:
        return self.op == INSERT

    @property
    def is_delete(self) -> bool:
        return self.op == DELETE


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text or "")


def _append(segments: list[Segment], op: str, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].op == op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


LEADING_SPACE = re.compile(r"\s+")


def _slide_spaces(segments: list[Segment]) -> list[Segment]:
    """Put a lone edit's space after its words: "triển <ins>nhanh </ins>hạ", not "triển<ins> nhanh</ins> hạ".

    Both are correct diffs; difflib picks either. Readers expect whole words to be marked.
    """
    result = list(segments)
    for i in range(1, len(result) - 1):
        before, edit, after = result[i - 1], result[i], result[i + 1]
        if edit.op == EQUAL or before.op != EQUAL or after.op != EQUAL:
            continue
        space = LEADING_SPACE.match(edit.text)
        if space and len(space.group()) < len(edit.text) and after.text.startswith(space.group()):
            width = len(space.group())
            result[i - 1] = Segment(EQUAL, before.text + space.group())
            result[i] = Segment(edit.op, edit.text[width:] + space.group())
            result[i + 1] = Segment(EQUAL, after.text[width:])
    return [s for s in result if s.text]


def diff_words(old: str, new: str) -> list[Segment]:
    """The segments that turn `old` into `new`; a replaced passage is its deletion, then its insertion."""
    a, b = tokenize(old), tokenize(new)
    # autojunk off: in long clauses frequent words ("the", spaces) must still match.
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(segments, EQUAL, "".join(a[i1:i2]))
        else:
            _append(segments, DELETE, "".join(a[i1:i2]))
            _append(segments, INSERT, "".join(b[j1:j2]))
    return _slide_spaces(segments)


def has_changes(segments: list[Segment]) -> bool:
    return any(s.op != EQUAL for s in segments)


def inserted_text(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments if s.op == INSERT]


def deleted_text(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments if s.op == DELETE]


def split_paragraphs(segments: list[Segment]) -> list[list[Segment]]:
    """The segments cut at blank lines, for documents that lay out one paragraph at a time."""
    result: list[list[Segment]] = [[]]
    for segment in segments:
        for index, piece in enumerate(segment.text.split("\n\n")):
            if index:
                result.append([])
            if piece:
                result[-1].append(Segment(segment.op, piece))
    return [p for p in result if any(s.text.strip() for s in p)]


def render_html(segments: list[Segment], *, labelled: bool = False) -> SafeString:
    """<ins>/<del> markup, every piece of text escaped.

    `labelled`: each change also says what it is in words for screen readers, which announce
    neither element by default ("[deleted: old] [inserted: new]" in visually hidden text), so
    that the change is not told by strike-through and underline (or colour) alone.
    """
    if labelled:
        hidden = '<span class="visually-hidden">{}</span>'
        ins_open, del_open = hidden.format(escape(_("[inserted:"))), hidden.format(escape(_("[deleted:")))
        close = hidden.format("]")
    else:
        ins_open = del_open = close = ""
    parts = []
    for segment in segments:
        text = escape(segment.text)
        if segment.op == INSERT:
            parts.append(f"<ins>{ins_open}{text}{close}</ins>")
        elif segment.op == DELETE:
            parts.append(f"<del>{del_open}{text}{close}</del>")
        else:
            parts.append(text)
    return mark_safe("".join(parts))  # noqa: S308 - every text piece is escaped above
