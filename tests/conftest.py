"""Shared fixtures: role personas, a consultation with a draft under review, service checks.

Tests that need a real service or tool carry a marker (postgres, redis, celery_worker, e2e,
libreoffice, fonts, poppler, gettext, redis_server). Without it they skip with a one-line reason; with
CI=true a missing one fails the run. Test modules take what they share from here, from
tests/factories.py and from tests/helpers/, never from each other (tests/test_layout.py).
"""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Role
from consultations.models import EngagementRound
from tests import factories
from tests.helpers.drafts import DATA_CENTRES, FIVE_G
from tests.helpers.people import participant
from tests.helpers.services import (
    CI,
    chromium_path,
    pdftotext_path,
    reachable,
    redis_server_path,
    soffice_path,
    xgettext_path,
)


def _missing_report_fonts() -> list[str]:
    from config.pdf_text import font_files

    return font_files()[1]


def _missing_services() -> dict[str, str]:
    """Marker name -> why the tests carrying it cannot run here."""
    missing = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "PostgreSQL is not reachable on 127.0.0.1:5432 (tests ran on SQLite)"
    redis_url = urlparse(settings.TEST_REDIS_URL)
    if not reachable(redis_url.hostname or "127.0.0.1", redis_url.port or 6379):
        missing["redis"] = f"Redis is not reachable at {settings.TEST_REDIS_URL}"
    if "postgres" in missing or "redis" in missing:
        missing["celery_worker"] = "a live Celery worker needs PostgreSQL and Redis"
    if not chromium_path():
        missing["e2e"] = "Chromium is not installed (apt-get install chromium)"
    if not soffice_path():
        missing["libreoffice"] = "LibreOffice is not installed (apt-get install libreoffice-calc libreoffice-writer)"
    if fonts := _missing_report_fonts():
        missing["fonts"] = (
            f"the report fonts for {', '.join(fonts)} are not installed (apt-get install fonts-noto-core)"
        )
    if not pdftotext_path():
        missing["poppler"] = "poppler-utils is not installed (apt-get install poppler-utils)"
    if not xgettext_path():
        missing["gettext"] = "GNU gettext is not installed (apt-get install gettext)"
    if not redis_server_path():
        missing["redis_server"] = "redis-server is not installed (apt-get install redis-server)"
    return missing


def pytest_report_header(config):
    """Say which database the run uses: PostgreSQL when one answers, else SQLite (never silently)."""
    database = settings.DATABASES["default"]
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    name = database.get("TEST", {}).get("NAME") or "in memory"
    note = "" if engine == "postgresql" else " (no PostgreSQL on 127.0.0.1:5432: tests marked postgres skip)"
    return f"database: {engine}, test database {name}{note}; CI={'true' if CI else 'false'}"


def pytest_collection_modifyitems(config, items):
    missing = _missing_services()
    needed = {name for item in items for name in missing if item.get_closest_marker(name)}
    if CI and needed:
        reasons = "; ".join(missing[name] for name in sorted(needed))
        raise pytest.UsageError(f"CI=true but a service the suite needs is missing: {reasons}")
    for item in items:
        for name, reason in missing.items():
            if item.get_closest_marker(name):
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture(autouse=True)
def _isolated_cache_and_files(settings):
    """Each test starts with an empty cache (rate limits, throttles) and empty file storage.

    Rate-limit counters would otherwise carry over from one test to the next, and on SQLite,
    where ids start again in every test, one test's report file could stand in for another's.
    """
    cache.clear()
    settings.STORAGES = {**settings.STORAGES}  # a new in-memory storage for this test
    yield
    cache.clear()


# --- personas -----------------------------------------------------------------------------
#
# One per role, all in `consultation` (adm-2030) unless said otherwise; every test package uses
# these. Password: tests.factories.PASSWORD. For one more person use tests.helpers.people.participant.
#   site_admin      staff (Django admin), no participation       superuser   is_superuser, no participation
#   secretariat     ASEAN Secretariat                             consultant  Drafting Consultants
#   vn_delegate     Viet Nam, member state                        vn_focal_point  Viet Nam's focal point
#   vn_colleague    a second Viet Nam delegate                    th_delegate  Thailand (another member state)
#   th_focal_point  Thailand's focal point                        partner     Development Partner
#   outsider        Thailand, but in `other_consultation` only


@pytest.fixture
def orgs(db):
    make = factories.OrganisationFactory
    return {
        "asec": make(name="ASEAN Secretariat", kind=Role.SECRETARIAT, country_code=""),
        "bcg": make(name="Drafting Consultants", kind=Role.CONSULTANT, country_code=""),
        "vn": make(name="Viet Nam", kind=Role.MEMBER_STATE, country_code="VN"),
        "th": make(name="Thailand", kind=Role.MEMBER_STATE, country_code="TH"),
        "partner": make(name="Development Partner", kind=Role.PARTNER, country_code=""),
    }


@pytest.fixture
def consultation(db):
    return factories.ConsultationFactory(title="ASEAN Digital Masterplan 2030", slug="adm-2030")


@pytest.fixture
def other_consultation(db):
    return factories.ConsultationFactory(title="Another regional strategy", slug="other-strategy")


def _participant(consultation, orgs, email, org_key, role, focal=False):
    return participant(consultation, orgs[org_key], email, role, focal=focal)


@pytest.fixture
def secretariat(consultation, orgs):
    return _participant(consultation, orgs, "secretariat@example.org", "asec", Role.SECRETARIAT)


@pytest.fixture
def consultant(consultation, orgs):
    return _participant(consultation, orgs, "consultant@example.org", "bcg", Role.CONSULTANT)


@pytest.fixture
def vn_delegate(consultation, orgs):
    return _participant(consultation, orgs, "vn.delegate@example.org", "vn", Role.MEMBER_STATE)


@pytest.fixture
def vn_focal_point(consultation, orgs):
    return _participant(consultation, orgs, "vn.focal@example.org", "vn", Role.MEMBER_STATE, focal=True)


@pytest.fixture
def th_delegate(consultation, orgs):
    return _participant(consultation, orgs, "th.delegate@example.org", "th", Role.MEMBER_STATE)


@pytest.fixture
def partner(consultation, orgs):
    return _participant(consultation, orgs, "partner@example.org", "partner", Role.PARTNER)


@pytest.fixture
def outsider(db, orgs, other_consultation):
    """Takes part in another consultation only."""
    return _participant(other_consultation, orgs, "outsider@example.org", "th", Role.MEMBER_STATE)


@pytest.fixture
def vn_colleague(consultation, orgs):
    """A second Vietnamese delegate (not the focal point)."""
    return _participant(consultation, orgs, "vn.colleague@example.org", "vn", Role.MEMBER_STATE)


@pytest.fixture
def th_focal_point(consultation, orgs):
    return _participant(consultation, orgs, "th.focal@example.org", "th", Role.MEMBER_STATE, focal=True)


@pytest.fixture
def superuser(db):
    """Django's superuser: the admin site, and no part in any consultation."""
    return factories.UserFactory(email="root@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    """The test client logged in as `superuser` (replaces pytest-django's admin_client)."""
    client.force_login(superuser)
    return client


@pytest.fixture
def site_admin(db):
    return factories.UserFactory(email="admin@example.org", is_staff=True)


@pytest.fixture
def personas(secretariat, consultant, vn_delegate, vn_focal_point, th_delegate, partner, outsider, site_admin):
    return {
        "secretariat": secretariat,
        "consultant": consultant,
        "vn_delegate": vn_delegate,
        "vn_focal_point": vn_focal_point,
        "th_delegate": th_delegate,
        "partner": partner,
        "outsider": outsider,
        "admin": site_admin,
    }


@pytest.fixture
def version(consultation):
    """Published version 0.1 with a component, a chapter and two clauses."""
    version = factories.DraftVersionFactory(consultation=consultation, number="0.1", major=0, minor=1)
    factories.build_sections(
        version,
        [
            ("outcomes", "1", "Strategic outcomes", "", None),
            ("infra", "1.1", "Seamless and inclusive digital infrastructure", "", "outcomes"),
            ("infra-5g", "1.1.1", "5G and 6G networks", FIVE_G, "infra"),
            ("infra-dc", "1.1.2", "Data centres", DATA_CENTRES, "infra"),
        ],
    )
    return version


@pytest.fixture
def open_round(version):
    return factories.EngagementRoundFactory(
        version=version, title="Second stakeholder engagement", state=EngagementRound.State.OPEN
    )


@pytest.fixture
def clause(version):
    """1.1.1 '5G and 6G networks': FIVE_G."""
    return version.sections.get(key="infra-5g")


@pytest.fixture
def other_clause(version):
    """1.1.2 'Data centres': DATA_CENTRES."""
    return version.sections.get(key="infra-dc")


@pytest.fixture
def closed_round(version):
    """A round on `version` that ran for ten days and closed an hour ago."""
    return factories.ClosedRoundFactory(version=version, title="First stakeholder engagement")


@pytest.fixture
def scheduled_round(version):
    """A round on `version` opening in two days for two weeks."""
    return factories.EngagementRoundFactory(
        version=version,
        title="First stakeholder engagement",
        state=EngagementRound.State.SCHEDULED,
        opens_at=timezone.now() + timedelta(days=2),
        closes_at=timezone.now() + timedelta(days=16),
    )
