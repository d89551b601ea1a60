"""Celery tasks for consultation windows. Thin: they take ids, call a service, own retries."""

from celery import shared_task

from . import services


@shared_task(name="consultations.tasks.advance_rounds")
def advance_rounds() -> dict:
    """Beat, every ROUND_TICK_SECONDS: open and close rounds, queue the reminders due."""
    result = services.rounds_advance()
    due = services.reminders_due()
    for round_id, kind in due:
        send_round_notices.delay(round_id, kind)
    result["reminders"] = [f"{round_id}:{kind}" for round_id, kind in due]
    return result


@shared_task(
    name="consultations.tasks.send_round_notices",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def send_round_notices(round_id: int, kind: str) -> int:
    return services.round_notices_send(round_id=round_id, kind=kind)
