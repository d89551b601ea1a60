"""Every API error as RFC 9457 problem details (application/problem+json).

Services refuse with config.errors (DomainError and its subclasses carry their status, code and
headers) or Django's ValidationError / PermissionDenied / Http404; the handler reads them all
through config.errors.refusal, as the pages do. DRF raises its own APIException family. All of
them end here and leave as {type, title, status, detail, instance} plus `errors`
{field: [messages]} on every 400 (the schema's ValidationProblem requires it, also for a body
that is not JSON) and `code` for a service's DomainError. A body over
DATA_UPLOAD_MAX_MEMORY_SIZE is a 413. What never reaches DRF (unknown paths, a server error) is
reshaped by api.middleware.ApiProblemMiddleware with `problem_body`.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from config.errors import REFUSALS, DomainError, refusal

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/api/problems/"

# Service-side field names that API clients send under another name.
FIELD_ALIASES = {
    "quote_exact": "target",
    "quote_prefix": "target",
    "quote_suffix": "target",
    "position_start": "target",
    "position_end": "target",
    "__all__": api_settings.NON_FIELD_ERRORS_KEY,
}


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = gettext_lazy("This change needs an If-Match header with the ETag you last read.")
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "Someone changed this comment since you opened it. Reload it and make your change again."
    )
    default_code = "stale"


class MfaSetupRequired(exceptions.PermissionDenied):
    """A secretariat or admin account without TOTP, while REQUIRE_STAFF_MFA is on."""

    default_detail = gettext_lazy(
        "Secretariat and admin accounts must set up two-factor authentication before they can use "
        "the API. Set up an authenticator app (TOTP) on the page /accounts/2fa/totp/activate/, or "
        "through /_allauth/app/v1/account/authenticators/totp, then send this request again."
    )
    default_code = "mfa_setup_required"
    problem_type = "mfa-setup-required"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large. Nothing was saved.")
    default_code = "too_large"


# status -> (problem type slug, title): the type of a problem that names no type of its own
TITLES = {
    400: ("validation", gettext_lazy("Your request contains invalid data.")),
    401: ("not-authenticated", gettext_lazy("Authentication required.")),
    403: ("forbidden", gettext_lazy("You are not allowed to do this.")),
    404: ("not-found", gettext_lazy("Not found.")),
    405: ("method-not-allowed", gettext_lazy("Method not allowed.")),
    406: ("not-acceptable", gettext_lazy("Not acceptable.")),
    409: ("round-closed", gettext_lazy("The round is closed.")),
    412: ("stale", gettext_lazy("The comment has changed.")),
    413: ("too-large", gettext_lazy("Request body too large.")),
    415: ("unsupported-media-type", gettext_lazy("Unsupported media type.")),
    428: ("precondition-required", gettext_lazy("If-Match required.")),
    429: ("rate-limited", gettext_lazy("Too many requests.")),
    500: ("server-error", gettext_lazy("Server error.")),
}
# Titles of the problem types a DomainError names (config.errors) beyond the status's usual one.
TYPE_TITLES = {
    "conflict": gettext_lazy("The request conflicts with the current state."),
    "round-closed": gettext_lazy("The round is closed."),
    "stale": gettext_lazy("The comment has changed."),
    "rate-limited": gettext_lazy("Too many requests."),
    "forbidden": gettext_lazy("You are not allowed to do this."),
    "validation": gettext_lazy("Your request contains invalid data."),
}
DEFAULT_DETAILS = {
    404: gettext_lazy("Not found."),
    500: gettext_lazy("Something went wrong on our side. Nothing was saved; try again later."),
}


def _field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            errors.setdefault(FIELD_ALIASES.get(field, field), []).extend(messages)
    else:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = list(exc.messages)
    return errors


def _flatten_drf(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {dotted.field: [messages]}."""
    key = prefix or api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, value in detail.items():
            name = field if not prefix else f"{prefix}.{field}"
            if field == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                name = prefix
            for k, v in _flatten_drf(value, name).items():
                out.setdefault(k, []).extend(v)
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {key: [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            for k, v in _flatten_drf(item, f"{key}.{index}" if prefix else str(index)).items():
                out.setdefault(k, []).extend(v)
        return out
    return {key: [str(detail)]}


def problem_body(
    status_code: int, detail: str, *, instance: str = "", errors: dict | None = None, problem_type: str = ""
) -> dict:
    slug, title = TITLES.get(status_code, ("about:blank", ""))
    if problem_type and problem_type != slug:
        slug, title = problem_type, TYPE_TITLES.get(problem_type, title)
    if status_code == 400 and not errors:
        # Every 400 carries `errors`, even one that is about the request as a whole.
        errors = {api_settings.NON_FIELD_ERRORS_KEY: [detail]}
    body = {
        "type": PROBLEM_BASE + slug if slug != "about:blank" else "about:blank",
        "title": str(title) if title else "",
        "status": status_code,
        "detail": detail or str(DEFAULT_DETAILS.get(status_code, title)),
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    status_code: int,
    detail: str,
    *,
    request=None,
    errors: dict | None = None,
    headers: dict | None = None,
    problem_type: str = "",
) -> Response:
    body = problem_body(
        status_code,
        detail,
        instance=request.get_full_path() if request is not None else "",
        errors=errors,
        problem_type=problem_type,
    )
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _refused(exc: Exception, request) -> Response:
    """A service's or Django's refusal, as config.errors.refusal reads it."""
    answer = refusal(exc)
    set_rollback()
    if answer.status == 400 and isinstance(exc, DjangoValidationError):
        problem = problem_response(
            400, _("Your request contains invalid data."), request=request, errors=_field_errors(exc)
        )
    else:
        problem = problem_response(
            answer.status, answer.message, request=request, headers=answer.headers, problem_type=answer.problem_type
        )
    if isinstance(exc, DomainError):
        # A machine-readable code (an RFC 9457 extension member), as for mfa_setup_required.
        problem.data["code"] = answer.code
    return problem


def problem_exception_handler(exc: Exception, context: dict):
    request = context.get("request")
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(_("The request has too many fields."))
    elif isinstance(exc, REFUSALS + (Http404,)):
        return _refused(exc, request)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_drf(exc.detail)
        return problem_response(
            400,
            _("Your request contains invalid data."),
            request=request,
            errors=errors,
            headers=dict(response.items()),
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
    if isinstance(exc, exceptions.Throttled) and "Retry-After" not in response:
        wait = exc.wait  # type: ignore[attr-defined]  # set by Throttled.__init__, missing from the DRF stubs
        if wait is not None:
            response["Retry-After"] = str(int(wait))
    if isinstance(detail, list | dict):
        detail = " ".join(str(v) for v in (detail.values() if isinstance(detail, dict) else detail))
    headers = {k: v for k, v in response.items() if k.lower() != "content-type"}
    problem = problem_response(response.status_code, str(detail), request=request, headers=headers)
    if isinstance(exc, MfaSetupRequired):
        # Its own problem type and a machine-readable code (an RFC 9457 extension member), so
        # that a client can send the person to the TOTP set-up rather than show "forbidden".
        problem.data["type"] = PROBLEM_BASE + exc.problem_type
        problem.data["code"] = exc.default_code
    return problem
