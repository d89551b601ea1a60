"""config.rows: instances from a hand-written SELECT are the ones the ORM would have made."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from config.rows import Columns, converted
from consultations.models import EngagementRound, Participation, RoundExtension
from tests.factories import EngagementRoundFactory, OrganisationFactory, RoundExtensionFactory

pytestmark = pytest.mark.django_db

ROUND = Columns(EngagementRound, "r")
WRITER = Columns(Participation, "p", after=ROUND)


def _row(round_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {ROUND.sql}, {WRITER.sql}, (SELECT x.closes_at FROM consultations_roundextension x"
            " WHERE x.round_id = r.id LIMIT 1)"
            f" FROM {ROUND.table} LEFT JOIN {WRITER.table} ON p.consultation_id = r.consultation_id AND p.id < 0"
            " WHERE r.id = %s",
            [round_id],
        )
        return cursor.fetchone()


def test_an_instance_equals_the_orms_with_json_dates_and_choices_converted():
    engagement_round = EngagementRoundFactory(commenting_roles=["delegate", "focal_point"])
    row = _row(engagement_round.pk)

    built = ROUND.build(row)
    stored = EngagementRound.objects.get(pk=engagement_round.pk)
    assert model_to_dict(built) == model_to_dict(stored)
    assert built.commenting_roles == ["delegate", "focal_point"]  # JSON, not its text
    assert built.opens_at == stored.opens_at and built.opens_at.tzinfo is not None
    assert built._state.adding is False and built._state.db == "default"  # saved as an update


def test_a_left_join_that_found_nothing_is_none():
    engagement_round = EngagementRoundFactory()
    assert WRITER.build(_row(engagement_round.pk)) is None


def test_a_subquerys_value_is_converted_as_its_field_would_be():
    extension = RoundExtensionFactory(round=EngagementRoundFactory(), organisation=OrganisationFactory())
    value = converted(RoundExtension._meta.get_field("closes_at"), _row(extension.round_id)[-1])
    assert value == RoundExtension.objects.get(pk=extension.pk).closes_at
