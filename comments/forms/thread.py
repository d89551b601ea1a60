"""Forms for comment threads, moderation, national positions and the delegation's list.

Shape only: lengths and choices so the browser and the page can say what is wrong early.
The rules (who, when, what is allowed) live in comments/services.py, which checks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from comments.models import BODY_MAX_LENGTH, Comment
from config.forms import choice_field, model_choice_field

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from consultations.models import EngagementRound

REASON_MAX_LENGTH = 500
SEARCH_MAX_LENGTH = 200

# Languages a reply is commonly written in; the service accepts any well-formed code.
# Keep in step with templates/comments/thread/_language_options.html.
REPLY_LANGUAGES = ("en", "vi", "th", "id", "ms", "km", "my", "zh-hans", "fr")


def language_choices() -> list[tuple[str, StrOrPromise]]:
    choices: list[tuple[str, StrOrPromise]] = [("", _("Not stated"))]
    for code in REPLY_LANGUAGES:
        try:
            info = get_language_info(code)
        except KeyError:
            continue
        choices.append((code, f"{info['name_local']} ({info['name_translated']})"))
    return choices


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    language = forms.ChoiceField(label=_("Language of the reply"), required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "language").choices = language_choices()
        if not self.is_bound:
            current = (get_language() or "").lower()
            if current in REPLY_LANGUAGES:
                self.initial.setdefault("language", current)


class FlagForm(forms.Form):
    reason = forms.CharField(
        label=_("Why should the secretariat look at this comment?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class HideForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for hiding (the author's delegation sees it)"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReturnForm(forms.Form):
    """The focal point's note when sending a comment back to its author (comments.services.comment_return)."""

    note = forms.CharField(
        label=_("Note to the author: what should change"),
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The revision the focal point read: a change made meanwhile is not returned unseen.
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PositionForm(forms.Form):
    note = forms.CharField(
        label=_("Covering note"),
        required=False,
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional. Sent with the endorsed comments to the secretariat."),
    )


class DelegationFilterForm(forms.Form):
    """Filters for "my delegation's comments". Every field is optional; an invalid value is ignored."""

    ENDORSED_CHOICES = (("", _("Any")), ("yes", _("Endorsed")), ("no", _("Not endorsed")))

    round: forms.ModelChoiceField[EngagementRound] = forms.ModelChoiceField(
        label=_("Round"), queryset=None, required=False, empty_label=_("All rounds")
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=())
    type = forms.ChoiceField(label=_("Type"), required=False, choices=())
    endorsed = forms.ChoiceField(label=_("National position"), required=False, choices=ENDORSED_CHOICES)
    q = forms.CharField(label=_("Text contains"), required=False, max_length=SEARCH_MAX_LENGTH)

    def __init__(self, *args, rounds=None, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "round").queryset = rounds
        choice_field(self, "status").choices = [("", _("Any status")), *Comment.Status.choices]
        choice_field(self, "type").choices = [("", _("Any type")), *Comment.Type.choices]
