"""The business case's question pages, as crispy-forms-gds forms with GOV.UK wording.

Every text field has a limit; conditional questions (a pseudonym's reason, the reason for
not identifying as an official, an existing PC's asset tag) are revealed by GOV.UK radios
and, without JavaScript, are simply always shown and checked here on the server.
"""

import datetime
import hashlib

from crispy_forms_gds.choices import Choice
from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import (
    HTML,
    ConditionalQuestion,
    ConditionalRadios,
    Field,
    Fieldset,
    Fluid,
    Layout,
    Size,
    Submit,
)
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessTier, BusinessCase
from access_requests.selectors.business_cases import (
    budget_holder_for_unit,
    business_units_chargeable_by,
    sites_offered,
)
from access_requests.services.business_cases import business_case_dates_problems
from core.forms import GovukForm

YES_NO = [("yes", "Yes"), ("no", "No")]


def _helper(*fields, button="Continue") -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the page template has the form and its token
    helper.layout = Layout(*fields, Submit("continue", button, data_prevent_double_click="true"))
    return helper


def _counted_textarea(rows: int = 5) -> forms.Textarea:
    # crispy-forms-gds 2.0.1 reads this attribute on character-counted textareas even
    # when the field has no hint: start it empty.
    return forms.Textarea(attrs={"aria-describedby": "", "rows": rows})


class RevealQuestion(ConditionalQuestion):
    """A radio choice that may reveal more questions; aria-controls only where it does."""

    template = "access_requests/gds/conditional_question.html"


def _too_long(words: str, limit: int) -> str:
    return f"{words} must be {limit} characters or fewer"


def _yes_no(value: bool | None) -> str | None:
    if value is None:
        return None
    return "yes" if value else "no"


class GovukDateField(DateInputField):
    """A GOV.UK date input whose messages name the date ("Start date must be a real date")."""

    def __init__(self, *, words: str, **kwargs):
        # Name the missing part ("must include a year") rather than the whole date.
        super().__init__(require_all_fields=False, **kwargs)
        name = words[0].upper() + words[1:]
        self.error_messages["required"] = f"Enter the {words}"
        self.error_messages["incomplete"] = f"Enter the {words}"
        self.real_date_message = f"{name} must be a real date"
        for part, subfield in zip(["day", "month", "year"], self.fields, strict=True):
            subfield.error_messages["incomplete"] = f"{name} must include a {part}"
            digits = r"^[0-9]{4}$" if part == "year" else r"^[0-9]{1,2}$"
            message = (
                f"{name} must include a year with 4 numbers"
                if part == "year"
                else self.real_date_message
            )
            subfield.validators = [RegexValidator(digits, message)]

    def clean(self, value):
        if isinstance(value, (list, tuple)):
            value = [v.strip() if isinstance(v, str) else v for v in value]
        return super().clean(value)

    def compress(self, data_list):
        day, month, year = data_list
        if day and month and year:
            try:
                return datetime.date(day=int(day), month=int(month), year=int(year))
            except (ValueError, OverflowError) as error:
                raise ValidationError(self.real_date_message) from error
        return None


class SitesForm(GovukForm):
    sites = forms.MultipleChoiceField(
        label="Which social networking sites do you need?",
        help_text="Select all that apply.",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Select at least one site",
            "invalid_choice": "Select sites from the list",
            "invalid_list": "Select sites from the list",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {str(site.pk): site for site in sites_offered()}
        self.fields["sites"].choices = [
            Choice(pk, site.name, hint=site.url) for pk, site in self.offered.items()
        ]
        self.helper = _helper(Field.checkboxes("sites", legend_size=Size.LARGE, legend_tag="h1"))

    def clean_sites(self):
        return [self.offered[pk] for pk in self.cleaned_data["sites"]]


class TierForm(GovukForm):
    tier = forms.ChoiceField(
        label="What kind of access do you need?",
        help_text="Ask only for what your work needs: you can ask again later.",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select passive monitoring or active participation",
            "invalid_choice": "Select passive monitoring or active participation",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cost = settings.SNS_STANDALONE_PC_YEARLY_COST
        self.fields["tier"].choices = [
            Choice(
                AccessTier.PASSIVE,
                "Passive monitoring",
                hint=(
                    "Read and follow what is said on the sites from your office computer. "
                    "You cannot post, reply or send messages: the office network limits "
                    f"what the sites can do. Up to {settings.SNS_MAX_MONTHS_PASSIVE} months."
                ),
            ),
            Choice(
                AccessTier.ACTIVE,
                "Active participation",
                hint=(
                    "Post, reply and send messages as a department official. This works "
                    "only from a standalone PC, not the office network, and your business "
                    f"unit pays for it (about £{cost:,} a year). "
                    f"Up to {settings.SNS_MAX_MONTHS_ACTIVE} months."
                ),
            ),
        ]
        self.helper = _helper(Field.radios("tier", legend_size=Size.LARGE, legend_tag="h1"))


class StandalonePcForm(GovukForm):
    paying_business_unit = forms.ModelChoiceField(
        label="Which business unit will pay for the standalone PC?",
        help_text=(
            "The cost centre is in brackets. You can choose a business unit of your own "
            "directorate. We have chosen your own business unit."
        ),
        queryset=None,
        empty_label=None,
        error_messages={
            "required": "Select the business unit that will pay for the standalone PC",
            "invalid_choice": "Select a business unit from the list",
        },
    )
    budget_holder_email = forms.CharField(
        label="Budget holder's email address",
        help_text=(
            "The person in the paying business unit who agrees to the cost. We will email "
            "them when you send your request."
        ),
        max_length=254,
        widget=forms.EmailInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        error_messages={
            "required": "Enter the budget holder's email address",
            "max_length": _too_long("The budget holder's email address", 254),
        },
    )
    pc_choice = forms.ChoiceField(
        label="Will you use an existing standalone PC?",
        choices=[
            Choice(BusinessCase.PcChoice.EXISTING, "Yes, an existing standalone PC"),
            Choice(BusinessCase.PcChoice.NEW, "No, a new standalone PC is needed"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether you will use an existing standalone PC",
            "invalid_choice": "Select whether you will use an existing standalone PC",
        },
    )
    pc_asset_tag = forms.CharField(
        label="Asset tag of the existing standalone PC",
        help_text="The number on the label on the PC, for example HO-123456.",
        required=False,
        max_length=50,
        error_messages={"max_length": _too_long("The asset tag", 50)},
    )

    def __init__(self, *args, requester, **kwargs):
        super().__init__(*args, **kwargs)
        self.requester = requester
        # Only units the requester may charge are offered, and a posted unit outside them
        # is refused by the field ("Select a business unit from the list").
        self.fields["paying_business_unit"].queryset = business_units_chargeable_by(user=requester)
        if settings.SNS_CHARGEABLE_UNITS == "organisation":
            self.fields["paying_business_unit"].help_text = self.fields[
                "paying_business_unit"
            ].help_text.replace("of your own directorate", "of your own organisation")
        self.helper = _helper(
            Field.select("paying_business_unit"),
            Field.text("budget_holder_email", field_width=Fluid.TWO_THIRDS),
            ConditionalRadios(
                "pc_choice",
                RevealQuestion(
                    "Yes, an existing standalone PC", Field.text("pc_asset_tag", field_width=10)
                ),
                RevealQuestion("No, a new standalone PC is needed"),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("pc_choice") == BusinessCase.PcChoice.EXISTING and not cleaned.get(
            "pc_asset_tag"
        ):
            self.add_error("pc_asset_tag", "Enter the asset tag of the standalone PC")
        if cleaned.get("pc_choice") == BusinessCase.PcChoice.NEW:
            cleaned["pc_asset_tag"] = ""
        if cleaned.get("budget_holder_email"):
            person, problem = budget_holder_for_unit(
                email=cleaned["budget_holder_email"],
                unit=cleaned.get("paying_business_unit"),
                requester=self.requester,
            )
            if problem:
                self.add_error("budget_holder_email", problem)
            cleaned["budget_holder"] = person
        return cleaned


NEED_LIMITS = {"purpose": 3000, "audience": 1500, "integration": 1500}


class NeedForm(GovukForm):
    purpose = forms.CharField(
        label="What will you do on the sites, and why does it serve the department's work?",
        widget=_counted_textarea(),
        max_length=NEED_LIMITS["purpose"],
        error_messages={
            "required": "Enter what you will do on the sites and why",
            "max_length": _too_long("What you will do", NEED_LIMITS["purpose"]),
        },
    )
    audience = forms.CharField(
        label="Who will you engage with?",
        help_text="For example, members of the public, stakeholder groups or journalists.",
        widget=_counted_textarea(),
        max_length=NEED_LIMITS["audience"],
        error_messages={
            "required": "Enter who you will engage with",
            "max_length": _too_long("Who you will engage with", NEED_LIMITS["audience"]),
        },
    )
    integration = forms.CharField(
        label="How will it support the department's other communications?",
        help_text=(
            "The guidance asks you to be integrated: align what you do online with other, "
            "offline communications."
        ),
        widget=_counted_textarea(),
        max_length=NEED_LIMITS["integration"],
        error_messages={
            "required": "Enter how it supports other communications",
            "max_length": _too_long(
                "How it supports other communications", NEED_LIMITS["integration"]
            ),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            *[
                Field.textarea(name, label_size=Size.MEDIUM, rows=5, max_characters=limit)
                for name, limit in NEED_LIMITS.items()
            ]
        )


class DatesForm(GovukForm):
    start_date = GovukDateField(
        words="start date", label="Start date", help_text="For example, 27 3 2026"
    )
    end_date = GovukDateField(words="end date", label="End date", help_text="")

    def __init__(self, *args, tier: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.tier = tier
        # The example is a date a request could start on: a fortnight from today.
        example = timezone.localdate() + datetime.timedelta(days=14)
        self.fields[
            "start_date"
        ].help_text = f"For example, {example.day} {example.month} {example.year}"
        months = (
            settings.SNS_MAX_MONTHS_ACTIVE
            if tier == AccessTier.ACTIVE
            else settings.SNS_MAX_MONTHS_PASSIVE
        )
        self.fields[
            "end_date"
        ].help_text = f"No more than {months} months after the start date. You can ask to renew it."
        self.helper = _helper(
            Field("start_date", context={"legend_size": Size.for_legend(Size.MEDIUM)}),
            Field("end_date", context={"legend_size": Size.for_legend(Size.MEDIUM)}),
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end:
            problems = business_case_dates_problems(tier=self.tier, start_date=start, end_date=end)
            for field, message in problems.items():
                self.add_error(field, message)
        elif start and start < timezone.localdate():
            self.add_error("start_date", "The start date must be today or in the future")
        return cleaned


class IdentityForm(GovukForm):
    display_name = forms.CharField(
        max_length=100,
        error_messages={"max_length": _too_long("The name", 100)},
    )
    uses_pseudonym = forms.TypedChoiceField(
        label="Is this name a pseudonym?",
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select yes if the name is a pseudonym",
            "invalid_choice": "Select yes if the name is a pseudonym",
        },
    )
    pseudonym_reason = forms.CharField(
        label="Why do you need a pseudonym?",
        help_text="For example, every variant of your name is already taken on the site.",
        widget=_counted_textarea(3),
        required=False,
        max_length=1000,
        error_messages={"max_length": _too_long("The reason for a pseudonym", 1000)},
    )
    identifies_as_official = forms.TypedChoiceField(
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select yes if you will say you are a department official",
            "invalid_choice": "Select yes if you will say you are a department official",
        },
    )
    not_official_reason = forms.CharField(
        label="Why will you not say you are a department official?",
        help_text="Only in exceptional circumstances, such as a threat to your personal security.",
        widget=_counted_textarea(3),
        required=False,
        max_length=1000,
        error_messages={"max_length": _too_long("The reason", 1000)},
    )

    def __init__(self, *args, site, user, **kwargs):
        super().__init__(*args, **kwargs)
        department = settings.DEPARTMENT_NAME
        profile = getattr(user, "profile", None)
        job_title = profile.job_title if profile and profile.job_title else "your job title"
        self.fields["display_name"].label = f"What name will you use on {site.name}?"
        self.fields["display_name"].help_text = (
            f"Use your commonly used name, {user.display_name}. Only use a pseudonym if "
            "you absolutely must."
            + (
                f" {site.name} lets several accounts share a name, so you should not need one."
                if site.allows_shared_display_names
                else ""
            )
        )
        self.fields["display_name"].error_messages["required"] = (
            f"Enter the name you will use on {site.name}"
        )
        self.fields[
            "identifies_as_official"
        ].label = f"Will you say on {site.name} that you are a {department} official?"
        self.fields["identifies_as_official"].choices = [
            Choice("yes", "Yes", hint=f"With your job title or role, {job_title}."),
            Choice("no", "No"),
        ]
        self.helper = _helper(
            Field.text("display_name", label_size=Size.MEDIUM, field_width=Fluid.TWO_THIRDS),
            ConditionalRadios(
                "uses_pseudonym",
                RevealQuestion(
                    "Yes", Field.textarea("pseudonym_reason", rows=3, max_characters=1000)
                ),
                RevealQuestion("No"),
            ),
            ConditionalRadios(
                "identifies_as_official",
                RevealQuestion("Yes"),
                RevealQuestion(
                    "No", Field.textarea("not_official_reason", rows=3, max_characters=1000)
                ),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("uses_pseudonym") is True and not cleaned.get("pseudonym_reason"):
            self.add_error("pseudonym_reason", "Enter why you need to use a pseudonym")
        if cleaned.get("identifies_as_official") is False and not cleaned.get(
            "not_official_reason"
        ):
            self.add_error(
                "not_official_reason", "Enter why you will not say you are a department official"
            )
        return cleaned

    @staticmethod
    def initial_from(identity, *, user) -> dict:
        """The saved answers; before the first answer, the commonly used name and no
        radio chosen (GOV.UK radios start unselected)."""
        answered = bool(identity.display_name)
        return {
            "display_name": identity.display_name or user.display_name[:100],
            "uses_pseudonym": _yes_no(identity.uses_pseudonym) if answered else None,
            "pseudonym_reason": identity.pseudonym_reason,
            "identifies_as_official": _yes_no(identity.identifies_as_official)
            if answered
            else None,
            "not_official_reason": identity.not_official_reason,
        }


DECLARATIONS = {
    "declared_read_guidance": (
        "I have read the department's social networking guidance",
        "Confirm that you have read the guidance",
    ),
    "declared_civil_service_code": (
        "I understand that the civil service code applies to what I do online as a civil "
        "servant or when discussing government business",
        "Confirm that the civil service code applies online",
    ),
    "declared_no_protected_information": (
        "I will never disclose information from protectively marked material",
        "Confirm that you will never disclose protectively marked information",
    ),
    "declared_media_to_press_office": (
        "I will pass questions that are, or seem to be, from the media to the press office",
        "Confirm that you will pass media enquiries to the press office",
    ),
    "declared_separate_identities": (
        "I will keep my professional and personal identities separate, and never give out "
        "personal details such as my home address or phone numbers",
        "Confirm that you will keep your identities separate and your personal details private",
    ),
}


class DeclarationsForm(GovukForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (label, required_message) in DECLARATIONS.items():
            self.fields[name] = forms.BooleanField(
                label=label, error_messages={"required": required_message}
            )
        guidance = reverse("guidance")
        self.helper = _helper(
            Fieldset(
                HTML(
                    '<p class="govuk-body">Read the <a class="govuk-link" href="'
                    + guidance
                    + '" target="_blank" rel="noopener">social networking guidance '
                    "(opens in new tab)</a> before you confirm each statement.</p>"
                ),
                *[Field.checkbox(name) for name in DECLARATIONS],
                legend="Confirm each statement",
                legend_size=Size.MEDIUM,
            ),
        )


def answers_fingerprint(case: BusinessCase) -> str:
    """A digest of the answers on the check page, so that "Accept and send" sends exactly
    what the person saw (not answers changed since in another tab)."""
    parts = [
        case.tier,
        str(case.paying_business_unit_id),
        case.budget_holder_name,
        case.pc_choice,
        case.pc_asset_tag,
        case.purpose,
        case.audience,
        case.integration,
        str(case.start_date),
        str(case.end_date),
    ]
    for identity in case.site_identities.all():
        parts += [
            str(identity.site_id),
            identity.display_name,
            str(identity.uses_pseudonym),
            identity.pseudonym_reason,
            str(identity.identifies_as_official),
            identity.not_official_reason,
        ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class SubmitCaseForm(GovukForm):
    answers_seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, case: BusinessCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["answers_seen"].initial = answers_fingerprint(case)
        self.helper = _helper(
            "answers_seen", button="Accept and send" if case.is_draft else "Send it again"
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("answers_seen") != answers_fingerprint(self.case):
            raise ValidationError(
                "Your answers have changed since this page was shown: check them again, "
                "then accept and send"
            )
        return cleaned


class WithdrawForm(GovukForm):
    reason = forms.CharField(
        label="Why are you withdrawing the request? (optional)",
        widget=_counted_textarea(),
        required=False,
        max_length=1000,
        error_messages={"max_length": _too_long("The reason", 1000)},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.textarea("reason", label_size=Size.MEDIUM, rows=4, max_characters=1000),
            Submit(
                "withdraw",
                "Withdraw request",
                css_class="govuk-button--warning",
                data_prevent_double_click="true",
            ),
        )
