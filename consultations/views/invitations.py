"""Accepting an invitation: a newcomer sets a name and password; a known person accepts logged in.

The link in the invitation e-mail leads here (/me/invitations/<token>/, URL name invitations:accept).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import User
from config.actions import perform
from config.errors import Refusal

from .. import services
from ..forms.invitations import InvitationAcceptForm
from ..models import Invitation

LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _invalid(request, invitation: Invitation | None):
    """The page for a link that cannot be used: 404 if it never existed, 410 once it is spent."""
    if invitation is None:
        reason, status = "unknown", 404
    elif invitation.accepted_at is not None:
        reason, status = "used", 410
    else:
        reason, status = "expired", 410
    return render(
        request, "consultations/invitations/invalid.html", {"reason": reason, "invitation": invitation}, status=status
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = (
        Invitation.objects.select_related("consultation", "organisation", "invited_by").filter(token=token).first()
    )
    if invitation is None or not invitation.is_usable():
        return _invalid(request, invitation)

    existing = User.objects.filter(email__iexact=invitation.email).first()
    viewer = request.user if request.user.is_authenticated else None
    if existing is None:
        # A newcomer; someone else logged in on this browser must log out first.
        mode = "newcomer" if viewer is None else "wrong_user"
    elif viewer is not None and viewer.pk == existing.pk:
        mode = "accept"
    else:
        mode = "login" if viewer is None else "wrong_user"

    form = InvitationAcceptForm(request.POST or None, invitation=invitation) if mode == "newcomer" else None
    here = reverse("invitations:accept", args=[token])

    def page(errors: list[str]) -> HttpResponse:
        context = {
            "invitation": invitation,
            "existing": existing,
            "mode": mode,
            "form": form,
            "errors": errors,
            "login_url": reverse("account_login") + "?" + urlencode({"next": here}),
            "here": here,
            "now": timezone.now(),
        }
        return render(request, "consultations/invitations/accept.html", context)

    if request.method == "POST" and mode in ("newcomer", "accept"):

        def run(data: dict) -> tuple[Invitation, User]:
            if form is not None:
                return services.invitation_accept(
                    token=token,
                    user=None,
                    password=data["password1"],
                    full_name=data["full_name"],
                    language=get_language(),
                )
            return services.invitation_accept(token=token, user=request.user, language=get_language())

        def done(accepted: tuple[Invitation, User]) -> HttpResponse:
            invitation, person = accepted
            if viewer is None or viewer.pk != person.pk:
                login(request, person, backend=LOGIN_BACKEND)
            messages.success(
                request,
                _("Welcome to %(title)s. You take part for %(org)s.")
                % {"title": invitation.consultation.title, "org": invitation.organisation.name},
            )
            return redirect("consultations:detail", slug=invitation.consultation.slug)

        # A form that does not validate shows its own errors; a service's refusal is listed.
        return perform(form=form, run=run, done=done, refused=lambda answer: page(_messages_of(answer)))
    errors: list[str] = []
    if request.method == "POST" and mode == "login":
        errors = [_("Log in as %(email)s to accept this invitation.") % {"email": invitation.email}]
    elif request.method == "POST" and mode == "wrong_user":
        errors = [_("This invitation is for %(email)s. Log out first.") % {"email": invitation.email}]
    return page(errors)


def _messages_of(answer: Refusal) -> list[str]:
    """A service's refusal as the list of messages the page shows (none for a form's own errors)."""
    if answer.error is None:
        return []
    if isinstance(answer.error, ValidationError):
        return list(answer.error.messages)
    return [answer.message]
