"""Writing comments on a section: create, edit, submit, withdraw.

Thin views: a scoped fetch (404 outside the user's scope), then config.actions.perform: the
form, a call to comments.services, and the answer; a refusal keeps its status and message from
config.errors (bad input 400, forbidden 403, closed round 409, changed meanwhile 412, too many
429 with Retry-After). Everything works as plain form posts without JavaScript; htmx requests
get the partial they swap in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.actions import perform
from config.errors import Refusal
from consultations import selectors as consultation_selectors
from consultations.access import RoundAccess, round_access
from consultations.line_numbers import line_length
from consultations.models import EngagementRound
from consultations.views.reading import line_numbers_toggle, wants_line_numbers

from .. import services
from ..forms.writing import ACTION_SUBMIT, CommentEditForm, CommentForm
from ..models import Comment
from ..selectors import (
    HighlightedPassage,
    SectionComment,
    SectionCounts,
    SectionFilter,
    SectionWindow,
    get_comment_for_user,
    new_comment_card,
    section_comment_card,
    section_counts,
    section_window_passages,
    writing_target_for_user,
)

# --- what the viewer may do in a round, for pages and cards -------------------------------


def writing_state(
    *, user, engagement_round: EngagementRound, now: datetime | None = None, extensions=None
) -> RoundAccess:
    """Whether the viewer may write in the round now and, if not, why (`note`): for the note above the form.

    `extensions`: the ones already read (else the round's, prefetched or read now)."""
    return round_access(user=user, engagement_round=engagement_round, now=now, extensions=extensions)


# --- scoped fetches -----------------------------------------------------------------------


def _round_and_section(request, slug: str, round_id: int, key: str):
    engagement_round, section = writing_target_for_user(
        user=request.user, slug=slug, round_id=round_id, key=key, with_extensions=request.method != "POST"
    )
    return engagement_round.consultation, engagement_round, section


def _comment_in(request, slug: str, pk: int) -> Comment:
    comment = get_comment_for_user(user=request.user, pk=pk)
    if comment.round.consultation.slug != slug:
        raise Http404
    return comment


# --- responses ----------------------------------------------------------------------------


def section_lines_context(request, *, version, section, sections=None) -> dict:
    """The section's numbered lines when the reader turned line numbers on (else None), and the toggle."""
    shown = wants_line_numbers(request)
    lines = (
        consultation_selectors.lines_of_section(version=version, section=section, sections=sections) if shown else None
    )
    length = version.line_length or line_length()
    return {"section_lines": lines, **line_numbers_toggle(request, shown=shown, line_length=length)}


def _section_url(comment_or_section, engagement_round: EngagementRound) -> str:
    section = getattr(comment_or_section, "section", comment_or_section)
    return reverse(
        "comments:section",
        args=[engagement_round.consultation.slug, engagement_round.version.number, section.key],
    )


def _card_context(request, card: SectionComment, **extra) -> dict:
    comment = card.comment
    state = writing_state(
        user=request.user, engagement_round=comment.round, extensions=services.writer_extensions(comment)
    )
    return {
        "card": card,
        "comment": comment,
        "consultation": comment.round.consultation,
        "engagement_round": comment.round,
        "section": comment.section,
        "version": comment.round.version,
        "writing": state,
        **extra,
    }


def _form_response(
    request, *, form, status: int, mode: str, consultation, engagement_round, section, comment=None
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
        context.update(section_lines_context(request, version=engagement_round.version, section=section))
        response = render(request, "comments/section/edit.html", context)
    response.status_code = status
    return response


def _form_refused(request, form, answer: Refusal, **page) -> HttpResponse:
    """The form again with the service's refusal on it (a form that did not validate has its errors)."""
    if isinstance(answer.error, ValidationError):
        form.add_service_error(answer.error)
    elif answer.error is not None:
        form.add_error(None, answer.message)
    return _form_response(request, form=form, status=answer.status, **page)


def _page_url(section_filter: SectionFilter, page: int) -> str:
    query = {"scope": section_filter.scope if section_filter.scope != "all" else ""}
    query.update({"type": section_filter.comment_type, "status": section_filter.status, "page": str(page)})
    return "?" + urlencode({k: v for k, v in query.items() if v and not (k == "page" and v == "1")})


def window_context(request, window: SectionWindow) -> dict:
    """What the section column's templates need for one window of comments: cards, counts, filter, pages."""
    return {
        "window": window,
        "cards": window.cards,
        "counts": window.counts,
        "highlighted": window.comments,
        "previous_url": _page_url(window.filter, window.page - 1) if window.has_previous else "",
        "next_url": _page_url(window.filter, window.page + 1) if window.has_next else "",
        "type_choices": Comment.Type.choices,
        "status_choices": Comment.Status.choices,
    }


def _window_of_writer(request, comment: Comment) -> tuple[SectionCounts, list[HighlightedPassage]]:
    """The counts and highlighted passages of the window the writer is looking at (the filter and
    page of the htmx page's URL), sent back out of band after a write: bounded, whatever the section
    holds, and without the window's cards, which the answer does not send."""
    current = urlsplit(request.headers.get("HX-Current-URL", "")).query
    return section_window_passages(
        user=request.user,
        engagement_round=comment.round,
        section=comment.section,
        section_filter=SectionFilter.from_query(QueryDict(current)),
    )


def _refused(request, comment: Comment, answer: Refusal) -> HttpResponse:
    """A submit or withdraw button that was refused: the card with the message, or a page."""
    message = answer.message
    # The comment as the refused writer had it (its revision), with the thread the section shows.
    card = replace(section_comment_card(user=request.user, comment=comment), comment=comment)
    if request.htmx:
        response = render(
            request, "comments/section/_comment_card.html", _card_context(request, card, card_error=message)
        )
    else:
        context = {
            **_card_context(request, card),
            "message": message,
            "section_url": _section_url(comment, comment.round),
        }
        response = render(request, "comments/section/refused.html", context)
    response.status_code = answer.status
    return response


def _done(
    request,
    comment: Comment,
    message: str,
    *,
    card: SectionComment | None = None,
    refresh_counts: bool = False,
    refresh_text: bool = False,
) -> HttpResponse:
    """After a write: back to the section at the comment, or for htmx the updated card.

    `refresh_counts`: the section's counts changed, swap them out of band (one aggregate query).
    `refresh_text`: a highlighted passage came, moved or went: swap the section text too, with the
    highlights of the window the writer has open plus the comment written (one more query). A
    comment on the whole section highlights nothing, so its text is not sent again.
    """
    if not request.htmx:
        messages.success(request, message)
        return redirect(f"{_section_url(comment, comment.round)}#comment-{comment.pk}")
    # Only the card that changed, never the list: its size does not grow with the section.
    card = card or section_comment_card(user=request.user, comment=comment)
    context = _card_context(request, card, card_message=message)
    if refresh_text:
        # The highlights in the text and the counts change: swap them too (out of band), for the
        # window the writer has open plus the comment written (numbered if the writer reads numbered).
        context.update(section_lines_context(request, version=comment.round.version, section=comment.section))
        counts, passages = _window_of_writer(request, comment)
        highlighted: list[HighlightedPassage | Comment] = [p for p in passages if p.pk != comment.pk]
        if comment.status != Comment.Status.WITHDRAWN:
            highlighted.append(comment)
        context.update({"highlighted": highlighted, "refresh_text": True, "refresh_counts": True, "counts": counts})
    elif refresh_counts:
        counts = section_counts(user=request.user, engagement_round=comment.round, section=comment.section)
        context.update({"refresh_counts": True, "counts": counts})
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
        # Someone whose role does not comment here gets the page's note with a 403, as a POST would.
        status = 200 if writing_state(user=request.user, engagement_round=engagement_round).may_comment else 403
        return _form_response(request, form=CommentForm(initial=_form_initial(request)), status=status, **page)
    form = CommentForm(request.POST)

    def done(comment: Comment) -> HttpResponse:
        # comment.round is the round as the write read it, with the writer's extension: the card's
        # controls follow what the write saw and cost no query.
        response = _done(
            request,
            comment,
            _saved_message(comment),
            card=new_comment_card(comment=comment),
            refresh_counts=True,
            refresh_text=bool(comment.quote_exact),
        )
        if request.htmx:
            response.content += _fresh_form(request, consultation, engagement_round, section)
        return response

    return perform(
        form=form,
        run=lambda data: services.comment_create(
            actor=request.user,
            engagement_round=engagement_round,
            section=section,
            anchor=form.anchor(),
            submit=request.POST.get("action") == ACTION_SUBMIT,
            # _round_and_section read the round with the writer's extension in this request.
            fresh=True,
            **form.content(),
        ),
        done=done,
        refused=lambda answer: _form_refused(request, form, answer, **page),
    )


# Rendered in place of the CSRF token and of the form's address when an empty form is cached
# (letters only: never escaped).
_CSRF_SLOT = "CSRFTOKENSLOTxQzVbKpW"
_ACTION_SLOT = "ACTIONURLSLOTmYtRwQe"


def _fresh_form(request, consultation, engagement_round, section) -> bytes:
    """An empty new-comment form, swapped in out of band after an htmx create.

    The empty form is the same for every writer in one language but for its address (the
    section's) and the CSRF token: it is rendered once per process and language, and the
    request's address and token put in their slots. Rendering the form's widgets was a third of
    a comment POST's time; rendered once per section, a process serving 200 sections still
    rendered it on one POST in four.
    """
    action_url = reverse("comments:create", args=[consultation.slug, engagement_round.pk, section.key])
    html = _empty_form_html(translation.get_language() or "")
    html = html.replace(_ACTION_SLOT, str(conditional_escape(action_url)))
    return html.replace(_CSRF_SLOT, get_token(request), 1).encode()


@lru_cache(maxsize=64)
def _empty_form_html(language: str) -> str:
    context = {
        "form": CommentForm(initial={"language": language}),
        "mode": "create",
        "oob": True,
        "action_url": _ACTION_SLOT,
        "csrf_token": _CSRF_SLOT,
    }
    html = render_to_string("comments/section/_comment_form.html", context)
    assert html.count(_CSRF_SLOT) == 1, "the new-comment form holds one CSRF token"
    return html


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
    page: dict[str, Any] = {
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
    submit = request.POST.get("action") == ACTION_SUBMIT

    def run(data: dict) -> Comment:
        updated = services.comment_update(
            actor=request.user,
            comment=comment,
            anchor=form.anchor(),
            keep_anchor=form.anchor_unchanged(comment),
            expected_revision=data.get("revision"),
            **form.content(),
        )
        if submit and updated.status == Comment.Status.DRAFT:
            updated = services.comment_submit(actor=request.user, comment=updated, expected_revision=updated.revision)
        return updated

    quoted_before = bool(comment.quote_exact)

    def done(updated: Comment) -> HttpResponse:
        message = (
            _saved_message(updated)
            if submit
            else _("Your changes to %(number)s were saved.") % {"number": updated.number}
        )
        return _done(
            request,
            updated,
            message,
            refresh_counts=True,
            refresh_text=quoted_before or bool(updated.quote_exact),
        )

    return perform(form=form, run=run, done=done, refused=lambda answer: _form_refused(request, form, answer, **page))


@login_required
@require_POST
def comment_submit(request, slug, pk):
    comment = _comment_in(request, slug, pk)
    return perform(
        run=lambda _data: services.comment_submit(
            actor=request.user, comment=comment, expected_revision=_posted_revision(request)
        ),
        done=lambda submitted: _done(request, submitted, _saved_message(submitted)),
        refused=lambda answer: _refused(request, comment, answer),
    )


@login_required
@require_POST
def comment_withdraw(request, slug, pk):
    comment = _comment_in(request, slug, pk)
    return perform(
        run=lambda _data: services.comment_withdraw(
            actor=request.user, comment=comment, expected_revision=_posted_revision(request)
        ),
        done=lambda withdrawn: _done(
            request,
            withdrawn,
            _("Your comment %(number)s was withdrawn.") % {"number": withdrawn.number},
            refresh_counts=True,
            refresh_text=bool(withdrawn.quote_exact),
        ),
        refused=lambda answer: _refused(request, comment, answer),
    )


def _posted_revision(request) -> int | None:
    try:
        return int(request.POST["revision"])
    except (KeyError, ValueError):
        return None
