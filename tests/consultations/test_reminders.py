"""Reminders to late organisations (consultations.reminders): once an hour, in each person's language."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from audit.models import AuditEntry
from consultations import reminders
from consultations.models import EngagementRound, RoundReminder
from consultations.tasks import send_round_reminders, sweep_round_reminders


def _has_language_field() -> bool:
    return any(field.name == "language" for field in User._meta.get_fields())


@pytest.fixture
def speaks(monkeypatch):
    """Give people a language: on their profile once User.language exists, else as the profile would."""
    languages: dict[str, str] = {}

    def speak(user, language):
        languages[user.email] = language
        if _has_language_field():
            User.objects.filter(pk=user.pk).update(language=language)

    if not _has_language_field():
        monkeypatch.setattr(User, "language", property(lambda u: languages.get(u.email, "")), raising=False)
    return speak


def _remind(actor, engagement_round, *organisations, now=None):
    return reminders.round_remind(
        actor=actor,
        engagement_round=engagement_round,
        organisation_ids=[org.pk for org in organisations],
        now=now,
    )


def test_each_person_gets_the_reminder_in_their_own_language(
    secretariat, open_round, orgs, vn_delegate, vn_colleague, speaks, django_capture_on_commit_callbacks
):
    speaks(vn_delegate, "vi")
    with django_capture_on_commit_callbacks(execute=True):
        reminded = _remind(secretariat, open_round, orgs["vn"])
    assert reminded.recipients == 2
    bodies = {message.to[0]: message.body for message in mail.outbox}
    assert "Kính gửi" in bodies[vn_delegate.email]  # Vietnamese: "Dear ..."
    assert bodies[vn_colleague.email].startswith("Dear ")  # no language of their own: the site's
    assert "Viet Nam" in bodies[vn_colleague.email] and open_round.title in bodies[vn_colleague.email]


def test_the_reminder_gives_the_organisations_own_deadline(
    secretariat, open_round, orgs, th_delegate, django_capture_on_commit_callbacks
):
    from consultations import services

    until = (open_round.closes_at + timedelta(days=3)).replace(second=0, microsecond=0)
    services.round_extend(actor=secretariat, engagement_round=open_round, organisation=orgs["th"], closes_at=until)
    with django_capture_on_commit_callbacks(execute=True):
        _remind(secretariat, open_round, orgs["th"])
    (message,) = mail.outbox
    with timezone.override(th_delegate.time_zone or settings.TIME_ZONE):
        expected = date_format(timezone.localtime(until), "DATETIME_FORMAT")
    assert f"Comments are accepted until {expected}" in message.body


def test_an_organisation_is_not_reminded_twice_within_the_hour(
    secretariat, open_round, orgs, th_delegate, partner, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _remind(secretariat, open_round, orgs["th"], now=now)
    with pytest.raises(reminders.ReminderTooSoonError) as refused:
        _remind(secretariat, open_round, orgs["th"], orgs["partner"], now=now + timedelta(minutes=59))
    assert refused.value.status == 429
    assert 0 < refused.value.retry_after <= 61
    assert "Thailand" in refused.value.messages[0]
    assert RoundReminder.objects.filter(organisation=orgs["partner"]).count() == 0
    # An hour later it may be reminded again.
    with django_capture_on_commit_callbacks(execute=True):
        _remind(secretariat, open_round, orgs["th"], now=now + timedelta(minutes=61))
    assert len(mail.outbox) == 2


def test_each_reminded_organisation_is_in_the_audit_log(secretariat, open_round, orgs, th_delegate, th_focal_point):
    _remind(secretariat, open_round, orgs["th"])
    entry = AuditEntry.objects.get(action="round.reminded")
    assert entry.actor == secretariat and entry.target_id == str(open_round.pk)
    assert entry.data == {"organisation": orgs["th"].pk, "organisation_name": "Thailand", "recipients": 2}


@pytest.mark.parametrize("persona", ["consultant", "vn_focal_point", "admin"])
def test_only_those_who_run_the_rounds_remind(personas, open_round, orgs, th_delegate, persona):
    if persona == "admin":  # site admins stand in for the secretariat
        assert _remind(personas[persona], open_round, orgs["th"]).recipients == 1
        return
    with pytest.raises(PermissionDenied):
        _remind(personas[persona], open_round, orgs["th"])
    assert not RoundReminder.objects.exists()


def test_an_organisation_that_does_not_comment_in_the_round_is_refused(secretariat, consultant, open_round, orgs):
    with pytest.raises(ValidationError, match="Only organisations that comment in this round"):
        _remind(secretariat, open_round, orgs["bcg"])


def test_a_round_closed_for_the_organisation_is_refused(secretariat, closed_round, orgs, th_delegate):
    with pytest.raises(ValidationError, match="not open for Thailand"):
        _remind(secretariat, closed_round, orgs["th"])


def test_sending_twice_sends_each_reminder_once(secretariat, open_round, orgs, th_delegate):
    _remind(secretariat, open_round, orgs["th"])  # queued after commit: not run in this test's transaction
    assert reminders.round_reminders_stranded() == [open_round.pk]
    assert send_round_reminders(open_round.pk) == 1
    assert send_round_reminders(open_round.pk) == 0
    assert len(mail.outbox) == 1
    assert sweep_round_reminders() == []


def test_a_reminder_still_queued_when_the_round_closes_is_dropped(secretariat, open_round, orgs, th_delegate):
    _remind(secretariat, open_round, orgs["th"])
    EngagementRound.objects.filter(pk=open_round.pk).update(state=EngagementRound.State.CLOSED)
    assert send_round_reminders(open_round.pk) == 0
    assert not mail.outbox and not RoundReminder.objects.exists()
