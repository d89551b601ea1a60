"""Consolidation pages, mounted under /consultations/<slug>/ (one urlpatterns per views module)."""

from .views import feedback, reports, revision, runs

app_name = "consolidation"

urlpatterns = [*runs.urlpatterns, *feedback.urlpatterns, *revision.urlpatterns, *reports.urlpatterns]
