"""Every export download and every role or privilege change leaves an entry, whoever makes it and how."""

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from consultations.models import Invitation, Participation, Role
from tests import factories
from tests.helpers.reports import done_report


def entries(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def admin_post_data(response) -> dict:
    """The admin change form's current values, as a browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, (list, tuple)):
            data[name] = [str(item) for item in value]
        else:
            data[name] = str(value)
    return data


# --- downloads --------------------------------------------------------------------------


def test_downloading_a_report_on_the_page_is_recorded(client, consultation, personas):
    report = done_report(consultation, personas["vn_delegate"])
    client.force_login(personas["vn_delegate"])
    response = client.get(reverse("consolidation:report_download", args=[consultation.slug, report.pk]))
    assert response.status_code == 200
    (entry,) = entries("report.downloaded")
    assert (entry.actor_label, entry.consultation_id, entry.target_id) == (
        "vn.delegate@example.org",
        consultation.pk,
        str(report.pk),
    )
    assert entry.data["format"] == "csv"


def test_downloading_a_report_through_the_api_is_recorded(consultation, personas):
    report = done_report(consultation, personas["secretariat"])
    api = APIClient()
    api.force_authenticate(personas["secretariat"])
    response = api.get(f"/api/v1/reports/{report.pk}/download/")
    assert response.status_code == 200
    (entry,) = entries("report.downloaded")
    assert entry.actor_label == "secretariat@example.org"


def test_a_refused_download_records_nothing(client, consultation, personas):
    report = done_report(consultation, personas["vn_delegate"])
    client.force_login(personas["th_delegate"])
    assert client.get(reverse("consolidation:report_download", args=[consultation.slug, report.pk])).status_code == 404
    assert entries("report.downloaded") == []


# --- the Django admin -----------------------------------------------------------------------


def test_making_someone_superuser_in_the_admin_is_recorded_with_before_and_after(admin_client, personas):
    target = personas["vn_delegate"]
    url = reverse("admin:accounts_user_change", args=[target.pk])
    data = admin_post_data(admin_client.get(url))
    data.update(is_staff="on", is_superuser="on")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (entry,) = entries("user.changed")
    assert entry.actor_label == "root@example.org"
    assert entry.consultation_id is None  # the site chain
    assert entry.data == {
        "user": "vn.delegate@example.org",
        "before": {"is_staff": False, "is_superuser": False},
        "after": {"is_staff": True, "is_superuser": True},
    }


def test_saving_a_user_unchanged_in_the_admin_writes_nothing(admin_client, personas):
    url = reverse("admin:accounts_user_change", args=[personas["vn_delegate"].pk])
    assert admin_client.post(url, admin_post_data(admin_client.get(url))).status_code == 302
    assert entries("user.changed") == []


def test_making_a_delegate_focal_point_in_the_admin_is_recorded(admin_client, consultation, personas):
    participation = Participation.objects.get(user=personas["vn_delegate"], consultation=consultation)
    url = reverse("admin:consultations_participation_change", args=[participation.pk])
    data = admin_post_data(admin_client.get(url))
    data["is_focal_point"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    (entry,) = entries("participation.changed")
    assert entry.consultation_id == consultation.pk
    assert entry.actor_label == "root@example.org"
    assert entry.data == {
        "user": "vn.delegate@example.org",
        "before": {"is_focal_point": False},
        "after": {"is_focal_point": True},
    }


def test_removing_a_participant_in_the_admin_is_recorded(admin_client, consultation, personas):
    participation = Participation.objects.get(user=personas["vn_focal_point"], consultation=consultation)
    url = reverse("admin:consultations_participation_delete", args=[participation.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    (entry,) = entries("participation.deleted")
    assert entry.data["user"] == "vn.focal@example.org" and entry.data["is_focal_point"] is True


def test_resending_an_invitation_in_the_admin_is_recorded(admin_client, consultation, orgs, secretariat):
    invitation = Invitation.objects.create(
        email="new.delegate@example.org",
        consultation=consultation,
        organisation=orgs["vn"],
        role=Role.MEMBER_STATE,
        invited_by=secretariat,
    )
    response = admin_client.post(
        reverse("admin:consultations_invitation_changelist"),
        {"action": "resend_invitation", "_selected_action": [invitation.pk]},
    )
    assert response.status_code == 302
    (entry,) = entries("invitation.resent")
    assert entry.consultation_id == consultation.pk and entry.data == {"email": "new.delegate@example.org"}


def test_accepting_an_invitation_records_the_new_participation(client, consultation, orgs, secretariat):
    from consultations.services import invitation_accept

    invitation = Invitation.objects.create(
        email="new.delegate@example.org",
        consultation=consultation,
        organisation=orgs["vn"],
        role=Role.MEMBER_STATE,
        is_focal_point=True,
        invited_by=secretariat,
    )
    invitation_accept(token=invitation.token, password="a long and unusual passphrase 42", full_name="New")
    (entry,) = entries("participation.created")
    assert entry.actor_label == "new.delegate@example.org"
    assert entry.data["role"] == "member_state" and entry.data["is_focal_point"] is True


# --- two-factor authentication ----------------------------------------------------------


def test_activating_and_removing_totp_is_recorded(client, secretariat, django_capture_on_commit_callbacks):
    # allauth sends its signals once the change has committed.
    client.force_login(secretariat)
    reauth = client.get(reverse("mfa_activate_totp"))
    client.post(reauth["Location"], {"password": factories.PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mfa_activate_totp"), {"code": code}).status_code == 302
    assert Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.TOTP).exists()
    activated = entries("mfa.activated")
    assert activated and activated[0].actor_label == "secretariat@example.org"
    assert activated[0].data == {"type": "totp"}

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    assert not Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.TOTP).exists()
    removed = entries("mfa.deactivated")
    assert {"totp"} <= {entry.data["type"] for entry in removed}
    assert {entry.actor_label for entry in removed} == {"secretariat@example.org"}


@pytest.mark.parametrize("who", ["admin", "secretariat"])
def test_every_new_entry_is_on_a_verifiable_chain(who, client, consultation, personas):
    from django.core.management import call_command

    report = done_report(consultation, personas["secretariat"])
    client.force_login(personas[who])
    client.get(reverse("consolidation:report_download", args=[consultation.slug, report.pk]))
    client.get(reverse("consultations:audit_csv", args=[consultation.slug]))
    call_command("verify_audit_chain")


def test_setting_a_password_in_the_admin_is_recorded(admin_client, personas):
    target = personas["th_delegate"]
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    response = admin_client.post(
        url,
        {
            "password1": "another long passphrase 77",
            "password2": "another long passphrase 77",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    (entry,) = entries("user.password_set")
    assert entry.data == {"user": "th.delegate@example.org"} and entry.actor_label == "root@example.org"
