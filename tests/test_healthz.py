"""GET /healthz: what an operator's monitor sees when the components are up or down."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a broker outage


def test_healthz_is_ok_with_eager_tasks_and_a_working_database(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["mode"] == "eager"
    assert body["checks"]["workers"]["mode"] == "eager"


def test_healthz_is_not_cached(client):
    response = client.get(reverse("healthz"))

    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_reports_an_unreachable_broker_with_503(client, settings):
    settings.CELERY_BROKER_URL = CLOSED_PORT_BROKER

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "fail"
    assert "broker" in body["failing"]
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    # Without a broker no worker can be asked, and the page says so instead of hanging.
    assert body["checks"]["workers"] == {"ok": False, "error": "broker unreachable"}


def test_healthz_only_answers_get(client):
    response = client.post(reverse("healthz"))

    assert response.status_code == 405
