"""A GOV.UK date input must refuse a number too big for a date, not crash (found by fuzzing)."""

import pytest
from crispy_forms_gds.fields import DateInputField
from django import forms

from core.forms import RealDateInputField

HUGE = "99999999999999999999999999"


class WithRealDate(forms.Form):
    when = RealDateInputField(label="Date")


class WithPackDate(forms.Form):
    when = DateInputField(label="Date")


@pytest.mark.parametrize(
    "day,month,year",
    [(HUGE, HUGE, HUGE), ("1", "1", HUGE), (HUGE, "1", "2026"), ("1", HUGE, "2026")],
)
def test_a_date_too_big_for_python_is_a_form_error(day, month, year):
    form = WithRealDate({"when_0": day, "when_1": month, "when_2": year})
    assert not form.is_valid()
    assert form.errors["when"]


def test_a_real_date_is_still_taken():
    form = WithRealDate({"when_0": "27", "when_1": "3", "when_2": "2026"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["when"].isoformat() == "2026-03-27"


def test_the_packs_own_field_crashes_on_it_which_is_why_the_portal_has_its_own():
    form = WithPackDate({"when_0": "1", "when_1": "1", "when_2": HUGE})
    with pytest.raises(OverflowError):
        form.is_valid()


@pytest.mark.parametrize(
    "day,month,year", [("31", "2", "2026"), ("0", "1", "2026"), ("x", "1", "2026")]
)
def test_a_date_that_does_not_exist_gets_a_gov_uk_message_not_pythons(day, month, year):
    form = WithRealDate({"when_0": day, "when_1": month, "when_2": year})
    assert not form.is_valid()
    assert form.errors["when"] == ["Enter a real date"]
