"""Errors the comment services raise; pages and the API map them to a status and a message."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _


class RoundClosedError(ValidationError):
    """A write to a round that is closed for the writer's organisation (HTTP 409)."""

    def __init__(self, closed_at: datetime | None = None, *, not_yet_open: bool = False):
        if not_yet_open:
            message = _("This round is not open yet. Nothing was saved.")
        elif closed_at is not None:
            message = _("This round closed for your organisation (%(when)s). Nothing was saved.") % {
                "when": date_format(timezone.localtime(closed_at), "DATETIME_FORMAT")
            }
        else:
            message = _("This round is closed. Nothing was saved.")
        super().__init__(message, code="round_closed")
        self.closed_at = closed_at


class StaleWriteError(ValidationError):
    """The comment changed since the writer last read it (HTTP 412)."""

    def __init__(self):
        super().__init__(
            _("Someone changed this comment since you opened it. Reload it and make your change again."),
            code="stale",
        )


class RateLimitedError(ValidationError):
    """Too many comments in a short time (HTTP 429)."""

    def __init__(self, retry_after: int):
        super().__init__(
            _("You have written many comments in the last minute. Please wait %(seconds)s seconds.")
            % {"seconds": retry_after},
            code="rate_limited",
        )
        self.retry_after = retry_after
