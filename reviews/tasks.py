from celery import shared_task

from . import services


@shared_task(name="reviews.access_reviews_sweep")
def access_reviews_sweep() -> None:
    """Beat's one task for reviews: the schedule, reminders, escalation, then the end."""
    services.access_review_start_scheduled()
    services.access_review_remind_due()
    services.access_review_escalate_due()
    services.access_review_close_due()
