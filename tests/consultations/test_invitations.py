"""Invitations: the only way into the platform, from the secretariat's e-mail to the first login."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from consultations import services
from consultations.models import Invitation, Participation
from tests import factories

NEW_PASSWORD = "mekong-delta-2030!"


def _invite(capture, **kwargs) -> Invitation:
    with capture(execute=True):
        return services.invitation_create(**kwargs)


def _link_path(message) -> str:
    match = re.search(r"https?://\S+/me/invitations/\S+/", message.body)
    assert match, message.body
    return urlparse(match.group(0)).path


def _logged_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


@pytest.fixture
def vn_invitation(secretariat, consultation, orgs, django_capture_on_commit_callbacks):
    return _invite(
        django_capture_on_commit_callbacks,
        actor=secretariat,
        consultation=consultation,
        email="Lan.Nguyen@Example.org",
        organisation=orgs["vn"],
        role=Role.MEMBER_STATE,
        is_focal_point=True,
    )


def test_newcomer_accepts_invitation_from_email_and_can_log_in_later(client, secretariat, consultation, vn_invitation):
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lan.nguyen@example.org"]
    assert consultation.title in message.subject
    path = _link_path(message)
    assert path == reverse("invitations:accept", args=[vn_invitation.token])

    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert secretariat.get_full_name() in text
    assert "lan.nguyen@example.org" in text
    assert consultation.title in text
    assert "Viet Nam" in text
    assert "Focal point" in text
    assert 'name="password1"' in text

    response = client.post(path, {"full_name": "Nguyen Thi Lan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:detail", args=[consultation.slug])
    person = User.objects.get(email="lan.nguyen@example.org")
    assert _logged_in_user_id(client) == person.pk
    assert person.full_name == "Nguyen Thi Lan"
    assert person.organisation.name == "Viet Nam"
    participation = Participation.objects.get(user=person, consultation=consultation)
    assert (participation.organisation.name, participation.role, participation.is_focal_point) == (
        "Viet Nam",
        Role.MEMBER_STATE,
        True,
    )
    assert EmailAddress.objects.filter(user=person, email=person.email, verified=True, primary=True).exists()
    vn_invitation.refresh_from_db()
    assert vn_invitation.accepted_by == person
    # The redirect lands on a page the newcomer may now read.
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert "Viet Nam" in detail.content.decode()

    # Later, in another browser: e-mail and password are enough (the address is already verified).
    client.logout()
    login = client.post(reverse("account_login"), {"login": "Lan.Nguyen@example.org", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == reverse("consultations:list")
    assert _logged_in_user_id(client) == person.pk


def test_invitation_link_works_only_once(client, vn_invitation):
    path = reverse("invitations:accept", args=[vn_invitation.token])
    client.post(path, {"full_name": "Nguyen Thi Lan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    person = User.objects.get(email="lan.nguyen@example.org")
    client.logout()

    page = client.get(path)
    assert page.status_code == 410
    assert "already been accepted" in page.content.decode()

    again = client.post(
        path, {"full_name": "Someone Else", "password1": "another-pass-2031", "password2": "another-pass-2031"}
    )
    assert again.status_code == 410
    person.refresh_from_db()
    assert person.full_name == "Nguyen Thi Lan"
    assert person.check_password(NEW_PASSWORD)
    assert _logged_in_user_id(client) is None
    with pytest.raises(ValidationError):
        services.invitation_accept(token=vn_invitation.token, password="another-pass-2031", full_name="X")


def test_expired_invitation_is_refused_and_creates_nothing(client, vn_invitation):
    Invitation.objects.filter(pk=vn_invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    path = reverse("invitations:accept", args=[vn_invitation.token])

    page = client.get(path)
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert 'name="password1"' not in page.content.decode()

    response = client.post(path, {"full_name": "Nguyen Thi Lan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert not User.objects.filter(email="lan.nguyen@example.org").exists()
    assert _logged_in_user_id(client) is None


def test_unknown_invitation_token_is_not_found(client, db):
    page = client.get(reverse("invitations:accept", args=["no-such-token"]))
    assert page.status_code == 404
    assert "We do not know this invitation link" in page.content.decode()


def test_newcomer_with_mismatched_or_weak_password_gets_form_errors_and_nothing_changes(client, vn_invitation):
    path = reverse("invitations:accept", args=[vn_invitation.token])

    mismatch = client.post(path, {"full_name": "Lan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    weak = client.post(path, {"full_name": "Lan", "password1": "12345678", "password2": "12345678"})

    assert mismatch.status_code == 200
    assert "The two passwords do not match." in mismatch.content.decode()
    assert weak.status_code == 200
    assert "This password is too common." in weak.content.decode()
    assert not User.objects.filter(email="lan.nguyen@example.org").exists()
    vn_invitation.refresh_from_db()
    assert vn_invitation.accepted_at is None


def test_invitation_for_member_of_another_organisation_is_refused_with_clear_message(
    secretariat, consultation, orgs, th_delegate, django_capture_on_commit_callbacks
):
    with pytest.raises(ValidationError) as refused:
        _invite(
            django_capture_on_commit_callbacks,
            actor=secretariat,
            consultation=consultation,
            email="TH.Delegate@example.org",
            organisation=orgs["vn"],
            role=Role.MEMBER_STATE,
        )

    assert refused.value.message_dict["email"] == [
        "th.delegate@example.org already belongs to Thailand; a person acts for one organisation."
    ]
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    th_delegate.refresh_from_db()
    assert th_delegate.organisation.name == "Thailand"


def test_existing_user_of_same_organisation_accepts_second_consultation_after_logging_in(
    client, vn_delegate, orgs, other_consultation, django_capture_on_commit_callbacks
):
    other_secretariat = factories.UserFactory(email="other.sec@example.org", organisation=orgs["asec"])
    factories.ParticipationFactory(
        consultation=other_consultation, user=other_secretariat, organisation=orgs["asec"], role=Role.SECRETARIAT
    )
    invitation = _invite(
        django_capture_on_commit_callbacks,
        actor=other_secretariat,
        consultation=other_consultation,
        email=vn_delegate.email,
        organisation=orgs["vn"],
        role=Role.MEMBER_STATE,
    )
    path = _link_path(mail.outbox[0])

    # Not logged in: the page asks to log in as that person, and a POST changes nothing.
    anonymous = client.get(path)
    assert anonymous.status_code == 200
    login_url = reverse("account_login") + "?next=" + path.replace("/", "%2F")
    assert login_url in anonymous.content.decode()
    assert 'name="password1"' not in anonymous.content.decode()
    client.post(path)
    assert not Participation.objects.filter(user=vn_delegate, consultation=other_consultation).exists()

    logged_in = client.post(login_url, {"login": vn_delegate.email, "password": factories.PASSWORD})
    assert logged_in["Location"] == path
    page = client.get(path)
    assert "Accept the invitation" in page.content.decode()

    accepted = client.post(path)

    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("consultations:detail", args=[other_consultation.slug])
    participation = Participation.objects.get(user=vn_delegate, consultation=other_consultation)
    assert (participation.organisation, participation.role) == (orgs["vn"], Role.MEMBER_STATE)
    assert Participation.objects.filter(user=vn_delegate).count() == 2
    vn_delegate.refresh_from_db()
    assert vn_delegate.check_password(factories.PASSWORD)
    invitation.refresh_from_db()
    assert invitation.accepted_by == vn_delegate


def test_invitation_cannot_be_accepted_by_someone_else_who_is_logged_in(client, vn_invitation, th_delegate):
    client.force_login(th_delegate)
    path = reverse("invitations:accept", args=[vn_invitation.token])

    page = client.get(path)
    response = client.post(path, {"full_name": "Intruder", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert "Log out, then open the link again." in page.content.decode()
    assert "This invitation is for lan.nguyen@example.org. Log out first." in response.content.decode()
    assert not User.objects.filter(email="lan.nguyen@example.org").exists()
    vn_invitation.refresh_from_db()
    assert vn_invitation.accepted_at is None
    assert _logged_in_user_id(client) == th_delegate.pk


def test_delegate_cannot_invite(vn_delegate, consultation, orgs, django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        _invite(
            django_capture_on_commit_callbacks,
            actor=vn_delegate,
            consultation=consultation,
            email="colleague@example.org",
            organisation=orgs["vn"],
            role=Role.MEMBER_STATE,
        )
    assert not Invitation.objects.exists()
    assert mail.outbox == []
