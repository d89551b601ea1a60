"""The consolidated feedback page of a round and the disposition forms on it.

For the secretariat, the consultants and site admins (consolidation.read_feedback): a heat map
of submitted comments (sections x organisations), filters, and the paginated list, each
comment with its proposal and decision. Non-participants get a 404, other participants a 403.

Thin views: a scoped fetch (404 for a round or comment outside the page's consultation, so a
forged id changes nothing), then config.actions.perform: a form for the shape of the input, a
service, which checks again, and the answer. A refusal is answered in place with the status
config.errors gives it (ValidationError 400, PermissionDenied 403, a conflict 409, a stale
revision 412, 429 with Retry-After). htmx requests get the comment's row to swap (with the
page's headline, out of band, so that "n of m decided" follows); plain POSTs redirect back to
the same page of the list (or show it again with the message and the status).

A row carries no disposition form: opening "Record a decision" fetches that row's form
(disposition_form; without JavaScript, a link to the same address shows it on a page of its own),
so the page's weight does not grow with the number of later sections a form offers. The rows'
checkboxes feed one form for the selection: one decision for many comments, or an assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from comments.models import Comment
from comments.selectors import get_comment_for_user
from config.actions import perform
from config.errors import Refusal
from consultations import selectors as consultation_selectors
from consultations.models import Consultation, EngagementRound

from .. import selectors_feedback as selectors
from ..forms import (
    ApproveForm,
    BulkAssignForm,
    BulkDispositionForm,
    DispositionForm,
    FeedbackFilterForm,
    GroupDispositionForm,
)
from ..heatmap import render_heatmap
from ..models import Disposition
from ..services import assignments as assignment_services
from ..services import dispositions as services

READ_PERM = "consolidation.read_feedback"
PROPOSE_PERM = "consolidation.propose_disposition"
RECORD_PERM = "consolidation.record_disposition"
ASSIGN_PERM = "consolidation.assign_comments"


# --- helpers ------------------------------------------------------------------------------


def _round_for(request: HttpRequest, slug: str, round_id: int, perm: str) -> tuple[Consultation, EngagementRound]:
    """The consultation and its round, if the user may `perm` there: 404 outside, 403 without the right."""
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    if not request.user.has_perm(perm, consultation):
        raise PermissionDenied(_refused_message(perm))
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )
    return consultation, engagement_round


def _refused_message(perm: str) -> str:
    if perm == RECORD_PERM:
        return _("Only the secretariat records dispositions.")
    if perm == PROPOSE_PERM:
        return _("Only the secretariat and the consultants can propose dispositions.")
    if perm == ASSIGN_PERM:
        return _("Only the secretariat assigns comments.")
    return _("Only the secretariat and the consultants read the consolidated feedback.")


def _comment_for(request: HttpRequest, engagement_round: EngagementRound, pk: int) -> Comment:
    comment = get_comment_for_user(user=request.user, pk=pk)
    if comment.round_id != engagement_round.pk:
        raise Http404
    return comment


def _round_closed(engagement_round: EngagementRound) -> bool:
    return engagement_round.phase_at(timezone.now()) not in (
        EngagementRound.State.SCHEDULED,
        EngagementRound.State.OPEN,
    )


def _feedback_url(consultation: Consultation, engagement_round: EngagementRound, query: str = "") -> str:
    url = reverse("consolidation:feedback", args=[consultation.slug, engagement_round.pk])
    return f"{url}?{query}" if query else url


@dataclass(frozen=True)
class RowPrefill:
    """What a row's disposition form shows (a view-model of the page, not of the selector)."""

    decision: str = ""
    response: str = ""
    section_change: int | None = None
    revision: int = 0


@dataclass(frozen=True)
class FeedbackRow:
    """One row of the page: the comment as the selector reads it, its form, its refusal if any."""

    comment: selectors.FeedbackItem
    prefill: RowPrefill
    error: str = ""


def _prefill(comment: selectors.FeedbackItem, posted=None, *, proposing: bool = False) -> RowPrefill:
    """What the row's form shows: the posted values after a refusal, else the proposal or decision."""
    d = comment.disposition
    section_change: int | None
    if d is None:
        decision, response, section_change = "", "", None
    elif proposing:
        decision, response, section_change = d.proposed_decision, d.proposed_response, None
    else:
        # The secretariat's form starts from the decision, else from the consultants' proposal.
        decision, response = (d.decision, d.response) if d.decision else (d.proposed_decision, d.proposed_response)
        section_change = d.section_change.id if d.section_change else None
    if posted is not None:
        decision, response = posted.get("decision", ""), posted.get("response", "")
        section_change = int(posted["section_change"]) if (posted.get("section_change") or "").isdigit() else None
    return RowPrefill(
        decision=decision, response=response, section_change=section_change, revision=d.revision if d else 0
    )


def _row_context(request, consultation, engagement_round, *, with_form: bool = False) -> dict:
    """What every row needs, computed once per page; `with_form`: what a disposition form needs too
    (the later sections, one query), for the form's own answer or a row shown again with its error."""
    user = request.user
    may_record = user.has_perm(RECORD_PERM, consultation)
    may_propose = user.has_perm(PROPOSE_PERM, consultation)
    round_closed = _round_closed(engagement_round)
    may_assign = user.has_perm(ASSIGN_PERM, consultation)
    later_sections = (
        selectors.later_sections(consultation=consultation, version=engagement_round.version)
        if may_record and with_form
        else []
    )
    return {
        "consultation": consultation,
        "engagement_round": engagement_round,
        "may_record": may_record,
        "may_propose": may_propose and not may_record,
        "may_assign": may_assign,
        # Rows get a checkbox for the selection's form when it can do something with them.
        "selectable": may_assign or (may_record and round_closed),
        "round_closed": round_closed,
        "decisions": Disposition.Decision.choices,
        "later_sections": later_sections,
        "page_query": request.GET.urlencode(),
        "viewer_id": user.pk,
    }


def _page_context(request, consultation, engagement_round, **extra) -> dict:
    user = request.user
    run = selectors.latest_done_run(engagement_round=engagement_round)
    heatmap = selectors.feedback_heatmap(user=user, engagement_round=engagement_round)
    people = selectors.assignable_people(consultation=consultation)
    form = FeedbackFilterForm(
        request.GET or None, sections=heatmap.sections, organisations=heatmap.organisations, people=people
    )
    filters = form.filters()
    page = selectors.feedback_page(
        user=user, engagement_round=engagement_round, filters=filters, run=run, page_number=request.GET.get("page")
    )

    def link_for(section_id: int, organisation_id: int) -> str:
        # Relative to the page itself: shorter, and it drops the filters in force (a cell names its own).
        return f"?{urlencode({'section': section_id, 'organisation': organisation_id})}#comments"

    run_create_url = None
    if run is None and user.has_perm("consolidation.run", consultation):
        try:
            run_create_url = reverse("consolidation:run_create", args=[consultation.slug, engagement_round.pk])
        except NoReverseMatch:
            run_create_url = None
    filter_query = request.GET.copy()
    filter_query.pop("page", None)
    context = {
        **_row_context(request, consultation, engagement_round, with_form=bool(extra.get("posted_for"))),
        "run": run,
        "run_create_url": run_create_url,
        "heatmap": render_heatmap(
            heatmap,
            link_for=link_for,
            caption=_("Submitted comments per section and organisation in %(round)s")
            % {"round": engagement_round.title},
        ),
        "heatmap_total": heatmap.total,
        "summary": selectors.disposition_summary(user=user, engagement_round=engagement_round),
        "filter_form": form,
        "is_filtered": filters != selectors.FeedbackFilters(),
        "page": page,
        "filter_query": filter_query.urlencode(),
        "row_errors": {},
        "people": people,
        "bulk_form": BulkDispositionForm(auto_id="bulk-%s"),
        "assign_form": BulkAssignForm(people=people, auto_id="bulk-%s"),
        "assigned_to_me_url": _feedback_url(consultation, engagement_round, "assigned=me") + "#comments",
        "may_be_assigned": user.has_perm("consolidation.be_assigned", consultation),
    }
    context.update(extra)
    context["rows"] = [
        FeedbackRow(
            comment=item,
            prefill=_prefill(
                item,
                context.get("posted") if context.get("posted_for") == item.id else None,
                proposing=context["may_propose"],
            ),
            error=context["row_errors"].get(item.id, ""),
        )
        for item in page.object_list
    ]
    return context


def _row_response(
    request, consultation, engagement_round, pk: int, *, status: int = 200, posted=None, headline=False, **extra
) -> HttpResponse:
    """The comment's row to swap; `headline`: with the page's progress line, out of band."""
    run = selectors.latest_done_run(engagement_round=engagement_round)
    item = selectors.feedback_item(user=request.user, engagement_round=engagement_round, pk=pk, run=run)
    context = {
        **_row_context(request, consultation, engagement_round, with_form=bool(extra.get("row_error"))),
        "comment": item,
        **extra,
    }
    context["prefill"] = _prefill(item, posted, proposing=context["may_propose"])
    if headline:
        context["summary"] = selectors.disposition_summary(user=request.user, engagement_round=engagement_round)
    return render(request, "consolidation/feedback/_row_response.html", context, status=status)


def _refuse(request, consultation, engagement_round, comment_ids: list[int], answer: Refusal, *, posted=None):
    """A refused write: for htmx the comment's row with the message, else the page again."""
    status, message = answer.status, answer.message
    if request.htmx and len(comment_ids) == 1:
        return _row_response(
            request, consultation, engagement_round, comment_ids[0], status=status, row_error=message, posted=posted
        )
    context = _page_context(
        request,
        consultation,
        engagement_round,
        page_error=message,
        row_errors={pk: message for pk in comment_ids},
        posted_for=comment_ids[0] if len(comment_ids) == 1 else None,
        posted=posted,
    )
    return render(request, "consolidation/feedback/page.html", context, status=status)


def _done(request, consultation, engagement_round, pk: int, message: str) -> HttpResponse:
    if request.htmx:
        return _row_response(request, consultation, engagement_round, pk, row_notice=message, headline=True)
    messages.success(request, message)
    return redirect(_feedback_url(consultation, engagement_round, request.GET.urlencode()) + f"#fb-comment-{pk}")


# --- reading ------------------------------------------------------------------------------


@login_required
@require_GET
def feedback(request, slug: str, round_id: int):
    consultation, engagement_round = _round_for(request, slug, round_id, READ_PERM)
    context = _page_context(request, consultation, engagement_round)
    return render(request, "consolidation/feedback/page.html", context)


@login_required
@require_GET
def disposition_form(request, slug: str, round_id: int, pk: int):
    """One row's disposition form, fetched when the person opens it (htmx), or on a page of its
    own (the link a browser without JavaScript follows). Who may propose or record: the rest 403,
    or 404 outside the consultation, as the endpoints the form posts to."""
    consultation, engagement_round = _round_for(request, slug, round_id, PROPOSE_PERM)
    comment = _comment_for(request, engagement_round, pk)
    run = selectors.latest_done_run(engagement_round=engagement_round)
    item = selectors.feedback_item(user=request.user, engagement_round=engagement_round, pk=comment.pk, run=run)
    context = {**_row_context(request, consultation, engagement_round, with_form=True), "comment": item}
    context["prefill"] = _prefill(item, proposing=context["may_propose"])
    if request.htmx:
        return render(request, "consolidation/feedback/_disposition_form.html", {**context, "focus_first": True})
    context["back_url"] = _feedback_url(consultation, engagement_round, request.GET.urlencode()) + f"#fb-comment-{pk}"
    return render(request, "consolidation/feedback/disposition_page.html", context)


# --- writing ------------------------------------------------------------------------------


@login_required
@require_POST
def disposition_propose(request, slug: str, round_id: int, pk: int):
    consultation, engagement_round = _round_for(request, slug, round_id, PROPOSE_PERM)
    comment = _comment_for(request, engagement_round, pk)
    return perform(
        form=DispositionForm(request.POST),
        run=lambda data: services.disposition_propose(
            actor=request.user,
            comment=comment,
            decision=data["decision"],
            response=data["response"],
            consultation=consultation,
        ),
        done=lambda _disposition: _done(
            request, consultation, engagement_round, comment.pk, _("Proposal saved for %(n)s.") % {"n": comment.number}
        ),
        refused=lambda answer: _refuse(
            request, consultation, engagement_round, [comment.pk], answer, posted=request.POST
        ),
    )


@login_required
@require_POST
def disposition_record(request, slug: str, round_id: int, pk: int):
    consultation, engagement_round = _round_for(request, slug, round_id, RECORD_PERM)
    comment = _comment_for(request, engagement_round, pk)
    later = selectors.later_sections(consultation=consultation, version=engagement_round.version)
    form = DispositionForm(request.POST, later_sections=later)
    return perform(
        form=form,
        run=lambda data: services.disposition_record(
            actor=request.user,
            comment=comment,
            decision=data["decision"],
            response=data["response"],
            section_change=form.section(),
            expected_revision=data["expected_revision"],
            consultation=consultation,
        ),
        done=lambda _disposition: _done(
            request,
            consultation,
            engagement_round,
            comment.pk,
            _("Disposition recorded for %(n)s.") % {"n": comment.number},
        ),
        refused=lambda answer: _refuse(
            request, consultation, engagement_round, [comment.pk], answer, posted=request.POST
        ),
    )


@login_required
@require_POST
def disposition_approve(request, slug: str, round_id: int, pk: int):
    consultation, engagement_round = _round_for(request, slug, round_id, RECORD_PERM)
    comment = _comment_for(request, engagement_round, pk)
    return perform(
        form=ApproveForm(request.POST),
        run=lambda data: services.disposition_approve_proposal(
            actor=request.user,
            comment=comment,
            expected_revision=data["expected_revision"],
            consultation=consultation,
        ),
        done=lambda _disposition: _done(
            request,
            consultation,
            engagement_round,
            comment.pk,
            _("Proposal approved for %(n)s.") % {"n": comment.number},
        ),
        refused=lambda answer: _refuse(request, consultation, engagement_round, [comment.pk], answer),
    )


@login_required
@require_POST
def disposition_group_record(request, slug: str, round_id: int, group_id: int):
    consultation, engagement_round = _round_for(request, slug, round_id, RECORD_PERM)
    group = selectors.get_group_for_round(engagement_round=engagement_round, pk=group_id)
    member_ids = list(group.comments.order_by("pk").values_list("pk", flat=True))

    def done(recorded) -> HttpResponse:
        messages.success(
            request,
            _("The same disposition was recorded for the %(count)s comments of the group.") % {"count": len(recorded)},
        )
        anchor = f"#fb-comment-{request.POST.get('from')}" if (request.POST.get("from") or "").isdigit() else ""
        return redirect(_feedback_url(consultation, engagement_round, request.GET.urlencode()) + anchor)

    return perform(
        form=GroupDispositionForm(request.POST),
        run=lambda data: services.disposition_record_group(
            actor=request.user,
            group=group,
            decision=data["decision"],
            response=data["response"],
            consultation=consultation,
        ),
        done=done,
        refused=lambda answer: _refuse(request, consultation, engagement_round, member_ids or [0], answer),
    )


def _selection_done(request, consultation, engagement_round, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(_feedback_url(consultation, engagement_round, request.GET.urlencode()) + "#comments")


def _selection_refused(request, consultation, engagement_round, form, answer: Refusal) -> HttpResponse:
    selected = list(getattr(form, "cleaned_data", {}).get("selected") or {})
    return _refuse(request, consultation, engagement_round, selected or [0], answer)


@login_required
@require_POST
def disposition_bulk_record(request, slug: str, round_id: int):
    """One decision for the comments selected on the list: all of them, or none."""
    consultation, engagement_round = _round_for(request, slug, round_id, RECORD_PERM)
    form = BulkDispositionForm(request.POST)
    return perform(
        form=form,
        run=lambda data: services.disposition_record_many(
            actor=request.user,
            engagement_round=engagement_round,
            comments=data["selected"],
            decision=data["decision"],
            response=data["response"],
            consultation=consultation,
        ),
        done=lambda recorded: _selection_done(
            request,
            consultation,
            engagement_round,
            ngettext(
                "The same disposition was recorded for %(count)s selected comment.",
                "The same disposition was recorded for the %(count)s selected comments.",
                len(recorded),
            )
            % {"count": len(recorded)},
        ),
        refused=lambda answer: _selection_refused(request, consultation, engagement_round, form, answer),
    )


@login_required
@require_POST
def comments_assign(request, slug: str, round_id: int):
    """The comments selected on the list given to one person of the team (or to nobody)."""
    consultation, engagement_round = _round_for(request, slug, round_id, ASSIGN_PERM)
    people = selectors.assignable_people(consultation=consultation)
    form = BulkAssignForm(request.POST, people=people)

    def run(data):
        assignee = None
        if data["assignee"] is not None:
            assignee = get_user_model().objects.filter(pk=data["assignee"]).first()
        return assignment_services.comments_assign(
            actor=request.user,
            engagement_round=engagement_round,
            comment_ids=list(data["selected"]),
            assignee=assignee,
            consultation=consultation,
        )

    def done(changed: int) -> HttpResponse:
        chosen = next((p.name for p in people if p.id == form.cleaned_data["assignee"]), "")
        if chosen:
            message = ngettext(
                "%(count)s comment assigned to %(name)s.", "%(count)s comments assigned to %(name)s.", changed
            ) % {"count": changed, "name": chosen}
        else:
            message = ngettext(
                "%(count)s comment is no longer assigned.", "%(count)s comments are no longer assigned.", changed
            ) % {"count": changed}
        return _selection_done(request, consultation, engagement_round, message)

    return perform(
        form=form,
        run=run,
        done=done,
        refused=lambda answer: _selection_refused(request, consultation, engagement_round, form, answer),
    )


urlpatterns = [
    path("<slug:slug>/rounds/<int:round_id>/feedback/", feedback, name="feedback"),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/comments/<int:pk>/disposition/",
        disposition_form,
        name="disposition_form",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/selection/record/",
        disposition_bulk_record,
        name="disposition_bulk_record",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/selection/assign/",
        comments_assign,
        name="comments_assign",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/comments/<int:pk>/propose/",
        disposition_propose,
        name="disposition_propose",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/comments/<int:pk>/record/",
        disposition_record,
        name="disposition_record",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/comments/<int:pk>/approve/",
        disposition_approve,
        name="disposition_approve",
    ),
    path(
        "<slug:slug>/rounds/<int:round_id>/feedback/groups/<int:group_id>/record/",
        disposition_group_record,
        name="disposition_group_record",
    ),
]
