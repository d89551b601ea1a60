"""Forms for the consolidated feedback page: the filters (GET) and the disposition forms (POST).

Shape only: choices and lengths, so the page can say early what is wrong. The rules (who,
when, which comment, which section change) live in consolidation/services/dispositions.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comments.models import BODY_MAX_LENGTH, Comment
from config.forms import choice_field
from consultations.models import Role

from .models import Disposition
from .selectors_feedback import (
    ASSIGNED_TO_ME,
    ASSIGNED_TO_NOBODY,
    DISPOSITION_NONE,
    DISPOSITION_PROPOSED,
    SORT_NEWEST,
    SORT_ORGANISATION,
    SORT_SECTION,
    SORT_STATUS,
    SORT_SUPPORT,
    SORT_TYPE,
    SUPPORT_ANY,
    SUPPORT_NONE,
    FeedbackFilters,
)

SEARCH_MAX_LENGTH = 200


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FeedbackFilterForm(forms.Form):
    """Every field optional; an unknown value is ignored rather than refused (it is a GET)."""

    section = forms.TypedChoiceField(label=_("Section"), required=False, coerce=int, empty_value=None)
    organisation = forms.TypedChoiceField(label=_("Organisation"), required=False, coerce=int, empty_value=None)
    role = forms.ChoiceField(label=_("Role"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)
    disposition = forms.ChoiceField(label=_("Disposition"), required=False)
    q = forms.CharField(label=_("Text"), required=False, max_length=SEARCH_MAX_LENGTH)
    assigned = forms.ChoiceField(label=_("Assigned to"), required=False)
    support = forms.ChoiceField(
        label=_("Support"),
        required=False,
        choices=[
            ("", _("Any")),
            (SUPPORT_ANY, _("Supported by other delegations")),
            (SUPPORT_NONE, _("Not supported by others")),
        ],
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            (SORT_SECTION, _("Section order")),
            (SORT_ORGANISATION, _("Organisation")),
            (SORT_TYPE, _("Type")),
            (SORT_STATUS, _("Disposition: undecided first")),
            (SORT_NEWEST, _("Newest first")),
            (SORT_SUPPORT, _("Most supported first")),
        ],
    )
    duplicates = forms.BooleanField(label=_("Near-duplicates only"), required=False)

    def __init__(self, *args, sections=(), organisations=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        any_ = [("", _("Any"))]
        choice_field(self, "section").choices = any_ + [
            (s.pk, ("\u00a0\u00a0" * min(s.depth, 3)) + " ".join(p for p in (s.number, s.heading) if p))
            for s in sections
        ]
        choice_field(self, "organisation").choices = any_ + [(o.pk, o.name) for o in organisations]
        choice_field(self, "role").choices = any_ + list(Role.choices)
        choice_field(self, "type").choices = any_ + list(Comment.Type.choices)
        choice_field(self, "disposition").choices = (
            any_
            + [(DISPOSITION_NONE, _("No disposition yet")), (DISPOSITION_PROPOSED, _("Proposed, not decided"))]
            + list(Disposition.Decision.choices)
        )
        choice_field(self, "assigned").choices = (
            any_
            + [(ASSIGNED_TO_ME, _("Me")), (ASSIGNED_TO_NOBODY, _("Nobody yet"))]
            + [(str(person.id), person.name) for person in people]
        )

    def filters(self) -> FeedbackFilters:
        """The valid part of the request's filters; an invalid field counts as empty."""
        if not self.is_bound:
            return FeedbackFilters()
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return FeedbackFilters(
            section_id=data.get("section"),
            organisation_id=data.get("organisation"),
            role=data.get("role") or "",
            comment_type=data.get("type") or "",
            disposition=data.get("disposition") or "",
            text=data.get("q") or "",
            duplicates_only=bool(data.get("duplicates")),
            assigned=data.get("assigned") or "",
            support=data.get("support") or "",
            sort=data.get("sort") or SORT_SECTION,
        )

    def is_filtered(self) -> bool:
        return self.filters() != FeedbackFilters()


class DispositionForm(forms.Form):
    """Decision and response; the secretariat's form adds the section change and the revision read."""

    decision = forms.ChoiceField(label=_("Decision"), choices=())
    response = forms.CharField(
        label=_("Response to the commenter"),
        required=False,
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    section_change = forms.TypedChoiceField(
        label=_("Changed section in a later version"), required=False, coerce=int, empty_value=None
    )
    expected_revision = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, later_sections=(), **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "decision").choices = [("", _("Choose…"))] + list(Disposition.Decision.choices)
        choice_field(self, "section_change").choices = [("", _("None"))] + [
            (s.pk, f"v{s.version.number} · {s.number} {s.heading}".strip()) for s in later_sections
        ]
        self.later_sections = {s.pk: s for s in later_sections}

    def section(self):
        return self.later_sections.get(self.cleaned_data.get("section_change"))


class _OneDecisionForm(forms.Form):
    """One decision and one response for several comments (a group, or a selection)."""

    decision_label: Any = ""
    response_label: Any = ""
    decision = forms.ChoiceField(choices=())
    response = forms.CharField(required=False, max_length=BODY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        decision = choice_field(self, "decision")
        decision.label = self.decision_label
        decision.choices = [("", _("Choose…"))] + list(Disposition.Decision.choices)
        self.fields["response"].label = self.response_label


class GroupDispositionForm(_OneDecisionForm):
    decision_label = _("Decision for the whole group")
    response_label = _("Response to every commenter of the group")


class ApproveForm(forms.Form):
    expected_revision = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class SelectionField(forms.Field):
    """The comments ticked on the list: "id:revision" each (the revision of the disposition the
    person saw, 0 for none), or a bare id (not checked). Gives {id: revision or None}."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> dict[int, int | None]:
        selected: dict[int, int | None] = {}
        for item in value or []:
            pk, _sep, revision = str(item).partition(":")
            if not pk.isdigit() or (revision and not revision.isdigit()):
                raise forms.ValidationError(_("The selection could not be read; reload the page and select again."))
            selected[int(pk)] = int(revision) if revision else None
        return selected

    def validate(self, value) -> None:
        if self.required and not value:
            raise forms.ValidationError(_("Select at least one comment."), code="required")


class BulkDispositionForm(_OneDecisionForm):
    """One decision for the selected comments (the rules are the service's)."""

    selected = SelectionField()
    decision_label = _("Decision for the selected comments")
    response_label = _("Response to every commenter selected")


class BulkAssignForm(forms.Form):
    """The selected comments given to one person of the team, or to nobody (an empty choice)."""

    selected = SelectionField()
    assignee = forms.TypedChoiceField(label=_("Assign the selected to"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "assignee").choices = [("", _("Nobody (remove the assignment)"))] + [
            (person.id, person.name) for person in people
        ]
