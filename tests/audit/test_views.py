"""The secretariat reads and exports its consultation's audit log: page, API and CSV.

Everyone else gets a 404. Page and endpoint issue the same number of queries at two sizes.
"""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from audit.services import audit_log

PERSONAS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider", "admin"]
ALLOWED = {"secretariat", "admin"}


def grow(consultation, actor, n: int, action: str = "comment.submitted") -> None:
    for i in range(n):
        audit_log(actor=actor, action=action, target=consultation, consultation=consultation, data={"n": i})


@pytest.fixture
def logged(consultation, personas):
    grow(consultation, personas["secretariat"], 3, "round.opened")
    grow(consultation, personas["vn_delegate"], 2, "comment.submitted")
    audit_log(
        actor=personas["vn_delegate"],
        action="comment.edited",
        target=consultation,
        consultation=consultation,
        data={"body": '=HYPERLINK("http://evil.example","click")'},
    )
    return consultation


def page_url(consultation, **query):
    url = reverse("consultations:audit", args=[consultation.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- who may read it ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ["consultations:audit", "consultations:audit_csv"])
def test_only_the_secretariat_and_site_admins_see_the_log(client, logged, personas, persona, name):
    client.force_login(personas[persona])
    response = client.get(reverse(name, args=[logged.slug]))
    assert response.status_code == (200 if persona in ALLOWED else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_the_secretariat_and_site_admins_get_the_api(logged, personas, persona):
    api = APIClient()
    api.force_authenticate(personas[persona])
    response = api.get(f"/api/v1/consultations/{logged.slug}/audit/")
    assert response.status_code == (200 if persona in ALLOWED else 404)
    if response.status_code == 404:
        assert "comment.submitted" not in response.content.decode()


def test_the_secretariat_of_another_consultation_gets_a_404(client, logged, other_consultation, orgs):
    from tests import factories

    other_secretariat = factories.UserFactory(email="other.sec@example.org", organisation=orgs["asec"])
    factories.ParticipationFactory(
        consultation=other_consultation, user=other_secretariat, organisation=orgs["asec"], role="secretariat"
    )
    client.force_login(other_secretariat)
    assert client.get(page_url(logged)).status_code == 404
    assert client.get(reverse("consultations:audit_csv", args=[logged.slug])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, logged):
    response = client.get(page_url(logged))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_manage_page_links_to_the_log_for_the_secretariat_only(client, logged, personas):
    client.force_login(personas["secretariat"])
    assert page_url(logged) in client.get(reverse("consultations:manage", args=[logged.slug])).content.decode()
    client.force_login(personas["consultant"])
    assert page_url(logged) not in client.get(reverse("consultations:manage", args=[logged.slug])).content.decode()


# --- what it shows ---------------------------------------------------------------------------


def test_page_shows_entries_newest_first_with_filters(client, logged, personas):
    client.force_login(personas["secretariat"])
    text = client.get(page_url(logged)).content.decode()
    assert text.index('id="entry-6"') < text.index('id="entry-1"')
    assert "vn.delegate@example.org" in text

    text = client.get(page_url(logged, action="round.opened")).content.decode()
    assert 'id="entry-1"' in text and 'id="entry-4"' not in text

    text = client.get(page_url(logged, actor="VN.Delegate@example.org")).content.decode()
    assert 'id="entry-4"' in text and 'id="entry-1"' not in text


def test_page_windows_go_back_and_forth(client, consultation, personas, settings):
    grow(consultation, personas["secretariat"], 120)
    client.force_login(personas["secretariat"])
    first = client.get(page_url(consultation))
    assert 'id="entry-120"' in first.content.decode() and 'id="entry-70"' not in first.content.decode()
    assert first.context["page"].older_than == 71
    older = client.get(page_url(consultation, before=71)).content.decode()
    assert 'id="entry-70"' in older and 'id="entry-21"' in older and 'id="entry-71"' not in older
    newer = client.get(page_url(consultation, after=70)).content.decode()
    assert 'id="entry-71"' in newer and 'id="entry-120"' in newer and 'id="entry-70"' not in newer


def test_api_pages_through_the_chain_with_a_cursor(consultation, personas, settings):
    settings.API_PAGE_SIZE = 4
    grow(consultation, personas["secretariat"], 10)
    api = APIClient()
    api.force_authenticate(personas["secretariat"])
    url, seqs = f"/api/v1/consultations/{consultation.slug}/audit/", []
    while url:
        body = api.get(url).json()
        seqs += [row["seq"] for row in body["results"]]
        url = body["next"]
    assert seqs == list(range(1, 11))
    first = api.get(f"/api/v1/consultations/{consultation.slug}/audit/").json()["results"][0]
    assert first["actor_label"] == "secretariat@example.org"
    assert first["prev_hash"] == "0" * 64 and len(first["hash"]) == 64
    newest = api.get(f"/api/v1/consultations/{consultation.slug}/audit/?ordering=-seq").json()["results"]
    assert newest[0]["seq"] == 10


def test_api_filters_by_action_and_actor(logged, personas):
    api = APIClient()
    api.force_authenticate(personas["admin"])
    base = f"/api/v1/consultations/{logged.slug}/audit/"
    assert {row["action"] for row in api.get(base + "?action=round.opened").json()["results"]} == {"round.opened"}
    rows = api.get(base + "?actor=vn.delegate@example.org").json()["results"]
    assert {row["actor_label"] for row in rows} == {"vn.delegate@example.org"} and len(rows) == 3


# --- the CSV ------------------------------------------------------------------------------


def test_csv_download_streams_every_entry_formula_safe_and_is_itself_recorded(client, logged, personas):
    client.force_login(personas["secretariat"])
    response = client.get(reverse("consultations:audit_csv", args=[logged.slug]))
    assert response.streaming
    assert 'filename="audit-adm-2030.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["seq", "at_utc", "actor", "action"]
    assert [row[3] for row in rows[1:]][:6] == ["round.opened"] * 3 + ["comment.submitted"] * 2 + ["comment.edited"]
    # The comment-edited data cell starts with "{", but no cell may start with "=" in any case.
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # The download is on the record, with who took it, and in the file itself.
    exported = AuditEntry.objects.filter(consultation=logged, action="audit.exported").get()
    assert exported.actor_label == "secretariat@example.org"
    assert rows[-1][3] == "audit.exported"


def test_csv_cells_that_start_like_a_formula_are_quoted():
    from consultations.audit_csv import csv_safe

    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("@SUM(A1)") == "'@SUM(A1)"
    assert csv_safe("round.opened") == "round.opened"


def test_csv_download_keeps_the_filters(client, logged, personas):
    client.force_login(personas["secretariat"])
    response = client.get(reverse("consultations:audit_csv", args=[logged.slug]) + "?action=round.opened")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {row[3] for row in rows[1:]} == {"round.opened"}
    assert AuditEntry.objects.get(action="audit.exported").data == {"filters": {"action": "round.opened"}}


# --- a fixed number of queries ------------------------------------------------------------


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fn()
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_page_query_count_does_not_grow(client, consultation, personas, django_assert_num_queries):
    client.force_login(personas["secretariat"])
    grow(consultation, personas["secretariat"], 5)
    small = _count(lambda: client.get(page_url(consultation)))
    grow(consultation, personas["vn_delegate"], 150, "comment.edited")
    with django_assert_num_queries(small):
        response = client.get(page_url(consultation, before=100))
    assert response.context["page"].older_than is not None
    assert small <= 10


def test_api_query_count_does_not_grow(consultation, personas, django_assert_num_queries):
    api = APIClient()
    url = f"/api/v1/consultations/{consultation.slug}/audit/"
    # A fresh user object per request, as in production (rules cache participations on it).
    fresh = lambda: api.force_authenticate(type(personas["secretariat"]).objects.get(pk=personas["secretariat"].pk))  # noqa: E731
    grow(consultation, personas["secretariat"], 5)
    fresh()
    small = _count(lambda: api.get(url))
    grow(consultation, personas["vn_delegate"], 150, "comment.edited")
    fresh()
    with django_assert_num_queries(small):
        assert len(api.get(url).json()["results"]) == 50
    assert small <= 8
