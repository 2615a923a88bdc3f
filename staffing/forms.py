"""The admin's switch-off form: a reason and a confirmation."""

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Button, Field, Layout, Size
from django import forms

from core.forms import GovukForm


class SwitchOffForm(GovukForm):
    reason = forms.CharField(
        label="Why are you switching this person off?",
        help_text="Kept in the audit trail, and the reason their access was revoked.",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter a reason",
            "max_length": "Reason must be 1000 characters or fewer",
        },
    )
    confirm = forms.BooleanField(
        label="I understand that their access ends now",
        error_messages={"required": "Confirm that their access ends now"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page template has the form and its token
        self.helper.layout = Layout(
            Field.textarea("reason", label_size=Size.MEDIUM, max_characters=1000),
            Field.checkbox("confirm"),
            Button.warning("submit", "Switch off", data_prevent_double_click="true"),
        )
