"""Filter forms for the register, the audit trail and the reports (GET forms: the filters live in the
address, so a view can be bookmarked and shared)."""

import datetime

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Fixed, Fluid, Layout, Size, Submit
from django import forms
from django.utils import timezone
from django.utils.functional import cached_property

from access_requests.models import AccessGrant, AccessTier, Site
from audit import descriptions
from core.forms import GovukForm, RealDateInputField
from people.models import BusinessUnit, Directorate, Organisation

from .selectors import (
    audit_trail as audit_selectors,
    register as register_selectors,
    reports as report_selectors,
)
from .widgets import QuickSelect

STATUS_CHOICES = [
    (register_selectors.CURRENT, "Current (awaiting provisioning or active)"),
    (register_selectors.ALL, "All statuses"),
    *AccessGrant.Status.choices,
]
SORT_CHOICES = [
    ("end_date", "End date, soonest first"),
    ("-end_date", "End date, latest first"),
    ("holder", "Holder, A to Z"),
    ("-holder", "Holder, Z to A"),
]


def _date_field(label: str) -> RealDateInputField:
    field = RealDateInputField(label=label, required=False, require_all_fields=False)
    field.error_messages["invalid"] = f"{label} must be a real date"
    for subfield in field.fields:
        subfield.required = False
        subfield.max_length = 4
    field.help_text = "For example, 27 3 2026"
    return field


class _DirectorateChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.organisation.name})"


class _BusinessUnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.cost_centre})"


class _PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.email})"


class _FilterForm(GovukForm):
    """Shared behaviour: every field optional, GOV.UK dates, date ranges checked."""

    date_ranges: list[tuple[str, str]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = QuickSelect(attrs=field.widget.attrs)
                field.widget.choices = field.choices

    def clean(self):
        cleaned = super().clean()
        for start, end in self.date_ranges:
            if cleaned.get(start) and cleaned.get(end) and cleaned[end] < cleaned[start]:
                self.add_error(
                    end, f"{self.fields[end].label} must be the same as or after the start"
                )
        return cleaned

    def filters_as_query(self) -> dict:
        """The bound data without the page cursor (for links that keep the filters)."""
        return {
            key: value
            for key, value in self.data.items()
            if key not in {"after", "before"} and value not in ("", None)
        }


class RegisterFilterForm(_FilterForm):
    date_ranges = [("start_from", "start_to"), ("end_from", "end_to")]

    q = forms.CharField(
        label="Holder name, email or case reference",
        max_length=100,
        required=False,
        strip=True,
    )
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    tier = forms.ChoiceField(
        label="Tier", choices=[("", "Any tier"), *AccessTier.choices], required=False
    )
    site = forms.ModelChoiceField(
        label="Site", queryset=Site.objects.order_by("name"), required=False, empty_label="Any"
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.order_by("name"),
        required=False,
        empty_label="Any",
    )
    directorate = _DirectorateChoice(
        label="Directorate",
        queryset=Directorate.objects.select_related("organisation").order_by(
            "name", "organisation__name"
        ),
        required=False,
        empty_label="Any",
    )
    business_unit = _BusinessUnitChoice(
        label="Business unit",
        queryset=BusinessUnit.objects.order_by("name", "cost_centre"),
        required=False,
        empty_label="Any",
    )
    approver = _PersonChoice(
        label="Approver",
        queryset=register_selectors.approvers(),
        required=False,
        empty_label="Anyone",
    )
    expiring_within_days = forms.IntegerField(
        label="Ending within this many days",
        min_value=0,
        max_value=3650,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "spellcheck": "false"}),
        error_messages={
            "invalid": "Enter the number of days as a whole number, like 30",
            "min_value": "The number of days must be 0 or more",
            "max_value": "The number of days must be 3650 or fewer",
        },
    )
    start_from = _date_field("Starts on or after")
    start_to = _date_field("Starts on or before")
    end_from = _date_field("Ends on or after")
    end_to = _date_field("Ends on or before")
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approver"].queryset = register_selectors.approvers()

    @cached_property
    def helper(self) -> FormHelper:
        """The GOV.UK layout, built only when the form is drawn (the page keeps the drawn
        form for a minute, so most requests never need it)."""
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.form_method = "get"
        helper.layout = Layout(
            Field.text("q", field_width=Fluid.TWO_THIRDS),
            Field.select("status"),
            Field.select("tier"),
            Field.select("site"),
            Field.select("organisation"),
            Field.select("directorate"),
            Field.select("business_unit"),
            Field.select("approver"),
            Field.text("expiring_within_days", field_width=Fixed.FOUR),
            Fieldset(
                Field("start_from"),
                Field("start_to"),
                legend="Start date",
                legend_size=Size.SMALL,
            ),
            Fieldset(
                Field("end_from"),
                Field("end_to"),
                legend="End date",
                legend_size=Size.SMALL,
            ),
            Field.select("sort"),
            Submit("apply", "Apply filters", data_prevent_double_click="true"),
        )
        return helper

    def to_filters(self) -> register_selectors.RegisterFilters:
        data = self.cleaned_data
        return register_selectors.RegisterFilters(
            status=data.get("status") or register_selectors.CURRENT,
            tier=data.get("tier") or "",
            site=data.get("site"),
            organisation=data.get("organisation"),
            directorate=data.get("directorate"),
            business_unit=data.get("business_unit"),
            approver=data.get("approver"),
            expiring_within_days=data.get("expiring_within_days"),
            start_from=data.get("start_from"),
            start_to=data.get("start_to"),
            end_from=data.get("end_from"),
            end_to=data.get("end_to"),
            search=data.get("q") or "",
            sort=data.get("sort") or "end_date",
        )


class AuditFilterForm(_FilterForm):
    date_ranges = [("occurred_from", "occurred_to")]

    actor = forms.CharField(
        label="Who",
        help_text="An email address, system: and a task name (like system:outbox), or anonymous",
        max_length=254,
        required=False,
    )
    action = forms.ChoiceField(label="What happened", required=False)
    object_type = forms.ChoiceField(label="Type of object", required=False)
    object_id = forms.CharField(label="Object id", max_length=64, required=False)
    occurred_from = _date_field("From")
    occurred_to = _date_field("To")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each choice in words (`audit.descriptions`), in the order a reader looks for it.
        self.fields["action"].choices = [("", "Any")] + sorted(
            ((a, descriptions.action_description(a)) for a in audit_selectors.audit_actions()),
            key=lambda choice: choice[1],
        )
        self.fields["object_type"].choices = [("", "Any")] + sorted(
            ((t, descriptions.object_type_label(t)) for t in audit_selectors.audit_object_types()),
            key=lambda choice: choice[1],
        )

    @cached_property
    def helper(self) -> FormHelper:
        """Built only when the form is drawn (see `RegisterFilterForm.helper`)."""
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.layout = Layout(
            Field.text("actor", field_width=Fluid.TWO_THIRDS),
            Field.select("action"),
            Field.select("object_type"),
            Field.text("object_id", field_width=Fixed.TEN),
            Fieldset(
                Field("occurred_from"),
                Field("occurred_to"),
                legend="When",
                legend_size=Size.SMALL,
            ),
            Submit("apply", "Apply filters", data_prevent_double_click="true"),
        )
        return helper

    def to_filters(self) -> audit_selectors.AuditFilters:
        data = self.cleaned_data
        return audit_selectors.AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            object_type=data.get("object_type") or "",
            object_id=data.get("object_id") or "",
            occurred_from=data.get("occurred_from"),
            occurred_to=data.get("occurred_to"),
        )


class ReportPeriodForm(_FilterForm):
    """The period the reports cover: by default the last 12 months."""

    date_ranges = [("period_from", "period_to")]
    LONGEST = datetime.timedelta(days=5 * 366)

    period_from = _date_field("From")
    period_to = _date_field("To")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_from"), cleaned.get("period_to")
        today = timezone.localdate()
        if start and start > today:
            self.add_error("period_from", "From must be today or in the past")
        if start and end and end >= start and end - start > self.LONGEST:
            self.add_error("period_to", "The period must be 5 years or shorter")
        return cleaned

    @cached_property
    def helper(self) -> FormHelper:
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.layout = Layout(
            Fieldset(
                Field("period_from"),
                Field("period_to"),
                legend="Period",
                legend_size=Size.SMALL,
            ),
            Submit("apply", "Show figures for this period", data_prevent_double_click="true"),
        )
        return helper

    def to_period(self) -> report_selectors.ReportPeriod:
        """The chosen period, filled in from the default where a date is left out."""
        default = report_selectors.ReportPeriod.default()
        if not self.is_valid():
            return default
        end = self.cleaned_data.get("period_to") or default.end
        start = (
            self.cleaned_data.get("period_from") or report_selectors.ReportPeriod.default(end).start
        )
        return report_selectors.ReportPeriod(start=start, end=end)


class DirectorateAccessForm(_FilterForm):
    """ "Access in your directorate": which directorate (when the person may see more than
    one), which tier, and whether only access ending soon."""

    directorate = _DirectorateChoice(
        label="Directorate", queryset=Directorate.objects.none(), required=False, empty_label=None
    )
    tier = forms.ChoiceField(
        label="Tier", choices=[("", "Any tier"), *AccessTier.choices], required=False
    )
    ending_soon = forms.BooleanField(label="Only access ending in the next 30 days", required=False)

    def __init__(self, *args, directorates: list[Directorate], **kwargs):
        super().__init__(*args, **kwargs)
        self.directorates = directorates
        directorate = self.fields["directorate"]
        directorate.queryset = Directorate.objects.filter(pk__in=[d.pk for d in directorates])
        directorate.widget.choices = [
            (d.pk, directorate.label_from_instance(d)) for d in directorates
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.form_method = "get"
        self.helper.layout = Layout(
            *([Field.select("directorate")] if len(directorates) > 1 else []),
            Field.select("tier"),
            Field.checkbox("ending_soon"),
            Submit("apply", "Show access"),
        )

    def chosen_directorate(self) -> Directorate:
        chosen = self.cleaned_data.get("directorate")
        return chosen if chosen is not None else self.directorates[0]
