"""The date filters the pages share."""

import datetime

import pytest

from core.templatetags.list_filters import govuk_date_time, govuk_time


@pytest.mark.parametrize(
    ("hour", "minute", "words"),
    [(15, 5, "3:05pm"), (10, 0, "10am"), (12, 0, "midday"), (0, 0, "midnight"), (0, 30, "12:30am")],
)
def test_times_are_written_as_govuk_writes_them(hour, minute, words):
    assert govuk_time(datetime.time(hour, minute)) == words
    moment = datetime.datetime(2026, 12, 4, hour, minute, tzinfo=datetime.UTC)
    assert govuk_date_time(moment) == f"4 December 2026 at {words}"  # London is on UTC in winter
