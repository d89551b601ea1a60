"""Rounds open and participants are e-mailed by a real Celery worker; /healthz sees that worker."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from consultations import reminders
from consultations.models import EngagementRound, RoundReminder
from consultations.tasks import advance_rounds, send_round_reminders
from notifications.models import Notification
from notifications.tasks import send_immediate
from tests import factories

from .conftest import WORKER_SITE_URL, celery_app_using

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

TASK_TIMEOUT = 60


def _wait_for_messages(worker, count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while True:
        messages = worker.messages()
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)


def test_worker_opens_a_due_round_and_emails_each_participant_once(
    celery_broker, celery_worker, version, secretariat, vn_delegate, th_delegate
):
    scheduled = factories.EngagementRoundFactory(
        version=version,
        title="First stakeholder engagement",
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() - timedelta(minutes=1),
    )
    participants = {secretariat.email, vn_delegate.email, th_delegate.email}

    result = advance_rounds.delay().get(timeout=TASK_TIMEOUT)

    assert result["opened"] == [scheduled.pk]
    scheduled.refresh_from_db()
    assert scheduled.state == EngagementRound.State.OPEN
    assert scheduled.opened_at is not None
    # The opening is in everyone's inbox; the notifications' beat task mails it.
    assert send_immediate.delay().get(timeout=TASK_TIMEOUT) == len(participants)
    messages = _wait_for_messages(celery_worker, len(participants))
    assert sorted(address.addr_spec for m in messages for address in m["To"].addresses) == sorted(participants)
    for message in messages:
        assert message["Subject"].startswith("First stakeholder engagement of ASEAN Digital Masterplan 2030 is open")
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert f"{WORKER_SITE_URL}/consultations/adm-2030/" in body

    # A second tick and a repeated notice task find nothing left to do. The worker runs one
    # task at a time in queue order, so anything the second tick queued has run by now.
    again = advance_rounds.delay().get(timeout=TASK_TIMEOUT)
    assert again["opened"] == []
    assert send_immediate.delay().get(timeout=TASK_TIMEOUT) == 0
    assert len(celery_worker.messages()) == len(participants)
    assert Notification.objects.filter(round=scheduled, mailed_at__isnull=False).count() == 3


def test_worker_sends_a_reminder_to_each_participant_of_a_late_organisation_once(
    celery_broker, celery_worker, open_round, secretariat, orgs, th_delegate, th_focal_point, vn_delegate
):
    subject = f"Your comments are awaited: {open_round.title}"

    def reminders_sent() -> list:
        # The worker's outbox spans the module's tests (and their notification e-mails): only the reminders.
        return [m for m in celery_worker.messages() if m["Subject"] == subject]

    reminded = reminders.round_remind(
        actor=secretariat, engagement_round=open_round, organisation_ids=[orgs["th"].pk]
    )  # committed: queued to the real broker once the transaction commits
    assert reminded.recipients == 2

    deadline = time.monotonic() + 30
    while len(reminders_sent()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    messages = reminders_sent()
    assert sorted(address.addr_spec for m in messages for address in m["To"].addresses) == sorted(
        [th_delegate.email, th_focal_point.email]
    )
    assert not RoundReminder.objects.filter(sent_at__isnull=True).exists()
    # The same task delivered again sends nothing more.
    assert send_round_reminders.delay(open_round.pk).get(timeout=TASK_TIMEOUT) == 0
    assert len(reminders_sent()) == 2


def test_healthz_lists_the_live_worker(celery_broker, celery_worker, client, settings):
    settings.CELERY_BROKER_URL = celery_broker

    response = client.get("/healthz")

    body = json.loads(response.content)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert celery_worker.name in body["checks"]["workers"]["workers"]


def test_healthz_fails_naming_the_broker_when_it_is_unreachable(client, settings):
    closed = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = closed

    with celery_app_using(closed):
        response = client.get("/healthz")

    body = json.loads(response.content)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert "broker" in body["failing"]
    assert body["checks"]["database"]["ok"] is True
