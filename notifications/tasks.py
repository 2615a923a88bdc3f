from celery import shared_task

from . import services


@shared_task(name="notifications.send_outbound_email", ignore_result=True)
def send_outbound_email(email_id: int) -> None:
    # A failure is recorded on the row with its next attempt; the sweep retries it.
    services.outbound_email_send(email_id=email_id)


@shared_task(name="notifications.outbox_sweep")
def outbox_sweep() -> int:
    return services.outbox_sweep()
