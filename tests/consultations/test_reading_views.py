"""The reading pages: who may open them, what the round overview says, and how many queries.

Anything a user may not see is a 404 for them, never a hint that it exists.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consultations.models import DraftVersion, EngagementRound, RoundExtension, Section
from tests import factories

pytestmark = pytest.mark.django_db

OWN = "adm-2030"
OTHER = "other-strategy"
# slug -> (published version number, a section key in it)
READABLE = {OWN: ("0.1", "infra-5g"), OTHER: ("1.0", "other-intro")}


def _url(page: str, slug: str, number: str | None = None, key: str | None = None) -> str:
    number = number or READABLE[slug][0]
    key = key or READABLE[slug][1]
    return {
        "list": lambda: reverse("consultations:list"),
        "detail": lambda: reverse("consultations:detail", args=[slug]),
        "version": lambda: reverse("consultations:version", args=[slug, number]),
        "section": lambda: reverse("comments:section", args=[slug, number, key]),
    }[page]()


@pytest.fixture
def other_version(other_consultation):
    version = factories.DraftVersionFactory(consultation=other_consultation, number="1.0")
    factories.SectionFactory(version=version, key="other-intro", number="1", heading="Introduction", position=1)
    return version


@pytest.fixture
def reading_world(personas, version, other_version):
    return personas


# --- permission table ---------------------------------------------------------------------

# persona -> (status on adm-2030's pages, status on other-strategy's pages)
ACCESS = {
    "secretariat": (200, 404),
    "consultant": (200, 404),
    "vn_delegate": (200, 404),
    "vn_focal_point": (200, 404),
    "th_delegate": (200, 404),
    "partner": (200, 404),
    "outsider": (404, 200),
    "admin": (200, 200),
}
TITLES = {OWN: "ASEAN Digital Masterplan 2030", OTHER: "Another regional strategy"}
CELLS = [
    pytest.param(page, persona, slug, status, id=f"{page}-{persona}-{'own' if slug == OWN else 'other'}")
    for page in ("detail", "version", "section")
    for persona, statuses in ACCESS.items()
    for slug, status in zip((OWN, OTHER), statuses, strict=True)
]


@pytest.mark.parametrize(("page", "persona", "slug", "expected"), CELLS)
def test_reading_page_permissions(client, reading_world, page, persona, slug, expected):
    client.force_login(reading_world[persona])

    response = client.get(_url(page, slug))

    assert response.status_code == expected
    if expected == 200:
        assert TITLES[slug] in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "slug", "listed"),
    [
        pytest.param(persona, slug, status == 200, id=f"{persona}-{'own' if slug == OWN else 'other'}")
        for persona, statuses in ACCESS.items()
        for slug, status in zip((OWN, OTHER), statuses, strict=True)
    ],
)
def test_consultation_list_shows_exactly_the_consultations_the_user_may_open(
    client, reading_world, persona, slug, listed
):
    client.force_login(reading_world[persona])

    response = client.get(_url("list", slug))

    assert response.status_code == 200
    assert (TITLES[slug] in response.content.decode()) is listed


@pytest.mark.parametrize("page", ["list", "detail", "version", "section"])
@pytest.mark.parametrize("slug", [OWN, OTHER])
def test_anonymous_visitor_is_sent_to_login(client, reading_world, page, slug):
    url = _url(page, slug)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize(
    ("url_args", "persona"),
    [
        ((OWN, "9.9", "infra-5g"), "secretariat"),  # no such version
        ((OWN, "0.1", "no-such-key"), "secretariat"),  # no such section
        (("no-such-consultation", "0.1", "infra-5g"), "admin"),
    ],
)
def test_unknown_version_section_or_consultation_is_404(client, reading_world, url_args, persona):
    client.force_login(reading_world[persona])

    assert client.get(reverse("comments:section", args=url_args)).status_code == 404


# --- drafts in preparation ----------------------------------------------------------------

# persona -> may read adm-2030's unpublished version 0.2
DRAFT_ACCESS = {
    "secretariat": 200,
    "consultant": 200,
    "admin": 200,
    "vn_delegate": 404,
    "vn_focal_point": 404,
    "th_delegate": 404,
    "partner": 404,
    "outsider": 404,
}


@pytest.fixture
def draft_version(reading_world, consultation):
    draft = factories.DraftVersionFactory(
        consultation=consultation, number="0.2", status=DraftVersion.Status.DRAFT, published_at=None
    )
    factories.SectionFactory(version=draft, key="draft-sec", number="1", heading="Unreleased outline", position=1)
    return draft


@pytest.mark.parametrize("page", ["version", "section"])
@pytest.mark.parametrize(("persona", "expected"), DRAFT_ACCESS.items())
def test_unpublished_version_is_visible_only_to_those_who_prepare_it(
    client, draft_version, reading_world, page, persona, expected
):
    client.force_login(reading_world[persona])

    response = client.get(_url(page, OWN, number="0.2", key="draft-sec"))

    assert response.status_code == expected
    if expected == 200:
        assert "Unreleased outline" in response.content.decode()


@pytest.mark.parametrize(("persona", "expected"), DRAFT_ACCESS.items())
def test_overview_lists_an_unpublished_version_only_to_those_who_prepare_it(
    client, draft_version, reading_world, persona, expected
):
    client.force_login(reading_world[persona])

    response = client.get(_url("detail", OWN))

    draft_link = _url("version", OWN, number="0.2")
    if persona == "outsider":
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert (draft_link in response.content.decode()) is (expected == 200)


# --- round state and deadlines on the overview --------------------------------------------

OPENS_AT = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
CLOSES_AT = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)  # 17:00 in Ha Noi
TH_EXTENDED_TO = datetime(2025, 9, 19, 10, 0, tzinfo=UTC)


@pytest.fixture
def round_with_extension(version, orgs, reading_world):
    engagement_round = factories.EngagementRoundFactory(
        version=version,
        title="First stakeholder engagement",
        opens_at=OPENS_AT,
        closes_at=CLOSES_AT,
        final_closes_at=TH_EXTENDED_TO,
        state=EngagementRound.State.OPEN,
    )
    RoundExtension.objects.create(round=engagement_round, organisation=orgs["th"], closes_at=TH_EXTENDED_TO)
    return engagement_round


def _overview(client, user, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        client.force_login(user)
        response = client.get(_url("detail", OWN))
    assert response.status_code == 200
    return response.content.decode()


def test_overview_shows_deadline_and_countdown_in_the_viewers_time_zone(client, round_with_extension, vn_delegate):
    vn_delegate.time_zone = "Asia/Ho_Chi_Minh"
    vn_delegate.save(update_fields=["time_zone"])

    html = _overview(client, vn_delegate, CLOSES_AT - timedelta(days=3))

    assert "state-open" in html
    assert 'datetime="2025-09-15T17:00:00+07:00"' in html
    assert "15 September 2025, 17:00" in html
    assert "3\xa0days left" in html
    assert "extended for your organisation" not in html


def test_overview_in_utc_shows_the_same_deadline_at_utc_hour(client, round_with_extension, vn_delegate):
    html = _overview(client, vn_delegate, CLOSES_AT - timedelta(days=3))

    assert 'datetime="2025-09-15T10:00:00+00:00"' in html
    assert "15 September 2025, 10:00" in html


def test_scheduled_round_shows_when_it_opens_in_the_viewers_time_zone(client, version, reading_world, vn_delegate):
    factories.EngagementRoundFactory(
        version=version, opens_at=OPENS_AT, closes_at=CLOSES_AT, state=EngagementRound.State.SCHEDULED
    )
    vn_delegate.time_zone = "Asia/Ho_Chi_Minh"
    vn_delegate.save(update_fields=["time_zone"])

    html = _overview(client, vn_delegate, OPENS_AT - timedelta(days=2))

    assert "state-scheduled" in html
    assert 'datetime="2025-09-01T08:00:00+07:00"' in html  # 01:00 UTC
    assert "in 2\xa0days" in html


def test_overview_shows_an_extended_organisation_its_own_deadline(client, round_with_extension, th_delegate):
    html = _overview(client, th_delegate, CLOSES_AT - timedelta(days=3))

    assert 'datetime="2025-09-19T10:00:00+00:00"' in html
    assert "1\xa0week left" in html
    assert "extended for your organisation" in html
    assert 'datetime="2025-09-15T10:00:00+00:00"' not in html


def test_between_deadline_and_extension_only_the_extended_organisation_sees_the_round_open(
    client, round_with_extension, th_delegate, vn_delegate
):
    between = CLOSES_AT + timedelta(days=1)

    th_html = _overview(client, th_delegate, between)
    client.logout()
    vn_html = _overview(client, vn_delegate, between)

    assert "3\xa0days left" in th_html
    assert "Read and comment" in th_html
    assert "closed for your organisation on" in vn_html
    assert "Read and comment" not in vn_html


def test_round_past_its_deadline_shows_closed_even_before_beat_runs(client, round_with_extension, vn_delegate):
    html = _overview(client, vn_delegate, TH_EXTENDED_TO)

    assert "state-closed" in html
    assert "Read and comment" not in html


# --- a fixed number of queries whatever the data size -------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _assert_same_count(client, url, small: int, django_assert_num_queries) -> None:
    with django_assert_num_queries(small):
        assert client.get(url).status_code == 200


def test_consultation_list_queries_do_not_grow_with_consultations(
    client, vn_delegate, orgs, version, django_assert_num_queries
):
    def add_consultations(count):
        for _ in range(count):
            other = factories.ConsultationFactory()
            factories.ParticipationFactory(consultation=other, user=vn_delegate, organisation=orgs["vn"])
            factories.EngagementRoundFactory(version=factories.DraftVersionFactory(consultation=other))

    add_consultations(1)  # with adm-2030: 2 consultations
    client.force_login(vn_delegate)
    url = _url("list", OWN)
    client.get(url)  # warm up per-process caches (content types, sessions)
    small = _count_queries(client, url)

    add_consultations(23)  # 25: a full first page of 20 and a second page
    _assert_same_count(client, url, small, django_assert_num_queries)
    _assert_same_count(client, url + "?page=2", small, django_assert_num_queries)
    assert "Page 1 of 2" in client.get(url).content.decode()


@pytest.mark.parametrize("viewer", ["vn_delegate", "secretariat", "admin"])
def test_overview_queries_do_not_grow_with_rounds_extensions_and_phases(
    client, reading_world, consultation, version, orgs, viewer, django_assert_num_queries
):
    def add_phases(count):
        for i in range(count):
            factories.PhaseFactory(
                consultation=consultation,
                starts_on=date(2025, 1, 1) + timedelta(days=30 * i),
                ends_on=date(2025, 1, 20) + timedelta(days=30 * i),
            )

    def add_round(number, state):
        round_version = factories.DraftVersionFactory(consultation=consultation, number=number)
        engagement_round = factories.EngagementRoundFactory(version=round_version, state=state)
        for org in (orgs["vn"], orgs["th"]):
            RoundExtension.objects.create(
                round=engagement_round, organisation=org, closes_at=engagement_round.closes_at + timedelta(days=2)
            )

    add_phases(2)
    add_round("0.2", EngagementRound.State.OPEN)
    add_round("0.3", EngagementRound.State.CLOSED)  # closed rounds' stages: one query, however many
    client.force_login(reading_world[viewer])
    url = _url("detail", OWN)
    client.get(url)
    small = _count_queries(client, url)

    add_phases(8)
    for i in range(14):
        add_round(f"1.{i}", EngagementRound.State.CLOSED if i % 2 else EngagementRound.State.OPEN)
    _assert_same_count(client, url, small, django_assert_num_queries)


def _add_sections(version, count):
    chapter = version.sections.get(key="infra")
    start = version.sections.count() + 1
    for position in range(start, start + count):
        factories.SectionFactory(version=version, parent=chapter, kind=Section.Kind.CLAUSE, depth=2, position=position)


@pytest.mark.parametrize("page", ["version", "section"])
def test_reading_queries_do_not_grow_with_sections(
    client, reading_world, version, orgs, page, django_assert_num_queries
):
    engagement_round = factories.EngagementRoundFactory(version=version)
    RoundExtension.objects.create(
        round=engagement_round, organisation=orgs["th"], closes_at=engagement_round.closes_at + timedelta(days=2)
    )
    client.force_login(reading_world["vn_delegate"])
    url = _url(page, OWN)
    client.get(url)
    small = _count_queries(client, url)  # 4 sections

    _add_sections(version, 196)  # 200 sections
    _assert_same_count(client, url, small, django_assert_num_queries)
