"""Factories and personas local to the comments tests.

Comments are built directly with CommentFactory when a test is about reading (visibility);
tests about writing go through comments.services.
"""

import factory
import pytest
from django.core.cache import cache
from django.utils import timezone

from comments.models import Comment
from consultations.models import Role, Section
from tests import factories


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    round = None
    section = None
    author = None
    organisation = factory.LazyAttribute(lambda c: c.author.organisation)
    type = Comment.Type.TECHNICAL
    body = factory.Sequence(lambda n: f"Comment {n}: the target should name a year.")
    status = Comment.Status.DRAFT
    submitted_at = factory.LazyAttribute(
        lambda c: timezone.now() if c.status in (Comment.Status.SUBMITTED, Comment.Status.WITHDRAWN) else None
    )
    withdrawn_at = factory.LazyAttribute(lambda c: timezone.now() if c.status == Comment.Status.WITHDRAWN else None)


def participant(consultation, organisation, email: str, role: str, *, focal: bool = False):
    user = factories.UserFactory(email=email, organisation=organisation)
    factories.ParticipationFactory(
        consultation=consultation, user=user, organisation=organisation, role=role, is_focal_point=focal
    )
    return user


@pytest.fixture(autouse=True)
def _clear_cache():
    """The rate limit counts in the cache; every test starts with none counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clause(version) -> Section:
    """1.1.1 '5G and 6G networks': 'Member states will extend 5G coverage to all urban areas by 2028.'"""
    return version.sections.get(key="infra-5g")


@pytest.fixture
def other_clause(version) -> Section:
    return version.sections.get(key="infra-dc")


@pytest.fixture
def vn_colleague(consultation, orgs):
    """A second Vietnamese delegate (not the focal point)."""
    return participant(consultation, orgs["vn"], "vn.colleague@example.org", Role.MEMBER_STATE)


@pytest.fixture
def th_focal_point(consultation, orgs):
    return participant(consultation, orgs["th"], "th.focal@example.org", Role.MEMBER_STATE, focal=True)


@pytest.fixture
def make_round(version):
    """An engagement round on `version` with the given fields (state open by default)."""

    def make(**fields):
        return factories.EngagementRoundFactory(version=version, **fields)

    return make
