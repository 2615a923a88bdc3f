"""Form fields every app's questions share."""

import re

from crispy_forms_gds.fields import DateInputField
from django import forms
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
