"""The form for writing and editing a comment on a section.

Shape only: limits, the anchor check and the round's state are the services' business
(comments/services.py), whose messages the views put back on this form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from config.forms import choice_field

from ..models import BODY_MAX_LENGTH, Comment
from ..services import AnchorInput

ACTION_DRAFT = "draft"
ACTION_SUBMIT = "submit"

# Languages delegates commonly write in, each under its own name (as the language switch shows them).
LANGUAGE_CHOICES = [
    ("en", "English"),
    ("vi", "Tiếng Việt"),
    ("th", "ไทย"),
    ("id", "Bahasa Indonesia"),
    ("ms", "Bahasa Melayu"),
    ("km", "ខ្មែរ"),
    ("lo", "ລາວ"),
    ("my", "မြန်မာ"),
    ("fil", "Filipino"),
    ("zh", "中文"),
    ("fr", "Français"),
    ("de", "Deutsch"),
]
LANGUAGE_CODES = {code for code, _name in LANGUAGE_CHOICES}
LANGUAGE_FIELD_CHOICES = [("", _("Not specified")), *LANGUAGE_CHOICES]


def _textarea(rows: int, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "maxlength": BODY_MAX_LENGTH, **attrs})


class CommentForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Type"), choices=Comment.Type.choices, initial=Comment.Type.GENERAL, widget=forms.RadioSelect
    )
    # Not required here: the service says "cannot be empty" in the same words as in the API.
    body = forms.CharField(label=_("Comment"), required=False, strip=False, widget=_textarea(6, required=True))
    proposed_change = forms.CharField(
        label=_("Proposed change"),
        required=False,
        strip=False,
        widget=_textarea(3),
        help_text=_("The wording you suggest instead, if any."),
    )
    # Suggestion mode: the proposed change is the selected passage as edited (static/js/anchoring.js
    # fills it with the passage when the box is ticked); the card shows the two as a diff.
    is_suggestion = forms.BooleanField(
        label=_("Suggest an edit of the selected passage"),
        required=False,
        help_text=_("The proposed change starts as the passage: edit it, and readers see your edit as a redline."),
    )
    language = forms.ChoiceField(
        label=_("Language of your comment"),
        choices=LANGUAGE_FIELD_CHOICES,
        required=False,
    )
    # The selected passage (W3C TextQuoteSelector and TextPositionSelector), filled in by
    # static/js/anchoring.js. Left empty, the comment is on the whole section.
    quote_exact = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    quote_prefix = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    quote_suffix = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    position_start = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    position_end = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    ANCHOR_FIELDS = ("quote_exact", "quote_prefix", "quote_suffix", "position_start", "position_end")

    def __init__(self, *args, prefix_id: str = "new", **kwargs):
        super().__init__(*args, **kwargs)
        # Ids unique on a page that holds the new-comment form and inline edit forms.
        self.auto_id = f"id_{prefix_id}_%s"
        self.fields["is_suggestion"].widget.attrs["aria-describedby"] = f"id_{prefix_id}_is_suggestion_help"
        # A language given through the API or an import may be outside the list: keep it selectable.
        language = self.data.get(self.add_prefix("language")) if self.is_bound else self.initial.get("language")
        if language and language not in LANGUAGE_CODES:
            choice_field(self, "language").choices = [*LANGUAGE_FIELD_CHOICES, (language, language)]

    @classmethod
    def initial_for(cls, comment: Comment) -> dict:
        return {
            "type": comment.type,
            "body": comment.body,
            "proposed_change": comment.proposed_change,
            "is_suggestion": comment.is_suggestion,
            "language": comment.language,
            "quote_exact": comment.quote_exact,
            "quote_prefix": comment.quote_prefix,
            "quote_suffix": comment.quote_suffix,
            "position_start": comment.position_start,
            "position_end": comment.position_end,
        }

    def anchor(self) -> AnchorInput | None:
        data = self.cleaned_data
        if not data.get("quote_exact"):
            return None
        return AnchorInput(
            exact=data["quote_exact"],
            prefix=data.get("quote_prefix") or "",
            suffix=data.get("quote_suffix") or "",
            start=data.get("position_start"),
            end=data.get("position_end"),
        )

    def content(self) -> dict:
        """The keyword arguments comment_create and comment_update take for the comment's text."""
        data = self.cleaned_data
        return {
            "comment_type": data["type"],
            "body": data.get("body") or "",
            "proposed_change": data.get("proposed_change") or "",
            "is_suggestion": bool(data.get("is_suggestion")),
            "language": data.get("language") or "",
        }

    def add_service_error(self, error) -> None:
        """Put a ValidationError from the services on the field it names, or on the form."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                # Anchor fields are hidden: their messages belong at the top of the form.
                target = field if field in self.fields and field not in self.ANCHOR_FIELDS else None
                for message in errors:
                    self.add_error(target, message)
        else:
            for message in error.messages:
                self.add_error(None, message)


class CommentEditForm(CommentForm):
    # The revision the writer started from: a change made meanwhile is not silently overwritten.
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def anchor_unchanged(self, comment: Comment) -> bool:
        data = self.cleaned_data
        return (data.get("quote_exact") or "") == comment.quote_exact and (
            not comment.quote_exact
            or (data.get("position_start"), data.get("position_end")) == (comment.position_start, comment.position_end)
        )
