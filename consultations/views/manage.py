"""Secretariat pages: consultation windows (rounds, extensions) and participants.

Thin views: a scoped fetch (404 outside the user's consultations), a permission check (403),
then config.actions.perform: the form, a service call, and the answer. A service's refusal is
shown on the form (the page again) and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from config import jobs
from config.actions import perform, show_on_form
from config.errors import Refusal

from .. import manage_selectors, selectors, services
from ..forms.rounds import ExtensionForm, InviteForm, RoundForm, RoundRescheduleForm

PAGE_SIZE = 25


def _consultation_for(request, slug: str, perm: str = "consultations.manage_rounds"):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    if not request.user.has_perm(perm, consultation):
        raise PermissionDenied
    return consultation


def _form_again(form, answer: Refusal, page: Callable[[], HttpResponse]) -> HttpResponse:
    """A refused form: the page again with the refusal on the form (shown as a page, 200, as before)."""
    show_on_form(form, answer)
    return page()


def _to_overview(consultation):
    return redirect("consultations:manage", consultation.slug)


@login_required
def manage_overview(request, slug):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    can_manage_rounds = request.user.has_perm("consultations.manage_rounds", consultation)
    can_manage_versions = request.user.has_perm("consultations.manage_versions", consultation)
    if not (can_manage_rounds or can_manage_versions):
        raise PermissionDenied
    context = {
        "consultation": consultation,
        "can_manage_rounds": can_manage_rounds,
        "can_manage_versions": can_manage_versions,
        "versions": selectors.versions_visible_to(user=request.user, consultation=consultation),
    }
    if can_manage_rounds:
        context["rounds"] = manage_selectors.managed_rounds(consultation=consultation)
        context["participant_count"] = consultation.participations.count()
    return render(request, "consultations/manage/overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def round_create(request, slug):
    consultation = _consultation_for(request, slug)
    form = RoundForm(request.POST or None, consultation=consultation)

    def page() -> HttpResponse:
        context = {"consultation": consultation, "form": form, "title": _("Schedule a round")}
        return render(request, "consultations/manage/round_form.html", context)

    def done(engagement_round) -> HttpResponse:
        messages.success(request, _("Round “%(title)s” is scheduled.") % {"title": engagement_round.title})
        return _to_overview(consultation)

    if request.method != "POST":
        return page()
    return perform(
        form=form,
        run=lambda data: services.round_schedule(actor=request.user, **data),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )


@login_required
@require_http_methods(["GET", "POST"])
def round_edit(request, slug, pk):
    consultation = _consultation_for(request, slug)
    engagement_round = selectors.get_round_for_user(user=request.user, consultation=consultation, pk=pk)
    initial = {"opens_at": engagement_round.opens_at, "closes_at": engagement_round.closes_at}
    form = RoundRescheduleForm(request.POST or None, initial=initial)

    def page() -> HttpResponse:
        context = {
            "consultation": consultation,
            "round": engagement_round,
            "form": form,
            "title": _("Reschedule “%(title)s”") % {"title": engagement_round.title},
        }
        return render(request, "consultations/manage/round_form.html", context)

    def done(_rescheduled) -> HttpResponse:
        messages.success(request, _("Round “%(title)s” is rescheduled.") % {"title": engagement_round.title})
        return _to_overview(consultation)

    if request.method != "POST":
        return page()
    return perform(
        form=form,
        run=lambda data: services.round_reschedule(
            actor=request.user,
            engagement_round=engagement_round,
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
        ),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )


def _confirm(request, slug, pk, *, action, question, done, button, danger=False):
    """GET asks for confirmation; POST runs the service and reports its refusal if any."""
    consultation = _consultation_for(request, slug)
    engagement_round = selectors.get_round_for_user(user=request.user, consultation=consultation, pk=pk)

    def page(errors: list[str]) -> HttpResponse:
        context = {
            "consultation": consultation,
            "round": engagement_round,
            "question": question % {"title": engagement_round.title},
            "button": button,
            "danger": danger,
            "errors": errors,
        }
        return render(request, "consultations/manage/confirm.html", context)

    def finished(_result) -> HttpResponse:
        messages.success(request, done % {"title": engagement_round.title})
        return _to_overview(consultation)

    if request.method != "POST":
        return page([])
    return perform(
        run=lambda _data: action(actor=request.user, engagement_round=engagement_round),
        done=finished,
        refused=lambda answer: page(_messages_of(answer)),
    )


def _messages_of(answer: Refusal) -> list[str]:
    """A refusal's messages one by one, for a page that lists them."""
    error = answer.error
    return list(error.messages) if isinstance(error, ValidationError) else [answer.message]


@login_required
@require_http_methods(["GET", "POST"])
def round_open(request, slug, pk):
    return _confirm(
        request,
        slug,
        pk,
        action=services.round_open_now,
        question=_("Open “%(title)s” now? Every participant is e-mailed that the round is open."),
        done=_("Round “%(title)s” is open. Participants are being e-mailed."),
        button=_("Open now"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def round_close(request, slug, pk):
    return _confirm(
        request,
        slug,
        pk,
        action=services.round_close_now,
        question=_("Close “%(title)s” now? Comments freeze for every organisation, including those with an extension."),
        done=_("Round “%(title)s” is closed."),
        button=_("Close now"),
        danger=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def round_extend(request, slug, pk):
    consultation = _consultation_for(request, slug)
    engagement_round = selectors.get_round_for_user(user=request.user, consultation=consultation, pk=pk)
    form = ExtensionForm(request.POST or None, consultation=consultation)

    def page() -> HttpResponse:
        context = {"consultation": consultation, "round": engagement_round, "form": form}
        return render(request, "consultations/manage/extension_form.html", context)

    def done(extension) -> HttpResponse:
        messages.success(
            request,
            _("%(organisation)s may comment on “%(title)s” until %(closes_at)s.")
            % {
                "organisation": extension.organisation.name,
                "title": engagement_round.title,
                "closes_at": _format_datetime(extension.closes_at),
            },
        )
        return _to_overview(consultation)

    if request.method != "POST":
        return page()
    return perform(
        form=form,
        run=lambda data: services.round_extend(actor=request.user, engagement_round=engagement_round, **data),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )


def _format_datetime(value) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


@login_required
@require_http_methods(["GET", "POST"])
def participants(request, slug):
    consultation = _consultation_for(request, slug, perm="consultations.invite_participants")
    form = InviteForm(request.POST or None)

    def page() -> HttpResponse:
        people = Paginator(selectors.participants_of(consultation=consultation), PAGE_SIZE)
        context = {
            "consultation": consultation,
            "page": people.get_page(request.GET.get("page")),
            "invitations": manage_selectors.pending_invitations(consultation=consultation),
            "form": form,
        }
        return render(request, "consultations/manage/participants.html", context)

    def done(invitation) -> HttpResponse:
        messages.success(request, _("An invitation is on its way to %(email)s.") % {"email": invitation.email})
        if invitation.queued_at is None and invitation.sent_at is None:
            messages.warning(request, jobs.WAITING_FOR_QUEUE)
        return redirect("consultations:participants", consultation.slug)

    if request.method != "POST":
        return page()
    return perform(
        form=form,
        run=lambda data: services.invitation_create(actor=request.user, consultation=consultation, **data),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )
