"""Carry the open comments over when a version is published. Thin: takes an id, calls the service."""

from celery import shared_task
from django.db import OperationalError

from ..services.carry_over import carry_over_execute

__all__ = ["carry_over_version"]


@shared_task(
    name="consolidation.tasks.carry_over_version",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=5,
)
def carry_over_version(version_id: int) -> dict:
    """Idempotent: claims the version's CarryOverJob; a rerun replaces the anchors it made."""
    return carry_over_execute(version_id=version_id)
