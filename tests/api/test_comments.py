"""The API journey, lost-update protection and the problem-details shape of errors."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from comments.models import Comment
from consultations.models import EngagementRound
from tests.helpers.api import assert_problem, etag, token_client


def test_delegate_journey_through_the_headless_api(world):
    vn = token_client("vn.delegate@example.org")
    url = f"/api/v1/rounds/{world.open_round.pk}/comments/"
    created = vn.post(
        url,
        {
            "section": "infra-5g",
            "type": "te",
            "body": "Say which year.",
            "target": {
                "source": "infra-5g",
                "selector": [
                    {"type": "TextQuoteSelector", "exact": "urban areas", "prefix": "", "suffix": ""},
                    {"type": "TextPositionSelector", "start": 45, "end": 56},
                ],
            },
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    comment = created.json()
    assert comment["status"] == "draft"
    assert comment["target"]["selector"][0]["exact"] == "urban areas"
    assert created["ETag"] == f'"{comment["id"]}-1"'
    detail = f"/api/v1/comments/{comment['id']}/"

    submitted = vn.post(detail + "submit/", HTTP_IF_MATCH=created["ETag"])
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    assert submitted["ETag"] == f'"{comment["id"]}-2"'

    stale = vn.patch(detail, {"body": "Overwritten."}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert_problem(stale, 412)
    stored = Comment.objects.get(pk=comment["id"])
    assert (stored.body, stored.revision) == ("Say which year.", 2)

    # secretariat_only: Thailand's delegate may not see it, the secretariat may.
    assert token_client("th.delegate@example.org").get(detail).status_code == 404
    seen = token_client("secretariat@example.org").get(detail)
    assert seen.status_code == 200
    assert seen.json()["body"] == "Say which year."


def test_unknown_session_token_is_401(world):
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN="not-a-token")
    assert_problem(client.get("/api/v1/consultations/"), 401)


def test_browser_session_needs_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.personas["vn_delegate"])
    response = client.post(
        f"/api/v1/rounds/{world.open_round.pk}/comments/",
        {"section": "infra-5g", "type": "ge", "body": "x"},
        format="json",
    )
    assert_problem(response, 403)
    assert "CSRF" in response.json()["detail"]
    assert not Comment.objects.filter(body="x").exists()


def test_edit_needs_if_match(world, client_for):
    response = client_for(world.personas["vn_delegate"]).patch(
        f"/api/v1/comments/{world.vn_draft.pk}/", {"body": "New."}, format="json"
    )
    assert_problem(response, 428)
    assert Comment.objects.get(pk=world.vn_draft.pk).body == "Typo."


def test_edit_with_current_etag_keeps_anchor_and_bumps_etag(world, client_for):
    client = client_for(world.personas["vn_delegate"])
    response = client.patch(
        f"/api/v1/comments/{world.vn_sub.pk}/", {"body": "Rural too."}, format="json", HTTP_IF_MATCH=etag(world.vn_sub)
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == f'"{world.vn_sub.pk}-{world.vn_sub.revision + 1}"'
    assert response.json()["target"]["selector"][0]["exact"] == "5G coverage"


def test_weak_etag_never_matches(world, client_for):
    response = client_for(world.personas["vn_delegate"]).post(
        f"/api/v1/comments/{world.vn_draft.pk}/submit/", HTTP_IF_MATCH="W/" + etag(world.vn_draft)
    )
    assert_problem(response, 412)
    assert Comment.objects.get(pk=world.vn_draft.pk).status == Comment.Status.DRAFT


def test_stale_endorsement_is_412_and_changes_nothing(world, client_for):
    response = client_for(world.personas["vn_focal_point"]).delete(
        f"/api/v1/comments/{world.vn_sub.pk}/endorsement/", HTTP_IF_MATCH=f'"{world.vn_sub.pk}-1"'
    )
    assert_problem(response, 412)
    assert Comment.objects.get(pk=world.vn_sub.pk).is_endorsed


def test_validation_problem_lists_field_errors(world, client_for):
    response = client_for(world.personas["vn_delegate"]).post(
        f"/api/v1/rounds/{world.open_round.pk}/comments/",
        {"section": "infra-5g", "type": "zz", "body": ""},
        format="json",
    )
    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"type", "body"}


def test_anchor_not_in_the_text_is_a_400_on_target(world, client_for):
    response = client_for(world.personas["vn_delegate"]).post(
        f"/api/v1/rounds/{world.open_round.pk}/comments/",
        {
            "section": "infra-5g",
            "type": "ge",
            "body": "Hm.",
            "target": {"selector": [{"type": "TextQuoteSelector", "exact": "not in the clause"}]},
        },
        format="json",
    )
    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["target"]
    assert Comment.objects.count() == 3


def test_invisible_comment_is_404_problem(world, client_for):
    body = assert_problem(client_for(world.personas["th_delegate"]).get(f"/api/v1/comments/{world.vn_sub.pk}/"), 404)
    assert body["instance"] == f"/api/v1/comments/{world.vn_sub.pk}/"


def test_write_to_closed_round_is_409_and_changes_nothing(world, client_for):
    EngagementRound.objects.filter(pk=world.open_round.pk).update(state=EngagementRound.State.CLOSED)
    client = client_for(world.personas["vn_delegate"])
    response = client.patch(
        f"/api/v1/comments/{world.vn_draft.pk}/", {"body": "Late."}, format="json", HTTP_IF_MATCH=etag(world.vn_draft)
    )
    problem = assert_problem(response, 409)
    assert (problem["type"], problem["code"]) == ("/api/problems/round-closed", "round_closed")
    assert Comment.objects.get(pk=world.vn_draft.pk).body == "Typo."


@override_settings(COMMENT_RATE_PER_MINUTE=1)
def test_comment_rate_limit_is_429_with_retry_after(world, client_for):
    client = client_for(world.personas["vn_delegate"])
    url = f"/api/v1/rounds/{world.open_round.pk}/comments/"
    assert client.post(url, {"section": "infra-5g", "type": "ge", "body": "One."}, format="json").status_code == 201
    response = client.post(url, {"section": "infra-5g", "type": "ge", "body": "Two."}, format="json")
    problem = assert_problem(response, 429)
    assert (problem["type"], problem["code"]) == ("/api/problems/rate-limited", "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 60
    assert not Comment.objects.filter(body="Two.").exists()


def test_user_throttle_is_429_with_retry_after(world, client_for):
    with override_settings(API_THROTTLE_RATES={"user": "2/min", "anon": "2/min"}):
        client = client_for(world.personas["vn_delegate"])
        assert client.get("/api/v1/consultations/").status_code == 200
        assert client.get("/api/v1/consultations/").status_code == 200
        response = client.get("/api/v1/consultations/")
    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


@pytest.mark.redis
def test_throttle_counts_in_redis(world, client_for, settings):
    settings.CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": settings.TEST_REDIS_URL}}
    settings.API_THROTTLE_RATES = {"user": "2/min", "anon": "2/min"}
    cache.clear()
    try:
        client = client_for(world.personas["th_delegate"])
        statuses = [client.get("/api/v1/consultations/").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert any(key.startswith(b":1:throttle_user_") for key in cache._cache.get_client().keys("*"))
        response = client.get("/api/v1/consultations/")
        assert_problem(response, 429)
        assert int(response["Retry-After"]) > 0
    finally:
        cache.clear()


def test_comment_list_filters(world, client_for):
    client = client_for(world.personas["secretariat"])
    url = f"/api/v1/rounds/{world.open_round.pk}/comments/"
    ids = lambda **q: [c["id"] for c in client.get(url, q).json()["results"]]  # noqa: E731
    assert ids() == [world.vn_sub.pk, world.th_sub.pk]
    assert ids(organisation=world.orgs["th"].pk) == [world.th_sub.pk]
    assert ids(type="te") == [world.vn_sub.pk]
    assert ids(endorsed="true") == [world.vn_sub.pk]
    assert ids(section="infra-dc") == []
    assert ids(ordering="-id") == [world.th_sub.pk, world.vn_sub.pk]


def test_delegate_lists_own_delegation_drafts(world, client_for):
    results = client_for(world.personas["vn_focal_point"]).get(
        f"/api/v1/rounds/{world.open_round.pk}/comments/", {"status": "draft"}
    )
    assert [c["id"] for c in results.json()["results"]] == [world.vn_draft.pk]


def test_sections_are_a_flat_list_with_parent_keys(world, client_for):
    response = client_for(world.personas["partner"]).get("/api/v1/consultations/adm-2030/versions/0.1/sections/")
    rows = [(s["key"], s["parent"], s["depth"]) for s in response.json()["results"]]
    assert rows == [("outcomes", None, 0), ("infra", "outcomes", 1), ("infra-5g", "infra", 2), ("infra-dc", "infra", 2)]


def test_cursor_pagination_walks_every_page(world, client_for):
    client = client_for(world.personas["secretariat"])
    page = client.get("/api/v1/consultations/adm-2030/versions/0.1/sections/", {"page_size": 3}).json()
    keys = [s["key"] for s in page["results"]]
    page = client.get(page["next"]).json()
    keys += [s["key"] for s in page["results"]]
    assert keys == ["outcomes", "infra", "infra-5g", "infra-dc"]
    assert page["next"] is None


def test_national_position_submit(world, client_for):
    client = client_for(world.personas["vn_focal_point"])
    url = f"/api/v1/rounds/{world.open_round.pk}/national-position/"
    assert client.get(url).json()["submitted"] is False
    response = client.post(url, {"note": "Viet Nam's position."}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["submitted"] is True
    assert response.json()["submitted_endorsed_count"] == 1
