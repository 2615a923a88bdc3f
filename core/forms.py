"""Form fields every app's questions share."""

import datetime
import re

from crispy_forms_gds.fields import DateInputField
from django import forms
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


# Django's own wording, which a GOV.UK page never shows: a message matching it is reworded
# from the field's label (the portal's own messages are left as they are).
DJANGO_WORDING = re.compile(
    r"Ensure this value|Select a valid choice|is not one of the available choices"
    r"|Null characters are not allowed|This field is required|Enter a valid"
    r"|Enter a whole number|Enter a number|Enter a list of values",
    re.IGNORECASE,
)


def govuk_message(field: forms.Field, error: ValidationError) -> ValidationError:
    """`error` in GOV.UK words: Django's defaults reworded from the field's label."""
    if not any(DJANGO_WORDING.search(str(message)) for message in error.messages):
        return error
    label = str(field.label or "").strip()
    # A label that asks a question ("Who will you engage with?") reads badly as a subject.
    subject = label if label and not label.endswith("?") else "Your answer"
    lowered = subject[0].lower() + subject[1:] if subject != "Your answer" else "an answer"
    if isinstance(field, forms.MultiValueField):
        message = f"{subject} must be a real date"
    elif error.code == "max_length":
        message = f"{subject} must be {error.params['limit_value']} characters or fewer"
    elif error.code in {"invalid_choice", "invalid_list", "invalid_pk_value"}:
        message = f"Choose {lowered} from the list"
    elif error.code == "null_characters_not_allowed":
        message = f"{subject} must not include control characters"
    elif error.code == "required":
        message = f"Enter {lowered}"
    else:
        message = f"Enter {lowered} in the correct format"
    return ValidationError(message, code=error.code)


class GovukMessages:
    """A form mixin: one message per field, in GOV.UK words.

    Django runs every validator of a field and `clean()` may add to a field that already
    failed, so one problem (a value too long) can show as two messages; GOV.UK shows the
    first problem only, and never Django's default wording.
    """

    def full_clean(self):
        super().full_clean()
        for name, errors in list((self._errors or {}).items()):
            if name not in self.fields or not errors:
                continue
            first = govuk_message(self.fields[name], errors.as_data()[0])
            self._errors[name] = self.error_class([first], renderer=self.renderer)


class GovukForm(GovukMessages, forms.Form):
    """A form whose messages are GOV.UK ones (see `GovukMessages`)."""
