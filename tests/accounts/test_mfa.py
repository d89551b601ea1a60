"""Two-factor authentication: required of secretariat and admins when REQUIRE_STAFF_MFA is on."""

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.urls import reverse

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
