"""Two-factor authentication: required of secretariat and admins when REQUIRE_STAFF_MFA is on."""

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import get_resolver, reverse

from tests import factories

SITE_LAYOUT_MARKER = "Skip to content"


def _current_code(secret: str, offset: int = 0) -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + offset
    return format_hotp_value(hotp_value(secret, counter))


def _wrong_code(secret: str) -> str:
    return "000000" if _current_code(secret) != "000000" else "111111"


def _logged_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def _password_login(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return response


@pytest.fixture
def require_mfa(settings):
    settings.REQUIRE_STAFF_MFA = True


def test_secretariat_without_totp_is_sent_to_totp_activation(client, require_mfa, secretariat, consultation):
    client.force_login(secretariat)

    for url in (reverse("consultations:list"), reverse("consultations:detail", args=[consultation.slug])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_without_totp_is_sent_to_totp_activation(client, require_mfa, site_admin):
    client.force_login(site_admin)

    response = client.get(reverse("consultations:list"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_delegate_is_not_asked_for_totp(client, require_mfa, vn_delegate, consultation):
    client.force_login(vn_delegate)

    response = client.get(reverse("consultations:detail", args=[consultation.slug]))

    assert response.status_code == 200


def test_secretariat_with_totp_reaches_pages(client, require_mfa, secretariat, consultation):
    TOTP.activate(secretariat, generate_totp_secret())
    client.force_login(secretariat)

    response = client.get(reverse("consultations:detail", args=[consultation.slug]))

    assert response.status_code == 200


def test_nobody_is_redirected_when_mfa_is_not_required(client, settings, secretariat, site_admin, consultation):
    settings.REQUIRE_STAFF_MFA = False
    for user in (secretariat, site_admin):
        client.force_login(user)
        assert client.get(reverse("consultations:list")).status_code == 200
    client.force_login(secretariat)
    assert client.get(reverse("consultations:detail", args=[consultation.slug])).status_code == 200


def test_secretariat_activates_totp_on_the_page_then_reaches_the_consultation(
    client, require_mfa, secretariat, consultation
):
    _password_login(client, secretariat)
    detail = reverse("consultations:detail", args=[consultation.slug])
    assert client.get(detail)["Location"] == reverse("mfa_activate_totp")

    # allauth asks for the password again before changing two-factor settings.
    reauth = client.get(reverse("mfa_activate_totp"))
    assert reauth.status_code == 302
    assert reauth["Location"].startswith(reverse("account_reauthenticate"))
    assert SITE_LAYOUT_MARKER in client.get(reauth["Location"]).content.decode()
    confirmed = client.post(reauth["Location"], {"password": factories.PASSWORD})
    assert confirmed["Location"] == reverse("mfa_activate_totp")

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert SITE_LAYOUT_MARKER in page.content.decode()
    secret = page.context["form"].secret

    wrong = client.post(reverse("mfa_activate_totp"), {"code": _wrong_code(secret)})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.TOTP).exists()

    activated = client.post(reverse("mfa_activate_totp"), {"code": _current_code(secret)})
    assert activated.status_code == 302
    assert activated["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.TOTP).exists()

    codes = client.get(activated["Location"])
    assert codes.status_code == 200
    assert SITE_LAYOUT_MARKER in codes.content.decode()
    assert Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get(detail).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200


def test_login_with_totp_asks_for_a_code_after_the_password(client, secretariat):
    secret = generate_totp_secret()
    TOTP.activate(secretariat, secret)

    after_password = _password_login(client, secretariat)

    assert after_password["Location"] == reverse("mfa_authenticate")
    assert _logged_in_user_id(client) is None
    page = client.get(reverse("mfa_authenticate"))
    assert page.status_code == 200
    assert SITE_LAYOUT_MARKER in page.content.decode()
    assert client.get(reverse("consultations:list")).status_code == 302  # still anonymous

    wrong = client.post(reverse("mfa_authenticate"), {"code": _wrong_code(secret)})
    assert wrong.status_code == 200
    assert _logged_in_user_id(client) is None

    right = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert right.status_code == 302
    assert right["Location"] == reverse("consultations:list")
    assert _logged_in_user_id(client) == secretariat.pk


# --- every way in: the headless app API, the session API, the admin ------------------------

APP_LOGIN = "/_allauth/app/v1/auth/login"
APP_2FA = "/_allauth/app/v1/auth/2fa/authenticate"
APP_TOTP = "/_allauth/app/v1/account/authenticators/totp"
APP_REAUTH = "/_allauth/app/v1/auth/reauthenticate"
PROBLEM = "application/problem+json"


def _app_login(email: str):
    """Password only, through allauth's headless app endpoint, as an attacker with a leaked password would."""
    return Client().post(APP_LOGIN, {"email": email, "password": factories.PASSWORD}, content_type="application/json")


def _api_v1_urls(consultation, open_round) -> list[tuple[str, str]]:
    """(method, path) for every /api/v1/ route, found from the resolver, so that none escapes."""
    values = {"slug": consultation.slug, "number": "0.1"}
    resolver = get_resolver()
    api_patterns = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == "api")
    v1 = next(p for p in api_patterns.url_patterns if str(p.pattern) == "v1/")
    urls = []
    for pattern in v1.url_patterns:
        kwargs = {name: values.get(name, open_round.pk) for name in pattern.pattern.converters}
        path = reverse(f"api:{pattern.name}", kwargs=kwargs)
        # HEAD is GET without the body: asked as GET here, where the body can be read.
        for method in sorted(set(pattern.callback.actions) - {"head"}):
            urls.append((method, path))
    return urls


def _assert_mfa_problem(response) -> None:
    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "mfa_setup_required"
    assert body["type"].endswith("/mfa-setup-required")
    assert "/accounts/2fa/totp/activate/" in body["detail"]


@pytest.mark.parametrize("persona", ["secretariat", "site_admin"])
def test_staff_without_totp_gets_a_token_but_no_api_endpoint_answers_it(
    request, require_mfa, persona, open_round, vn_delegate
):
    user = request.getfixturevalue(persona)
    login = _app_login(user.email)
    assert login.status_code == 200
    token = login.json()["meta"]["session_token"]
    client = Client(headers={"X-Session-Token": token})

    urls = _api_v1_urls(open_round.version.consultation, open_round)
    assert len(urls) > 40
    for method, path in urls:
        response = getattr(client, method)(path, {}, content_type="application/json")
        _assert_mfa_problem(response)
        assert vn_delegate.email not in response.content.decode()


def test_staff_without_totp_is_refused_on_the_session_api_after_a_password_login(
    client, require_mfa, secretariat, vn_delegate, consultation
):
    _password_login(client, secretariat)  # the login form itself: TOTP is only asked of those who have it

    response = client.get(reverse("api:participant-list", args=[consultation.slug]))

    _assert_mfa_problem(response)
    assert vn_delegate.email not in response.content.decode()


def test_without_the_rule_the_same_token_reads_the_participants(settings, secretariat, vn_delegate, consultation):
    """The control for the tests above: it is the staff MFA rule, nothing else, that refuses them."""
    settings.REQUIRE_STAFF_MFA = False
    token = _app_login(secretariat.email).json()["meta"]["session_token"]

    response = Client(headers={"X-Session-Token": token}).get(reverse("api:participant-list", args=[consultation.slug]))

    assert response.status_code == 200
    assert vn_delegate.email in response.content.decode()


def test_delegates_need_no_totp_for_the_api(require_mfa, vn_delegate, consultation):
    token = _app_login(vn_delegate.email).json()["meta"]["session_token"]

    response = Client(headers={"X-Session-Token": token}).get(reverse("api:consultation-list"))

    assert response.status_code == 200
    assert consultation.slug in response.content.decode()


def test_staff_with_totp_gets_a_working_token_only_after_the_headless_code_step(
    require_mfa, secretariat, vn_delegate, consultation
):
    secret = generate_totp_secret()
    TOTP.activate(secretariat, secret)
    participants = reverse("api:participant-list", args=[consultation.slug])

    login = _app_login(secretariat.email)
    assert login.status_code == 401
    flows = {flow["id"]: flow for flow in login.json()["data"]["flows"]}
    assert flows["mfa_authenticate"].get("is_pending") is True
    pending = login.json()["meta"]["session_token"]

    # The half-logged-in token is no key to the API.
    refused = Client(headers={"X-Session-Token": pending}).get(participants)
    assert refused.status_code == 401
    assert vn_delegate.email not in refused.content.decode()

    app = Client(headers={"X-Session-Token": pending})
    wrong = app.post(APP_2FA, {"code": _wrong_code(secret)}, content_type="application/json")
    assert wrong.status_code == 400
    right = app.post(APP_2FA, {"code": _current_code(secret)}, content_type="application/json")
    assert right.status_code == 200
    assert right.json()["meta"]["is_authenticated"] is True
    token = right.json()["meta"].get("session_token", pending)

    response = Client(headers={"X-Session-Token": token}).get(participants)
    assert response.status_code == 200
    assert vn_delegate.email in response.content.decode()


def test_staff_sets_up_totp_through_the_headless_api_then_the_same_token_works(
    require_mfa, secretariat, vn_delegate, consultation
):
    token = _app_login(secretariat.email).json()["meta"]["session_token"]
    app = Client(headers={"X-Session-Token": token})
    participants = reverse("api:participant-list", args=[consultation.slug])
    _assert_mfa_problem(app.get(participants))

    offer = app.get(APP_TOTP)
    assert offer.status_code == 404  # no TOTP yet: allauth offers a secret
    secret = offer.json()["meta"]["secret"]
    # allauth asks for the password again before a change to two-factor settings.
    asked = app.post(APP_TOTP, {"code": _current_code(secret)}, content_type="application/json")
    assert asked.status_code == 401
    assert {"id": "reauthenticate"} in asked.json()["data"]["flows"]
    reauth = app.post(APP_REAUTH, {"password": factories.PASSWORD}, content_type="application/json")
    assert reauth.status_code == 200
    activated = app.post(APP_TOTP, {"code": _current_code(secret)}, content_type="application/json")
    assert activated.status_code == 200, activated.content

    response = app.get(participants)
    assert response.status_code == 200
    assert vn_delegate.email in response.content.decode()


def test_staff_without_totp_is_sent_from_the_admin_to_totp_activation(client, require_mfa, site_admin):
    _password_login(client, site_admin)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_the_admin_login_form_cannot_skip_the_totp_step(client, require_mfa, site_admin):
    secret = generate_totp_secret()
    TOTP.activate(site_admin, secret)

    posted = client.post(
        reverse("admin:login"), {"username": site_admin.email, "password": factories.PASSWORD, "next": "/admin/"}
    )

    assert _logged_in_user_id(client) is None
    assert posted.status_code == 302
    assert posted["Location"].startswith(reverse("account_login"))
    assert client.get(reverse("admin:index")).status_code == 302
    # allauth's login, where the code is asked for after the password, is the way into the admin.
    after_password = _password_login(client, site_admin)
    assert after_password["Location"] == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert client.get(reverse("admin:index")).status_code == 200
