"""Round notifications: opened, closing soon, closed; who hears, once, at which second, and the e-mail.

A beat tick runs the three beat tasks in turn (consultations' advance_rounds, then
notifications' closing-soon and immediate e-mail), at a frozen instant, as beat would.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from consultations import services
from consultations.models import EngagementRound, Role
from consultations.tasks import advance_rounds
from notifications.models import Notification
from notifications.tasks import notify_rounds_closing, send_immediate

SECOND = timedelta(seconds=1)
SCHEDULED_ON = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
OPENS_AT = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
CLOSES_AT = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)
TH_EXTENDED_TO = CLOSES_AT + timedelta(days=4)

PARTICIPANTS = {
    "secretariat@example.org",
    "consultant@example.org",
    "vn.delegate@example.org",
    "vn.focal@example.org",
    "th.delegate@example.org",
    "partner@example.org",
}
# Member states and partners comment in this round; the secretariat and consultants do not.
COMMENTERS = {"vn.delegate@example.org", "vn.focal@example.org", "th.delegate@example.org", "partner@example.org"}


@pytest.fixture
def engagement_round(version, personas):
    with time_machine.travel(SCHEDULED_ON, tick=False):
        return services.round_schedule(
            actor=personas["secretariat"],
            version=version,
            title="First stakeholder engagement",
            opens_at=OPENS_AT,
            closes_at=CLOSES_AT,
            commenting_roles=[Role.MEMBER_STATE, Role.PARTNER],
            visibility=EngagementRound.Visibility.AFTER_CLOSE,
        )


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    """One beat tick at a frozen instant; returns the addresses e-mailed during it."""

    def run(at: datetime) -> list[str]:
        already = len(mail.outbox)
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            advance_rounds.delay().get()
            notify_rounds_closing.delay().get()
            send_immediate.delay().get()
        return sorted(address for message in mail.outbox[already:] for address in message.to)

    return run


@pytest.fixture
def open_engagement_round(engagement_round, tick):
    tick(OPENS_AT)
    mail.outbox.clear()
    return engagement_round


def _kinds(engagement_round) -> list[str]:
    return sorted(Notification.objects.filter(round=engagement_round).values_list("kind", flat=True))


# --- opened -------------------------------------------------------------------------------


def test_opening_notifies_and_emails_every_participant_once(engagement_round, tick):
    assert tick(OPENS_AT - SECOND) == []

    recipients = tick(OPENS_AT)

    assert recipients == sorted(PARTICIPANTS)
    assert "outsider@example.org" not in recipients
    assert "admin@example.org" not in recipients
    assert all(
        m.subject
        == "First stakeholder engagement of ASEAN Digital Masterplan 2030 is open for comments until "
        "15 September 2025, 10:00"
        or m.subject.startswith("First stakeholder engagement of ASEAN Digital Masterplan 2030 is open;")
        for m in mail.outbox
    )
    assert "/consultations/adm-2030/" in mail.outbox[0].body
    assert _kinds(engagement_round) == ["round_opened"] * len(PARTICIPANTS)


def test_running_the_tick_again_sends_nothing_more(engagement_round, tick):
    tick(OPENS_AT)

    assert tick(OPENS_AT) == []
    assert tick(OPENS_AT + timedelta(seconds=30)) == []
    assert len(mail.outbox) == len(PARTICIPANTS)
    assert Notification.objects.filter(round=engagement_round).count() == len(PARTICIPANTS)


def test_a_role_that_does_not_comment_is_told_it_reads_only(engagement_round, tick):
    tick(OPENS_AT)

    secretariat_mail = next(m for m in mail.outbox if m.to == ["secretariat@example.org"])
    assert "your role reads the draft but does not comment" in secretariat_mail.body


def test_inactive_participant_gets_nothing(engagement_round, tick, vn_delegate):
    vn_delegate.is_active = False
    vn_delegate.save(update_fields=["is_active"])

    assert "vn.delegate@example.org" not in tick(OPENS_AT)
    assert not Notification.objects.filter(recipient=vn_delegate).exists()


def test_opening_email_shows_the_deadline_in_the_recipients_time_zone(engagement_round, tick, vn_delegate):
    vn_delegate.time_zone = "Asia/Ho_Chi_Minh"
    vn_delegate.save(update_fields=["time_zone"])

    tick(OPENS_AT)

    body = next(m.body for m in mail.outbox if m.to == ["vn.delegate@example.org"])
    # 10:00 UTC is 17:00 in Ha Noi.
    assert "15 September 2025, 17:00" in body


# --- closing soon -------------------------------------------------------------------------


def test_closing_soon_reaches_commenters_once_48_hours_before(open_engagement_round, tick):
    assert tick(CLOSES_AT - timedelta(hours=48) - SECOND) == []
    assert tick(CLOSES_AT - timedelta(hours=48)) == sorted(COMMENTERS)
    assert tick(CLOSES_AT - timedelta(hours=48) + timedelta(seconds=30)) == []
    assert tick(CLOSES_AT - timedelta(hours=24)) == []
    assert tick(CLOSES_AT - timedelta(hours=1)) == []

    assert len(mail.outbox) == len(COMMENTERS)
    assert all("closes for your delegation on 15 September 2025, 10:00" in m.body for m in mail.outbox)
    assert Notification.objects.filter(kind=Notification.Kind.ROUND_CLOSING).count() == len(COMMENTERS)


def test_closing_soon_due_while_beat_was_down_goes_out_once_late(open_engagement_round, tick):
    assert tick(CLOSES_AT - timedelta(hours=10)) == sorted(COMMENTERS)
    assert tick(CLOSES_AT - timedelta(hours=9)) == []


def test_two_runs_of_closing_soon_notify_once(open_engagement_round):
    with time_machine.travel(CLOSES_AT - timedelta(hours=47), tick=False):
        first = notify_rounds_closing.delay().get()
        second = notify_rounds_closing.delay().get()

    assert (first, second) == (len(COMMENTERS), 0)


def test_extended_organisation_hears_relative_to_its_own_deadline(open_engagement_round, tick, personas, orgs):
    with time_machine.travel(OPENS_AT + timedelta(days=1), tick=False):
        services.round_extend(
            actor=personas["secretariat"],
            engagement_round=open_engagement_round,
            organisation=orgs["th"],
            closes_at=TH_EXTENDED_TO,
        )
    others = sorted(COMMENTERS - {"th.delegate@example.org"})

    assert tick(CLOSES_AT - timedelta(hours=48)) == others
    assert tick(TH_EXTENDED_TO - timedelta(hours=48) - SECOND) == []
    assert tick(TH_EXTENDED_TO - timedelta(hours=48)) == ["th.delegate@example.org"]
    assert tick(TH_EXTENDED_TO - timedelta(hours=1)) == []

    th_mail = next(m for m in mail.outbox if m.to == ["th.delegate@example.org"])
    assert "19 September 2025, 10:00" in th_mail.body  # its own deadline, not the round's 15 September


# --- closed -------------------------------------------------------------------------------


def test_closing_notifies_every_participant_once(open_engagement_round, tick):
    tick(CLOSES_AT - timedelta(hours=48))
    mail.outbox.clear()

    assert tick(CLOSES_AT) == sorted(PARTICIPANTS)
    assert tick(CLOSES_AT + SECOND) == []
    assert all(m.subject.endswith("has closed.") for m in mail.outbox)
