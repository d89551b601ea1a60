"""Reply digests: one e-mail per person listing the replies to their comments, after a delay."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from comments import services
from comments.models import Comment, ReplyNotice
from comments.tasks import send_reply_digests


@pytest.fixture
def t0():
    """A moment inside the open round's window, to the second."""
    return (timezone.now() + timedelta(hours=1)).replace(microsecond=0)


@pytest.fixture
def delay(settings) -> timedelta:
    return timedelta(minutes=settings.REPLY_DIGEST_DELAY_MINUTES)


def submitted_comment(author, engagement_round, section, body="Name the 2028 target for rural areas too."):
    return services.comment_create(
        actor=author,
        engagement_round=engagement_round,
        section=section,
        comment_type=Comment.Type.TECHNICAL,
        body=body,
        submit=True,
    )


def reply_at(at, actor, comment, body):
    with time_machine.travel(at, tick=False):
        return services.reply_create(actor=actor, comment=comment, body=body)


def send_at(at) -> int:
    with time_machine.travel(at, tick=False):
        return services.reply_digests_send()


def test_three_replies_make_one_email_after_the_delay(
    open_round, clause, vn_delegate, vn_focal_point, vn_colleague, t0, delay
):
    comment = submitted_comment(vn_delegate, open_round, clause)
    reply_at(t0, vn_focal_point, comment, "Agreed, and add 'by 2030' for islands.")
    reply_at(t0 + timedelta(minutes=2), vn_colleague, comment, "The ministry has data on rural coverage.")
    reply_at(t0 + timedelta(minutes=4), vn_focal_point, comment, "Let us endorse it tomorrow.")

    assert send_at(t0 + delay - timedelta(seconds=1)) == 0
    assert mail.outbox == []

    assert send_at(t0 + delay) == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["vn.delegate@example.org"]
    assert message.subject == "3 new replies to your comments"
    for text in (
        "Agreed, and add 'by 2030' for islands.",
        "The ministry has data on rural coverage.",
        "Let us endorse it tomorrow.",
    ):
        assert message.body.count(text) == 1
    assert message.body.index("Agreed") < message.body.index("The ministry") < message.body.index("Let us endorse")
    assert vn_colleague.get_full_name() in message.body
    assert f"/comments/{comment.pk}/" in message.body
    assert not ReplyNotice.objects.filter(sent_at__isnull=True).exists()


def test_a_second_run_sends_nothing_more(open_round, clause, vn_delegate, vn_focal_point, t0, delay):
    comment = submitted_comment(vn_delegate, open_round, clause)
    reply_at(t0, vn_focal_point, comment, "Agreed.")
    assert send_at(t0 + delay) == 1

    assert send_at(t0 + delay + timedelta(minutes=1)) == 0
    assert send_at(t0 + delay + timedelta(days=1)) == 0
    assert len(mail.outbox) == 1


def test_a_later_reply_makes_a_new_digest_with_only_that_reply(
    open_round, clause, vn_delegate, vn_focal_point, t0, delay
):
    comment = submitted_comment(vn_delegate, open_round, clause)
    reply_at(t0, vn_focal_point, comment, "First reply.")
    send_at(t0 + delay)
    reply_at(t0 + delay + timedelta(minutes=1), vn_focal_point, comment, "Second reply.")

    assert send_at(t0 + 2 * delay + timedelta(minutes=1)) == 1

    assert len(mail.outbox) == 2
    latest = mail.outbox[1]
    assert latest.subject == "1 new reply to your comments"
    assert "Second reply." in latest.body
    assert "First reply." not in latest.body


def test_author_replying_in_their_own_thread_gets_no_notice(open_round, clause, vn_delegate, t0, delay):
    comment = submitted_comment(vn_delegate, open_round, clause)

    reply_at(t0, vn_delegate, comment, "To add to my own comment: rural areas too.")

    assert not ReplyNotice.objects.exists()
    assert send_at(t0 + delay + timedelta(hours=1)) == 0
    assert mail.outbox == []


def test_own_reply_is_not_listed_in_the_digest_of_colleagues_replies(
    open_round, clause, vn_delegate, vn_focal_point, t0, delay
):
    comment = submitted_comment(vn_delegate, open_round, clause)
    reply_at(t0, vn_focal_point, comment, "Which rural areas?")
    reply_at(t0 + timedelta(minutes=1), vn_delegate, comment, "The northern provinces.")

    assert send_at(t0 + delay) == 1

    (message,) = mail.outbox
    assert message.subject == "1 new reply to your comments"
    assert "Which rural areas?" in message.body
    assert "The northern provinces." not in message.body


def test_replies_to_two_authors_make_one_email_each(
    open_round, clause, vn_delegate, th_delegate, secretariat, t0, delay
):
    vn_comment = submitted_comment(vn_delegate, open_round, clause, body="Viet Nam's comment.")
    th_comment = submitted_comment(th_delegate, open_round, clause, body="Thailand's comment.")
    reply_at(t0, secretariat, vn_comment, "Reply for Viet Nam.")
    reply_at(t0 + timedelta(minutes=1), secretariat, th_comment, "Reply for Thailand.")

    assert send_at(t0 + delay + timedelta(minutes=1)) == 2

    by_recipient = {tuple(message.to): message for message in mail.outbox}
    assert set(by_recipient) == {("vn.delegate@example.org",), ("th.delegate@example.org",)}
    vn_mail = by_recipient[("vn.delegate@example.org",)]
    th_mail = by_recipient[("th.delegate@example.org",)]
    assert "Reply for Viet Nam." in vn_mail.body and "Reply for Thailand." not in vn_mail.body
    assert "Reply for Thailand." in th_mail.body and "Reply for Viet Nam." not in th_mail.body


def test_a_failed_send_leaves_the_notices_for_the_next_run(
    open_round, clause, vn_delegate, vn_focal_point, t0, delay, monkeypatch
):
    comment = submitted_comment(vn_delegate, open_round, clause)
    reply_at(t0, vn_focal_point, comment, "Agreed.")

    def mail_server_down(*args, **kwargs):
        raise OSError("Connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(services, "send_mail", mail_server_down)
        with pytest.raises(OSError):
            send_at(t0 + delay)
    assert ReplyNotice.objects.filter(sent_at__isnull=True).count() == 1

    assert send_at(t0 + delay + timedelta(minutes=1)) == 1
    assert len(mail.outbox) == 1


def test_celery_task_sends_the_digests_and_returns_how_many(
    open_round, clause, vn_delegate, th_delegate, secretariat, t0, delay
):
    reply_at(t0, secretariat, submitted_comment(vn_delegate, open_round, clause), "For Viet Nam.")
    reply_at(t0, secretariat, submitted_comment(th_delegate, open_round, clause), "For Thailand.")

    with time_machine.travel(t0 + delay, tick=False):
        result = send_reply_digests.delay()

    assert result.get() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["th.delegate@example.org", "vn.delegate@example.org"]
    with time_machine.travel(t0 + delay + timedelta(minutes=5), tick=False):
        assert send_reply_digests.delay().get() == 0
