"""Inputs found by fuzzing the API (issue 8, item 9): each answered 500 or broke the schema.

Every error under /api/ is an RFC 9457 problem document (application/problem+json) that
conforms to the OpenAPI schema: {type, title, status, detail, instance}, plus `errors` on
every 400 -- whether DRF, a service, Django's request parsing or the URL resolver raised it.
"""

import json

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from comments.models import Comment, CommentFlag

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json", response.content[:500]
    body = response.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert all(isinstance(body[key], str) for key in PROBLEM_KEYS - {"status"}), body
    if status == 400:
        # The schema's ValidationProblem requires `errors`: {field: [message, ...]}.
        assert isinstance(body.get("errors"), dict) and body["errors"], body
        assert all(isinstance(m, str) for messages in body["errors"].values() for m in messages), body
    return body


@pytest.mark.parametrize("bad_type", [{}, [], 7, None, ["TextQuoteSelector"], {"a": 1}])
def test_selector_type_that_is_not_a_string_is_a_400_on_target(world, client_for, bad_type):
    vn = client_for(world.personas["vn_delegate"])
    before = Comment.objects.count()
    response = vn.post(
        f"/api/v1/rounds/{world.open_round.pk}/comments/",
        {
            "section": "infra-5g",
            "type": "te",
            "body": "Say which year.",
            "target": {"selector": [{"type": bad_type, "exact": "urban areas"}]},
        },
        format="json",
    )
    body = _problem(response, 400)
    assert any(key.startswith("target") for key in body["errors"]), body
    assert Comment.objects.count() == before


def test_selector_that_is_not_an_object_is_a_400(world, client_for):
    vn = client_for(world.personas["vn_delegate"])
    response = vn.post(
        f"/api/v1/rounds/{world.open_round.pk}/comments/",
        {"section": "infra-5g", "type": "te", "body": "x", "target": {"selector": ["TextQuoteSelector"]}},
        format="json",
    )
    _problem(response, 400)


def test_national_position_as_staff_who_takes_no_part_is_403_problem(world, client_for):
    admin = world.personas["admin"]
    admin.is_superuser = True  # a superuser passes every has_perm: the view must still not crash
    admin.save()
    for user in (admin,):
        client = client_for(user)
        url = f"/api/v1/rounds/{world.open_round.pk}/national-position/"
        _problem(client.get(url), 403)
        _problem(client.post(url, {"note": ""}, format="json"), 403)


def test_national_position_as_plain_staff_is_403_problem(world, client_for):
    client = client_for(world.personas["admin"])
    _problem(client.get(f"/api/v1/rounds/{world.open_round.pk}/national-position/"), 403)


def test_six_megabyte_json_body_is_413_problem(world, client_for):
    vn = client_for(world.personas["vn_delegate"])
    body = json.dumps({"section": "infra-5g", "type": "te", "body": "x" * (6 * 1024 * 1024)})
    before = Comment.objects.count()
    response = vn.post(f"/api/v1/rounds/{world.open_round.pk}/comments/", body, content_type="application/json")
    _problem(response, 413)
    assert Comment.objects.count() == before


def test_malformed_json_on_flags_is_a_400_with_errors(world, client_for):
    th = client_for(world.personas["th_delegate"])
    response = th.post(f"/api/v1/comments/{world.th_sub.pk}/flags/", "{not json", content_type="application/json")
    _problem(response, 400)
    assert not CommentFlag.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}, {"reason": ["a"]}, [], "x"])
def test_bad_flag_reasons_are_a_400_with_errors(world, client_for, payload):
    th = client_for(world.personas["th_delegate"])
    response = th.post(f"/api/v1/comments/{world.th_sub.pk}/flags/", payload, format="json")
    _problem(response, 400)
    assert not CommentFlag.objects.exists()


def test_second_flag_is_a_400_with_errors(world, client_for):
    th = client_for(world.personas["th_delegate"])
    url = f"/api/v1/comments/{world.th_sub.pk}/flags/"
    assert th.post(url, {"reason": "Off topic."}, format="json").status_code == 201
    _problem(th.post(url, {"reason": "Off topic."}, format="json"), 400)
    assert CommentFlag.objects.count() == 1


@pytest.mark.parametrize(
    "url", ["/api/v1/nothing-here/", "/api/v2/", "/api/v1/comments/abc/", "/api/", "/api/docs/assets/nothing.js"]
)
def test_unknown_api_paths_are_404_problem(db, url):
    body = _problem(Client().get(url), 404)
    assert body["instance"] == url


def test_unknown_api_path_is_404_problem_for_a_signed_in_user(world, client_for):
    _problem(client_for(world.personas["vn_delegate"]).get("/api/v1/rounds/1/nothing/"), 404)


def test_pages_outside_the_api_keep_their_html_404(db):
    response = Client().get("/consultations/no-such/nothing/here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def _boom(request):
    raise RuntimeError("secret internals: do not show me")


urlpatterns = [
    path("api/boom/", _boom),
    path("", include("config.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_under_the_api_is_a_500_problem_without_internals(db):
    response = Client(raise_request_exception=False).get("/api/boom/")
    body = _problem(response, 500)
    assert "secret internals" not in response.content.decode()
    assert body["instance"] == "/api/boom/"


def test_a_filter_value_out_of_its_choices_is_a_documented_400(world, client_for):
    """schemathesis (negative data): ?state=AAA answered a 400 the schema did not document."""
    response = client_for(world.personas["vn_delegate"]).get(
        f"/api/v1/consultations/{world.consultation.slug}/rounds/?state=AAA"
    )
    body = _problem(response, 400)
    assert "state" in body["errors"]
    schema = Client().get("/api/schema/?format=json").json()
    documented = schema["paths"]["/api/v1/consultations/{slug}/rounds/"]["get"]["responses"]
    assert "400" in documented
    assert "application/problem+json" in documented["400"]["content"]
