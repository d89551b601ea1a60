"""How API callers authenticate: allauth headless session tokens, or the browser session.

App clients log in at /_allauth/app/v1/auth/login and send the session token they get back
in the X-Session-Token header. Browsers use their session cookie; DRF's
SessionAuthentication then enforces the CSRF token on unsafe methods.

Both classes also hold the staff MFA rule (REQUIRE_STAFF_MFA): a secretariat or admin account
without TOTP is refused on every API view with a 403 problem document (mfa_setup_required),
whatever the view's own permissions say. This is the API's one place for that rule; pages and
the admin have accounts.middleware.StaffMfaMiddleware. Staff who do have TOTP only get a usable
token after the headless two-factor step (/_allauth/app/v1/auth/2fa/authenticate): before it,
the pending session has no user and the token is refused as unknown.
"""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.conf import settings
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.selectors import user_must_set_up_mfa


def enforce_staff_mfa(user) -> None:
    if getattr(settings, "REQUIRE_STAFF_MFA", False) and user_must_set_up_mfa(user=user):
        from api.exceptions import MfaSetupRequired  # here: api.exceptions needs DRF's views loaded

        raise MfaSetupRequired()


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """X-Session-Token; an unknown or expired token is a 401, not an anonymous request."""

    def authenticate(self, request):
        token = self.get_session_token(request)
        if not token:
            return None
        result = super().authenticate(request)
        if result is None:
            raise AuthenticationFailed("The session token is unknown or has expired. Log in again.")
        user, _session = result
        if not user.is_active:
            raise AuthenticationFailed("This account is inactive.")
        enforce_staff_mfa(user)
        return result

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403 to anonymous callers.
        return 'X-Session-Token realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session cookie (CSRF enforced on writes), under the staff MFA rule."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            enforce_staff_mfa(result[0])
        return result
