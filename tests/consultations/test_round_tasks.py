"""Beat's advance_rounds task and the round e-mails: who gets what, once, at which second.

Celery runs eagerly in tests; e-mails queued on commit are run with
django_capture_on_commit_callbacks(execute=True), as the commit would in production.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from consultations import services
from consultations.models import EngagementRound, Role, RoundNotice
from consultations.tasks import advance_rounds, send_round_notices

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
        return sorted(address for message in mail.outbox[already:] for address in message.to)

    return run


@pytest.fixture
def open_engagement_round(engagement_round, tick):
    tick(OPENS_AT)
    mail.outbox.clear()
    return engagement_round


def _sent_kinds(engagement_round) -> list[str]:
    return sorted(
        RoundNotice.objects.filter(round=engagement_round, sent_at__isnull=False).values_list("kind", flat=True)
    )


# --- the "round is open" e-mail ------------------------------------------------------------


def test_opening_emails_every_participant_once(engagement_round, tick):
    assert tick(OPENS_AT - SECOND) == []

    recipients = tick(OPENS_AT)

    assert recipients == sorted(PARTICIPANTS)
    assert "outsider@example.org" not in recipients
    assert "admin@example.org" not in recipients
    assert all(m.subject == "Open for comments: First stakeholder engagement" for m in mail.outbox)
    assert "/consultations/adm-2030/" in mail.outbox[0].body


def test_running_the_task_again_sends_nothing_more(engagement_round, tick):
    tick(OPENS_AT)

    assert tick(OPENS_AT) == []
    assert tick(OPENS_AT + timedelta(seconds=30)) == []
    assert len(mail.outbox) == len(PARTICIPANTS)


def test_second_worker_sending_the_same_notice_finds_nothing_to_do(engagement_round, tick):
    tick(OPENS_AT)

    with time_machine.travel(OPENS_AT + SECOND, tick=False):
        assert services.round_notices_send(round_id=engagement_round.pk, kind=RoundNotice.OPENED) == 0
        assert send_round_notices.delay(engagement_round.pk, RoundNotice.OPENED).get() == 0
    assert len(mail.outbox) == len(PARTICIPANTS)


def test_two_workers_sending_the_same_reminder_send_it_once(open_engagement_round):
    with time_machine.travel(CLOSES_AT - timedelta(hours=72), tick=False):
        first = services.round_notices_send(round_id=open_engagement_round.pk, kind="reminder_72h")
        second = services.round_notices_send(round_id=open_engagement_round.pk, kind="reminder_72h")

    assert (first, second) == (len(COMMENTERS), 0)
    assert len(mail.outbox) == len(COMMENTERS)


def test_inactive_participant_gets_no_email(engagement_round, tick, vn_delegate):
    vn_delegate.is_active = False
    vn_delegate.save(update_fields=["is_active"])

    assert "vn.delegate@example.org" not in tick(OPENS_AT)


def test_opening_email_shows_the_deadline_in_the_recipients_time_zone(engagement_round, tick, vn_delegate):
    vn_delegate.time_zone = "Asia/Ho_Chi_Minh"
    vn_delegate.save(update_fields=["time_zone"])

    tick(OPENS_AT)

    body = next(m.body for m in mail.outbox if m.to == ["vn.delegate@example.org"])
    # 10:00 UTC is 17:00 in Ha Noi.
    assert "17:00" in body
    assert "Asia/Ho_Chi_Minh" in body


# --- reminders ----------------------------------------------------------------------------


def test_reminders_go_out_72_and_24_hours_before_closing_once_each_to_commenters(open_engagement_round, tick):
    assert tick(CLOSES_AT - timedelta(hours=72) - SECOND) == []
    assert tick(CLOSES_AT - timedelta(hours=72)) == sorted(COMMENTERS)
    assert tick(CLOSES_AT - timedelta(hours=72) + timedelta(seconds=30)) == []
    assert tick(CLOSES_AT - timedelta(hours=48)) == []
    assert tick(CLOSES_AT - timedelta(hours=24) - SECOND) == []
    assert tick(CLOSES_AT - timedelta(hours=24)) == sorted(COMMENTERS)
    assert tick(CLOSES_AT - timedelta(hours=1)) == []
    assert tick(CLOSES_AT) == []

    subjects = {m.subject for m in mail.outbox}
    assert subjects == {"Reminder: First stakeholder engagement closes soon"}
    assert len(mail.outbox) == 2 * len(COMMENTERS)


def test_reminder_due_while_beat_was_down_sends_only_the_24_hour_one(open_engagement_round, tick):
    recipients = tick(CLOSES_AT - timedelta(hours=10))

    assert recipients == sorted(COMMENTERS)
    assert _sent_kinds(open_engagement_round) == ["opened"] * 6 + ["reminder_24h"] * len(COMMENTERS)
    assert tick(CLOSES_AT - timedelta(hours=9)) == []


def test_extended_organisation_gets_reminders_relative_to_its_own_deadline(open_engagement_round, tick, personas, orgs):
    with time_machine.travel(OPENS_AT + timedelta(days=1), tick=False):
        services.round_extend(
            actor=personas["secretariat"],
            engagement_round=open_engagement_round,
            organisation=orgs["th"],
            closes_at=TH_EXTENDED_TO,
        )
    others = sorted(COMMENTERS - {"th.delegate@example.org"})

    assert tick(CLOSES_AT - timedelta(hours=72)) == others
    assert tick(CLOSES_AT - timedelta(hours=24)) == others
    assert tick(CLOSES_AT) == []
    assert tick(TH_EXTENDED_TO - timedelta(hours=72) - SECOND) == []
    assert tick(TH_EXTENDED_TO - timedelta(hours=72)) == ["th.delegate@example.org"]
    assert tick(TH_EXTENDED_TO - timedelta(hours=24)) == ["th.delegate@example.org"]
    assert tick(TH_EXTENDED_TO) == []

    th_reminder = next(m for m in mail.outbox if m.to == ["th.delegate@example.org"])
    assert "19 September 2025" in th_reminder.body  # its own deadline, not the round's 15 September


def test_extended_organisation_reminder_email_states_its_own_deadline(open_engagement_round, tick, personas, orgs):
    with time_machine.travel(OPENS_AT + timedelta(days=1), tick=False):
        services.round_extend(
            actor=personas["secretariat"],
            engagement_round=open_engagement_round,
            organisation=orgs["th"],
            closes_at=TH_EXTENDED_TO,
        )

    tick(TH_EXTENDED_TO - timedelta(hours=24))

    (message,) = mail.outbox
    assert message.to == ["th.delegate@example.org"]
    assert "19 September 2025, 10:00" in message.body
