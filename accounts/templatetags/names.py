"""{{ name|visible }}: names and file names shown as they are, not as Unicode controls make them look.

A bidi override turns "evil\u202eexe.live" into what reads as a harmless file name; a
zero-width space makes two names that look the same differ. New names are cleaned when they
are stored (config.text.clean_name); this filter shows what is already stored, with each such
character as a visible [U+202E] mark, in every page that shows a person's, an organisation's
or an uploaded file's name.
"""

from django import template

from config.text import visible_controls

register = template.Library()


@register.filter(is_safe=True)
def visible(value) -> str:
    return visible_controls(value)
