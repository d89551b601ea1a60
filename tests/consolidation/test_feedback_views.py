"""The consolidated feedback page and its disposition endpoints: who, what, filters, heat map, queries."""

import re
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
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, JobStatus
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
    "propose": dict(secretariat=302, consultant=302, admin=302, outsider=404),
    "record": dict(secretariat=302, consultant=403, admin=302, outsider=404),
    "approve": dict(secretariat=302, consultant=403, admin=302, outsider=404),
    "group": dict(secretariat=302, consultant=403, admin=302, outsider=404),
}
OTHER = {
    "feedback": dict(admin=200, outsider=403),
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
    if endpoint == "record":
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


def cells(svg: str) -> dict[tuple[int, int], int]:
    return {
        (int(s), int(o)): int(n)
        for s, o, n in re.findall(r'data-section="(\d+)" data-organisation="(\d+)" data-count="(\d+)"', svg)
    }


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
    assert 'aria-label="1 comment: Viet Nam on 1.1.1 5G and 6G networks"' in svg
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
    assert 'aria-label="3 comments: Bad &lt;b&gt;Org&lt;/b&gt; &quot;quoted&quot; on 1.1' in html


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
    grow(closed_round, sections=5, organisations=4, comments=20, tag="small", **kwargs)
    client.force_login(personas[viewer])
    small = count_queries(client, url)
    small_counted = count_queries(client, f"{url}?{urlencode(counted)}")
    small_searched = count_queries(client, f"{url}?{urlencode(searched)}")

    grow(closed_round, sections=10, organisations=7, comments=280, tag="large", **kwargs)
    assert Comment.objects.filter(round=closed_round).count() == 300
    with django_assert_num_queries(small):
        response = client.get(url)
    assert response.content.decode().count('<article class="fb-comment') == 25
    with django_assert_num_queries(small_counted):
        client.get(url, counted)
    with django_assert_num_queries(small_searched):
        client.get(url, searched)


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
