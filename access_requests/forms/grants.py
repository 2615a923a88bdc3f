"""Forms for the grant pages: ICT provisioning and sending back, revoking."""

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Button, Field, Fluid, Layout, Size, Submit
from django import forms

from access_requests.models import AccessTier
from core.forms import GovukForm


def _helper(*fields, submit: str, warning: bool = False) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the page template has the form and its token
    button = (
        Button.warning("submit", submit, data_prevent_double_click="true")
        if warning
        else Submit("submit", submit, data_prevent_double_click="true")
    )
    helper.layout = Layout(*fields, button)
    return helper


class ProvisionForm(GovukForm):
    """ICT marks a grant provisioned; the active tier records the standalone PC's asset tag."""

    asset_tag = forms.CharField(
        label="Asset tag of the standalone PC",
        help_text="The tag on the PC you have set up for this person, for example HO-123456",
        max_length=50,
        required=False,
        error_messages={"max_length": "The asset tag must be 50 characters or fewer"},
    )

    def __init__(self, *args, tier: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.tier = tier
        fields = []
        if tier == AccessTier.ACTIVE:
            self.fields["asset_tag"].required = True
            self.fields["asset_tag"].error_messages["required"] = (
                "Enter the asset tag of the standalone PC"
            )
            fields.append(Field.text("asset_tag", field_width=Fluid.ONE_THIRD))
        else:
            del self.fields["asset_tag"]
        self.helper = _helper(*fields, submit="Mark provisioned")


class ReasonForm(GovukForm):
    """A reason for sending a grant back (ICT) or revoking it (admin or director)."""

    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter a reason",
            "max_length": "Reason must be 1000 characters or fewer",
        },
    )

    def __init__(self, *args, label: str, hint: str, submit: str, warning: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.fields["reason"].help_text = hint
        self.helper = _helper(
            Field.textarea("reason", label_size=Size.MEDIUM, max_characters=1000),
            submit=submit,
            warning=warning,
        )
