"""Invitation e-mails as durable jobs: a lost broker message or a failed send is sent later, once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from consultations import services
from consultations.models import Invitation
from consultations.tasks import _deliver, send_invitation, sweep_invitations


@pytest.fixture
def unsent(secretariat, consultation, orgs) -> Invitation:
    """An invitation whose commit callback never ran: its task never reached a broker."""
    invitation = services.invitation_create(
        actor=secretariat, consultation=consultation, email="som.chai@example.org", organisation=orgs["th"],
        role=Role.MEMBER_STATE,
    )  # fmt: skip
    Invitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    return invitation


def test_an_invitation_whose_message_was_lost_is_emailed_once_by_the_sweep(unsent):
    assert mail.outbox == []

    assert sweep_invitations.apply().get() == [unsent.pk]
    assert sweep_invitations.apply().get() == []
    assert send_invitation.apply(args=[unsent.pk]).get() is False  # a late redelivery sends nothing

    assert [m.to for m in mail.outbox] == [["som.chai@example.org"]]
    unsent.refresh_from_db()
    assert unsent.sent_at is not None and unsent.send_attempts == 1


def test_a_just_created_invitation_is_left_to_its_own_message(secretariat, consultation, orgs):
    services.invitation_create(
        actor=secretariat, consultation=consultation, email="new@example.org", organisation=orgs["th"],
        role=Role.MEMBER_STATE,
    )  # fmt: skip

    assert sweep_invitations.apply().get() == []


def test_a_failed_send_is_given_back_and_sent_by_a_later_run(unsent):
    def smtp_down(invitation):
        raise ConnectionRefusedError("SMTP server unreachable")

    with pytest.raises(ConnectionRefusedError):
        services.invitation_send(invitation_id=unsent.pk, send=smtp_down)
    unsent.refresh_from_db()
    assert (unsent.sent_at, unsent.send_lease_expires_at) == (None, None)

    assert sweep_invitations.apply().get() == [unsent.pk]
    assert len(mail.outbox) == 1


def test_a_send_held_by_a_live_worker_is_not_sent_again(unsent):
    Invitation.objects.filter(pk=unsent.pk).update(
        send_attempts=1, send_lease_expires_at=timezone.now() + timedelta(minutes=1)
    )

    assert sweep_invitations.apply().get() == []
    assert services.invitation_send(invitation_id=unsent.pk, send=_deliver) is False
    assert mail.outbox == []


def test_an_invitation_that_keeps_failing_is_given_up(unsent, settings):
    settings.JOB_MAX_REQUEUES = 2
    Invitation.objects.filter(pk=unsent.pk).update(send_attempts=2)

    assert sweep_invitations.apply().get() == []


def test_resending_from_the_admin_sends_one_more_email(unsent, django_capture_on_commit_callbacks):
    sweep_invitations.apply()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.invitation_resend(actor=None, invitation_ids=[unsent.pk]) == [unsent.pk]

    assert len(mail.outbox) == 2
