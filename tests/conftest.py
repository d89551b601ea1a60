"""Shared fixtures: role personas, a consultation with a draft under review, service checks.

Tests that need a real service carry a marker (postgres, redis, celery_worker, e2e). Without
the service they skip with a one-line reason; with CI=true a missing service fails the run.
"""

import os
import shutil
import socket

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.models import Role
from consultations.models import EngagementRound
from tests import factories

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url_host: str, port: int) -> bool:
    try:
        with socket.create_connection((url_host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _redis_available() -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(settings.TEST_REDIS_URL)
    return _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing_services() -> dict[str, str]:
    missing = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "PostgreSQL is not reachable on 127.0.0.1:5432 (tests ran on SQLite)"
    if not _redis_available():
        missing["redis"] = f"Redis is not reachable at {settings.TEST_REDIS_URL}"
    if "postgres" in missing or "redis" in missing:
        missing["celery_worker"] = "a live Celery worker needs PostgreSQL and Redis"
    if not chromium_path():
        missing["e2e"] = "Chromium is not installed (apt-get install chromium)"
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        missing["libreoffice"] = "LibreOffice is not installed (apt-get install libreoffice-calc)"
    return missing


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
    user = factories.UserFactory(email=email, organisation=orgs[org_key])
    factories.ParticipationFactory(
        consultation=consultation, user=user, organisation=orgs[org_key], role=role, is_focal_point=focal
    )
    return user


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


FIVE_G = "Member states will extend 5G coverage to all urban areas by 2028."


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
            ("infra-dc", "1.1.2", "Data centres", "Regional data centres will run on renewable energy.", "infra"),
        ],
    )
    return version


@pytest.fixture
def open_round(version):
    return factories.EngagementRoundFactory(
        version=version, title="Second stakeholder engagement", state=EngagementRound.State.OPEN
    )
