import datetime

from core.working_days import add_working_days


def test_working_days_skip_weekends_and_bank_holidays(settings):
    settings.SNS_BANK_HOLIDAYS = ["2026-12-25", "2026-12-28", "2027-01-01"]
    assert add_working_days(datetime.date(2026, 12, 4), 3) == datetime.date(2026, 12, 9)
    assert add_working_days(datetime.date(2026, 12, 23), 3) == datetime.date(2026, 12, 30)
    assert add_working_days(datetime.date(2026, 12, 31), 1) == datetime.date(2027, 1, 4)
