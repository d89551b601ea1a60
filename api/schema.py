"""OpenAPI: problem-detail responses on every operation, and the X-Session-Token scheme.

Every operation documents the errors it can answer with, as application/problem+json:
401, 403, 404, 406 and 429 everywhere; 400, 409, 413 and 415 on writes; 400 on filtered lists; 412 and 428 where the
view requires If-Match. Views add nothing by hand for these, so none can be forgotten.
"""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

PROBLEM = "application/problem+json"


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="URI reference naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(help_text="The request path.")
    code = serializers.CharField(
        required=False,
        help_text="A machine-readable reason, when the service names one (e.g. round_closed, stale, rate_limited).",
    )


class ValidationProblemSerializer(ProblemSerializer):
    errors = serializers.DictField(  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; non_field_errors for the request as a whole.",
    )


ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `errors` lists the messages per field.",
    "401": "Not authenticated (no session, or an unknown X-Session-Token).",
    "403": (
        "Authenticated, but the caller's role may not do this; or a secretariat or admin account "
        "without TOTP while staff MFA is required (`code`: `mfa_setup_required`)."
    ),
    "404": "Not found, or outside the caller's scope (never a hint that it exists).",
    "406": "The Accept header asks for a format the API does not serve.",
    "409": "The round is closed (or not open yet) for the caller's organisation.",
    "412": "If-Match names a revision that is no longer current: nothing changed.",
    "413": "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
    "415": "The request body is not in a media type this operation accepts.",
    "428": "If-Match is required for this change.",
    "429": "Too many requests; see Retry-After.",
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ApiAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "404", "406", "429"]
        if self.method in WRITE_METHODS:
            codes += ["400", "409", "413", "415"]
        elif getattr(self.view, "filterset_class", None) or getattr(self.view, "filterset_fields", None):
            codes += ["400"]  # a filter value that is not one of its choices (?state=AAA)
        if_match_methods = getattr(self.view, "if_match_methods", None)
        if getattr(self.view, "action", None) in getattr(self.view, "if_match_actions", ()):
            codes += ["412", "428"]
        elif if_match_methods and self.method in if_match_methods:
            codes += ["412", "428"]
        return sorted(set(codes))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            serializer = ValidationProblemSerializer if code == "400" else ProblemSerializer
            responses[code] = self._get_response_for_code(
                OpenApiResponse(serializer, description=ERROR_DESCRIPTIONS[code]), code, media_types=[PROBLEM]
            )
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code == "429":
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        return headers


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "Session token from POST /_allauth/app/v1/auth/login (meta.session_token).",
        }


class SessionCookieScheme(SessionScheme):
    """api.authentication.SessionAuthentication (DRF's, plus the staff MFA rule): cookieAuth."""

    target_class = "api.authentication.SessionAuthentication"
