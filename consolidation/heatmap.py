"""The consolidated feedback heat map: sections x organisations as one HTML table.

The picture is the table itself (no separate alternative to keep in step): row headings are the
sections, whole and wrapping (never clipped), column headings the organisations' short names with
the full name for assistive technology and as a tooltip. Each cell is coloured on a sequential
scale by its count, with the count printed (colour is not the only cue). Only a cell with comments
is a link (to the list filtered on that section and organisation); an empty cell is plain text,
so nothing is nested in anything interactive and keyboard users meet only cells worth opening.
static/js/feedback.js makes the links one tab stop with arrow-key movement between them (a roving
tabindex); without it, each non-empty cell is a tab stop. Every text is escaped: headings and names
come from users.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors_feedback import HeatMap

# ColorBrewer "Blues", light to dark (the fourth step darkened from #3182bd so that white text
# on it reaches 4.5:1); the empty cell is a neutral grey.
SCALE = ("#deebf7", "#9ecae1", "#6baed6", "#2171b5", "#08519c")
EMPTY = "#f6f8fa"
DARK_FROM = 4  # steps from this one on get white text (static/css/consolidation.css: .s4, .s5)

HEADING_CHARS = 38  # in the summary only: the table shows every heading whole

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def esc(value) -> str:
    """Text safe inside an element or a double-quoted attribute (control characters dropped)."""
    return str(escape(_CONTROL.sub("", str(value))))


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
    """The figure: the table, then its legend."""
    if not heatmap.sections or not heatmap.organisations:
        return mark_safe('<p class="meta">' + esc(_("No sections or organisations to show yet.")) + "</p>")
    return mark_safe(
        '<figure class="heatmap">' + _table(heatmap, link_for, caption) + _legend(heatmap.max_count) + "</figure>"
    )


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
    return summary


def _table(heatmap: HeatMap, link_for: Callable[[int, int], str], caption: str) -> str:
    max_count = heatmap.max_count
    has_links = heatmap.total > 0
    # A wide table scrolls sideways; the region takes the focus itself only when no link inside can.
    region_focus = "" if has_links else ' tabindex="0"'
    out = [
        f'<div class="heatmap-scroll" role="region" aria-labelledby="heatmap-caption"{region_focus}>',
        '<table class="heatmap-table" data-heatmap aria-describedby="heatmap-keys">',
        f'<caption id="heatmap-caption"><span class="visually-hidden">'
        f"{esc(caption or _('Submitted comments per section and organisation'))}. </span>"
        f'<span class="hm-summary">{esc(_summary(heatmap))}</span></caption>',
        f'<thead><tr><td class="hm-corner">{esc(_("Section"))}</td>',
    ]
    # Cells are many (sections x organisations: 8,000 in the benchmark), so each is kept short: a link
    # is named by its count, its section and its organisation through aria-labelledby (the headings'
    # ids), not by a sentence of its own; feedback.js gives it a tooltip on hover.
    for organisation in heatmap.organisations:
        short, name = organisation_label(organisation), organisation.name
        if short == name:
            out.append(
                f'<th scope="col" class="hm-col" id="hc{organisation.pk}" title="{esc(name)}">'
                f"<span>{esc(short)}</span></th>"
            )
        else:
            out.append(
                f'<th scope="col" class="hm-col" id="hc{organisation.pk}" title="{esc(name)}">'
                f'<span aria-hidden="true">{esc(short)}</span><span class="visually-hidden">{esc(name)}</span></th>'
            )
    out.append("</tr></thead><tbody>")
    for section in heatmap.sections:
        out.append(
            f'<tr><th scope="row" class="hm-row depth-{min(section.depth, 3)}" id="hr{section.pk}">'
            f"{esc(section_label(section))}</th>"
        )
        for organisation in heatmap.organisations:
            count = heatmap.count(section.pk, organisation.pk)
            if not count:
                # Not a link: nothing to list. The 0 is there for screen readers, the grey for the eye.
                out.append('<td class="s0"><span>0</span></td>')
                continue
            cell = f"h{section.pk}-{organisation.pk}"
            out.append(
                f'<td class="s{bucket(count, max_count)}"><a href="{esc(link_for(section.pk, organisation.pk))}" '
                f'id="{cell}" aria-labelledby="{cell} hr{section.pk} hc{organisation.pk}">{count}</a></td>'
            )
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if has_links:
        keys = _(
            "Choose a cell to list its comments. With the keyboard, the map is one stop: "
            "move between cells with the arrow keys, Home and End."
        )
        out.append(f'<p class="helptext" id="heatmap-keys">{esc(keys)}</p>')
    else:
        out.append(f'<p class="helptext" id="heatmap-keys">{esc(_("No submitted comments yet."))}</p>')
    return "".join(out)


def _legend(max_count: int) -> str:
    out = [f'<ul class="hm-legend" aria-label="{esc(_("Colour scale"))}">']
    for step, low, high in [(0, 0, 0), *bucket_ranges(max_count)]:
        label = str(low) if low == high else f"{low}–{high}"
        out.append(
            f'<li><span class="hm-swatch s{step}" aria-hidden="true"></span>'
            f"{esc(comments_label(high) if low == high else _('%(range)s comments') % {'range': label})}</li>"
        )
    out.append("</ul>")
    return "".join(out)
