"""ensure_participation keeps a participation in step with the person's organisation (User.organisation)."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role
from consultations.services import ensure_participation
from tests import factories


@pytest.mark.django_db
def test_a_person_without_an_organisation_gets_the_participation_s(consultation, orgs):
    user = factories.UserFactory(email="new@example.org", organisation=None)
    ensure_participation(
        consultation=consultation, user=user, organisation=orgs["th"], role=Role.MEMBER_STATE, is_focal_point=False
    )
    user.refresh_from_db()
    assert user.organisation == orgs["th"]


@pytest.mark.django_db
def test_a_person_of_another_organisation_is_refused(consultation, orgs):
    user = factories.UserFactory(email="vn@example.org", organisation=orgs["vn"])
    with pytest.raises(ValidationError, match="a person acts for one organisation"):
        ensure_participation(
            consultation=consultation, user=user, organisation=orgs["th"], role=Role.MEMBER_STATE, is_focal_point=False
        )
    assert not user.participations.exists()


@pytest.mark.django_db
def test_the_role_is_the_organisation_s_kind(consultation, orgs):
    user = factories.UserFactory(email="vn@example.org", organisation=orgs["vn"])
    with pytest.raises(ValidationError, match="The role must match the organisation"):
        ensure_participation(
            consultation=consultation, user=user, organisation=orgs["vn"], role=Role.SECRETARIAT, is_focal_point=False
        )
