"""The one error contract: a refusal carries its own HTTP status (as zulip's JsonableError does).

Services raise a `DomainError` subclass (or Django's ValidationError / PermissionDenied / Http404,
which keep their usual meaning: 400 / 403 / 404). Pages (config.actions.perform) and the API
(api.exceptions.problem_exception_handler) both read the refusal through `refusal()`, so a status,
its message and its headers (Retry-After) are decided in one place.

DomainError is a ValidationError, so a form can show it (`form.add_error(None, exc)`) and code that
catches ValidationError keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _


class DomainError(ValidationError):
    """A refusal by a service: `status` is the HTTP status, `code` a stable machine-readable slug."""

    status: int = 400
    default_code: str = "invalid"
    # The RFC 9457 problem type slug under /api/problems/.
    problem_type: str = "validation"

    def __init__(self, message: Any, *, code: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(message, code=code or self.default_code, params=params)

    @property
    def headers(self) -> dict[str, str]:
        return {}


class NotAllowedError(DomainError):
    """The person may not do this here (403)."""

    status = 403
    default_code = "permission_denied"
    problem_type = "forbidden"


class ConflictError(DomainError):
    """The request conflicts with the object's state (409)."""

    status = 409
    default_code = "conflict"
    problem_type = "conflict"


class RoundClosedError(ConflictError):
    """A write to a round that is closed for the writer's organisation (409)."""

    default_code = "round_closed"
    problem_type = "round-closed"

    def __init__(self, closed_at: datetime | None = None, *, not_yet_open: bool = False):
        if not_yet_open:
            message = _("This round is not open yet. Nothing was saved.")
        elif closed_at is not None:
            message = _("This round closed for your organisation (%(when)s). Nothing was saved.") % {
                "when": date_format(timezone.localtime(closed_at), "DATETIME_FORMAT")
            }
        else:
            message = _("This round is closed. Nothing was saved.")
        super().__init__(message)
        self.closed_at = closed_at


class StaleWriteError(DomainError):
    """The object changed since the writer last read it (412)."""

    status = 412
    default_code = "stale"
    problem_type = "stale"

    def __init__(self, message: str | None = None):
        super().__init__(
            message or _("Someone changed this comment since you opened it. Reload it and make your change again.")
        )


class RateLimitedError(DomainError):
    """Too many writes in a short time (429 with Retry-After)."""

    status = 429
    default_code = "rate_limited"
    problem_type = "rate-limited"

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(
            message
            or _("You have written many comments in the last minute. Please wait %(seconds)s seconds.")
            % {"seconds": retry_after}
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after))}


@dataclass(frozen=True)
class Refusal:
    """What a page or the API answers for a refused action."""

    status: int
    message: str
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    # The RFC 9457 problem type slug the API answers with ("" for the status's usual type).
    problem_type: str = ""
    # The refused exception, for a page that puts a ValidationError's field errors on its form;
    # None when a form did not validate (its errors are on the form already).
    error: Exception | None = field(default=None, compare=False, repr=False)


def refusal(exc: Exception) -> Refusal:
    """The status, message, code and headers of a refused action, for pages and the API alike."""
    if isinstance(exc, DomainError):
        return Refusal(
            exc.status,
            " ".join(exc.messages),
            getattr(exc, "code", None) or exc.default_code,
            exc.headers,
            problem_type=exc.problem_type,
            error=exc,
        )
    if isinstance(exc, ValidationError):
        code = getattr(exc, "code", None) or "invalid"
        return Refusal(400, " ".join(exc.messages), code, error=exc)
    if isinstance(exc, PermissionDenied):
        return Refusal(403, str(exc) or _("You may not do this."), "permission_denied", error=exc)
    if isinstance(exc, Http404):
        return Refusal(404, _("Not found."), "not_found", error=exc)
    raise TypeError(f"not a refusal: {exc!r}")  # anything else is a server error, not a refusal


REFUSALS: tuple[type[Exception], ...] = (ValidationError, PermissionDenied)
