"""The site's own icon: named in every page's head, and /favicon.ico leads to it."""

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_every_page_names_the_icon(client):
    page = client.get("/accounts/login/").content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in page


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
