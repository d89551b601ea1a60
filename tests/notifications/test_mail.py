"""E-mail about notifications: at once or in a daily digest, in the recipient's language, each once."""

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import EmailFrequency
from consolidation.services.dispositions import disposition_record
from notifications import mail as notification_mail
from notifications.models import Notification
from notifications.tasks import send_digests, send_immediate
from tests.factories import CommentFactory, NotificationFactory, ReplyFactory


@pytest.fixture
def reply_to_vn(open_round, clause, vn_delegate, vn_focal_point):
    comment = CommentFactory(round=open_round, section=clause, author=vn_delegate)
    return ReplyFactory(comment=comment, author=vn_focal_point, organisation=vn_focal_point.organisation)


def notify(reply, recipient, **fields):
    return NotificationFactory(reply=reply, recipient=recipient, **fields)


def test_immediate_email_goes_out_once_with_a_link_to_the_thread(reply_to_vn, vn_delegate):
    notify(reply_to_vn, vn_delegate)

    assert send_immediate.delay().get() == 1
    assert send_immediate.delay().get() == 0

    (message,) = mail.outbox
    assert message.to == [vn_delegate.email]
    assert message.subject.startswith(reply_to_vn.author.get_full_name() + " replied to comment")
    assert f"/consultations/adm-2030/comments/{reply_to_vn.comment_id}/#replies" in message.body
    assert Notification.objects.get().mailed_at is not None


def test_a_vietnamese_recipient_gets_the_email_in_vietnamese(closed_round, clause, vn_delegate, secretariat):
    vn_delegate.language = "vi"
    vn_delegate.save(update_fields=["language"])
    comment = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status="submitted")
    disposition_record(actor=secretariat, comment=comment, decision="accepted", response="Yes.")

    send_immediate.delay().get()

    (message,) = mail.outbox
    # Strings the Vietnamese catalogue already has: the greeting and the decision.
    assert "Kính gửi" in message.body
    assert "Chấp nhận" in message.body
    assert "Dear" not in message.body


def test_an_english_recipient_beside_a_vietnamese_one_gets_english(reply_to_vn, vn_delegate, vn_colleague):
    vn_colleague.language = "vi"
    vn_colleague.save(update_fields=["language"])
    notify(reply_to_vn, vn_delegate)
    notify(reply_to_vn, vn_colleague)

    send_immediate.delay().get()

    by_person = {m.to[0]: m.body for m in mail.outbox}
    assert "Dear" in by_person[vn_delegate.email]
    assert "Kính gửi" in by_person[vn_colleague.email]


def test_several_pending_notifications_make_one_email(reply_to_vn, vn_delegate, vn_colleague):
    second = ReplyFactory(comment=reply_to_vn.comment, author=vn_colleague, organisation=vn_colleague.organisation)
    notify(reply_to_vn, vn_delegate)
    notify(second, vn_delegate)

    assert send_immediate.delay().get() == 1

    (message,) = mail.outbox
    assert message.subject == "2 updates on the consultation platform"
    assert message.body.count("replied to comment") == 2


def test_daily_digest_groups_a_persons_unread_notifications_and_runs_once(reply_to_vn, vn_delegate, vn_colleague):
    vn_delegate.email_frequency = EmailFrequency.DAILY
    vn_delegate.save(update_fields=["email_frequency"])
    second = ReplyFactory(comment=reply_to_vn.comment, author=vn_colleague, organisation=vn_colleague.organisation)
    notify(reply_to_vn, vn_delegate)
    notify(second, vn_delegate)

    assert send_immediate.delay().get() == 0  # a digest person is not mailed at once
    assert send_digests.delay().get() == 1
    assert send_digests.delay().get() == 0

    (message,) = mail.outbox
    assert message.body.count("replied to comment") == 2


def test_the_digest_leaves_out_what_was_read_on_the_site(reply_to_vn, vn_delegate, vn_colleague):
    vn_delegate.email_frequency = EmailFrequency.DAILY
    vn_delegate.save(update_fields=["email_frequency"])
    second = ReplyFactory(comment=reply_to_vn.comment, author=vn_colleague, organisation=vn_colleague.organisation)
    notify(reply_to_vn, vn_delegate, read_at=timezone.now())
    notify(second, vn_delegate)

    assert notification_mail.send_digests() == 1

    (message,) = mail.outbox
    assert message.body.count("replied to comment") == 1
    assert vn_colleague.get_full_name() in message.body
    assert not Notification.objects.filter(mailed_at__isnull=True).exists()  # the read one is settled too


def test_no_email_for_someone_who_wants_none(reply_to_vn, vn_delegate):
    vn_delegate.email_frequency = EmailFrequency.NONE
    vn_delegate.save(update_fields=["email_frequency"])
    notify(reply_to_vn, vn_delegate)

    assert send_immediate.delay().get() == 0
    assert send_digests.delay().get() == 0
    assert mail.outbox == []
    assert Notification.objects.get().read_at is None  # still in the inbox


def test_a_failed_send_leaves_the_notification_for_the_next_run(reply_to_vn, vn_delegate, monkeypatch):
    notify(reply_to_vn, vn_delegate)

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(OSError):
        notification_mail.send_immediate()
    monkeypatch.undo()

    assert Notification.objects.get().mailed_at is None
    assert notification_mail.send_immediate() == 1
