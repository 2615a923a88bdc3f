"""Working days: Monday to Friday, except the bank holidays in `SNS_BANK_HOLIDAYS`."""

import datetime

from django.conf import settings


def bank_holidays() -> frozenset[datetime.date]:
    return frozenset(datetime.date.fromisoformat(day) for day in settings.SNS_BANK_HOLIDAYS)


def is_working_day(day: datetime.date, holidays: frozenset[datetime.date] | None = None) -> bool:
    holidays = bank_holidays() if holidays is None else holidays
    return day.weekday() < 5 and day not in holidays


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
    from django.utils import timezone

    local = timezone.localtime(moment)
    later = add_working_days(local.date(), count)
    return timezone.make_aware(datetime.datetime.combine(later, local.time().replace(tzinfo=None)))
