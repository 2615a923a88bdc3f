"""The admin's question page that starts a review, the reviewer's Keep/End form for all
their grants on one page, and the confirmation of "Keep all that are not marked"."""

import datetime

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Button, Field, Fieldset, Layout, Size
from django import forms
from django.conf import settings
from django.utils import timezone

from access_requests.models import AccessTier
from core.forms import GovukForm, RealDateInputField
from people.models import Directorate

from .models import ReviewItem

REASON_MAX = 1000


class StartReviewForm(GovukForm):
    directorates = forms.ModelMultipleChoiceField(
        queryset=Directorate.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Which directorates?",
        help_text="Choose none to review the whole department.",
    )
    tiers = forms.MultipleChoiceField(
        choices=AccessTier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Which tiers?",
        help_text="Choose none to review both.",
    )
    due_on = RealDateInputField(label="When is the review due?", require_all_fields=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["directorates"].queryset = Directorate.objects.select_related(
            "organisation"
        ).order_by("name", "pk")
        self.fields["directorates"].label_from_instance = lambda directorate: directorate.name
        default_due = timezone.localdate() + datetime.timedelta(
            days=settings.SNS_ACCESS_REVIEW_DAYS
        )
        self.fields["due_on"].error_messages["required"] = "Enter the date the review is due"
        self.fields[
            "due_on"
        ].help_text = f"Reviewers are reminded before it. For example, {default_due:%-d %-m %Y}"
        if not self.is_bound:
            self.initial.setdefault("due_on", default_due)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field.checkboxes("directorates", legend_size=Size.MEDIUM, small=True),
            Field.checkboxes("tiers", legend_size=Size.MEDIUM, small=True),
            Field("due_on"),
            Button("submit", "Start the review", data_prevent_double_click="true"),
        )

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on is not None and due_on <= timezone.localdate():
            raise forms.ValidationError("The date the review is due must be in the future")
        return due_on


class ReviewDecisionsForm(GovukForm):
    """One Keep/End choice and a reason per grant on the page; a grant left unmarked is left
    for later. `holders`: each item's id and its holder's name, in the page's order. Rendered
    by the page's own template (a reason revealed under End)."""

    def __init__(self, *args, holders: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.holders = holders
        for item_id, holder in holders.items():
            self.fields[f"decision_{item_id}"] = forms.ChoiceField(
                choices=[
                    (ReviewItem.Decision.KEEP, "Keep"),
                    (ReviewItem.Decision.END, "End"),
                ],
                required=False,
                widget=forms.RadioSelect,
                label=decision_label(holder),
                error_messages={"invalid_choice": "Select keep or end"},
            )
            self.fields[f"reason_{item_id}"] = forms.CharField(
                required=False,
                max_length=REASON_MAX,
                widget=forms.Textarea(attrs={"rows": 3}),
                label=REASON_LABEL,
                error_messages={
                    "max_length": f"The reason must be {REASON_MAX} characters or fewer"
                },
            )

    def clean(self):
        cleaned = super().clean()
        for item_id, holder in self.holders.items():
            decision = cleaned.get(f"decision_{item_id}")
            reason = (cleaned.get(f"reason_{item_id}") or "").strip()
            if (
                decision == ReviewItem.Decision.END
                and not reason
                and not self.has_error(f"reason_{item_id}")
            ):
                self.add_error(f"reason_{item_id}", f"Enter why {holder}'s access should end")
        if not self.errors and not self.decisions():
            raise forms.ValidationError("Select keep or end for at least one access")
        return cleaned

    def decisions(self) -> list[tuple[int, str, str]]:
        """(item id, decision, reason) for each grant marked on the page."""
        chosen = []
        for item_id in self.holders:
            decision = self.cleaned_data.get(f"decision_{item_id}")
            if decision:
                reason = (self.cleaned_data.get(f"reason_{item_id}") or "").strip()
                chosen.append((item_id, decision, reason))
        return chosen


REASON_LABEL = "Why should this access end?"


def decision_label(holder: str) -> str:
    return f"Keep or end {holder}'s access"


class KeepUnmarkedForm(GovukForm):
    confirm = forms.BooleanField(
        label="I have checked this access and it is still needed",
        error_messages={"required": "Confirm that the access you have not marked is still needed"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Fieldset(Field.checkbox("confirm")),
            Button("submit", "Keep all that are not marked", data_prevent_double_click="true"),
        )
