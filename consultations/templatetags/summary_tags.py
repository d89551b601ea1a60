"""{{ version.change_summary|summary }}: a change summary as the secretariat typed it, made readable.

Summaries are typed as plain text with Markdown habits ("- 1.1.3 now covers submarine cables"):
rendered with CommonMark (markdown-it-py, raw HTML off, so whatever was typed is escaped) into
paragraphs and lists, then cleaned once more (nh3) to the few tags a summary needs.
"""

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True})
_TAGS = {"p", "ul", "ol", "li", "em", "strong", "code", "br"}


@register.filter
def summary(text: str | None) -> SafeString:
    if not text:
        return mark_safe("")
    return mark_safe(nh3.clean(_MARKDOWN.render(text), tags=_TAGS, attributes={}))  # noqa: S308 - cleaned above
