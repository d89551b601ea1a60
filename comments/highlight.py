"""The section text as HTML, with the passages comments are anchored to highlighted.

The text is plain and stored as written. Paragraphs are separated by blank lines; each becomes
<p data-offset="N">, N being the code-point offset of its first character in the section body,
and holds its text verbatim (escaped), so that static/js/anchoring.js can turn a selection back
into body offsets: the paragraph's data-offset plus the code points of the text before the
selection inside it. Anchored ranges [position_start, position_end) become <mark> segments; where
ranges overlap, each segment lists every comment that covers it, and no mark crosses a paragraph.

With line numbers on, each numbered line (consultations.line_numbers) of a paragraph becomes a
<span class="line" data-line="N"> inside it, and no mark crosses a line either. The number is
drawn by the stylesheet from data-line (generated content is not part of the DOM's text), so the
paragraph's text, and with it every offset the anchoring script computes, stays the body's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from consultations.line_numbers import paragraphs


@dataclass(frozen=True)
class _Range:
    pk: int
    start: int
    end: int


def _ranges(body: str, comments: Iterable) -> list[_Range]:
    ranges = []
    for comment in comments:
        start, end = getattr(comment, "position_start", None), getattr(comment, "position_end", None)
        # An anchor that no longer fits the text (it should not happen: the services verify
        # anchors) is left out rather than drawn in the wrong place.
        if start is None or end is None or not 0 <= start < end <= len(body):
            continue
        ranges.append(_Range(comment.pk, start, end))
    return ranges


def _text(chunk: str) -> str:
    # The HTML parser would turn "\r\n" into "\n" and the browser's offsets would drift from
    # the server's; a character reference keeps the carriage return in the DOM.
    return escape(chunk).replace("\r", "&#13;")


def _render_paragraph(
    body: str,
    start: int,
    end: int,
    ranges: list[_Range],
    first_segment: dict[int, int],
    line_starts: dict[int, int] | None = None,
) -> str:
    inside = [r for r in ranges if r.start < end and r.end > start]
    cuts = {start, end}
    lines_here = {offset: n for offset, n in (line_starts or {}).items() if start <= offset < end}
    if line_starts is not None and start not in lines_here:
        lines_here[start] = line_starts.get(start, 0)
    cuts.update(lines_here)
    for r in inside:
        cuts.add(max(r.start, start))
        cuts.add(min(r.end, end))
    points = sorted(cuts)
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for r in inside:
        opening.setdefault(max(r.start, start), []).append(r.pk)
        closing.setdefault(min(r.end, end), []).append(r.pk)
    active: set[int] = set()
    out = [f'<p data-offset="{start}">']
    in_line = False
    for seg_start, seg_end in zip(points, points[1:], strict=False):
        if seg_start in lines_here:
            if in_line:
                out.append("</span>")
            out.append(f'<span class="line" data-line="{lines_here[seg_start]}">')
            in_line = True
        active.difference_update(closing.get(seg_start, ()))
        active.update(opening.get(seg_start, ()))
        text = _text(body[seg_start:seg_end])
        covering = sorted(active)
        if not covering:
            out.append(text)
            continue
        # Each comment's first segment carries its id="anchor-<pk>", the target of #anchor-<pk>
        # links; an element has one id, so further comments starting there get an empty target.
        starting = [pk for pk in covering if first_segment.get(pk) is None]
        for pk in starting:
            first_segment[pk] = seg_start
        for pk in starting[1:]:
            out.append(f'<span class="anchor-target" id="anchor-{pk}"></span>')
        anchor_id = f' id="anchor-{starting[0]}"' if starting else ""
        data = " ".join(str(pk) for pk in covering)
        out.append(f'<mark class="anchor" data-comments="{data}"{anchor_id}>{text}</mark>')
    if in_line:
        out.append("</span>")
    out.append("</p>")
    return "".join(out)


def render_section_text(
    body: str, comments: Iterable = (), lines: Iterable[tuple[int, int, int]] | None = None
) -> SafeString:
    """The section body as escaped paragraphs with the comments' anchored passages marked.

    `lines`, the body's numbered lines as (number, start, end) (SectionLines.numbered_body()),
    turns line numbers on.
    """
    body = body or ""
    ranges = _ranges(body, comments)
    first_segment: dict[int, int] = {}
    line_starts = None if lines is None else {s: n for n, s, _e in lines}
    html = "\n".join(_render_paragraph(body, s, e, ranges, first_segment, line_starts) for s, e in paragraphs(body))
    # Safe: every piece of the section text above went through escape().
    return mark_safe(html)
