"""Working days: Monday to Friday, except the bank holidays in `SNS_BANK_HOLIDAYS`.

Used by the grants' expiry notices and by approvals' reminders (which imports it from here,
the lower layer).
"""

import datetime

from django.conf import settings
from django.utils import timezone


def bank_holidays() -> frozenset[datetime.date]:
    return frozenset(datetime.date.fromisoformat(day) for day in settings.SNS_BANK_HOLIDAYS)


def is_working_day(day: datetime.date, holidays: frozenset[datetime.date] | None = None) -> bool:
    holidays = bank_holidays() if holidays is None else holidays
    return day.weekday() < 5 and day not in holidays


def working_day_on_or_before(day: datetime.date) -> datetime.date:
    """`day` itself if it is a working day, otherwise the working day before it."""
    holidays = bank_holidays()
    while not is_working_day(day, holidays):
        day -= datetime.timedelta(days=1)
    return day


def add_working_days(day: datetime.date, count: int) -> datetime.date:
    """The date `count` working days after `day` (`day` itself never counts)."""
    holidays = bank_holidays()
    while count > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day, holidays):
            count -= 1
    return day


def add_working_days_at(moment: datetime.datetime, count: int) -> datetime.datetime:
    """The same local time of day, `count` working days later (a reminder's due time)."""
    local = timezone.localtime(moment)
    later = add_working_days(local.date(), count)
    return timezone.make_aware(datetime.datetime.combine(later, local.time().replace(tzinfo=None)))
