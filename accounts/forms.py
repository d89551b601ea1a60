"""Forms for the account pages: the profile settings (accepting an invitation is consultations')."""

import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from config.text import clean_name

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from .models import User


@cache
def time_zone_names() -> tuple[str, ...]:
    # available_timezones() scans the tz database on disk: once per process is enough.
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone_choices() -> "list[tuple[str, StrOrPromise]]":
    return [("", _("Site default"))] + [(name, name.replace("_", " ")) for name in time_zone_names()]


class ProfileForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        required=False,
        empty_value="",
        help_text=_("Dates and deadlines are shown in this time zone. Leave empty for the site default."),
    )

    class Meta:
        model = User
        fields = ["full_name", "time_zone"]
        labels = {"full_name": _("Full name")}

    def clean_full_name(self) -> str:
        # Bidi overrides and zero-width characters would let a name display as another.
        return clean_name(self.cleaned_data.get("full_name"))
