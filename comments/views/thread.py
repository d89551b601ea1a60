"""Comment threads, replies, endorsement, national positions and moderation.

Thin views: a scoped fetch (404 for anything the user may not see, and for a comment of
another consultation), then config.actions.perform: a form for the shape of the input, a
service, which checks the role and the round again, and the answer. A service's refusal keeps
everything as it was and is answered with the status config.errors gives it (ValidationError
400, PermissionDenied 403, RoundClosedError 409, RateLimitedError 429 with Retry-After).

htmx requests get the partial they swap (the card's actions, a reply, the endorse toggle);
plain POSTs redirect back to `next` when it is a same-site address, else to the comment.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from config.actions import perform
from config.errors import Refusal
from consultations import selectors as consultation_selectors
from consultations.access import round_access
from consultations.models import EngagementRound
from consultations.rules import is_organiser, participation_for

from .. import selectors, services
from ..forms.thread import DelegationFilterForm, FlagForm, HideForm, PositionForm, ReplyForm, ReturnForm
from ..models import Comment

REPLIES_PER_PAGE = 20
DELEGATION_PER_PAGE = 25
POSITION_PER_PAGE = 50


# --- helpers ------------------------------------------------------------------------------


def _comment_for(request, slug: str, pk: int) -> tuple:
    """The consultation and one of its comments that the user may see, or 404."""
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    comment = selectors.get_comment_for_user(user=request.user, pk=pk)
    if comment.round.consultation_id != consultation.pk:
        raise Http404
    return consultation, comment


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _back(request, consultation, comment):
    return redirect(_safe_next(request) or reverse("comments:detail", args=[consultation.slug, comment.pk]))


def _round_open_for(user, engagement_round: EngagementRound) -> bool:
    return round_access(user=user, engagement_round=engagement_round).open_for_me


def _actions_context(request, consultation, comment, **extra) -> dict:
    context = {
        "comment": comment,
        "consultation": consultation,
        "round_open": _round_open_for(request.user, comment.round),
        "actions_next": _safe_next(request) or reverse("comments:detail", args=[consultation.slug, comment.pk]),
    }
    context.update(extra)
    return context


def _actions_response(request, consultation, comment, *, status: int = 200, **extra):
    """The card's actions block, re-rendered; swapped over the old one (also on a refusal)."""
    response = render(
        request,
        "comments/thread/_actions.html",
        _actions_context(request, consultation, comment, **extra),
        status=status,
    )
    if status >= 400:
        retarget(response, f"#comment-{comment.pk}-actions")
        reswap(response, "outerHTML")
    return response


def _detail_context(request, consultation, comment, **extra) -> dict:
    user = request.user
    thread = selectors.comment_thread(comment=comment)
    page = Paginator(thread, REPLIES_PER_PAGE).get_page(request.GET.get("page"))
    participation = participation_for(user, consultation)
    organiser = is_organiser(user, consultation)
    may_moderate = user.has_perm("comments.moderate_comment", comment)
    context = {
        "consultation": consultation,
        "comment": comment,
        "section": comment.section,
        "engagement_round": comment.round,
        "page": page,
        "participation": participation,
        "own_organisation": participation is not None and participation.organisation_id == comment.organisation_id,
        "show_history": organiser,
        "history": list(selectors.comment_history(comment=comment)) if organiser else [],
        "may_moderate": may_moderate,
        "flags": selectors.comment_flags(comment=comment) if may_moderate else [],
        # The focal point's note while a returned comment is a draft again (its delegation only sees drafts).
        "returned": selectors.latest_return(comment=comment) if comment.status == Comment.Status.DRAFT else None,
        "round_open": _round_open_for(user, comment.round),
        "reply_open": True,
        **_support_context(user, comment, participation),
        "actions_next": reverse("comments:detail", args=[consultation.slug, comment.pk]),
    }
    context.update(extra)
    return context


def _support_context(user, comment, participation) -> dict:
    supporters = selectors.supporters_of([comment.pk]) if comment.status == Comment.Status.SUBMITTED else {}
    found = supporters.get(comment.pk, [])
    return {
        "supporters": [name for _org, name in found],
        "supported_by_me": participation is not None and any(org == participation.organisation_id for org, _n in found),
    }


def _refuse_page(request, consultation, comment, answer: Refusal, **forms_):
    """A plain POST that was refused: the comment's page with the message, and the status."""
    context = _detail_context(request, consultation, comment, thread_error=answer.message, **forms_)
    return render(request, "comments/thread/detail.html", context, status=answer.status)


def _refuse(request, consultation, comment, answer: Refusal, **forms_):
    """A refused action: for htmx the card's actions with the message, else the comment's page."""
    if request.htmx:
        return _actions_response(
            request, consultation, comment, status=answer.status, thread_error=answer.message, **forms_
        )
    return _refuse_page(request, consultation, comment, answer, **forms_)


# --- reading ------------------------------------------------------------------------------


@login_required
@require_GET
def comment_detail(request, slug, pk):
    consultation, comment = _comment_for(request, slug, pk)
    return render(request, "comments/thread/detail.html", _detail_context(request, consultation, comment))


@login_required
@require_GET
def reply_list(request, slug, pk):
    """One page of a thread, for htmx "load more" (a full page without htmx)."""
    consultation, comment = _comment_for(request, slug, pk)
    if not request.htmx:
        return comment_detail(request, slug, pk)
    page = Paginator(selectors.comment_thread(comment=comment), REPLIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"consultation": consultation, "comment": comment, "page": page}
    return render(request, "comments/thread/_reply_list.html", context)


# --- writing ------------------------------------------------------------------------------


@login_required
@require_POST
def reply_create(request, slug, pk):
    consultation, comment = _comment_for(request, slug, pk)
    form = ReplyForm(request.POST)

    def done(reply):
        if request.htmx:
            # The new reply goes at the end of the thread; the form is cleared by the page.
            return render(request, "comments/thread/_reply.html", {"reply": reply, "comment": comment})
        messages.success(request, _("Your reply was posted."))
        return _back(request, consultation, comment)

    return perform(
        form=form,
        run=lambda data: services.reply_create(
            actor=request.user, comment=comment, body=data["body"], language=data["language"]
        ),
        done=done,
        refused=lambda answer: _refuse(request, consultation, comment, answer, reply_form=form),
    )


@login_required
@require_POST
def comment_endorse(request, slug, pk):
    """The focal point puts a submitted comment into the national position (endorsed=1) or out (0)."""
    consultation, comment = _comment_for(request, slug, pk)
    endorsed = request.POST.get("endorsed") == "1"
    as_toggle = request.POST.get("ui") == "toggle"

    def done(comment):
        if request.htmx and as_toggle:
            return _toggle_response(request, consultation, comment)
        notice = (
            _("%(number)s is now part of the national position.") % {"number": comment.number}
            if endorsed
            else _("%(number)s is no longer part of the national position.") % {"number": comment.number}
        )
        return _done(request, consultation, comment, notice)

    def refused(answer: Refusal):
        if request.htmx and as_toggle:
            return _toggle_response(request, consultation, comment, status=answer.status, error=answer.message)
        return _refuse(request, consultation, comment, answer)

    return perform(
        run=lambda _data: services.comment_set_endorsed(actor=request.user, comment=comment, endorsed=endorsed),
        done=done,
        refused=refused,
    )


def _done(request, consultation, comment, notice: str, *, anchor: bool = False):
    """After a successful action: the updated actions block for htmx, else back with a message
    (`anchor`: to the comment's card on the page it was done on)."""
    if request.htmx and not anchor:
        return _actions_response(request, consultation, comment, thread_notice=notice)
    messages.success(request, notice)
    if anchor and (target := _safe_next(request)):
        return redirect(f"{target.split('#', 1)[0]}#comment-{comment.pk}")
    return _back(request, consultation, comment)


def _toggle_response(request, consultation, comment, *, status: int = 200, error: str = ""):
    """The endorse toggle of the national position page, with the endorsed count swapped out of band."""
    context = {
        "comment": comment,
        "consultation": consultation,
        "round_open": _round_open_for(request.user, comment.round),
        "toggle_error": error,
        "actions_next": _safe_next(request) or reverse("comments:position", args=[consultation.slug, comment.round_id]),
        "endorsed_count": _endorsed_count(request.user, consultation, comment.round),
        "oob": True,
    }
    response = render(request, "comments/thread/_endorse_toggle.html", context, status=status)
    if status >= 400:
        retarget(response, f"#endorse-{comment.pk}")
        reswap(response, "outerHTML")
    return response


@login_required
@require_POST
def comment_flag(request, slug, pk):
    consultation, comment = _comment_for(request, slug, pk)
    form = FlagForm(request.POST)
    return perform(
        form=form,
        run=lambda data: services.comment_flag(actor=request.user, comment=comment, reason=data["reason"]),
        done=lambda _flag: _done(
            request, consultation, comment, _("Thank you. The secretariat will look at this comment.")
        ),
        refused=lambda answer: _refuse(request, consultation, comment, answer, flag_form=form),
    )


@login_required
@require_POST
def comment_hide(request, slug, pk):
    consultation, comment = _comment_for(request, slug, pk)
    form = HideForm(request.POST)
    return perform(
        form=form,
        run=lambda data: services.comment_hide(actor=request.user, comment=comment, reason=data["reason"]),
        done=lambda hidden: _done(request, consultation, hidden, _("The comment is hidden from other participants.")),
        refused=lambda answer: _refuse(request, consultation, comment, answer, hide_form=form),
    )


@login_required
@require_POST
def comment_unhide(request, slug, pk):
    consultation, comment = _comment_for(request, slug, pk)
    return perform(
        run=lambda _data: services.comment_unhide(actor=request.user, comment=comment),
        done=lambda shown: _done(request, consultation, shown, _("The comment is visible again.")),
        refused=lambda answer: _refuse(request, consultation, comment, answer),
    )


# --- conversation: resolving threads, support, who can be named --------------------------


@login_required
@require_POST
def thread_resolve(request, slug, pk):
    """Mark the thread resolved (resolved=1) or reopen it (0); back to the page it was done on."""
    consultation, comment = _comment_for(request, slug, pk)
    resolved = request.POST.get("resolved") == "1"
    notice = _("The thread is marked resolved.") if resolved else _("The thread is open again.")
    return perform(
        run=lambda _data: services.thread_set_resolved(actor=request.user, comment=comment, resolved=resolved),
        done=lambda _comment: _done(request, consultation, comment, notice, anchor=True),
        refused=lambda answer: _refuse_page(request, consultation, comment, answer),
    )


@login_required
@require_POST
def comment_support(request, slug, pk):
    """The viewer's delegation supports the comment (support=1) or withdraws its support (0)."""
    consultation, comment = _comment_for(request, slug, pk)
    supporting = request.POST.get("support") == "1"
    if supporting:
        notice = _("Your delegation supports %(number)s.") % {"number": comment.number}
    else:
        notice = _("Your delegation no longer supports %(number)s.") % {"number": comment.number}

    def run(_data) -> object:
        if supporting:
            return services.comment_support(actor=request.user, comment=comment)
        return services.comment_support_withdraw(actor=request.user, comment=comment)

    return perform(
        run=run,
        done=lambda _result: _done(request, consultation, comment, notice, anchor=True),
        refused=lambda answer: _refuse_page(request, consultation, comment, answer),
    )


@login_required
@require_GET
def mention_candidates(request, slug, round_id):
    """Who the viewer may name (@handle) in a thread: ?comment=<id> for an existing one, else a new comment.

    JSON for the writing box's suggestions; only people who may see the thread, so that it tells
    no one who else takes part. 404 for a round or comment the viewer may not see.
    """
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )
    comment = None
    if request.GET.get("comment"):
        try:
            comment_id = int(request.GET["comment"])
        except ValueError:
            raise Http404 from None
        comment = selectors.get_comment_for_user(user=request.user, pk=comment_id)
        if comment.round_id != engagement_round.pk:
            raise Http404
    people = selectors.mention_candidates(
        user=request.user, engagement_round=engagement_round, comment=comment, query=request.GET.get("q", "")[:100]
    )
    return JsonResponse(
        {"people": [{"handle": handle, "name": name, "organisation": org} for handle, name, org in people]}
    )


@login_required
@require_POST
def comment_return(request, slug, pk):
    """The focal point sends a colleague's submitted comment back to them as a draft, with a note.

    A plain POST (not swapped in place): the comment's status, badges and controls all change,
    so the page it came from is shown again, with the message.
    """
    consultation, comment = _comment_for(request, slug, pk)
    form = ReturnForm(request.POST)

    def done(returned):
        messages.success(request, _("The comment is a draft again; its author has been told, with your note."))
        return _back(request, consultation, returned.comment)

    return perform(
        form=form,
        run=lambda data: services.comment_return(
            actor=request.user, comment=comment, note=data["note"], expected_revision=data.get("revision")
        ),
        done=done,
        refused=lambda answer: _refuse_page(request, consultation, comment, answer, return_form=form),
    )


# --- my delegation ------------------------------------------------------------------------


def _delegation_filters(form: DelegationFilterForm) -> dict:
    if not form.is_bound or not form.is_valid():
        return {}
    data = form.cleaned_data
    return {
        "engagement_round": data.get("round"),
        "status": data.get("status") or "",
        "comment_type": data.get("type") or "",
        "endorsed": {"yes": True, "no": False}.get(data.get("endorsed") or ""),
        "text": data.get("q") or "",
    }


def _querystring(request) -> str:
    """The current filters without `page`, to carry over to the pagination links."""
    params = [(key, value) for key, values in request.GET.lists() if key != "page" for value in values if value]
    return urlencode(params)


@login_required
@require_GET
def delegation_comments(request, slug):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    participation = participation_for(request.user, consultation)
    if participation is None:
        # Site admins see the consultation but act for no delegation.
        raise Http404
    rounds = consultation_selectors.rounds_for_consultation(consultation=consultation).prefetch_related(None)
    form = DelegationFilterForm(request.GET or None, rounds=rounds)
    comments = selectors.delegation_comments(user=request.user, consultation=consultation, **_delegation_filters(form))
    page = Paginator(comments, DELEGATION_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "consultation": consultation,
        "participation": participation,
        "form": form if form.is_bound else DelegationFilterForm(rounds=rounds),
        "page": page,
        "querystring": _querystring(request),
        "filtered": form.is_bound and form.is_valid() and any(form.cleaned_data.values()),
    }
    return render(request, "comments/thread/delegation.html", context)


# --- national positions -------------------------------------------------------------------


def _endorsed_count(user, consultation, engagement_round) -> int:
    participation = participation_for(user, consultation)
    return selectors.endorsed_count(
        engagement_round=engagement_round, organisation_id=participation.organisation_id if participation else None
    )


@login_required
@require_http_methods(["GET", "POST"])
def national_position(request, slug, round_id):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )
    if request.user.has_perm("comments.view_positions_overview", engagement_round):
        if request.method != "GET":
            raise PermissionDenied
        return _position_overview(request, consultation, engagement_round)
    if not request.user.has_perm("comments.submit_national_position", engagement_round):
        raise PermissionDenied
    form = PositionForm(request.POST or None)
    if request.method == "POST":

        def done(_position):
            messages.success(request, _("The national position was submitted to the secretariat."))
            return redirect("comments:position", consultation.slug, engagement_round.pk)

        def refused(answer: Refusal):
            # A note that does not validate has its message on the form; a service's refusal its own.
            error = answer.message if answer.error is not None else _("Check the covering note.")
            return _position_page(request, consultation, engagement_round, form, status=answer.status, error=error)

        return perform(
            form=form,
            run=lambda data: services.national_position_submit(
                actor=request.user, engagement_round=engagement_round, note=data["note"]
            ),
            done=done,
            refused=refused,
        )
    return _position_page(request, consultation, engagement_round, form)


def _position_page(request, consultation, engagement_round, form, *, status: int = 200, error: str = ""):
    participation = participation_for(request.user, consultation)
    if participation is None:  # submit_national_position admits only a focal point of a participating organisation
        raise PermissionDenied
    position = selectors.national_position_for(
        organisation_id=participation.organisation_id, engagement_round=engagement_round
    )
    if request.method == "GET" and position is not None:
        form = PositionForm(initial={"note": position.note})
    comments = (
        selectors.delegation_comments(user=request.user, consultation=consultation)
        .filter(round=engagement_round, status=Comment.Status.SUBMITTED)
        .order_by("section__position", "position_start", "created_at", "id")
    )
    page = Paginator(comments, POSITION_PER_PAGE).get_page(request.GET.get("page"))
    endorsed_now, last_endorsed_at = selectors.endorsement_state(
        engagement_round=engagement_round, organisation_id=participation.organisation_id
    )
    context = {
        "consultation": consultation,
        "engagement_round": engagement_round,
        "participation": participation,
        "page": page,
        "endorsed_count": endorsed_now,
        "position": position,
        "position_changed": selectors.position_changed_since_submission(
            position=position, endorsed_now=endorsed_now, last_endorsed_at=last_endorsed_at
        ),
        "form": form,
        "round_open": _round_open_for(request.user, engagement_round),
        "position_error": error,
        "actions_next": request.get_full_path(),
    }
    return render(request, "comments/thread/position.html", context, status=status)


def _position_overview(request, consultation, engagement_round):
    """Read-only for the secretariat: where each member state's position stands in this round."""
    rows = selectors.positions_overview(consultation=consultation, engagement_round=engagement_round)
    context = {
        "consultation": consultation,
        "engagement_round": engagement_round,
        "rows": rows,
        "submitted_total": sum(1 for row in rows if row.position),
    }
    return render(request, "comments/thread/position_overview.html", context)
