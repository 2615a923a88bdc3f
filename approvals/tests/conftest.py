import pytest


@pytest.fixture
def reminder_rules(settings):
    """The reminder and lapse rules the reminder tests count with, and no bank holidays."""
    settings.SNS_REMINDER_WORKING_DAYS = 3
    settings.SNS_MAX_REMINDERS = 3
    settings.SNS_LAPSE_AFTER_DAYS = 30
    settings.SNS_APPROVAL_TOKEN_DAYS = 14
    settings.SNS_BANK_HOLIDAYS = []
    return settings
