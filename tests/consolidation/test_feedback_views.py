"""The consolidated feedback page and its disposition endpoints: who, what, filters, heat map, queries."""

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from comments.models import Comment
from config.errors import ConflictError, RateLimitedError, RoundClosedError
from consolidation.heatmap import render_heatmap
from consolidation.models import CommentAssignment, ConsolidationRun, Disposition, DuplicateGroup, JobStatus
from consolidation.selectors_feedback import HeatMap
from consolidation.services import dispositions as disposition_services
from consultations.models import Role, Section
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.rounds import closed_round_on

A, N = Disposition.Decision.ACCEPTED, Disposition.Decision.NOTED
HX = {"HTTP_HX_REQUEST": "true"}


def make_group(engagement_round, section, comments):
    run, _ = ConsolidationRun.objects.get_or_create(
        round=engagement_round, status=JobStatus.DONE, defaults={"progress": 100, "finished_at": timezone.now()}
    )
    group = DuplicateGroup.objects.create(
        run=run, section=section, kind=DuplicateGroup.Kind.NEAR, size=len(comments), similarity=90.0
    )
    group.comments.set(comments)
    return group


def submitted(engagement_round, section, author, **fields):
    return CommentFactory(
        round=engagement_round, section=section, author=author, status=Comment.Status.SUBMITTED, **fields
    )


class Place:
    """A closed round with a VN comment (proposed on) and a two-comment duplicate group."""

    def __init__(self, consultation, engagement_round, comment, group):
        self.consultation, self.round, self.comment, self.group = consultation, engagement_round, comment, group

    def url(self, name, *extra):
        return reverse(f"consolidation:{name}", args=[self.consultation.slug, self.round.pk, *extra])


def _place(consultation, engagement_round, section, author, proposer):
    comment = submitted(engagement_round, section, author, body="The 2028 target should name rural areas too.")
    twin = submitted(engagement_round, section, author, body="Rural areas should be in the 2028 target.")
    Disposition.objects.create(comment=comment, proposed_decision=A, proposed_response="Agreed.", proposed_by=proposer)
    group = make_group(engagement_round, section, [comment, twin])
    return Place(consultation, engagement_round, comment, group)


@pytest.fixture
def own(consultation, closed_round, clause, personas):
    return _place(consultation, closed_round, clause, personas["vn_delegate"], personas["consultant"])


@pytest.fixture
def other(other_consultation, personas):
    """The same in another consultation, where only `outsider` (a Thai delegate) takes part."""
    version = factories.DraftVersionFactory(consultation=other_consultation, number="1.0", major=1, minor=0)
    section = factories.SectionFactory(version=version, key="intro", number="1", heading="Introduction", position=1)
    engagement_round = closed_round_on(version, title="Other round")
    return _place(other_consultation, engagement_round, section, personas["outsider"], None)


# --- the permission table -------------------------------------------------------------------

PERSONAS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider", "admin"]

# Expected status per endpoint and persona, on the persona's own consultation and on another.
# 302: the write was done (plain POST redirects back to the list).
OWN = {
    "feedback": dict(secretariat=200, consultant=200, admin=200, outsider=404),
    "form": dict(secretariat=200, consultant=200, admin=200, outsider=404),
    "selection": dict(secretariat=302, consultant=403, admin=302, outsider=404),
    "propose": dict(secretariat=302, consultant=302, admin=302, outsider=404),
    "record": dict(secretariat=302, consultant=403, admin=302, outsider=404),
    "approve": dict(secretariat=302, consultant=403, admin=302, outsider=404),
    "group": dict(secretariat=302, consultant=403, admin=302, outsider=404),
}
OTHER = {
    "feedback": dict(admin=200, outsider=403),
    "form": dict(admin=200, outsider=403),
    "selection": dict(admin=302, outsider=403),
    "propose": dict(admin=302, outsider=403),
    "record": dict(admin=302, outsider=403),
    "approve": dict(admin=302, outsider=403),
    "group": dict(admin=302, outsider=403),
}


def expected_status(table, endpoint, persona, *, own_consultation: bool) -> int:
    # Participants without the right: 403; people outside the consultation: 404.
    default = 403 if own_consultation else 404
    return table[endpoint].get(persona, default)


def _request(client, place, endpoint):
    if endpoint == "feedback":
        return client.get(place.url("feedback"))
    if endpoint == "form":
        return client.get(place.url("disposition_form", place.comment.pk), **HX)
    if endpoint == "selection":
        return client.post(
            place.url("disposition_bulk_record"), {"selected": [f"{place.comment.pk}:1"], "decision": N, "response": ""}
        )
    if endpoint == "propose":
        return client.post(place.url("disposition_propose", place.comment.pk), {"decision": N, "response": "Noted."})
    if endpoint == "record":
        return client.post(
            place.url("disposition_record", place.comment.pk),
            {"decision": N, "response": "Noted.", "expected_revision": 1},
        )
    if endpoint == "approve":
        return client.post(place.url("disposition_approve", place.comment.pk), {"expected_revision": 1})
    return client.post(place.url("disposition_group_record", place.group.pk), {"decision": N, "response": "All noted."})


def _written(place, endpoint) -> bool:
    d = Disposition.objects.filter(comment=place.comment).first()
    if endpoint == "propose":
        return d.proposed_decision == N
    if endpoint in ("record", "selection"):
        return d.decision == N
    if endpoint == "approve":
        return d.decision == A
    if endpoint == "group":
        return Disposition.objects.filter(comment__in=place.group.comments.all(), decision=N).count() == 2
    return False


@pytest.mark.parametrize("endpoint", list(OWN))
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("where", ["own", "other"])
def test_permission_table(client, personas, own, other, endpoint, persona, where):
    place = own if where == "own" else other
    table = OWN if where == "own" else OTHER
    expected = expected_status(table, endpoint, persona, own_consultation=where == "own")
    client.force_login(personas[persona])

    response = _request(client, place, endpoint)

    assert response.status_code == expected
    if endpoint != "feedback":
        assert _written(place, endpoint) == (expected == 302)
        # The other place is never touched.
        untouched = other if place is own else own
        assert not Disposition.objects.filter(comment__in=untouched.group.comments.all()).exclude(decision="").exists()


def test_anonymous_is_sent_to_log_in(client, own):
    response = client.get(own.url("feedback"))
    assert response.status_code == 302 and "login" in response["Location"]


# --- flows ----------------------------------------------------------------------------------


def test_consultant_proposes_then_secretariat_approves_through_the_page(client, personas, closed_round, clause):
    comment = submitted(closed_round, clause, personas["vn_delegate"])
    place = Place(closed_round.consultation, closed_round, comment, None)

    client.force_login(personas["consultant"])
    page = client.get(place.url("feedback")).content.decode()
    assert "Propose a disposition" in page and "Approve proposal" not in page
    form = client.get(place.url("disposition_form", comment.pk), **HX).content.decode()
    assert ">Propose<" in form and place.url("disposition_propose", comment.pk) in form
    response = client.post(
        place.url("disposition_propose", comment.pk), {"decision": A, "response": "Year added in 0.2."}, **HX
    )
    assert response.status_code == 200
    assert f'id="fb-comment-{comment.pk}"' in response.content.decode()
    assert Disposition.objects.get(comment=comment).decision == ""

    client.force_login(personas["secretariat"])
    page = client.get(place.url("feedback")).content.decode()
    assert "Approve proposal" in page
    form = client.get(place.url("disposition_form", comment.pk), **HX).content.decode()
    assert re.search(r'<option value="accepted" selected>', form), "the proposal is pre-filled"
    response = client.post(place.url("disposition_approve", comment.pk), {"expected_revision": 1}, **HX)
    assert response.status_code == 200
    d = Disposition.objects.get(comment=comment)
    assert (d.decision, d.response) == (d.proposed_decision, d.proposed_response) == (A, "Year added in 0.2.")
    assert "Year added in 0.2." in response.content.decode()


def test_secretariat_records_a_changed_decision_and_returns_to_the_same_page(client, personas, own):
    client.force_login(personas["secretariat"])
    url = own.url("disposition_record", own.comment.pk) + "?type=te&page=1"
    response = client.post(url, {"decision": N, "response": "Noted for 0.3.", "expected_revision": 1})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?type=te&page=1#fb-comment-{own.comment.pk}")
    d = Disposition.objects.get(comment=own.comment)
    assert (d.decision, d.proposed_decision) == (N, A)


def test_group_form_records_the_whole_group(client, personas, own):
    client.force_login(personas["secretariat"])
    page = client.get(own.url("feedback")).content.decode()
    assert "Same disposition for the whole group" in page
    response = client.post(own.url("disposition_group_record", own.group.pk), {"decision": N, "response": "Noted."})
    assert response.status_code == 302
    assert set(Disposition.objects.filter(comment__in=own.group.comments.all()).values_list("decision", flat=True)) == {
        N
    }


def test_group_with_a_withdrawn_member_is_refused_in_place(client, personas, own, clause):
    withdrawn = CommentFactory(
        round=own.round, section=clause, author=personas["vn_delegate"], status=Comment.Status.WITHDRAWN
    )
    own.group.comments.add(withdrawn)
    client.force_login(personas["secretariat"])
    response = client.post(own.url("disposition_group_record", own.group.pk), {"decision": N, "response": ""})
    assert response.status_code == 400
    assert withdrawn.number in response.content.decode()
    assert not Disposition.objects.exclude(decision="").exists()


def test_while_the_round_is_open_a_disposition_is_400_with_the_message(client, personas, open_round, clause):
    comment = submitted(open_round, clause, personas["vn_delegate"])
    place = Place(open_round.consultation, open_round, comment, None)
    client.force_login(personas["secretariat"])

    page = client.get(place.url("feedback")).content.decode()
    assert "The round is still open" in page and ">Record<" not in page

    for headers in ({}, HX):
        response = client.post(place.url("disposition_record", comment.pk), {"decision": N, "response": ""}, **headers)
        assert response.status_code == 400
        assert "The round is still open" in response.content.decode()
    assert not Disposition.objects.exists()


def test_forged_comment_id_of_another_consultation_is_404(client, personas, own, other):
    client.force_login(personas["secretariat"])
    for name in ("disposition_record", "disposition_propose", "disposition_approve"):
        response = client.post(own.url(name, other.comment.pk), {"decision": N, "response": "", "expected_revision": 1})
        assert response.status_code == 404
    response = client.post(own.url("disposition_group_record", other.group.pk), {"decision": N})
    assert response.status_code == 404
    assert not Disposition.objects.exclude(decision="").exists()
    assert Disposition.objects.get(comment=other.comment).proposed_decision == A


def test_admin_with_a_forged_id_from_another_consultation_is_404_too(client, personas, own, other):
    client.force_login(personas["admin"])
    response = client.post(own.url("disposition_record", other.comment.pk), {"decision": N, "expected_revision": 1})
    assert response.status_code == 404
    assert Disposition.objects.get(comment=other.comment).decision == ""


def test_comment_of_another_round_of_the_same_consultation_is_404(client, personas, own, version, clause):
    later_round = closed_round_on(version, title="Second round")
    stray = submitted(later_round, clause, personas["vn_delegate"])
    client.force_login(personas["secretariat"])
    response = client.post(own.url("disposition_record", stray.pk), {"decision": N})
    assert response.status_code == 404
    assert not Disposition.objects.filter(comment=stray).exists()


def test_stale_revision_is_412(client, personas, own):
    client.force_login(personas["secretariat"])
    response = client.post(own.url("disposition_record", own.comment.pk), {"decision": N, "expected_revision": 0}, **HX)
    assert response.status_code == 412
    assert "Someone changed" in response.content.decode()
    assert Disposition.objects.get(comment=own.comment).decision == ""


@pytest.mark.parametrize(
    ("refusal", "status", "message"),
    [
        (ConflictError("Another write is under way. Nothing was saved.", code="busy"), 409, "Another write"),
        (RoundClosedError(), 409, "This round is closed."),
        (RateLimitedError(retry_after=30), 429, "Please wait 30 seconds."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_a_refusal_keeps_the_status_the_service_gives_it(
    monkeypatch, client, personas, own, refusal, status, message, headers
):
    """The feedback views answer the service's 409 and 429 (with Retry-After), not a 400."""

    def refuse(**_kwargs):
        raise refusal

    for name in ("disposition_record", "disposition_propose", "disposition_approve_proposal"):
        monkeypatch.setattr(disposition_services, name, refuse)
    client.force_login(personas["secretariat"])
    response = client.post(
        own.url("disposition_record", own.comment.pk), {"decision": N, "expected_revision": 1}, **headers
    )
    assert response.status_code == status
    assert message in response.content.decode()
    assert response.get("Retry-After") == ("30" if status == 429 else None)
    approve = client.post(own.url("disposition_approve", own.comment.pk), {"expected_revision": 1}, **headers)
    assert approve.status_code == status
    client.force_login(personas["consultant"])
    propose = client.post(own.url("disposition_propose", own.comment.pk), {"decision": N, "response": ""}, **headers)
    assert propose.status_code == status
    assert Disposition.objects.get(comment=own.comment).decision == ""


def test_draft_and_withdrawn_comments_are_not_listed_and_get_no_disposition(client, personas, closed_round, clause):
    withdrawn = CommentFactory(
        round=closed_round, section=clause, author=personas["vn_delegate"], status=Comment.Status.WITHDRAWN
    )
    draft = CommentFactory(round=closed_round, section=clause, author=personas["secretariat"], body="Our own draft")
    place = Place(closed_round.consultation, closed_round, withdrawn, None)
    client.force_login(personas["secretariat"])
    page = client.get(place.url("feedback")).content.decode()
    assert f"fb-comment-{withdrawn.pk}" not in page and "Our own draft" not in page

    response = client.post(place.url("disposition_record", withdrawn.pk), {"decision": N})
    assert response.status_code == 400
    assert "withdrawn" in response.content.decode()
    response = client.post(place.url("disposition_record", draft.pk), {"decision": N})
    assert response.status_code == 400
    assert not Disposition.objects.exists()


def test_bad_input_is_400_and_keeps_what_was_typed(client, personas, own):
    client.force_login(personas["secretariat"])
    response = client.post(
        own.url("disposition_record", own.comment.pk),
        {"decision": "approved", "response": "Kept text", "expected_revision": 1},
    )
    assert response.status_code == 400
    assert "Kept text" in response.content.decode()
    response = client.post(
        own.url("disposition_record", own.comment.pk), {"decision": N, "response": "x" * 10_001, "expected_revision": 1}
    )
    assert response.status_code == 400
    assert Disposition.objects.get(comment=own.comment).decision == ""


def test_section_change_of_the_same_version_is_refused(client, personas, own, clause):
    client.force_login(personas["secretariat"])
    response = client.post(
        own.url("disposition_record", own.comment.pk),
        {"decision": A, "section_change": clause.pk, "expected_revision": 1},
    )
    assert response.status_code == 400
    assert Disposition.objects.get(comment=own.comment).section_change is None


def test_section_change_of_a_later_version_is_offered_and_recorded(client, personas, own, consultation):
    newer = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    changed = factories.SectionFactory(version=newer, key="infra-5g", number="1.1.1", heading="5G networks", position=1)
    client.force_login(personas["secretariat"])
    assert f'<option value="{changed.pk}"' not in client.get(own.url("feedback")).content.decode()
    assert f'<option value="{changed.pk}"' in client.get(own.url("disposition_form", own.comment.pk)).content.decode()
    response = client.post(
        own.url("disposition_record", own.comment.pk),
        {"decision": A, "section_change": changed.pk, "expected_revision": 1},
    )
    assert response.status_code == 302
    assert Disposition.objects.get(comment=own.comment).section_change == changed


def test_page_without_a_consolidation_says_so(client, personas, closed_round, clause):
    submitted(closed_round, clause, personas["vn_delegate"])
    client.force_login(personas["secretariat"])
    page = client.get(reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk]))
    assert page.status_code == 200
    assert "has not been consolidated yet" in page.content.decode()
    run_create = reverse("consolidation:run_create", args=[closed_round.consultation.slug, closed_round.pk])
    assert f'action="{run_create}"' in page.content.decode() and "Consolidate now" in page.content.decode()
    client.force_login(personas["consultant"])
    page = client.get(reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk]))
    assert "Consolidate now" not in page.content.decode()


# --- filters --------------------------------------------------------------------------------


@pytest.fixture
def mix(personas, closed_round, clause, other_clause, consultant, secretariat):
    vn, th, partner = personas["vn_delegate"], personas["th_delegate"], personas["partner"]
    made = {
        "vn_te": submitted(closed_round, clause, vn, type="te", body="Chuyển đổi số cần mục tiêu rõ ràng cho 2028."),
        "vn_ed": submitted(closed_round, other_clause, vn, type="ed", body="Typo in the heading."),
        "th_ge": submitted(
            closed_round, clause, th, type="ge", body="General remark.", proposed_change="Add a rural target."
        ),
        "partner_te": submitted(
            closed_round, other_clause, partner, type="te", body="Energy.", quote_exact="renewable energy"
        ),
    }
    Disposition.objects.create(comment=made["vn_ed"], proposed_decision=A, proposed_by=consultant)
    Disposition.objects.create(comment=made["th_ge"], decision=N, decided_by=secretariat)
    make_group(closed_round, clause, [made["vn_te"], made["th_ge"]])
    return made


def listed(client, engagement_round, **params) -> set[int]:
    url = reverse("consolidation:feedback", args=[engagement_round.consultation.slug, engagement_round.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return {
        int(pk)
        for pk in re.findall(r'<article class="fb-comment[^"]*" id="fb-comment-(\d+)"', response.content.decode())
    }


def ids(mix, *names) -> set[int]:
    return {mix[name].pk for name in names}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["vn_te", "vn_ed", "th_ge", "partner_te"]),
        ({"type": "te"}, ["vn_te", "partner_te"]),
        ({"role": Role.PARTNER}, ["partner_te"]),
        ({"role": Role.MEMBER_STATE}, ["vn_te", "vn_ed", "th_ge"]),
        ({"disposition": "none"}, ["vn_te", "partner_te"]),
        ({"disposition": "proposed"}, ["vn_ed"]),
        ({"disposition": N}, ["th_ge"]),
        ({"disposition": A}, []),
        ({"duplicates": "on"}, ["vn_te", "th_ge"]),
        ({"q": "chuyển đổi số"}, ["vn_te"]),
        # Case-insensitive matching beyond ASCII is PostgreSQL's (SQLite's LIKE folds ASCII only).
        pytest.param({"q": "CHUYỂN ĐỔI"}, ["vn_te"], marks=pytest.mark.postgres),
        ({"q": "rural target"}, ["th_ge"]),
        ({"q": "renewable"}, ["partner_te"]),
        ({"type": "te", "role": Role.MEMBER_STATE}, ["vn_te"]),
        ({"type": "nonsense", "page": "x"}, ["vn_te", "vn_ed", "th_ge", "partner_te"]),
    ],
)
def test_filters_narrow_the_list(client, personas, closed_round, mix, params, expected):
    client.force_login(personas["secretariat"])
    assert listed(client, closed_round, **params) == ids(mix, *expected)


def test_section_and_organisation_filters(client, personas, closed_round, clause, orgs, mix):
    client.force_login(personas["consultant"])
    assert listed(client, closed_round, section=clause.pk) == ids(mix, "vn_te", "th_ge")
    assert listed(client, closed_round, organisation=orgs["vn"].pk) == ids(mix, "vn_te", "vn_ed")
    assert listed(client, closed_round, section=clause.pk, organisation=orgs["vn"].pk) == ids(mix, "vn_te")


def test_text_search_finds_decomposed_vietnamese(client, personas, closed_round, mix):
    import unicodedata

    client.force_login(personas["secretariat"])
    assert listed(client, closed_round, q=unicodedata.normalize("NFD", "mục tiêu")) == ids(mix, "vn_te")


def test_list_shows_what_the_secretariat_needs(client, personas, closed_round, mix, consultation):
    mix["vn_te"].is_endorsed = True
    mix["vn_te"].quote_exact = "extend 5G coverage"
    mix["vn_te"].save()
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:feedback", args=[consultation.slug, closed_round.pk])
    page = client.get(url, {"q": "Chuyển"}).content.decode()
    for text in ("Viet Nam", "extend 5G coverage", "National position", "1.1.1", "group of 2", "te · Technical"):
        assert text in page


def test_pagination_keeps_the_filters(client, personas, closed_round, clause):
    for n in range(30):
        submitted(closed_round, clause, personas["vn_delegate"], type="te", body=f"Technical {n}")
    submitted(closed_round, clause, personas["vn_delegate"], type="ed", body="Editorial")
    client.force_login(personas["secretariat"])
    first = listed(client, closed_round, type="te")
    second = listed(client, closed_round, type="te", page=2)
    assert len(first) == 25 and len(second) == 5 and not first & second
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk]), {"type": "te"}
    ).content.decode()
    assert "?type=te&amp;page=2" in page


# --- heat map -------------------------------------------------------------------------------


def heat_cells(html: str) -> dict[tuple[int, int], str]:
    """(section, organisation) -> the cell's inner markup, read by position under the headings."""
    columns = [int(o) for o in re.findall(r'<th scope="col" class="hm-col" id="hc(\d+)"', html)]
    found = {}
    for row in re.findall(r"<tr><th scope=\"row\"[^>]*id=\"hr(\d+)\">.*?</th>(.*?)</tr>", html):
        section, tds = row
        for organisation, inner in zip(columns, re.findall(r'<td class="s\d">(.*?)</td>', tds), strict=True):
            found[(int(section), organisation)] = inner
    return found


def cells(html: str) -> dict[tuple[int, int], int]:
    return {key: int(re.sub(r"<[^>]+>", "", inner)) for key, inner in heat_cells(html).items()}


def test_heat_map_has_a_cell_per_section_and_organisation_with_the_counts(
    client, personas, closed_round, mix, version, orgs, clause, other_clause
):
    client.force_login(personas["secretariat"])
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    svg = page[page.index('<table class="heatmap-table"') : page.index("</figure>")]
    found = cells(svg)
    sections = list(version.sections.all())
    commenting = [orgs["vn"], orgs["th"], orgs["partner"]]
    assert set(found) == {(s.pk, o.pk) for s in sections for o in commenting}
    assert found[(clause.pk, orgs["vn"].pk)] == 1 and found[(other_clause.pk, orgs["vn"].pk)] == 1
    assert found[(clause.pk, orgs["th"].pk)] == 1 and found[(other_clause.pk, orgs["partner"].pk)] == 1
    assert found[(clause.pk, orgs["partner"].pk)] == 0
    link = f"h{clause.pk}-{orgs['vn'].pk}"
    assert f'id="{link}" aria-labelledby="{link} hr{clause.pk} hc{orgs["vn"].pk}">1</a>' in svg
    assert f'id="hr{clause.pk}">1.1.1 5G and 6G networks</th>' in svg
    assert f'id="hc{orgs["vn"].pk}" title="Viet Nam"><span aria-hidden="true">VN</span>' in svg
    assert f"section={clause.pk}&amp;organisation={orgs['vn'].pk}" in svg


def test_heat_map_cell_link_lists_that_cell(client, personas, closed_round, mix, clause, orgs):
    client.force_login(personas["secretariat"])
    assert listed(client, closed_round, section=clause.pk, organisation=orgs["th"].pk) == ids(mix, "th_ge")


def test_heat_map_escapes_every_text():
    heatmap = HeatMap(
        sections=[Section(pk=1, number="1.1", heading='<script>alert("x")</script> & more', depth=0)],
        organisations=[Organisation(pk=7, name='Bad <b>Org</b> "quoted"')],
        counts={(1, 7): 3},
    )
    html = str(render_heatmap(heatmap, link_for=lambda s, o: f"/f/?section={s}&organisation={o}"))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&amp; more" in html
    assert "&quot;quoted&quot;" in html
    assert 'href="/f/?section=1&amp;organisation=7"' in html
    assert cells(html) == {(1, 7): 3}
    name = "Bad &lt;b&gt;Org&lt;/b&gt; &quot;quoted&quot;"
    assert f'title="{name}"><span>{name}</span>' in html


def test_heat_map_colour_scale_is_sequential():
    from consolidation.heatmap import SCALE, bucket, colour

    steps = [bucket(n, 40) for n in range(0, 41)]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == len(SCALE)
    assert colour(0) != colour(1)


# --- queries --------------------------------------------------------------------------------


def grow(engagement_round, *, sections: int, organisations: int, comments: int, secretariat, consultant, tag: str):
    """Add sections, member-state organisations with a delegate each, and comments spread over them."""
    version = engagement_round.version
    start = version.sections.count() + 1
    new_sections = [
        factories.SectionFactory(version=version, key=f"{tag}-s{i}", number=f"9.{i}", position=100 * start + i)
        for i in range(sections)
    ]
    authors = []
    for i in range(organisations):
        org = factories.OrganisationFactory(name=f"{tag} org {i}", kind=Role.MEMBER_STATE, country_code="LA")
        user = factories.UserFactory(email=f"{tag}.{i}@example.org", organisation=org)
        factories.ParticipationFactory(
            consultation=engagement_round.consultation, user=user, organisation=org, role=Role.MEMBER_STATE
        )
        authors.append(user)
    made = Comment.objects.bulk_create(
        Comment(
            round=engagement_round,
            section=new_sections[i % sections],
            author=authors[i % organisations],
            organisation=authors[i % organisations].organisation,
            type=("ge", "te", "ed")[i % 3],
            body=f"Comment {tag} {i}",
            status=Comment.Status.SUBMITTED,
            submitted_at=timezone.now(),
            is_endorsed=i % 4 == 0,
        )
        for i in range(comments)
    )
    for i, comment in enumerate(made[: comments // 2]):
        if i % 2:
            Disposition.objects.create(comment=comment, decision=N, response="Noted.", decided_by=secretariat)
        else:
            Disposition.objects.create(comment=comment, proposed_decision=A, proposed_by=consultant)
    for i, comment in enumerate(made[::5]):
        CommentAssignment.objects.create(
            comment=comment, assignee=(secretariat, consultant)[i % 2], assigned_at=timezone.now()
        )
    make_group(engagement_round, new_sections[0], made[:3])
    return made


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("viewer", ["secretariat", "consultant"])
def test_feedback_page_query_count_does_not_grow(client, personas, closed_round, viewer, django_assert_num_queries):
    url = reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    kwargs = {"secretariat": personas["secretariat"], "consultant": personas["consultant"]}
    # The counted list (section, organisation, type, disposition) and the searched one (text) each
    # issue a fixed number of queries.
    counted = {"page": 2, "type": "te", "disposition": "none"}
    searched = {"page": 3, "type": "te", "disposition": "none", "q": "Comment"}
    newest = {"page": 2, "sort": "newest"}
    mine = {"assigned": "me", "sort": "status"}
    grow(closed_round, sections=5, organisations=4, comments=20, tag="small", **kwargs)
    client.force_login(personas[viewer])
    small = count_queries(client, url)
    small_counted = count_queries(client, f"{url}?{urlencode(counted)}")
    small_searched = count_queries(client, f"{url}?{urlencode(searched)}")
    small_newest = count_queries(client, f"{url}?{urlencode(newest)}")
    small_mine = count_queries(client, f"{url}?{urlencode(mine)}")

    grow(closed_round, sections=10, organisations=7, comments=280, tag="large", **kwargs)
    assert Comment.objects.filter(round=closed_round).count() == 300
    with django_assert_num_queries(small):
        response = client.get(url)
    assert response.content.decode().count('<article class="fb-comment') == 25
    with django_assert_num_queries(small_counted):
        client.get(url, counted)
    with django_assert_num_queries(small_searched):
        client.get(url, searched)
    with django_assert_num_queries(small_newest):
        client.get(url, newest)
    with django_assert_num_queries(small_mine):
        client.get(url, mine)


def test_heat_map_on_the_page_escapes_a_heading_with_a_script(client, personas, closed_round, clause):
    clause.heading = '<script>alert("heading")</script>'
    clause.save()
    submitted(closed_round, clause, personas["vn_delegate"])
    client.force_login(personas["secretariat"])
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


# --- the disposition form on demand ---------------------------------------------------------


def test_the_page_carries_no_disposition_form_and_the_row_fetches_its_own(client, personas, own):
    client.force_login(personas["secretariat"])
    page = client.get(own.url("feedback")).content.decode()
    form_url = own.url("disposition_form", own.comment.pk)
    row = page[page.index(f'id="fb-comment-{own.comment.pk}"') :]
    row = row[: row.index("</article>")]
    # (The group's form stays: five decisions and a text, whatever the document.)
    assert f'id="decision-{own.comment.pk}"' not in row and 'name="section_change"' not in row
    # Opening "Record a decision" fetches the form (htmx), and without JavaScript the link leads to it.
    assert f'hx-get="{form_url}"' in row and 'hx-trigger="toggle once"' in row
    assert f'<a href="{form_url}">' in row

    fragment = client.get(form_url, **HX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html and "<form" in html
    assert f'action="{own.url("disposition_record", own.comment.pk)}"' in html
    assert re.search(r'<select id="decision-\d+" name="decision" required autofocus>', html)
    assert '<option value="accepted" selected>' in html  # the consultants' proposal, pre-filled
    assert '<input type="hidden" name="expected_revision" value="1">' in html

    page = client.get(form_url, {"type": "te", "page": "1"})
    html = page.content.decode()
    assert page.status_code == 200 and "<h1>Disposition of " in html and "<form" in html
    assert "autofocus" not in html.split("<form", 1)[1].split("</form>", 1)[0]
    assert own.url("feedback") + f"?type=te&amp;page=1#fb-comment-{own.comment.pk}" in html  # back to the same page


def test_the_form_while_the_round_is_open_offers_no_form(client, personas, open_round, clause):
    comment = submitted(open_round, clause, personas["vn_delegate"])
    place = Place(open_round.consultation, open_round, comment, None)
    client.force_login(personas["secretariat"])
    response = client.get(place.url("disposition_form", comment.pk), **HX)
    assert response.status_code == 200
    assert "The round is still open" in response.content.decode() and "<form" not in response.content.decode()


def test_the_form_of_a_comment_of_another_consultation_is_404(client, personas, own, other):
    client.force_login(personas["secretariat"])
    assert client.get(own.url("disposition_form", other.comment.pk), **HX).status_code == 404


def test_page_weight_for_26_comments_does_not_grow_with_the_later_sections(client, personas, own, consultation):
    """The issue's page weighed 420 KB for 26 comments: a form with every later section in each row.

    Bound: 64 KB for the page of 25 rows, whatever the number of later sections (here 41, as in the
    issue), and less than the 25 forms it no longer carries (~5 KB each with 41 sections)."""
    newer = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    for i in range(41):
        factories.SectionFactory(
            version=newer,
            key=f"s{i}",
            number=f"2.{i}",
            heading=f"A heading of an ordinary length, number {i}",
            position=i,
        )
    for _n in range(24):  # with the place's two: 26
        submitted(own.round, own.comment.section, personas["th_delegate"], body="A comment of two sentences. " * 4)
    client.force_login(personas["secretariat"])

    page = client.get(own.url("feedback")).content
    form = client.get(own.url("disposition_form", own.comment.pk), **HX).content

    assert page.decode().count('<article class="fb-comment') == 25
    assert b'name="section_change"' not in page
    assert len(page) < 64 * 1024, f"{len(page)} bytes"
    assert len(page) < 25 * len(form)
    assert form.decode().count("<option value=") == 1 + 5 + 1 + 41  # choose, decisions, none, sections


# --- the headline and the focus after an in-place save --------------------------------------


def test_an_in_place_save_updates_the_headline_and_focuses_the_saved_row(client, personas, own):
    client.force_login(personas["secretariat"])
    before = client.get(own.url("feedback")).content.decode()
    assert "0 of 2 submitted comments decided; 1 proposed" in before

    response = client.post(
        own.url("disposition_record", own.comment.pk), {"decision": N, "response": "", "expected_revision": 1}, **HX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<article class="fb-comment is-decided" id="fb-comment-{own.comment.pk}"')
    # The headline, out of band, now says what the database says.
    assert re.search(
        r'<p class="fb-progress" id="fb-progress" hx-swap-oob="true">\s*1 of 2 submitted comments decided; 0 proposed',
        html,
    )
    # The row's status message takes the focus (htmx focuses [autofocus] in swapped content).
    assert re.search(
        r'<p class="message success" role="status" tabindex="-1" autofocus>Disposition recorded for C\d+', html
    )


def test_a_refused_save_keeps_the_headline_and_focuses_the_error(client, personas, own):
    client.force_login(personas["secretariat"])
    response = client.post(
        own.url("disposition_record", own.comment.pk), {"decision": N, "response": "", "expected_revision": 7}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 412
    assert "hx-swap-oob" not in html
    assert 'role="alert" tabindex="-1" autofocus' in html
    assert 'name="decision"' in html  # the form stays open with what was typed


# --- sorting --------------------------------------------------------------------------------


def listed_in_order(client, engagement_round, **params) -> list[int]:
    url = reverse("consolidation:feedback", args=[engagement_round.consultation.slug, engagement_round.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return [
        int(pk)
        for pk in re.findall(r'<article class="fb-comment[^"]*" id="fb-comment-(\d+)"', response.content.decode())
    ]


@pytest.mark.parametrize("viewer", ["secretariat", "consultant"])
@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["th_ge", "vn_te", "partner_te", "vn_ed"]),  # section order, then organisation name
        ({"sort": "organisation"}, ["partner_te", "th_ge", "vn_te", "vn_ed"]),
        ({"sort": "type"}, ["th_ge", "vn_te", "partner_te", "vn_ed"]),  # general, technical, editorial
        ({"sort": "status"}, ["vn_te", "partner_te", "vn_ed", "th_ge"]),  # undecided, proposed, decided
        ({"sort": "newest"}, ["partner_te", "th_ge", "vn_ed", "vn_te"]),
        # The database's path (a role filter is not counted in advance) sorts alike.
        ({"sort": "organisation", "role": Role.MEMBER_STATE}, ["th_ge", "vn_te", "vn_ed"]),
        ({"sort": "status", "q": "."}, ["vn_te", "partner_te", "vn_ed", "th_ge"]),
    ],
)
def test_sorting_the_list(client, personas, closed_round, mix, viewer, params, expected):
    for n, name in enumerate(["vn_te", "vn_ed", "th_ge", "partner_te"]):
        Comment.objects.filter(pk=mix[name].pk).update(submitted_at=timezone.now() + timezone.timedelta(minutes=n))
    client.force_login(personas[viewer])
    assert listed_in_order(client, closed_round, **params) == [mix[name].pk for name in expected]


# --- assignment -----------------------------------------------------------------------------


def test_secretariat_assigns_the_selection_and_the_consultant_finds_it_under_assigned_to_me(
    client, personas, closed_round, mix
):
    consultant = personas["consultant"]
    client.force_login(personas["secretariat"])
    page = client.get(reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk]))
    html = page.content.decode()
    assert 'id="fb-selection"' in html and "Assign the selected" in html
    assert f'<option value="{consultant.pk}">{consultant.get_full_name()}</option>' in html
    assert (
        f'<option value="{personas["vn_delegate"].pk}">'
        not in html.split('name="assignee"', 1)[1].split("</select>")[0]
    )

    url = reverse("consolidation:comments_assign", args=[closed_round.consultation.slug, closed_round.pk])
    response = client.post(
        url + "?type=te", {"selected": [f"{mix['vn_te'].pk}:0", f"{mix['vn_ed'].pk}:1"], "assignee": consultant.pk}
    )
    assert response.status_code == 302 and response["Location"].endswith("?type=te#comments")
    assert set(CommentAssignment.objects.values_list("comment_id", "assignee_id")) == {
        (mix["vn_te"].pk, consultant.pk),
        (mix["vn_ed"].pk, consultant.pk),
    }
    page = client.get(response["Location"]).content.decode()
    assert "2 comments assigned to" in page and f"Assigned to {consultant.get_full_name()}" in page

    client.force_login(consultant)
    assert listed(client, closed_round, assigned="me") == ids(mix, "vn_te", "vn_ed")
    assert listed(client, closed_round, assigned="none") == ids(mix, "th_ge", "partner_te")
    assert listed(client, closed_round, assigned=str(consultant.pk)) == ids(mix, "vn_te", "vn_ed")
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    assert "Assigned to you" in page and "?assigned=me#comments" in page
    # The consultant reads the selection's form without its assignment part (and may not assign).
    assert "Assign the selected" not in page
    response = client.post(url, {"selected": [f"{mix['th_ge'].pk}:1"], "assignee": consultant.pk})
    assert response.status_code == 403
    assert not CommentAssignment.objects.filter(comment=mix["th_ge"]).exists()


def test_assigning_a_delegate_is_refused_on_the_page(client, personas, closed_round, mix):
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:comments_assign", args=[closed_round.consultation.slug, closed_round.pk])
    response = client.post(url, {"selected": [f"{mix['vn_te'].pk}:0"], "assignee": personas["vn_delegate"].pk})
    assert response.status_code == 400
    assert not CommentAssignment.objects.exists()


# --- one decision for the selection ---------------------------------------------------------


def test_one_decision_for_the_selection_through_the_page(client, personas, closed_round, mix):
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:disposition_bulk_record", args=[closed_round.consultation.slug, closed_round.pk])
    chosen = [f"{mix['vn_te'].pk}:0", f"{mix['vn_ed'].pk}:1", f"{mix['partner_te'].pk}:0"]
    response = client.post(url + "?page=1", {"selected": chosen, "decision": N, "response": "Noted for 0.2."})
    assert response.status_code == 302 and response["Location"].endswith("?page=1#comments")
    decided = dict(Disposition.objects.exclude(decision="").values_list("comment_id", "decision"))
    assert decided == {mix["vn_te"].pk: N, mix["vn_ed"].pk: N, mix["partner_te"].pk: N, mix["th_ge"].pk: N}
    page = client.get(response["Location"]).content.decode()
    assert "recorded for the 3 selected comments" in page
    assert "4 of 4 submitted comments decided" in page


def test_a_refused_selection_shows_the_page_with_the_message_and_saves_nothing(client, personas, closed_round, mix):
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:disposition_bulk_record", args=[closed_round.consultation.slug, closed_round.pk])
    # th_ge was decided (revision 1) after the page showed it undecided (0).
    response = client.post(url, {"selected": [f"{mix['vn_te'].pk}:0", f"{mix['th_ge'].pk}:0"], "decision": A})
    assert response.status_code == 412
    assert mix["th_ge"].number in response.content.decode()
    assert not Disposition.objects.filter(decision=A).exists()
    response = client.post(url, {"selected": ["nonsense"], "decision": A})
    assert response.status_code == 400


def test_rows_have_a_labelled_checkbox_only_for_who_can_act_on_a_selection(
    client, personas, closed_round, open_round, mix, clause
):
    client.force_login(personas["secretariat"])
    html = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    pk = mix["th_ge"].pk
    assert f'<input type="checkbox" form="fb-selection" name="selected" value="{pk}:1" id="select-{pk}"' in html
    assert f'<label for="select-{pk}" class="visually-hidden">Select C{pk}</label>' in html
    client.force_login(personas["consultant"])
    html = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    assert 'form="fb-selection"' not in html and 'id="fb-selection"' not in html


# --- heat map markup ------------------------------------------------------------------------

INTERACTIVE = {"a", "button", "input", "select", "textarea", "summary", "iframe", "audio", "video"}


class Nesting(HTMLParser):
    """Finds interactive elements inside interactive elements (axe's nested-interactive)."""

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []
        self.nested: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        interactive = (
            (tag in INTERACTIVE and (tag != "a" or "href" in attrs))
            or "tabindex" in attrs
            or "role" in attrs
            and attrs["role"] in ("button", "link")
        )
        if interactive and any(self.stack):
            self.nested.append(self.get_starttag_text())
        if tag not in VOID:
            self.stack.append(interactive)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def test_heat_map_links_only_cells_with_comments_and_nests_nothing_interactive(
    client, personas, closed_round, mix, clause, orgs
):
    client.force_login(personas["secretariat"])
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    figure = page[page.index('<figure class="heatmap">') : page.index("</figure>") + len("</figure>")]
    found, counts = heat_cells(figure), cells(figure)
    assert found and set(counts.values()) == {0, 1}
    for key, inner in found.items():
        assert ("<a " in inner) == (counts[key] > 0), inner
    assert found[(clause.pk, orgs["partner"].pk)] == "<span>0</span>"
    # Row headings whole (the clause's full heading), the table as wide as its card (CSS), one region.
    depth = min(clause.depth, 3)
    assert f'<th scope="row" class="hm-row depth-{depth}" id="hr{clause.pk}">1.1.1 5G and 6G networks</th>' in figure
    assert figure.count('role="region"') == 1 and 'tabindex="0"' not in figure  # the links take the focus

    nesting = Nesting()
    nesting.feed(page)
    assert nesting.nested == []


def test_an_empty_heat_map_region_takes_the_focus_itself(client, personas, closed_round):
    client.force_login(personas["secretariat"])
    page = client.get(
        reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])
    ).content.decode()
    figure = page[page.index('<figure class="heatmap">') : page.index("</figure>")]
    assert "<a " not in figure
    assert 'role="region" aria-labelledby="heatmap-caption" tabindex="0"' in figure


def test_the_feedback_page_does_not_read_the_stored_result_of_the_run(client, personas, closed_round, clause):
    # A run's result holds every section's ordered comment ids: megabytes at a million comments,
    # which the page does not show; reading them made it 7.8x slower there than at 10,000.
    comments = [submitted(closed_round, clause, personas["vn_delegate"], body=f"Same point {i}") for i in range(2)]
    group = make_group(closed_round, clause, comments)
    ConsolidationRun.objects.filter(pk=group.run_id).update(result={"sections": [{"comment_ids": [1, 2, 3]}]})
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:feedback", args=[closed_round.consultation.slug, closed_round.pk])

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)

    assert response.status_code == 200
    assert "Duplicate" in response.content.decode() or "duplicate" in response.content.decode()
    runs = [q["sql"] for q in captured.captured_queries if 'FROM "consolidation_consolidationrun"' in q["sql"]]
    assert runs  # the run was read
    assert not any('"consolidation_consolidationrun"."result"' in sql for sql in runs)
