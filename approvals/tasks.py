from celery import shared_task

from . import services


@shared_task(name="approvals.remind_due")
def approval_remind_due() -> int:
    """Reminders and escalations that are due (each row taken with skip_locked)."""
    return services.approval_remind_due()


@shared_task(name="approvals.lapse_due")
def case_lapse_due() -> int:
    """Cases undecided for `SNS_LAPSE_AFTER_DAYS` lapse."""
    return services.case_lapse_due()


@shared_task(name="approvals.delegations_end_due")
def delegations_end_due() -> int:
    """Delegations past their last day: the deputy's open requests are superseded."""
    return services.delegations_end_due()
