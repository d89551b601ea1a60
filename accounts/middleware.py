"""Per-request user settings: the viewer's time zone, and MFA for staff when required."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone


class UserTimezoneMiddleware:
    """Show every date in the viewer's own time zone (profile setting, else the site's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = getattr(request.user, "time_zone", "") if request.user.is_authenticated else ""
        timezone.deactivate()
        if tz_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass  # an unknown zone falls back to the site's time zone
        return self.get_response(request)


class StaffMfaMiddleware:
    """With REQUIRE_STAFF_MFA on, admins and secretariat members must set up TOTP first.

    Until they have, every page (the admin included) except the MFA set-up, logout and static
    files sends them to the TOTP activation page. Two kinds of path are left to others:
    /api/ is DRF's, whose authentication classes (api.authentication) answer the same rule as
    a problem document, for session cookies and session tokens alike; /_allauth/ is allauth's
    headless API, which serves only the caller's own account and is how an app client sets up
    TOTP (/_allauth/app/v1/account/authenticators/totp).

    The admin's own login form would log staff in with the password alone, skipping the TOTP
    step of allauth's login: it always sends them to allauth's login instead.
    """

    allowed_prefixes = ("/accounts/", "/static/", "/i18n/", "/healthz", "/api/", "/_allauth/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == reverse("admin:login"):
            return redirect_to_login(request.GET.get("next") or reverse("admin:index"), reverse(settings.LOGIN_URL))
        if (
            settings.REQUIRE_STAFF_MFA
            and request.user.is_authenticated
            and not request.path.startswith(self.allowed_prefixes)
        ):
            from .selectors import user_must_set_up_mfa

            if user_must_set_up_mfa(user=request.user):
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
