"""What consolidation does when something happens in consultations (consultations.signals)."""

from consultations.signals import round_closed, version_published

from .services.aggregation import consolidation_request_for_closed_round
from .services.carry_over import queue_carry_over


def consolidate_closed_round(sender, *, round_id: int, **kwargs) -> None:
    """A closed round is consolidated at once (queued on commit; idempotent)."""
    consolidation_request_for_closed_round(round_id=round_id)


def carry_over_into_published_version(sender, *, version, **kwargs) -> None:
    """Open comments on earlier versions follow their passages into the published one (Celery)."""
    queue_carry_over(version)


def connect() -> None:
    round_closed.connect(consolidate_closed_round, dispatch_uid="consolidation.consolidate_closed_round")
    version_published.connect(carry_over_into_published_version, dispatch_uid="consolidation.carry_over")
