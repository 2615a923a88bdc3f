from celery import shared_task

from . import services


@shared_task(name="notifications.send_outbound_email", ignore_result=True)
def send_outbound_email(email_id: int) -> None:
    # A failure is recorded on the row with its next attempt; the sweep retries it.
    services.outbound_email_send(email_id=email_id)


@shared_task(name="notifications.send_outbound_emails", ignore_result=True)
def send_outbound_emails(email_ids: list[int]) -> None:
    # Queued once per chunk by the sweeps (`email_sends_batched`); each is claimed on its own.
    for email_id in email_ids:
        services.outbound_email_send(email_id=email_id)


@shared_task(name="notifications.outbox_sweep")
def outbox_sweep() -> int:
    return services.outbox_sweep()
