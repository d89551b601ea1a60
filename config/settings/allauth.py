"""django-allauth: e-mail login, invitation-only sign-up, MFA."""

from typing import Literal

import environ

env = environ.Env()

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "accounts.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# False turns allauth's rate limits off (the test settings do).
ACCOUNT_RATE_LIMITS: dict[str, str] | Literal[False] = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Consultation] "

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Consultation platform")

# Secretariat and admin accounts must set up TOTP before they can do anything else.
REQUIRE_STAFF_MFA = env.bool("REQUIRE_STAFF_MFA", default=False)

# Headless API (used by app clients of /api/v1/): session tokens in X-Session-Token.
HEADLESS_CLIENTS = ("browser", "app")
HEADLESS_SERVE_SPECIFICATION = False
