from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import ConditionalRadios, Field, Fluid, Layout, Size, Submit
from django import forms
from django.utils import timezone

from access_requests.forms.business_cases import RevealQuestion
from access_requests.models import BusinessCase
from core.forms import GovukForm, RealDateInputField

from .models import ApprovalRequest
from .selectors import (
    NOT_AN_APPROVER,
    approver_may_name_deputy,
    delegation_too_long,
    deputy_refused_because,
)

REASON_MAX = 2000
QUESTION_MAX = 2000

# The decision page's third choice: not a decision, so not an ApprovalRequest.Decision.
ASK_MORE_INFORMATION = "more_information"
CHOOSE = "Select approve, reject or ask for more information"


class DecisionRadios(ConditionalRadios):
    """The decision's radios with their legend as the form's medium heading."""

    def render(self, form, context, *args, **kwargs):
        context.update({"legend_size": Size.for_legend(Size.MEDIUM), "legend_tag": "h2"})
        return super().render(form, context, *args, **kwargs)


class DecisionForm(GovukForm):
    """Approve, reject or ask the requester for more information about one case. Only the
    POST of this form changes anything."""

    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            *ApprovalRequest.Decision.choices,
            (ASK_MORE_INFORMATION, "Ask for more information"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": CHOOSE, "invalid_choice": CHOOSE},
    )
    end_date = RealDateInputField(
        label="End access earlier (optional)",
        require_all_fields=False,
        required=False,
    )
    reason = forms.CharField(
        label="Reason",
        help_text="Shown to the requester. You must give a reason if you reject the case.",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": f"Reason must be {REASON_MAX} characters or fewer"},
    )
    question = forms.CharField(
        label="Your question for the requester",
        help_text="They will see it on their request and in an email, change any answer and "
        "send the case back to you.",
        required=False,
        max_length=QUESTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": f"Your question must be {QUESTION_MAX} characters or fewer"},
    )

    def __init__(self, *args, case: BusinessCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["end_date"].help_text = (
            f"They asked for access until {case.end_date:%-d %B %Y}. To allow less, enter an "
            f"earlier date, for example {case.start_date:%-d %-m %Y}. Leave it empty to allow "
            "the dates they asked for."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            # The end date and the question sit inside their choice's reveal: always in the
            # page (so it works without JavaScript), hidden by GOV.UK Frontend's script
            # until that choice is selected.
            DecisionRadios(
                "decision",
                RevealQuestion("Approve", Field("end_date")),
                RevealQuestion("Reject"),
                RevealQuestion(
                    "Ask for more information",
                    Field.textarea("question", max_characters=QUESTION_MAX, rows=4),
                ),
            ),
            Field.textarea("reason", max_characters=REASON_MAX, rows=4),
            Submit("send", "Send decision", data_prevent_double_click="true"),
        )

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        reason = (cleaned.get("reason") or "").strip()
        question = (cleaned.get("question") or "").strip()
        end_date = cleaned.get("end_date")
        if decision == ASK_MORE_INFORMATION and not question:
            self.add_error("question", "Enter your question for the requester")
        if decision == ApprovalRequest.Decision.REJECT and not reason:
            self.add_error("reason", "Enter the reason for rejecting the case")
        if decision == ApprovalRequest.Decision.APPROVE and end_date is not None:
            if end_date > self.case.end_date:
                self.add_error(
                    "end_date",
                    f"End date must be on or before {self.case.end_date:%-d %B %Y}, "
                    "the date they asked for",
                )
            elif end_date < self.case.start_date:
                self.add_error(
                    "end_date",
                    f"End date must be on or after the start date, "
                    f"{self.case.start_date:%-d %B %Y}",
                )
        cleaned["reason"] = reason
        cleaned["question"] = question
        return cleaned


class DelegationForm(GovukForm):
    deputy_email = forms.EmailField(
        label="Deputy's email address",
        help_text="They must be in the staff directory.",
        max_length=254,
        error_messages={
            "required": "Enter your deputy's email address",
            "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
            "max_length": "Your deputy's email address must be 254 characters or fewer",
        },
    )
    starts_on = RealDateInputField(label="Start date", require_all_fields=False)
    ends_on = RealDateInputField(label="End date", require_all_fields=False)

    def __init__(self, *args, director, **kwargs):
        super().__init__(*args, **kwargs)
        self.director = director
        self.fields["starts_on"].error_messages["required"] = "Enter the start date"
        self.fields["ends_on"].error_messages["required"] = "Enter the end date"
        today = timezone.localdate()
        self.fields["starts_on"].help_text = f"For example, {today:%-d %-m %Y}"
        self.fields["ends_on"].help_text = "The last day your deputy decides cases for you."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.text("deputy_email", field_width=Fluid.TWO_THIRDS),
            Field("starts_on"),
            Field("ends_on"),
            Submit("save", "Name deputy", data_prevent_double_click="true"),
        )

    def clean_deputy_email(self):
        from people.models import User

        email = self.cleaned_data["deputy_email"].strip().lower()
        deputy = User.objects.filter(email__iexact=email, is_active=True).first()
        if deputy is None:
            raise forms.ValidationError("Enter the email address of someone in the staff directory")
        refused = deputy_refused_because(director=self.director, deputy=deputy)
        if refused is not None:
            raise forms.ValidationError(refused)
        self.deputy = deputy
        return email

    def clean(self):
        cleaned = super().clean()
        if not approver_may_name_deputy(user=self.director):
            raise forms.ValidationError(NOT_AN_APPROVER)
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "End date must be the same as or after the start date")
        elif ends_on and ends_on < timezone.localdate():
            self.add_error("ends_on", "End date must be today or in the future")
        elif starts_on and ends_on and (too_long := delegation_too_long(starts_on, ends_on)):
            self.add_error("ends_on", too_long)
        return cleaned


class CostDecisionForm(GovukForm):
    """The budget holder agrees, or not, that their unit pays for the standalone PC. Only
    the POST of this form decides anything."""

    decision = forms.ChoiceField(
        label="Will your business unit pay for the standalone PC?",
        choices=[
            (ApprovalRequest.Decision.APPROVE, "Agree to pay"),
            (ApprovalRequest.Decision.REJECT, "Do not agree"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether you agree to pay",
            "invalid_choice": "Select whether you agree to pay",
        },
    )
    reason = forms.CharField(
        label="Reason",
        help_text="Shown to the requester. You must give a reason if you do not agree.",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": f"Reason must be {REASON_MAX} characters or fewer"},
    )

    def __init__(self, *args, case: BusinessCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.radios("decision", legend_size=Size.MEDIUM, legend_tag="h2"),
            Field.textarea("reason", max_characters=REASON_MAX, rows=4),
            Submit("send", "Send answer", data_prevent_double_click="true"),
        )

    def clean(self):
        cleaned = super().clean()
        reason = (cleaned.get("reason") or "").strip()
        if cleaned.get("decision") == ApprovalRequest.Decision.REJECT and not reason:
            self.add_error("reason", "Enter why you do not agree to pay")
        cleaned["reason"] = reason
        cleaned["end_date"] = None
        return cleaned
