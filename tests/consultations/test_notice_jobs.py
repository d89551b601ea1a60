"""Round notices as durable jobs: opening a round records its e-mails, sent later if the broker lost them."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from consultations import services
from consultations.models import EngagementRound, RoundNotice
from consultations.tasks import send_round_notices, sweep_round_notices
from tests import factories


def test_a_round_opened_while_the_broker_was_down_emails_its_participants_once_by_the_sweep(
    version, secretariat, vn_delegate, th_delegate
):
    scheduled = factories.EngagementRoundFactory(
        version=version, state=EngagementRound.State.SCHEDULED, opens_at=timezone.now() - timedelta(minutes=1)
    )

    assert services.rounds_advance()["opened"] == [scheduled.pk]  # its commit callback never runs here

    unsent = RoundNotice.objects.filter(round=scheduled, kind=RoundNotice.OPENED, sent_at__isnull=True)
    assert set(unsent.values_list("user_id", flat=True)) == {secretariat.pk, vn_delegate.pk, th_delegate.pk}
    assert mail.outbox == []

    assert sweep_round_notices.apply().get() == [f"{scheduled.pk}:opened"]
    assert sweep_round_notices.apply().get() == []
    assert send_round_notices.apply(args=[scheduled.pk, RoundNotice.OPENED]).get() == 0

    assert sorted(m.to[0] for m in mail.outbox) == sorted([secretariat.email, vn_delegate.email, th_delegate.email])
    assert not unsent.exists()


def test_an_unsent_notice_for_someone_who_left_is_dropped_not_retried_forever(version, vn_delegate, th_delegate):
    scheduled = factories.EngagementRoundFactory(
        version=version, state=EngagementRound.State.SCHEDULED, opens_at=timezone.now() - timedelta(minutes=1)
    )
    services.rounds_advance()
    th_delegate.is_active = False
    th_delegate.save(update_fields=["is_active"])

    sweep_round_notices.apply()

    assert th_delegate.email not in [m.to[0] for m in mail.outbox]
    assert sweep_round_notices.apply().get() == []
    assert not RoundNotice.objects.filter(round=scheduled, user=th_delegate).exists()
