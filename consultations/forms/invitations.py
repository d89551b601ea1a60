"""The form a newcomer fills in to accept an invitation: a name and a password, twice."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from config.text import clean_name

from ..models import Invitation


class InvitationAcceptForm(forms.Form):
    """What a newcomer gives when accepting an invitation: a name and a password, twice."""

    full_name = forms.CharField(label=_("Full name"), max_length=200, strip=True)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, invitation: Invitation, **kwargs):
        self.invitation = invitation
        super().__init__(*args, **kwargs)
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"

    def clean_full_name(self) -> str:
        return clean_name(self.cleaned_data.get("full_name"))

    def clean_password2(self) -> str:
        password1 = self.cleaned_data.get("password1")
        password2: str = self.cleaned_data["password2"]  # clean_<field> runs once the field itself is clean
        if password1 and password2 and password1 != password2:
            raise forms.ValidationError(_("The two passwords do not match."), code="password_mismatch")
        return password2

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # BaseForm's hook after clean(), absent from django-stubs
        password = self.cleaned_data.get("password2")
        if password:
            # Validate against the person the account will be, so "similar to your e-mail" works.
            candidate = User(
                email=self.invitation.email,
                full_name=self.cleaned_data.get("full_name", ""),
                organisation=self.invitation.organisation,
            )
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password2", error)
