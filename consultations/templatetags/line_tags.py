"""{% numbered_text section.body lines %}: a section's text as its numbered lines (consultations.line_numbers).

Each paragraph is a <p>, each numbered line a <span class="line" data-line="N"> in it; the
stylesheet draws N in the margin (.numbered-lines). The comments app's section page draws the
same lines with the comments' highlights (comments.highlight).
"""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..line_numbers import SectionLines, paragraphs

register = template.Library()


@register.simple_tag
def numbered_text(body: str, lines: SectionLines) -> SafeString:
    body = body or ""
    numbered = lines.numbered_body()
    out, index = [], 0
    for p_start, p_end in paragraphs(body):
        out.append("<p>")
        while index < len(numbered) and numbered[index][1] < p_end:
            number, start, end = numbered[index]
            if start >= p_start:
                out.append(f'<span class="line" data-line="{number}">{escape(body[start : min(end, p_end)])}</span>')
            index += 1
        out.append("</p>")
    # Safe: every piece of the text went through escape().
    return mark_safe("\n".join(out))
