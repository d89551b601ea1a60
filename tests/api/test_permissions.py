"""The permission matrix: every endpoint x every persona x own/other object, every cell asserted.

Read a row as: this request, on this object, answers each persona with this status. The
round is open, with secretariat_only visibility (see tests/api/conftest.py for the world).
Objects: vn_sub / vn_draft are Viet Nam's ("own" for vn and vnfp), th_sub is Thailand's.
To add an endpoint, add a REQUESTS entry and a row.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import etag

PERSONAS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider", "admin"]

# name: (method, url(world, obj), body(world, obj) or None, sends If-Match)
REQUESTS = {
    "consultations": ("get", lambda w, o: "/api/v1/consultations/", None, False),
    "consultation": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/", None, False),
    "phases": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/phases/", None, False),
    "rounds": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/rounds/", None, False),
    "round": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/", None, False),
    "versions": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/", None, False),
    "version": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/{o.number}/", None, False),
    "sections": (
        "get",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/0.1/sections/",
        None,
        False,
    ),
    "section": (
        "get",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/0.1/sections/infra-5g/",
        None,
        False,
    ),
    "comments": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/comments/", None, False),
    "comment": ("get", lambda w, o: f"/api/v1/comments/{o.pk}/", None, False),
    "replies": ("get", lambda w, o: f"/api/v1/comments/{o.pk}/replies/", None, False),
    "annotations": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/annotations/", None, False),
    "position": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/national-position/", None, False),
    "schedule round": (
        "post",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/rounds/",
        lambda w, o: {
            "version": "0.3",
            "title": "Third engagement",
            "opens_at": (timezone.now() + timedelta(days=30)).isoformat(),
            "closes_at": (timezone.now() + timedelta(days=40)).isoformat(),
            "commenting_roles": ["member_state"],
            "visibility": "live",
        },
        False,
    ),
    "reschedule": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/reschedule/",
        lambda w, o: {
            "opens_at": w.open_round.opens_at.isoformat(),
            "closes_at": (w.open_round.closes_at + timedelta(days=1)).isoformat(),
        },
        False,
    ),
    "open now": ("post", lambda w, o: f"/api/v1/rounds/{w.scheduled_round.pk}/open-now/", None, False),
    "close now": ("post", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/close-now/", None, False),
    "extend": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/extend/",
        lambda w, o: {
            "organisation": w.orgs["th"].pk,
            "closes_at": (w.open_round.closes_at + timedelta(days=3)).isoformat(),
            "reason": "Holiday",
        },
        False,
    ),
    "create comment": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/comments/",
        lambda w, o: {"section": "infra-5g", "type": "ge", "body": "Please add a baseline."},
        False,
    ),
    "edit": ("patch", lambda w, o: f"/api/v1/comments/{o.pk}/", lambda w, o: {"body": "Edited."}, True),
    "submit": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/submit/", None, True),
    "withdraw": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/withdraw/", None, True),
    "endorse": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/endorsement/", None, True),
    "unendorse": ("delete", lambda w, o: f"/api/v1/comments/{o.pk}/endorsement/", None, True),
    "hide": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/hide/", lambda w, o: {"reason": "Off topic."}, False),
    "unhide": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/unhide/", None, False),
    "flag": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/flags/", lambda w, o: {"reason": "Rude."}, False),
    "reply": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/replies/", lambda w, o: {"body": "Noted."}, False),
    "submit position": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/national-position/",
        lambda w, o: {"note": "Our position."},
        False,
    ),
}

# request          object          secretariat consultant vn  vnfp  th  partner outsider admin
MATRIX = """
consultations      -               200  200  200  200  200  200  200  200
consultation       -               200  200  200  200  200  200  404  200
phases             -               200  200  200  200  200  200  404  200
rounds             -               200  200  200  200  200  200  404  200
round              -               200  200  200  200  200  200  404  200
versions           -               200  200  200  200  200  200  404  200
version            published       200  200  200  200  200  200  404  200
version            draft_version   200  200  404  404  404  404  404  200
sections           -               200  200  200  200  200  200  404  200
section            -               200  200  200  200  200  200  404  200
comments           -               200  200  200  200  200  200  404  200
annotations        -               200  200  200  200  200  200  404  200
comment            vn_sub          200  200  200  200  404  404  404  200
comment            vn_draft        404  404  200  200  404  404  404  404
comment            th_sub          200  200  404  404  200  404  404  200
replies            vn_sub          200  200  200  200  404  404  404  200
replies            th_sub          200  200  404  404  200  404  404  200
position           -               403  403  403  200  403  403  404  403
schedule round     -               201  403  403  403  403  403  404  201
reschedule         -               200  403  403  403  403  403  404  200
open now           -               200  403  403  403  403  403  404  200
close now          -               200  403  403  403  403  403  404  200
extend             -               200  403  403  403  403  403  404  200
create comment     -               403  403  201  201  201  201  404  403
edit               vn_sub          403  403  200  403  404  404  404  403
edit               vn_draft        404  404  200  403  404  404  404  404
edit               th_sub          403  403  404  404  200  404  404  403
submit             vn_draft        404  404  200  403  404  404  404  404
withdraw           vn_sub          403  403  200  403  404  404  404  403
withdraw           th_sub          403  403  404  404  200  404  404  403
endorse            vn_sub          403  403  403  200  404  404  404  403
endorse            th_sub          403  403  404  404  403  404  404  403
unendorse          vn_sub          403  403  403  200  404  404  404  403
hide               vn_sub          200  403  403  403  404  404  404  200
hide               th_sub          200  403  404  404  403  404  404  200
unhide             vn_sub          200  403  403  403  404  404  404  200
flag               vn_sub          201  201  201  201  404  404  404  403
flag               th_sub          201  201  404  404  201  404  404  403
reply              vn_sub          201  201  201  201  404  404  404  403
reply              th_sub          201  201  404  404  201  404  404  403
submit position    -               403  403  403  200  403  403  404  403
"""


def _cells():
    for line in MATRIX.strip().splitlines():
        words = line.split()
        statuses = [int(s) for s in words[-len(PERSONAS) :]]
        obj = words[-len(PERSONAS) - 1]
        name = " ".join(words[: -len(PERSONAS) - 1])
        assert name in REQUESTS, f"unknown request {name!r} in the matrix"
        for persona, expected in zip(PERSONAS, statuses, strict=True):
            yield pytest.param(name, obj, persona, expected, id=f"{name}-{obj}-{persona}".replace(" ", "_"))


def _object(world, obj: str):
    if obj == "-":
        return None
    if obj == "published":
        return world.version
    return getattr(world, obj)


@pytest.mark.parametrize(("name", "obj", "persona", "expected"), list(_cells()))
def test_permission_matrix(world, client_for, name, obj, persona, expected):
    method, url, body, if_match = REQUESTS[name]
    target = _object(world, obj)
    client = client_for(world.personas[persona])
    headers = {"HTTP_IF_MATCH": etag(target)} if if_match else {}
    payload = body(world, target) if body else None
    response = getattr(client, method)(url(world, target), payload, format="json", **headers)
    assert response.status_code == expected, response.content[:500]
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"


def test_matrix_covers_every_request():
    """A request added to REQUESTS without a row in the matrix is a gap in the table."""
    named = {" ".join(line.split()[: -len(PERSONAS) - 1]) for line in MATRIX.strip().splitlines()}
    assert named == set(REQUESTS)


@pytest.mark.parametrize("url", ["/api/v1/consultations/", "/api/v1/comments/1/"])
def test_anonymous_caller_gets_401_with_a_challenge(db, client_for, url):
    response = client_for(None).get(url)
    assert response.status_code == 401
    assert "X-Session-Token" in response["WWW-Authenticate"]
    assert response["Content-Type"] == "application/problem+json"
