"""Forms for preparing draft versions: upload, copy, and editing the section tree.

They check the shape of the input; reading the uploaded file (its size, its format), numbering
rules, permissions and the published/draft state are the services' business.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.forms import choice_field

from ..models import Section

VERSION_NUMBER_HELP = _("Like 0.1, 0.2 or 1.0; it must come after the last published version.")


def _text_attrs(**extra) -> dict:
    # dir="auto" lets Arabic or Hebrew text typed into the field display right to left.
    return {"dir": "auto", **extra}


class VersionUploadForm(forms.Form):
    number = forms.CharField(label=_("Version number"), max_length=20, help_text=VERSION_NUMBER_HELP)
    file = forms.FileField(
        label=_("Draft document"),
        widget=forms.ClearableFileInput(attrs={"accept": ".docx,.md,.markdown,.txt"}),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False, widget=forms.TextInput(_text_attrs()))
    change_summary = forms.CharField(
        label=_("Change summary"),
        required=False,
        widget=forms.Textarea(_text_attrs(rows=4)),
        help_text=_("What changed since the previous version, for the people who review it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext(
            "A Word document (.docx) or a Markdown file (.md), at most %(limit)s. Its headings become the "
            "sections: Heading 1, 2 and 3 (or #, ## and ###) for components, chapters and clauses."
        ) % {"limit": filesizeformat(settings.DRAFT_UPLOAD_MAX_BYTES)}

    # The file's size and content are checked by the service (consultations.uploads).


class VersionCopyForm(forms.Form):
    number = forms.CharField(label=_("New version number"), max_length=20, help_text=VERSION_NUMBER_HELP)
    change_summary = forms.CharField(
        label=_("Change summary"), required=False, widget=forms.Textarea(_text_attrs(rows=4))
    )


class SectionForm(forms.Form):
    number = forms.CharField(
        label=_("Clause number"),
        max_length=20,
        required=False,
        help_text=_("For example 2.3. Leave empty for an unnumbered section."),
    )
    heading = forms.CharField(label=_("Heading"), max_length=300, widget=forms.TextInput(_text_attrs()))
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(_text_attrs(rows=12)),
        help_text=_("Separate paragraphs with a blank line; start list items with “- ”."),
    )


class SectionAddForm(SectionForm):
    """A new section under one of the version's components or chapters, or as a new component."""

    TOP_LEVEL = ""

    parent = forms.ChoiceField(label=_("Place it under"), required=False)

    field_order = ["parent", "number", "heading", "body"]

    def __init__(self, *args, sections: list[Section], **kwargs):
        super().__init__(*args, **kwargs)
        # Clauses are the deepest level of the tree, so only components and chapters take children.
        self._parents = {s.key: s for s in sections if s.depth < 2}
        choices = [(self.TOP_LEVEL, gettext("Top level (a new component)"))]
        for section in sections:
            if section.key in self._parents:
                label = f"{section.number} {section.heading}".strip()
                choices.append((section.key, "\u2014 " * section.depth + label))
        choice_field(self, "parent").choices = choices

    def clean_parent(self) -> Section | None:
        key = self.cleaned_data.get("parent") or self.TOP_LEVEL
        if key == self.TOP_LEVEL:
            return None
        return self._parents[key]  # ChoiceField has already refused unknown keys
