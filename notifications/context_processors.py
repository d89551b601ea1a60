"""The header's unread count: computed only if a page shows it, one bounded indexed query."""

from django.utils.functional import SimpleLazyObject

from .selectors import UNREAD_CAP, unread_count


def unread_notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = SimpleLazyObject(lambda: unread_count(user=user))
    return {"unread_notifications": count, "unread_notifications_cap": UNREAD_CAP}
