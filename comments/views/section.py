"""Writing comments on a section: create, edit, submit, withdraw.

Thin views: a scoped fetch (404 outside the user's scope), a call to comments.services, and the
service's refusals turned into a status and a message (bad input 400, forbidden 403, closed
round 409, changed meanwhile 412, too many 429). Everything works as plain form posts without
JavaScript; htmx requests get the partial they swap in.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from consultations import selectors as consultation_selectors
from consultations.models import EngagementRound

from .. import services
from ..errors import RateLimitedError, RoundClosedError, StaleWriteError
from ..forms.writing import ACTION_SUBMIT, CommentEditForm, CommentForm
from ..models import Comment
from ..selectors import get_comment_for_user, section_comments

# --- what the viewer may do in a round, for pages and cards -------------------------------


def writing_state(*, user, engagement_round: EngagementRound, now: datetime | None = None) -> dict:
    """Whether the viewer may write in the round now and, if not, why: for the note above the form.

    note: None (may write), "role" (their role does not comment), "not_open" (opens later),
    "closed" (closed for their organisation at closes_at).
    """
    now = now or timezone.now()
    org_id = consultation_selectors.viewer_organisation_id(user=user, consultation=engagement_round.consultation)
    extensions = {e.organisation_id: e.closes_at for e in engagement_round.extensions.all()}
    may_comment = user.has_perm("comments.add_comment", engagement_round)
    open_for_me = engagement_round.is_open_for(org_id, now, extensions)
    closes_at = engagement_round.closes_at_for(org_id, extensions)
    if engagement_round.closed_at and engagement_round.closed_at < closes_at:
        closes_at = engagement_round.closed_at  # closed early by the secretariat
    if not may_comment:
        note = "role"
    elif open_for_me:
        note = None
    elif engagement_round.state == EngagementRound.State.SCHEDULED and now < engagement_round.opens_at:
        note = "not_open"
    else:
        note = "closed"
    return {
        "may_comment": may_comment,
        "open_for_me": open_for_me,
        "can_write": may_comment and open_for_me,
        "note": note,
        "opens_at": engagement_round.opens_at,
        "closes_at": closes_at,
        "extended": closes_at > engagement_round.closes_at,
    }


# --- scoped fetches -----------------------------------------------------------------------


def _round_and_section(request, slug: str, round_id: int, key: str):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )
    version = consultation_selectors.get_version_for_user(
        user=request.user, consultation=consultation, number=engagement_round.version.number
    )
    section = next((s for s in consultation_selectors.sections_of_version(version=version) if s.key == key), None)
    if section is None:
        raise Http404
    return consultation, engagement_round, section


def _comment_in(request, slug: str, pk: int) -> Comment:
    comment = get_comment_for_user(user=request.user, pk=pk)
    if comment.round.consultation.slug != slug:
        raise Http404
    return comment


# --- responses ----------------------------------------------------------------------------


def _section_url(comment_or_section, engagement_round: EngagementRound) -> str:
    section = getattr(comment_or_section, "section", comment_or_section)
    return reverse(
        "comments:section",
        args=[engagement_round.consultation.slug, engagement_round.version.number, section.key],
    )


def _with_status(response: HttpResponse, status: int, error: ValidationError | None = None) -> HttpResponse:
    response.status_code = status
    if isinstance(error, RateLimitedError):
        response["Retry-After"] = str(error.retry_after)
    return response


def _status_for(error: ValidationError) -> int:
    if isinstance(error, RateLimitedError):
        return 429
    if isinstance(error, RoundClosedError):
        return 409
    if isinstance(error, StaleWriteError):
        return 412
    return 400


def _card_context(request, comment: Comment, **extra) -> dict:
    state = writing_state(user=request.user, engagement_round=comment.round)
    return {
        "comment": comment,
        "consultation": comment.round.consultation,
        "engagement_round": comment.round,
        "section": comment.section,
        "version": comment.round.version,
        "writing": state,
        **extra,
    }


def _form_response(
    request, *, form, status: int, mode: str, consultation, engagement_round, section, comment=None, error=None
) -> HttpResponse:
    """The form again, with what the writer typed and why it was refused: inline for htmx, else a page."""
    if mode == "create":
        action_url = reverse("comments:create", args=[consultation.slug, engagement_round.pk, section.key])
    else:
        action_url = reverse("comments:edit", args=[consultation.slug, comment.pk])
    context = {
        "form": form,
        "mode": mode,
        "comment": comment,
        "consultation": consultation,
        "engagement_round": engagement_round,
        "version": engagement_round.version,
        "section": section,
        "action_url": action_url,
        "section_url": _section_url(section, engagement_round),
        "writing": writing_state(user=request.user, engagement_round=engagement_round),
    }
    if request.htmx:
        template = "comments/section/_comment_form.html"
        response = render(request, template, context)
        if mode == "create":
            # The new-comment form posts with hx-target on the list; a refusal replaces the form.
            response["HX-Retarget"] = "#comment-form"
            response["HX-Reswap"] = "outerHTML"
    else:
        if mode == "edit" and comment.quote_exact:
            context["highlighted"] = [comment]
        response = render(request, "comments/section/edit.html", context)
    return _with_status(response, status, error)


def _refused(request, comment: Comment, error: ValidationError) -> HttpResponse:
    """A submit or withdraw button that was refused: the card with the message, or a page."""
    status = _status_for(error)
    message = " ".join(error.messages)
    if request.htmx:
        response = render(
            request, "comments/section/_comment_card.html", _card_context(request, comment, card_error=message)
        )
    else:
        context = {
            **_card_context(request, comment),
            "message": message,
            "section_url": _section_url(comment, comment.round),
        }
        response = render(request, "comments/section/refused.html", context)
    return _with_status(response, status, error)


def _done(request, comment: Comment, message: str, *, refresh_text: bool = False) -> HttpResponse:
    """After a write: back to the section at the comment, or for htmx the updated card."""
    if not request.htmx:
        messages.success(request, message)
        return redirect(f"{_section_url(comment, comment.round)}#comment-{comment.pk}")
    # The card as the section page shows it: with organisation, reply count and first replies.
    visible = section_comments(user=request.user, engagement_round=comment.round, section=comment.section)
    for each in visible:
        each.round, each.section = comment.round, comment.section
    card = next((c for c in visible if c.pk == comment.pk), comment)
    context = _card_context(request, card, card_message=message)
    if refresh_text:
        # The highlights in the text change with the comment's anchor: swap the text too (out of band).
        context["highlighted"] = [c for c in visible if c.status != Comment.Status.WITHDRAWN]
        context["refresh_text"] = True
    return render(request, "comments/section/_comment_card.html", context)


def _form_initial(request) -> dict:
    return {"language": translation.get_language() or ""}


# --- views --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def comment_create(request, slug, round_id, key):
    """Write a comment on a section; GET shows the form on a page of its own."""
    consultation, engagement_round, section = _round_and_section(request, slug, round_id, key)
    page = {"mode": "create", "consultation": consultation, "engagement_round": engagement_round, "section": section}
    if request.method == "GET":
        return _form_response(request, form=CommentForm(initial=_form_initial(request)), status=200, **page)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _form_response(request, form=form, status=400, **page)
    try:
        comment = services.comment_create(
            actor=request.user,
            engagement_round=engagement_round,
            section=section,
            anchor=form.anchor(),
            submit=request.POST.get("action") == ACTION_SUBMIT,
            **form.content(),
        )
    except ValidationError as error:
        form.add_service_error(error)
        return _form_response(request, form=form, status=_status_for(error), error=error, **page)
    response = _done(request, comment, _saved_message(comment), refresh_text=True)
    if request.htmx:
        response.content += _fresh_form(request, consultation, engagement_round, section)
    return response


def _fresh_form(request, consultation, engagement_round, section) -> bytes:
    """An empty new-comment form, swapped in out of band after an htmx create."""
    context = {
        "form": CommentForm(initial=_form_initial(request)),
        "mode": "create",
        "oob": True,
        "consultation": consultation,
        "engagement_round": engagement_round,
        "section": section,
        "action_url": reverse("comments:create", args=[consultation.slug, engagement_round.pk, section.key]),
    }
    return render(request, "comments/section/_comment_form.html", context).content


def _saved_message(comment: Comment) -> str:
    if comment.status == Comment.Status.SUBMITTED:
        return _("Your comment %(number)s was submitted.") % {"number": comment.number}
    return _("Your comment %(number)s was saved as a draft. Submit it before the round closes.") % {
        "number": comment.number
    }


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request, slug, pk):
    comment = _comment_in(request, slug, pk)
    if not request.user.has_perm("comments.change_comment", comment):
        raise PermissionDenied(_("Only the author can edit this comment."))
    page = {
        "mode": "edit",
        "comment": comment,
        "consultation": comment.round.consultation,
        "engagement_round": comment.round,
        "section": comment.section,
    }
    if request.method == "GET":
        initial = {**CommentEditForm.initial_for(comment), "revision": comment.revision}
        form = CommentEditForm(initial=initial, prefix_id=f"c{comment.pk}")
        return _form_response(request, form=form, status=200, **page)
    form = CommentEditForm(request.POST, prefix_id=f"c{comment.pk}")
    if not form.is_valid():
        return _form_response(request, form=form, status=400, **page)
    submit = request.POST.get("action") == ACTION_SUBMIT
    try:
        comment = services.comment_update(
            actor=request.user,
            comment=comment,
            anchor=form.anchor(),
            keep_anchor=form.anchor_unchanged(comment),
            expected_revision=form.cleaned_data.get("revision"),
            **form.content(),
        )
        if submit and comment.status == Comment.Status.DRAFT:
            comment = services.comment_submit(actor=request.user, comment=comment, expected_revision=comment.revision)
    except ValidationError as error:
        form.add_service_error(error)
        return _form_response(request, form=form, status=_status_for(error), error=error, **page)
    message = (
        _saved_message(comment) if submit else _("Your changes to %(number)s were saved.") % {"number": comment.number}
    )
    return _done(request, comment, message, refresh_text=True)


@login_required
@require_POST
def comment_submit(request, slug, pk):
    comment = _comment_in(request, slug, pk)
    try:
        comment = services.comment_submit(
            actor=request.user, comment=comment, expected_revision=_posted_revision(request)
        )
    except ValidationError as error:
        return _refused(request, comment, error)
    return _done(request, comment, _saved_message(comment))


@login_required
@require_POST
def comment_withdraw(request, slug, pk):
    comment = _comment_in(request, slug, pk)
    try:
        comment = services.comment_withdraw(
            actor=request.user, comment=comment, expected_revision=_posted_revision(request)
        )
    except ValidationError as error:
        return _refused(request, comment, error)
    message = _("Your comment %(number)s was withdrawn.") % {"number": comment.number}
    return _done(request, comment, message, refresh_text=True)


def _posted_revision(request) -> int | None:
    try:
        return int(request.POST["revision"])
    except (KeyError, ValueError):
        return None
