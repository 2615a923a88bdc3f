"""Forms for "Manage sites": adding a site and renaming one."""

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fluid, Layout, Size, Submit
from django import forms

from access_requests.models import Site
from core.forms import GovukForm

NAME_MAX = Site._meta.get_field("name").max_length
URL_MAX = Site._meta.get_field("url").max_length


def _helper(*fields, submit: str) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the page template has the form and its token
    helper.layout = Layout(*fields, Submit("submit", submit, data_prevent_double_click="true"))
    return helper


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text="As staff know it, for example LinkedIn",
        max_length=NAME_MAX,
        error_messages={
            "required": "Enter the site's name",
            "max_length": f"The site's name must be {NAME_MAX} characters or fewer",
        },
    )


class SiteAddForm(GovukForm):
    name = _name_field("Name")
    url = forms.URLField(
        label="Address",
        help_text="The site's web address, for example https://www.linkedin.com/",
        max_length=URL_MAX,
        assume_scheme="https",
        error_messages={
            "required": "Enter the site's address",
            "invalid": "Enter the site's address in the correct format, like https://www.example.com/",
            "max_length": f"The site's address must be {URL_MAX} characters or fewer",
        },
    )
    allows_shared_display_names = forms.TypedChoiceField(
        label="May several accounts on this site share one display name?",
        help_text="If yes, staff asking for it are told they should not need a pseudonym there.",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select yes if several accounts may share one display name",
            "invalid_choice": "Select yes if several accounts may share one display name",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Field.text("name", field_width=Fluid.TWO_THIRDS),
            Field.text("url"),
            Field.radios("allows_shared_display_names", legend_size=Size.MEDIUM, inline=True),
            submit="Add site",
        )


class SiteRenameForm(GovukForm):
    name = _name_field("New name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Field.text("name", field_width=Fluid.TWO_THIRDS), submit="Rename site"
        )
