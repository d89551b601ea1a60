"""Django admin checks shared by the apps' admin tests: a changelist's queries, a refused write."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def changelist(client, model, query: str = ""):
    """GET a model's changelist; returns (response, number of queries it took)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + query
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response, len(captured)


def admin_url(obj, action: str) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{action}", args=[obj.pk])
