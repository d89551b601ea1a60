"""How API callers authenticate: allauth headless session tokens, or the browser session.

App clients log in at /_allauth/app/v1/auth/login and send the session token they get back
in the X-Session-Token header. Browsers use their session cookie; DRF's
SessionAuthentication then enforces the CSRF token on unsafe methods.
"""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


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
        return result

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403 to anonymous callers.
        return 'X-Session-Token realm="api"'
