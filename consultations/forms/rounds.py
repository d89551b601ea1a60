"""Forms for running consultation windows: rounds, deadline extensions and invitations.

They only check the shape of the input; the rules (closing after opening, one active round per
version, extensions ending after the round closes...) live in the services, whose
ValidationError the views put back on these forms.

Times are typed in the viewer's active time zone (set per request by UserTimezoneMiddleware):
Django's DateTimeField turns the naive value it reads into an aware one in that zone.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from config.forms import model_choice_field

from ..models import Consultation, DraftVersion, EngagementRound, Role

# What a datetime-local input sends and expects: 2025-07-01T09:00
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL_FORMAT)


def _local_datetime_field(label, help_text=None) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=help_text or _("In your time zone."),
    )


class RoundWindowMixin(forms.Form):
    opens_at = _local_datetime_field(_("Opens at"))
    closes_at = _local_datetime_field(_("Closes at"))


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DraftVersion) -> str:
        return _("Version %(number)s") % {"number": obj.number}


class RoundForm(RoundWindowMixin):
    """Schedule a new engagement round on a published version."""

    version = VersionChoiceField(
        label=_("Version under review"),
        queryset=DraftVersion.objects.none(),
        empty_label=None,
        help_text=_("Only published versions can be put up for review."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    commenting_roles = forms.MultipleChoiceField(
        label=_("Who may comment"),
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Role.MEMBER_STATE, Role.PARTNER],
    )
    visibility = forms.ChoiceField(
        label=_("Visibility of submitted comments"),
        choices=EngagementRound.Visibility.choices,
        initial=EngagementRound.Visibility.SECRETARIAT_ONLY,
    )

    field_order = ["version", "title", "opens_at", "closes_at", "commenting_roles", "visibility"]

    def __init__(self, *args, consultation: Consultation, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "version").queryset = consultation.versions.filter(
            status=DraftVersion.Status.PUBLISHED
        ).order_by("-major", "-minor")


class RoundRescheduleForm(RoundWindowMixin):
    """Move a round's window (only its closing time once it is open)."""


class ExtensionForm(forms.Form):
    """A later deadline for one participating organisation."""

    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.none())
    closes_at = _local_datetime_field(_("New deadline"))
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, consultation: Consultation, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "organisation").queryset = (
            Organisation.objects.filter(participations__consultation=consultation).distinct().order_by("name")
        )


class InviteForm(forms.Form):
    """Invite an e-mail address into the consultation for an organisation, with a role."""

    email = forms.EmailField(label=_("E-mail address"))
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.order_by("name"))
    role = forms.ChoiceField(
        label=_("Role"), choices=Role.choices, help_text=_("It must match the kind of organisation.")
    )
    is_focal_point = forms.BooleanField(
        label=_("Focal point of the delegation"),
        required=False,
        help_text=_("Member states only: endorses comments into the national position."),
    )
