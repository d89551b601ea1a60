"""Template tags for the section page and comment cards.

{% section_text section.body comments lines %}  the section text with anchored passages marked
    (and its numbered lines when `lines`, a consultations.line_numbers.SectionLines, is given)
{% include_if_exists "comments/thread/_actions.html" %}  include a template if there is one
{{ comment|suggested_edit }}  a suggested edit: the quoted passage with the proposed change as a
    word-level redline (<del>/<ins>, labelled for screen readers), or "" for any other comment
"""

from django import template
from django.template import TemplateDoesNotExist
from django.utils.safestring import SafeString

from config.redline import diff_words, render_html

from ..highlight import render_section_text
from ..mentions import render as render_mentions

register = template.Library()


@register.simple_tag
def section_text(body: str, comments=(), lines=None) -> SafeString:
    return render_section_text(body, comments, lines.numbered_body() if lines else None)


@register.filter
def suggested_edit(comment) -> SafeString | str:
    if not getattr(comment, "is_suggestion", False) or not comment.quote_exact or not comment.proposed_change:
        return ""
    return render_html(diff_words(comment.quote_exact, comment.proposed_change), labelled=True)


class IncludeIfExistsNode(template.Node):
    def __init__(self, template_name: template.base.FilterExpression):
        self.template_name = template_name

    def render(self, context) -> str:
        name = self.template_name.resolve(context)
        try:
            found = context.template.engine.get_template(name)
        except TemplateDoesNotExist:
            return ""
        # Like {% include %}: the included template sees the current context.
        with context.push():
            return found.render(context)


@register.tag
def include_if_exists(parser, token):
    """{% include_if_exists "name.html" %}: {% include %} that renders nothing when the template is missing.

    Used for partials another part of the app provides, so that this page renders before they exist.
    """
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(f"{bits[0]} takes one argument: the template name")
    return IncludeIfExistsNode(parser.compile_filter(bits[1]))


@register.filter(is_safe=True)
def mentions(text: str, named: dict | None) -> SafeString:
    """The text escaped, its stored @mentions shown as the people's names (comments.mentions.render).

    Chain |linebreaks after it: the result is safe, so it is not escaped twice."""
    return render_mentions(text, named)
