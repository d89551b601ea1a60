"""Forms for the account pages: the profile settings (accepting an invitation is consultations')."""

import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from config.text import clean_name

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from .models import EmailFrequency, User


@cache
def time_zone_names() -> tuple[str, ...]:
    # available_timezones() scans the tz database on disk: once per process is enough.
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone_choices() -> "list[tuple[str, StrOrPromise]]":
    return [("", _("Site default"))] + [(name, name.replace("_", " ")) for name in time_zone_names()]


def language_choices() -> "list[tuple[str, StrOrPromise]]":
    return [(code, name) for code, name in settings.LANGUAGES]


class ProfileForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        required=False,
        empty_value="",
        help_text=_("Dates and deadlines are shown in this time zone. Leave empty for the site default."),
    )

    language = forms.ChoiceField(
        label=_("Language of your e-mails"),
        choices=language_choices,
        required=False,
        help_text=_("Every e-mail from the platform is written in this language."),
    )
    email_frequency = forms.ChoiceField(
        label=_("E-mail about replies, decisions and rounds"),
        choices=EmailFrequency.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text=_("Everything is in your notifications on the site as well."),
    )

    class Meta:
        model = User
        fields = ["full_name", "time_zone", "language", "email_frequency"]
        labels = {"full_name": _("Full name")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.language:
            self.initial["language"] = settings.LANGUAGE_CODE

    def clean_email_frequency(self) -> str:
        # A form that does not send it (an older page) keeps the person's choice.
        return self.cleaned_data.get("email_frequency") or self.instance.email_frequency

    def clean_full_name(self) -> str:
        # Bidi overrides and zero-width characters would let a name display as another.
        return clean_name(self.cleaned_data.get("full_name"))
