"""Beat's daily check of the comment counts against the comments (services.counts)."""

from celery import shared_task

from ..services import counts

__all__ = ["check_comment_counts"]


@shared_task(name="consolidation.tasks.check_comment_counts")
def check_comment_counts() -> dict[str, int]:
    return counts.check_and_repair()
