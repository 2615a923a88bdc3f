from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fluid, Layout, Size, Submit
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    SetPasswordForm,
    UsernameField,
)

from core.forms import GovukMessages

from . import selectors

EMAIL_ERRORS = {
    "required": "Enter your email address",
    "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
    "max_length": "Email address must be 254 characters or fewer",
}


class SignInForm(GovukMessages, AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages=EMAIL_ERRORS,
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

    def clean_username(self):
        # Sign-in matches the address in any letter case; the lock-out counts it in one.
        return self.cleaned_data["username"].lower()


class PasswordLinkRequestForm(GovukMessages, PasswordResetForm):
    """ "Enter your work email address": the question page asking for a password link.

    Only the form is Django's: the view hands the address to
    `people.services.password_reset_request`, which emails through the outbox and writes the
    audit trail, so `save()` (Django's direct `send_mail`) is not used.
    """

    email = forms.EmailField(
        label="Enter your work email address",
        help_text="The address you use for work, like name@example.gov.uk",
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.text(
                "email", label_size=Size.LARGE, label_tag="h1", field_width=Fluid.TWO_THIRDS
            ),
            Submit("send", "Send me a link", data_prevent_double_click="true"),
        )

    def get_users(self, email):
        # Unlike Django's, people without a usable password (not signed in yet) are included.
        return iter(selectors.people_for_password_link(email=email))

    def save(self, *args, **kwargs):
        raise NotImplementedError("Use people.services.password_reset_request")


class PasswordCreateForm(SetPasswordForm):
    """ "Create a password": the new password twice, checked by AUTH_PASSWORD_VALIDATORS."""

    error_messages = {"password_mismatch": "Enter the same password in both boxes"}

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        new, again = self.fields["new_password1"], self.fields["new_password2"]
        new.label = "New password"
        new.help_text = (
            "At least 12 characters. Do not use only numbers, a common password or one like your "
            "name or email address."
        )
        new.error_messages["required"] = "Enter a new password"
        again.label = "Enter the new password again"
        again.help_text = ""
        again.error_messages["required"] = "Enter the new password again"
        for field in (new, again):
            field.widget.attrs.update({"autocomplete": "new-password", "spellcheck": "false"})
            field.widget.attrs.pop("autofocus", None)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.text("new_password1", field_width=Fluid.TWO_THIRDS),
            Field.text("new_password2", field_width=Fluid.TWO_THIRDS),
            Submit("save", "Save password", data_prevent_double_click="true"),
        )

    def clean(self):
        # Django checks the second box against the validators; the first is the one a person
        # types the password into, so its errors go there (and once, not on both).
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)

    def save(self, commit=True):
        raise NotImplementedError("Use people.services.password_reset_complete")


class AdminSignInForm(AdminAuthenticationForm):
    """The Django admin's sign-in, with its email address limited in length.

    Django's AuthenticationForm sets the username field's max_length after the field is
    built, so the limit is never checked: an address of a few hundred characters would reach
    django-axes, whose record of the failed sign-in (255 characters) breaks with a 500,
    where the form should say the email address is too long.
    """

    username = UsernameField(max_length=254, widget=forms.TextInput(attrs={"autofocus": True}))

    def clean(self):
        if not settings.LOCAL_PASSWORDS:
            # Nothing is checked or counted: with passwords off there is none to guess.
            raise forms.ValidationError(
                "Passwords are switched off. Sign in on the portal's sign-in page with your "
                f"{settings.DEPARTMENT_NAME} account, then open Admin.",
                code="passwords_off",
            )
        return super().clean()
