"""Account pages: profile settings (accepting an invitation is in consultations.views.invitations).

Password, e-mail and two-factor pages are allauth's; the profile links to them.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .forms import ProfileForm


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your settings were saved."))
        return redirect("accounts:profile")
    authenticator_types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    context = {
        "form": form,
        "email_addresses": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
        "totp_enabled": Authenticator.Type.TOTP in authenticator_types,
        "recovery_codes_enabled": Authenticator.Type.RECOVERY_CODES in authenticator_types,
        # consultations.Participation, through its reverse relation: accounts imports no domain app.
        "participations": user.participations.select_related("consultation", "organisation").order_by(
            "consultation__title"
        ),
    }
    return render(request, "accounts/profile.html", context)
