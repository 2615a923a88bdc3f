"""Form fields every app's questions share."""

import datetime
import re

from crispy_forms_gds.fields import DateInputField
from django.core.exceptions import ValidationError


class RealDateInputField(DateInputField):
    """crispy-forms-gds's GOV.UK date input, saying "Enter a real date" (or the form's own
    "invalid" message) for a date that does not exist.

    The pack's `compress()` shows Python's own words for an impossible date ("day is out of
    range for month") and lets OverflowError through (a year of 99999999999999999999 is a
    500): use this field for every date question.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.error_messages["invalid"] = "Enter a real date"
        for subfield in self.fields:
            subfield.validators = [_Digits(self)]

    def compress(self, data_list):
        day, month, year = data_list
        if not (day and month and year):
            return None
        try:
            return datetime.date(day=int(day), month=int(month), year=int(year))
        except (ValueError, OverflowError) as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class _Digits:
    """A part of the date must be digits; otherwise the date field's own "invalid" message,
    read when it is used, so a form may set that message after building the field."""

    def __init__(self, field: RealDateInputField):
        self.field = field

    def __call__(self, value) -> None:
        if not re.fullmatch(r"[0-9]+", str(value)):
            raise ValidationError(self.field.error_messages["invalid"], code="invalid")
