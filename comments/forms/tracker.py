"""The response tracker's reminder form: which organisations to remind (shape only)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RemindForm(forms.Form):
    organisations = forms.TypedMultipleChoiceField(
        label=_("Organisations to remind"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one organisation to remind.")},
    )

    def __init__(self, *args, organisation_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organisations"]
        if not isinstance(field, forms.TypedMultipleChoiceField):
            raise TypeError("RemindForm.organisations must stay a TypedMultipleChoiceField.")
        field.choices = [(pk, str(pk)) for pk in organisation_ids]
