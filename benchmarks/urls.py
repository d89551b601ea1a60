"""The product's URLs plus the reference view of line 8 (bench-only, never in config.urls)."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> JsonResponse:
    """The reference of line 8: loads the session and the user, returns a little JSON."""
    request.session.get("bench")
    return JsonResponse({"user": request.user.pk if request.user.is_authenticated else None})


urlpatterns = [path("bench/trivial/", trivial), path("", include("config.urls"))]
