"""Celery tasks for consultation windows. Thin: they take ids, call a service, own retries."""

from celery import shared_task

from config.jobs import publish

from . import services


@shared_task(name="consultations.tasks.advance_rounds")
def advance_rounds() -> dict:
    """Beat, every ROUND_TICK_SECONDS: open and close rounds, queue the reminders due."""
    result = services.rounds_advance()
    due = services.reminders_due()
    for round_id, kind in due:
        publish(send_round_notices, round_id, kind)
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


@shared_task(name="consultations.tasks.sweep_round_notices")
def sweep_round_notices() -> list[str]:
    """Beat: queue again the round e-mails a broker outage or a failed send left unsent."""
    due = services.round_notices_stranded()
    for round_id, kind in due:
        publish(send_round_notices, round_id, kind)
    return [f"{round_id}:{kind}" for round_id, kind in due]
