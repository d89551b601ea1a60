"""allauth's headless API routes /account/phone although the platform keeps no phone numbers.

Found by tests/test_url_walk.py: a signed-in GET there answered 500 (the adapter had no
get_phone), and a POST would have tried to send an SMS.
"""

import pytest
from django.test import Client


@pytest.mark.parametrize("client_kind", ["browser", "app"])
def test_phone_endpoints_answer_without_a_server_error(vn_delegate, client_kind):
    client = Client(raise_request_exception=False)
    client.force_login(vn_delegate)
    url = f"/_allauth/{client_kind}/v1/account/phone"
    assert client.get(url).status_code < 500
    response = client.post(url, {"phone": "+84912345678"}, content_type="application/json")
    assert response.status_code < 500


def test_a_phone_number_is_refused_with_a_message(vn_delegate):
    client = Client(raise_request_exception=False)
    client.force_login(vn_delegate)
    assert client.get("/_allauth/browser/v1/account/phone").json()["data"] == []
    response = client.post(
        "/_allauth/browser/v1/account/phone", {"phone": "+84912345678"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["param"] == "phone"
