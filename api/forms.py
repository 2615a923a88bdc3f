"""The admins' question page for a new service token."""

import datetime

from crispy_forms_gds.choices import Choice
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fluid, Layout, Size, Submit
from django import forms
from django.utils import timezone

from core.forms import GovukForm, RealDateInputField
from people.models import User

from .models import Scope
from .services import LONGEST_LIFE


class ServiceTokenForm(GovukForm):
    name = forms.CharField(
        label="Name",
        help_text="Say which system uses it, like “Security monitoring (SIEM)”.",
        max_length=100,
        error_messages={
            "required": "Enter a name for the token",
            "max_length": "The name must be 100 characters or fewer",
        },
    )
    owner_email = forms.EmailField(
        label="Owner's email address",
        help_text="The person who answers for the token's use. They must be in the staff directory.",
        max_length=254,
        error_messages={
            "required": "Enter the owner's email address",
            "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
            "max_length": "The owner's email address must be 254 characters or fewer",
        },
    )
    scopes = forms.MultipleChoiceField(
        label="What may it read?",
        help_text="Select all that apply.",
        widget=forms.CheckboxSelectMultiple,
        choices=[Choice(value, label) for value, label in Scope.choices],
        error_messages={
            "required": "Select what the token may read",
            "invalid_choice": "Select what the token may read from the list",
            "invalid_list": "Select what the token may read from the list",
        },
    )
    expires_on = RealDateInputField(label="Expiry date", require_all_fields=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        latest = timezone.localdate() + LONGEST_LIFE
        self.fields["expires_on"].error_messages["required"] = "Enter the expiry date"
        self.fields["expires_on"].help_text = (
            f"At most a year from today, for example {latest:%-d %-m %Y}. "
            "It stops working at the start of that day."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.text("name", field_width=Fluid.TWO_THIRDS),
            Field.text("owner_email", field_width=Fluid.TWO_THIRDS),
            Field.checkboxes("scopes", legend_size=Size.MEDIUM),
            Field("expires_on"),
            Submit("create", "Create token", data_prevent_double_click="true"),
        )

    def clean_owner_email(self):
        email = self.cleaned_data["owner_email"].strip().lower()
        owner = User.objects.filter(email__iexact=email, is_active=True).first()
        if owner is None:
            raise forms.ValidationError("Enter the email address of someone in the staff directory")
        self.owner = owner
        return email

    def expires_at(self) -> datetime.datetime:
        """The start of the expiry day, in the portal's time zone."""
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
