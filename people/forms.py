from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fluid, Layout, Submit
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.exceptions import ValidationError


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        error_messages={"required": "Enter your password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": "Enter a correct email address and password",
        "inactive": "This account has been switched off. Contact your administrator.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page template has the form and its token
        self.helper.layout = Layout(
            Field.text("username", field_width=Fluid.TWO_THIRDS),
            Field.text("password", field_width=Fluid.TWO_THIRDS),
            Submit("sign_in", "Sign in", data_prevent_double_click="true"),
        )


class AdminSignInForm(AdminAuthenticationForm):
    """The Django admin's sign-in, with its email address limited in length.

    Django's AuthenticationForm sets the username field's max_length after the field is
    built, so the limit is never checked: an address of a few hundred characters reached
    django-axes, whose record of the failed sign-in (255 characters) broke with a 500
    instead of the form saying the email address was too long.
    """

    username = UsernameField(max_length=254, widget=forms.TextInput(attrs={"autofocus": True}))


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
