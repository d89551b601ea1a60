"""Logging in with e-mail and password, the closed sign-up, password reset, allauth pages in our layout."""

import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests import factories

SITE_LAYOUT_MARKER = "Skip to content"  # the skip link of templates/base.html


def _logged_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


@pytest.fixture
def member(db):
    return factories.UserFactory(email="member@example.org")


def test_signup_page_says_invitation_only_and_creates_no_account(client, db):
    page = client.get(reverse("account_signup"))
    response = client.post(
        reverse("account_signup"),
        {"email": "walk.in@example.org", "password1": "walk-in-pass-2030", "password2": "walk-in-pass-2030"},
    )

    assert "Sign-up is by invitation only" in page.content.decode()
    assert SITE_LAYOUT_MARKER in page.content.decode()
    assert response.status_code == 200
    assert not User.objects.filter(email="walk.in@example.org").exists()
    assert _logged_in_user_id(client) is None


def test_login_page_uses_site_layout_and_explains_invitations(client, db):
    page = client.get(reverse("account_login"))

    text = page.content.decode()
    assert page.status_code == 200
    assert SITE_LAYOUT_MARKER in text
    assert "Accounts are created by invitation only" in text
    assert reverse("account_signup") not in text
    assert reverse("account_reset_password") in text


def test_verified_user_logs_in_with_email_and_password(client, member):
    response = client.post(reverse("account_login"), {"login": "Member@Example.org", "password": factories.PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:list")
    assert _logged_in_user_id(client) == member.pk


def test_login_with_wrong_password_fails(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": "not-the-password"})

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert _logged_in_user_id(client) is None


def test_logout_page_renders_in_site_layout(client, member):
    client.force_login(member)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200
    assert SITE_LAYOUT_MARKER in page.content.decode()

    client.post(reverse("account_logout"))
    assert _logged_in_user_id(client) is None


def test_password_reset_sends_email_with_working_link(client, member):
    page = client.get(reverse("account_reset_password"))
    assert SITE_LAYOUT_MARKER in page.content.decode()

    response = client.post(reverse("account_reset_password"), {"email": member.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    form_page = client.get(urlparse(link).path, follow=True)
    assert form_page.status_code == 200
    assert SITE_LAYOUT_MARKER in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"password1": "new-secret-2031!", "password2": "new-secret-2031!"})
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password("new-secret-2031!")


def test_login_page_offers_the_password_reset_once(client):
    page = client.get(reverse("account_login")).content.decode()
    assert page.count("Forgot your password?") == 1
    assert reverse("account_reset_password") in page
