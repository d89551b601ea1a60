"""Top-level URLs."""

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from consultations.views.health import healthz


class FaviconView(RedirectView):
    """Browsers and feed readers ask for /favicon.ico whatever the page says: the one icon.

    Resolved per request, not at import: with hashed static names the manifest exists only
    after collectstatic."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="consultations:list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    # Browsers and feed readers ask for /favicon.ico whatever the page says: the one icon.
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("me/invitations/", include("consultations.urls_invitations")),
    path("me/notifications/", include("notifications.urls")),
    path("me/", include("accounts.urls")),
    path("consultations/", include("consultations.urls")),
    path("consultations/", include("comments.urls")),
    path("consultations/", include("consolidation.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static as serve_files

    urlpatterns += serve_files(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
