"""Routing a case to its approver: approval requests, their tokens, and delegations."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from access_requests.models import BusinessCase
from core.models import TimeStampedModel


class Delegation(TimeStampedModel):
    """A director names a deputy for a date range (out of office)."""

    class Scope(models.TextChoices):
        # Named by someone who decides cases (a director, a fallback approver): the deputy
        # decides their cases, and agrees to their costs if they also hold a budget.
        CASES = "cases", "Decides cases and agrees to costs"
        # Named by someone acting only as a budget holder: the deputy agrees to costs and
        # never decides a case, even if the budget holder later comes to decide cases.
        COSTS = "costs", "Agrees to costs only"

    director = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_given"
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_received"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Fixed when the delegation is named (`delegation_create`), from what its giver did then.
    scope = models.CharField(max_length=5, choices=Scope.choices)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="delegation_end_not_before_start"
            ),
            models.CheckConstraint(
                condition=~Q(director=F("deputy")), name="delegation_not_to_self"
            ),
        ]

    def __str__(self):
        return f"{self.deputy} for {self.director} ({self.starts_on} to {self.ends_on})"


class ApprovalRequest(TimeStampedModel):
    """One approver asked to decide one case, with the emailed link's token."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for a decision"
        DECIDED = "decided", "Decided"  # this approver decided the case
        SUPERSEDED = "superseded", "Superseded"  # another approver decided, or withdrawn
        EXPIRED = "expired", "Expired"  # the case lapsed without a decision
        # This approver asked the requester for more information: the case went back to
        # them, and when it is sent again this approver gets a new request and link.
        SENT_BACK = "sent_back", "Sent back for more information"

    TRANSITIONS = {
        Status.OPEN: {Status.DECIDED, Status.SUPERSEDED, Status.EXPIRED, Status.SENT_BACK},
        Status.SENT_BACK: set(),
        Status.DECIDED: set(),
        Status.SUPERSEDED: set(),
        Status.EXPIRED: set(),
    }

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    class Reason(models.TextChoices):
        DIRECTOR = "director", "Director of the requester's directorate"
        DEPUTY = "deputy", "Deputy named by the director"
        FALLBACK = "fallback", "Fallback approver"
        ESCALATION = "escalation", "Escalated after reminders"
        BUDGET_HOLDER = "budget_holder", "Budget holder of the paying business unit"

    class Stage(models.TextChoices):
        # Whether the case may be approved at all (the director, their deputy, a fallback).
        DIRECTOR = "director", "Director's approval"
        # Active tier: the paying unit agrees to carry the cost, after the director approved.
        BUDGET_HOLDER = "budget_holder", "Budget holder's agreement"

    business_case = models.ForeignKey(
        BusinessCase, on_delete=models.PROTECT, related_name="approval_requests"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="approval_requests",
        db_index=False,  # approval_approver_idx (approver, status, -created_at) serves it
    )
    routed_because = models.CharField(max_length=13, choices=Reason.choices)
    stage = models.CharField(
        max_length=13, choices=Stage.choices, default=Stage.DIRECTOR, editable=False
    )
    # When the approver is a deputy: the delegation and the director they act for.
    delegation = models.ForeignKey(
        Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_requests_on_their_behalf",
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.OPEN, editable=False
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_expires_at = models.DateTimeField(editable=False)
    decide_by = models.DateField(help_text="The date by which a decision is expected")
    first_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminders_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    next_reminder_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(max_length=2000, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_end_date = models.DateField(null=True, blank=True)
    # Why a request closed when the case's status does not say: the case was sent to
    # someone else (the staff directory changed). Its emailed link's page says this.
    closed_because = models.CharField(max_length=300, blank=True, editable=False)
    # A director-stage approval that also settled who pays: "Dana Okafor approved as
    # director and as budget holder", shown on the case page and the case file.
    cost_note = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["approver", "status", "-created_at"], name="approval_approver_idx"
            ),
            # Cases to decide, oldest first: an approver's open requests in the order the
            # lists show them, so the first page stops after its rows instead of sorting
            # every open request.
            models.Index(
                fields=["approver", "created_at", "id"],
                condition=Q(status="open"),
                name="approval_to_decide_idx",
            ),
            models.Index(
                fields=["next_reminder_at", "id"],
                condition=Q(status="open"),
                name="approval_reminder_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="decided") & Q(decided_at__isnull=False) & ~Q(decision=""))
                | (~Q(status="decided") & Q(decided_at__isnull=True) & Q(decision="")),
                name="approval_decided_at_iff_decided",
            ),
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(decision_reason=""),
                name="approval_rejection_has_reason",
            ),
            models.UniqueConstraint(
                fields=["business_case", "stage"],
                condition=Q(status="decided"),
                name="approval_one_decision_per_case_stage",
            ),
        ]

    def __str__(self):
        return f"{self.business_case} → {self.approver}"


class ApprovalReminder(models.Model):
    """One row per reminder sent: the unique pair makes each reminder go out once."""

    approval_request = models.ForeignKey(
        ApprovalRequest,
        on_delete=models.PROTECT,
        related_name="reminders",
        db_index=False,  # approval_reminder_once (approval_request, number) serves it
    )
    number = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["approval_request", "number"], name="approval_reminder_once"
            )
        ]

    def __str__(self):
        return f"Reminder {self.number} for {self.approval_request}"
