"""Engagement rounds in a given state, beyond the shared fixtures (open_round, closed_round, scheduled_round)."""

from datetime import timedelta

from django.utils import timezone

from tests import factories


def closed_round_on(version, **fields):
    """A round on `version` that ran for two weeks and closed a day ago (fields override)."""
    now = timezone.now()
    values = {"opens_at": now - timedelta(days=14), "closes_at": now - timedelta(days=1)}
    values.update(fields)
    values.setdefault("final_closes_at", values["closes_at"])
    values.setdefault("closed_at", values["closes_at"])
    return factories.ClosedRoundFactory(version=version, **values)
