"""Errors under /api/ that DRF's exception handler never sees still leave as problem documents.

The URL resolver's 404 for an unknown path, a body over DATA_UPLOAD_MAX_MEMORY_SIZE read
outside a DRF view, a server error (Django's handler500) and any other HTML error page
would otherwise answer an API client with HTML. Here they become application/problem+json
in the shape the OpenAPI schema documents (api.exceptions.problem_body). Pages outside
/api/ keep their HTML error pages.
"""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse

from api.exceptions import PROBLEM_CONTENT_TYPE, PayloadTooLarge, problem_body

API_PREFIX = "/api/"
# Responses already meant for a program: left as they are.
MACHINE_TYPES = (PROBLEM_CONTENT_TYPE, "application/json")


def problem_http_response(request, status_code: int, detail: str = "") -> HttpResponse:
    body = problem_body(status_code, detail, instance=request.get_full_path())
    return HttpResponse(json.dumps(body), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith(MACHINE_TYPES)
        ):
            # Django's own error pages say nothing an API client can use; keep only the status.
            reshaped = problem_http_response(request, response.status_code)
            for header in ("Allow", "Retry-After", "Vary"):
                if header in response:
                    reshaped[header] = response[header]
            return reshaped
        return response

    def process_exception(self, request, exception):
        # Django turns RequestDataTooBig into a bare 400; to the API it is a 413.
        if request.path.startswith(API_PREFIX) and isinstance(exception, RequestDataTooBig):
            return problem_http_response(request, 413, str(PayloadTooLarge.default_detail))
        return None
