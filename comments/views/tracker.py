"""The response tracker: who has answered in a round, and reminders to those who have not.

For the organisers only (site admins, secretariat, consultants: comments.view_response_tracker);
sending reminders is the secretariat's (consultations.manage_rounds). Anyone else in the
consultation gets a 403, anyone outside it a 404, as on the other manage pages.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from config.actions import perform
from config.errors import Refusal
from consultations import reminders
from consultations import selectors as consultation_selectors

from .. import selectors_tracker
from ..forms.tracker import RemindForm


@login_required
@require_http_methods(["GET", "POST"])
def response_tracker(request, slug, round_id):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )
    if not request.user.has_perm("comments.view_response_tracker", engagement_round):
        raise PermissionDenied
    can_remind = request.user.has_perm("consultations.manage_rounds", consultation)
    if request.method == "POST" and not can_remind:
        raise PermissionDenied
    sort = request.GET.get("sort")
    tracker = selectors_tracker.response_tracker(engagement_round=engagement_round, sort=sort)
    # Bound on every POST, an empty one included (nothing ticked is a refusal, not a blank form).
    data = request.POST if request.method == "POST" else None
    form = RemindForm(data, organisation_ids=[row.organisation.pk for row in tracker.rows])

    def page(status: int = 200, error: str = ""):
        if form.is_bound:
            chosen = set(form.cleaned_data.get("organisations", [])) if form.is_valid() else set()
        else:
            chosen = {row.organisation.pk for row in tracker.late if not row.reminded_recently}
        context = {
            "consultation": consultation,
            "engagement_round": engagement_round,
            "tracker": tracker,
            "can_remind": can_remind,
            "form": form,
            "chosen": chosen,
            "error": error,
            "columns": _columns(tracker),
        }
        return render(request, "comments/tracker.html", context, status=status)

    if request.method != "POST":
        return page()

    def done(reminded: reminders.Reminded):
        messages.success(
            request,
            ngettext(
                "A reminder is on its way to %(count)s person of %(organisations)s.",
                "A reminder is on its way to %(count)s people of %(organisations)s.",
                reminded.recipients,
            )
            % {"count": reminded.recipients, "organisations": ", ".join(org.name for org in reminded.organisations)},
        )
        return redirect(request.get_full_path())

    def refused(answer: Refusal):
        return page(status=answer.status, error=answer.message if answer.error is not None else "")

    return perform(
        form=form,
        run=lambda data: reminders.round_remind(
            actor=request.user, engagement_round=engagement_round, organisation_ids=data["organisations"]
        ),
        done=done,
        refused=refused,
    )


def _columns(tracker: selectors_tracker.ResponseTracker) -> list[dict]:
    """The sortable headers: label, sort key, the link's next sort and the aria-sort state."""
    labels = [
        ("organisation", _("Organisation")),
        ("role", _("Role")),
        ("drafts", _("Drafts")),
        ("submitted", _("Submitted")),
        ("position", _("National position")),
        ("activity", _("Last activity")),
        ("extension", _("Extension")),
        ("reminded", _("Last reminder")),
    ]
    columns = []
    for key, label in labels:
        current = tracker.sort == key
        descending = current and tracker.descending
        columns.append(
            {
                "key": key,
                "label": label,
                "next": key if current and descending else f"-{key}" if current else key,
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
                "numeric": key in ("drafts", "submitted"),
            }
        )
    return columns
