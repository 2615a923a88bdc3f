"""Form fields every app's questions share."""

from crispy_forms_gds.fields import DateInputField
from django.core.exceptions import ValidationError


class RealDateInputField(DateInputField):
    """crispy-forms-gds's GOV.UK date input, refusing a day, month or year too big for a date.

    Its `compress()` turns ValueError into a form error but lets OverflowError through
    (a year of 99999999999999999999 is a 500): use this field for every date question.
    """

    def compress(self, data_list):
        try:
            return super().compress(data_list)
        except OverflowError as error:
            raise ValidationError("Enter a real date", code="invalid") from error
