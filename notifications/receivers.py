"""What the notifications app does when something happens below it.

Every signal here is sent inside the transaction that made the change, so the notifications
commit with it or not at all. A receiver only writes rows (no e-mail, no network): e-mail goes
out from the beat tasks (notifications.mail). Each receiver runs in a savepoint and logs its
failure instead of raising: a notification that could not be written must never undo the
reply, the decision or the round change it reports.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.db import transaction

from comments.signals import comment_returned, people_mentioned, reply_created
from consolidation.signals import comments_carried_over, disposition_decided
from consultations.signals import round_closed, round_opened

from . import services

logger = logging.getLogger(__name__)


def robust(receiver: Callable[..., None]) -> Callable[..., None]:
    @wraps(receiver)
    def run(sender, **kwargs) -> None:
        try:
            with transaction.atomic():
                receiver(sender, **kwargs)
        except Exception:
            logger.exception("Notifications not written by %s", receiver.__name__)

    return run


@robust
def on_reply(sender, *, reply, **kwargs) -> None:
    services.notify_reply(reply=reply)


@robust
def on_mentioned(sender, *, actor, comment, people, reply=None, **kwargs) -> None:
    services.notify_mentioned(actor=actor, comment=comment, mentioned=people, reply=reply)


@robust
def on_returned(sender, *, comment_return, **kwargs) -> None:
    services.notify_returned(comment_return=comment_return)


@robust
def on_decision(sender, *, dispositions, actor=None, **kwargs) -> None:
    services.notify_decided(dispositions=dispositions, actor=actor)


@robust
def on_carried_over(sender, *, version, by_author=None, **kwargs) -> None:
    services.notify_carried_over(version=version, by_author=by_author)


@robust
def on_round_opened(sender, *, round_id: int, **kwargs) -> None:
    services.notify_round_opened(round_id=round_id)


@robust
def on_round_closed(sender, *, round_id: int, **kwargs) -> None:
    services.notify_round_closed(round_id=round_id)


def connect() -> None:
    reply_created.connect(on_reply, dispatch_uid="notifications.on_reply")
    people_mentioned.connect(on_mentioned, dispatch_uid="notifications.on_mentioned")
    comment_returned.connect(on_returned, dispatch_uid="notifications.on_returned")
    disposition_decided.connect(on_decision, dispatch_uid="notifications.on_decision")
    comments_carried_over.connect(on_carried_over, dispatch_uid="notifications.on_carried_over")
    round_opened.connect(on_round_opened, dispatch_uid="notifications.on_round_opened")
    round_closed.connect(on_round_closed, dispatch_uid="notifications.on_round_closed")
