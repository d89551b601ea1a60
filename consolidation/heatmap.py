"""The consolidated feedback heat map: sections x organisations as an inline SVG picture.

Each cell is a link to the list filtered on that section and organisation, coloured on a
sequential scale by its count, with the count printed (colour is not the only cue) and a
<title> tooltip. The SVG is a labelled group (role="group" with a summary, not "img", which may not
hold the links); a visually hidden table carries the
same numbers and links for screen readers. Every text is XML-escaped: headings and names
come from users.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.sax.saxutils import escape as _xml_escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors_feedback import HeatMap

# ColorBrewer "Blues", light to dark; the empty cell is a neutral grey.
SCALE = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
EMPTY = "#f6f8fa"
DARK_FROM = 3  # buckets from this index on get white text

CELL = 30
GAP = 2
LABEL_WIDTH = 280
HEADER_HEIGHT = 110
RIGHT_PAD = 70  # room for the last turned column heading
LEGEND_HEIGHT = 50
HEADING_CHARS = 38

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def esc(value) -> str:
    """Text safe inside an XML element or a double-quoted attribute."""
    text = _CONTROL.sub("", str(value))
    return _xml_escape(text, {'"': "&quot;", "'": "&#39;"})


def truncate(text: str, length: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def section_label(section) -> str:
    return " ".join(part for part in (section.number, section.heading) if part)


def organisation_label(organisation) -> str:
    return organisation.short_name or organisation.country_code or organisation.name


def bucket(count: int, max_count: int) -> int:
    """The scale step for a count: 0 for the empty cell, else 1..len(SCALE)."""
    if count <= 0 or max_count <= 0:
        return 0
    if max_count <= len(SCALE):
        return min(count, len(SCALE))
    return min(len(SCALE), 1 + (count - 1) * len(SCALE) // max_count)


def colour(step: int) -> str:
    return EMPTY if step == 0 else SCALE[step - 1]


def bucket_ranges(max_count: int) -> list[tuple[int, int, int]]:
    """(step, low, high) for the legend."""
    ranges = []
    for step in range(1, len(SCALE) + 1):
        counts = [n for n in range(1, max_count + 1) if bucket(n, max_count) == step]
        if counts:
            ranges.append((step, counts[0], counts[-1]))
    return ranges


def comments_label(count: int) -> str:
    return ngettext("%(count)s comment", "%(count)s comments", count) % {"count": count}


def render_heatmap(heatmap: HeatMap, *, link_for: Callable[[int, int], str], caption: str = "") -> SafeString:
    """The figure: the SVG picture, its legend and the visually hidden table alternative."""
    if not heatmap.sections or not heatmap.organisations:
        return mark_safe('<p class="meta">' + esc(_("No sections or organisations to show yet.")) + "</p>")
    parts = ['<figure class="heatmap">', _svg(heatmap, link_for), _table(heatmap, link_for, caption), "</figure>"]
    return mark_safe("".join(parts))


def _summary(heatmap: HeatMap) -> str:
    summary = _(
        "Heat map of %(total)s submitted comments: %(sections)s sections by %(organisations)s organisations."
    ) % {
        "total": heatmap.total,
        "sections": len(heatmap.sections),
        "organisations": len(heatmap.organisations),
    }
    if heatmap.total:
        (section_id, organisation_id), most = max(heatmap.counts.items(), key=lambda item: item[1])
        sections = {s.pk: s for s in heatmap.sections}
        organisations = {o.pk: o for o in heatmap.organisations}
        if section_id in sections and organisation_id in organisations:
            summary += " " + _("Most: %(count)s from %(organisation)s on %(section)s.") % {
                "count": most,
                "organisation": organisation_label(organisations[organisation_id]),
                "section": truncate(section_label(sections[section_id]), HEADING_CHARS),
            }
    summary += " " + _("The same numbers follow in a table.")
    return summary


def _svg(heatmap: HeatMap, link_for: Callable[[int, int], str]) -> str:
    columns, rows = len(heatmap.organisations), len(heatmap.sections)
    max_count = heatmap.max_count
    legend = _legend_entries(max_count)
    grid_width = columns * (CELL + GAP)
    width = LABEL_WIDTH + max(grid_width, sum(advance for *_, advance in legend)) + RIGHT_PAD
    height = HEADER_HEIGHT + rows * (CELL + GAP) + LEGEND_HEIGHT
    out = [
        f'<svg class="heatmap-svg" role="group" aria-label="{esc(_summary(heatmap))}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    ]
    # Column headings, turned so that long names fit.
    for col, organisation in enumerate(heatmap.organisations):
        x = LABEL_WIDTH + col * (CELL + GAP) + CELL / 2
        out.append(
            f'<text class="hm-col" x="{x:g}" y="{HEADER_HEIGHT - 6}" '
            f'transform="rotate(-50 {x:g} {HEADER_HEIGHT - 6})"><title>{esc(organisation.name)}</title>'
            f"{esc(truncate(organisation_label(organisation), 12))}</text>"
        )
    for row, section in enumerate(heatmap.sections):
        y = HEADER_HEIGHT + row * (CELL + GAP)
        label = section_label(section)
        out.append(
            f'<text class="hm-row depth-{min(section.depth, 3)}" x="{LABEL_WIDTH - 8}" y="{y + CELL / 2:g}" '
            f'text-anchor="end" dominant-baseline="middle"><title>{esc(label)}</title>'
            f"{esc(truncate(label, HEADING_CHARS))}</text>"
        )
        for col, organisation in enumerate(heatmap.organisations):
            count = heatmap.count(section.pk, organisation.pk)
            step = bucket(count, max_count)
            x = LABEL_WIDTH + col * (CELL + GAP)
            tooltip = _("%(comments)s: %(organisation)s on %(section)s") % {
                "comments": comments_label(count),
                "organisation": organisation_label(organisation),
                "section": truncate(label, HEADING_CHARS),
            }
            text_class = "hm-n dark" if step >= DARK_FROM else "hm-n"
            out.append(
                f'<a class="hm-cell" href="{esc(link_for(section.pk, organisation.pk))}" '
                f'data-section="{section.pk}" data-organisation="{organisation.pk}" data-count="{count}">'
                f"<title>{esc(tooltip)}</title>"
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="3" fill="{colour(step)}"/>'
                + (
                    f'<text class="{text_class}" x="{x + CELL / 2:g}" y="{y + CELL / 2:g}" text-anchor="middle" '
                    f'dominant-baseline="central">{count}</text>'
                    if count
                    else ""
                )
                + "</a>"
            )
    out.append(_legend(legend, y=HEADER_HEIGHT + rows * (CELL + GAP) + 16))
    out.append("</svg>")
    return "".join(out)


def _legend_entries(max_count: int) -> list[tuple[int, str, int]]:
    """(scale step, label, width it takes) for each legend swatch, the empty cell first."""
    entries = []
    for step, low, high in [(0, 0, 0), *bucket_ranges(max_count)]:
        label = str(low) if low == high else f"{low}–{high}"
        entries.append((step, label, 30 + 8 * len(label)))
    return entries


def _legend(entries: list[tuple[int, str, int]], *, y: int) -> str:
    x = LABEL_WIDTH
    out = [
        f'<g class="hm-legend"><text x="{LABEL_WIDTH - 8}" y="{y + 11}" text-anchor="end">{esc(_("Comments"))}</text>'
    ]
    for step, label, advance in entries:
        out.append(
            f'<rect x="{x}" y="{y}" width="16" height="16" rx="2" fill="{colour(step)}" stroke="#d0d7de"/>'
            f'<text x="{x + 20}" y="{y + 12}">{esc(label)}</text>'
        )
        x += advance
    out.append("</g>")
    return "".join(out)


def _table(heatmap: HeatMap, link_for: Callable[[int, int], str], caption: str) -> str:
    out = [
        # The wrapper hides it: a table ignores the 1-pixel width and would widen the page.
        '<div class="visually-hidden"><table class="heatmap-table">',
        f"<caption>{esc(caption or _('Submitted comments per section and organisation'))}</caption>",
        f'<thead><tr><th scope="col">{esc(_("Section"))}</th>',
    ]
    out.extend(f'<th scope="col">{esc(o.name)}</th>' for o in heatmap.organisations)
    out.append("</tr></thead><tbody>")
    for section in heatmap.sections:
        out.append(f'<tr><th scope="row">{esc(section_label(section))}</th>')
        for organisation in heatmap.organisations:
            count = heatmap.count(section.pk, organisation.pk)
            if count:
                out.append(f'<td><a href="{esc(link_for(section.pk, organisation.pk))}">{count}</a></td>')
            else:
                out.append("<td>0</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)
