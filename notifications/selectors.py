"""Reading the inbox: one person's notifications, as sentences with a link, and their unread count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consolidation.models import Disposition

from .models import Notification

Kind = Notification.Kind
PAGE_SIZE = 25
# The header shows "99+" beyond this: counting further costs time and tells nobody anything.
UNREAD_CAP = 99


@dataclass(frozen=True)
class NotificationItem:
    """One line of the inbox or of an e-mail: what happened, where, and whether it was read."""

    pk: int
    kind: str
    text: str
    url: str  # the thing itself: the comment's thread, the version, the consultation
    created_at: datetime
    is_read: bool


@dataclass(frozen=True)
class InboxPage:
    items: list[NotificationItem]
    page: Page
    unread: int


def notifications_of(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def _loaded(queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    return queryset.select_related("consultation", "round", "version", "actor").order_by("-created_at", "-id")


def get_notification_for_user(*, user, pk) -> Notification:
    """One of the person's own notifications, or 404 (another person's included)."""
    notification = _loaded(notifications_of(user=user)).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def unread_count(*, user) -> int:
    """How many unread, counted up to UNREAD_CAP + 1: one indexed query, however full the inbox."""
    if not user.is_authenticated:
        return 0
    return notifications_of(user=user).filter(read_at__isnull=True)[: UNREAD_CAP + 1].count()


def inbox(*, user, page_number: str | int | None = 1, page_size: int = PAGE_SIZE) -> InboxPage:
    """A window of the person's notifications, newest first."""
    paginator = Paginator(_loaded(notifications_of(user=user)), page_size)
    page = paginator.get_page(page_number)
    return InboxPage(items=[describe(n) for n in page.object_list], page=page, unread=unread_count(user=user))


# A date and time in the reader's time zone and language (titles end with it, without a full stop).
def _when(value: str | None) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _person(user) -> str:
    return user.get_full_name() if user is not None else _("Someone")


def target_url(notification: Notification) -> str:
    """Where a notification leads: the comment's thread, the version's text, or the consultation."""
    slug = notification.consultation.slug
    if notification.comment_id:
        url = reverse("comments:detail", args=[slug, notification.comment_id])
        return url + "#replies" if notification.reply_id else url
    if notification.version_id and notification.version is not None:
        return reverse("consultations:version", args=[slug, notification.version.number])
    return reverse("consultations:detail", args=[slug])


def text_of(notification: Notification) -> str:
    """The sentence, in the active language (the page's, or the recipient's inside an e-mail)."""
    n = notification
    consultation = n.consultation.title
    number = f"C{n.comment_id}" if n.comment_id else ""
    round_title = n.round.title if n.round_id and n.round is not None else ""
    if n.kind == Kind.REPLY:
        return _("%(person)s replied to comment %(number)s in %(consultation)s.") % {
            "person": _person(n.actor),
            "number": number,
            "consultation": consultation,
        }
    if n.kind == Kind.DECISION:
        decision = n.data.get("decision", "")
        label = Disposition.Decision(decision).label if decision in Disposition.Decision.values else decision
        return _("The secretariat decided on comment %(number)s in %(consultation)s: %(decision)s.") % {
            "number": number,
            "consultation": consultation,
            "decision": label,
        }
    if n.kind == Kind.MENTION:
        return _("%(person)s mentioned you in the thread of comment %(number)s in %(consultation)s.") % {
            "person": _person(n.actor),
            "number": number,
            "consultation": consultation,
        }
    if n.kind == Kind.RETURNED:
        return _("%(person)s sent comment %(number)s in %(consultation)s back to you to revise: %(note)s") % {
            "person": _person(n.actor),
            "number": number,
            "consultation": consultation,
            "note": n.data.get("note", ""),
        }
    if n.kind == Kind.CARRIED_OVER:
        carried, orphaned = int(n.data.get("carried", 0)), int(n.data.get("orphaned", 0))
        version = n.version.number if n.version is not None else ""
        text = ngettext(
            "%(count)s of your comments was carried into version %(version)s of %(consultation)s.",
            "%(count)s of your comments were carried into version %(version)s of %(consultation)s.",
            carried,
        ) % {"count": carried, "version": version, "consultation": consultation}
        if orphaned:
            text += " " + ngettext(
                "%(count)s could not be placed: its passage is no longer in the text.",
                "%(count)s could not be placed: their passages are no longer in the text.",
                orphaned,
            ) % {"count": orphaned}
        return text
    if n.kind == Kind.ROUND_OPENED:
        if n.data.get("may_comment", True):
            return _("%(round)s of %(consultation)s is open for comments until %(closes)s") % {
                "round": round_title,
                "consultation": consultation,
                "closes": _when(n.data.get("closes_at")),
            }
        return _("%(round)s of %(consultation)s is open; your role reads the draft but does not comment.") % {
            "round": round_title,
            "consultation": consultation,
        }
    if n.kind == Kind.ROUND_CLOSING:
        return _("%(round)s of %(consultation)s closes for your delegation on %(closes)s") % {
            "round": round_title,
            "consultation": consultation,
            "closes": _when(n.data.get("closes_at")),
        }
    if n.kind == Kind.ROUND_CLOSED:
        return _("%(round)s of %(consultation)s has closed.") % {"round": round_title, "consultation": consultation}
    return str(n.get_kind_display())


def describe(notification: Notification) -> NotificationItem:
    return NotificationItem(
        pk=notification.pk,
        kind=notification.kind,
        text=text_of(notification),
        url=target_url(notification),
        created_at=notification.created_at,
        is_read=notification.read_at is not None,
    )
