"""API clients and the problem-details shape."""

from rest_framework.test import APIClient

from tests.factories import PASSWORD

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def etag(comment) -> str:
    return f'"{comment.pk}-{comment.revision}"'


def token_client(email: str) -> APIClient:
    """An API client with a headless (allauth app) session token, logged in through the API."""
    login = APIClient().post("/_allauth/app/v1/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=login.json()["meta"]["session_token"])
    return client


def assert_problem(response, status: int) -> dict:
    """An RFC 9457 problem document with this status; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status
    assert body["detail"]
    return body
