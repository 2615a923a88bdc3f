"""The site catalogue, the business case and the access grant.

Statuses are one TextChoices per workflow; the allowed transitions are listed beside each
(`BusinessCase.TRANSITIONS`, `AccessGrant.TRANSITIONS`) and enforced by the services.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from core.models import TimeStampedModel
from people.models import BusinessUnit


class AccessTier(models.TextChoices):
    PASSIVE = "passive", "Passive monitoring"  # viewing from the office network
    ACTIVE = "active", "Active participation"  # posting, on a standalone PC


# Each tier's label by value, for code that reads tiers as values rather than instances.
TIER_LABELS = {str(value): str(label) for value, label in AccessTier.choices}


class Site(TimeStampedModel):
    """A social networking site staff may ask for. Admins manage the catalogue ("Manage
    sites", `access_requests/services/sites.py`).

    A site is *offered* (`is_active`) or *retired*: a retired site is no longer offered on
    the sites question, a draft that chose it cannot be sent until it is taken off, and the
    cases and grants that name it keep it. Sites are never deleted.
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField("address", max_length=300)
    allows_shared_display_names = models.BooleanField(
        "several accounts may share one display name", default=True
    )
    is_active = models.BooleanField("offered to staff", default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # "LinkedIn" and "linkedin" would read as one site on every page.
            models.UniqueConstraint(
                Lower("name"),
                name="site_name_unique_ignoring_case",
                violation_error_message="A site with this name already exists",
            ),
        ]

    def __str__(self):
        return self.name


class BusinessCase(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # being written by the requester
        SUBMITTED = "submitted", "Awaiting decision"  # sent to an approver
        # The approver asked a question; the requester changes answers and sends it again.
        MORE_INFORMATION = "more_information", "More information needed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"  # by the requester before a decision
        LAPSED = "lapsed", "Expired without decision"

        @classmethod
        def decided(cls):
            return [cls.APPROVED, cls.REJECTED]

        @classmethod
        def under_way(cls):
            """Not yet decided or closed: a draft, waiting for a decision, or sent back."""
            return [cls.DRAFT, cls.SUBMITTED, cls.MORE_INFORMATION]

        @classmethod
        def sent_undecided(cls):
            """Sent and not yet decided or closed: with the approver or sent back."""
            return [cls.SUBMITTED, cls.MORE_INFORMATION]

        @classmethod
        def closed(cls):
            return [cls.APPROVED, cls.REJECTED, cls.WITHDRAWN, cls.LAPSED]

        @classmethod
        def may_ask_again(cls):
            """Closed without access: the requester may start a new draft from its answers."""
            return [cls.REJECTED, cls.WITHDRAWN, cls.LAPSED]

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {
            Status.APPROVED,
            Status.REJECTED,
            Status.WITHDRAWN,
            Status.LAPSED,
            Status.MORE_INFORMATION,
        },
        Status.MORE_INFORMATION: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
        Status.LAPSED: set(),
    }

    class PcChoice(models.TextChoices):
        EXISTING = "existing", "Use an existing standalone PC"
        NEW = "new", "A new standalone PC is needed"

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="business_cases"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    sites = models.ManyToManyField(Site, through="SiteIdentity", related_name="business_cases")
    tier = models.CharField(max_length=10, choices=AccessTier.choices, blank=True)

    # Active participation only: who pays for the standalone PC.
    paying_business_unit = models.ForeignKey(
        BusinessUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="business_cases_paid_for",
    )
    # The person in the paying unit who agrees to the cost, from the staff directory, told
    # when the case is sent. `budget_holder_name` keeps their name as it was answered (and,
    # on cases from before the directory was asked, the name that was typed).
    budget_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="business_cases_budget_held",
    )
    budget_holder_name = models.CharField(max_length=200, blank=True)
    pc_choice = models.CharField(max_length=10, choices=PcChoice.choices, blank=True)
    pc_asset_tag = models.CharField("asset tag", max_length=50, blank=True)

    # The business need.
    purpose = models.TextField("what you will do and why", max_length=3000, blank=True)
    audience = models.TextField("who you will engage with", max_length=1500, blank=True)
    integration = models.TextField(
        "how it supports other communications", max_length=1500, blank=True
    )

    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    # Declarations, each ticked separately.
    declared_read_guidance = models.BooleanField(default=False)
    declared_civil_service_code = models.BooleanField(default=False)
    declared_no_protected_information = models.BooleanField(default=False)
    declared_media_to_press_office = models.BooleanField(default=False)
    declared_separate_identities = models.BooleanField(default=False)
    declarations_made_at = models.DateTimeField(null=True, blank=True)

    # Lifecycle.
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision_reason = models.TextField(blank=True, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawal_reason = models.TextField(max_length=1000, blank=True, editable=False)
    lapsed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The approver's latest question, when they asked for more information (kept after the
    # case is sent again; every question is in the audit trail).
    more_information_question = models.TextField(max_length=2000, blank=True, editable=False)
    more_information_asked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why the case went to a fallback approver, shown on the case page.
    routing_note = models.CharField(max_length=300, blank=True, editable=False)
    # A renewal continues this grant.
    renewal_of = models.ForeignKey(
        "AccessGrant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal_cases",
    )
    # "Ask again with these answers": this draft started from a case that was rejected,
    # withdrawn or lapsed.
    asked_again_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="asked_again_cases",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="case_requester_idx"),
            models.Index(fields=["status", "submitted_at"], name="case_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="case_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(reference__isnull=False, submitted_at__isnull=False),
                name="case_submitted_has_reference",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["approved", "rejected"], decided_at__isnull=False)
                | (~Q(status__in=["approved", "rejected"]) & Q(decided_at__isnull=True)),
                name="case_decided_at_iff_decided",
            ),
            models.CheckConstraint(
                condition=~Q(status="more_information")
                | (~Q(more_information_question="") & Q(more_information_asked_at__isnull=False)),
                name="case_more_information_has_question",
            ),
        ]

    def __str__(self):
        return self.reference or f"Draft {self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def may_ask_again(self) -> bool:
        return self.status in self.Status.may_ask_again()

    @property
    def is_editable(self) -> bool:
        """Whether the requester may change the answers: a draft, or a case sent back to them
        for more information."""
        return self.status in (self.Status.DRAFT, self.Status.MORE_INFORMATION)

    @property
    def is_active_tier(self) -> bool:
        return self.tier == AccessTier.ACTIVE

    @property
    def budget_holder_label(self) -> str:
        """The budget holder's name: the person from the directory, or the typed name."""
        if self.budget_holder_id:
            return self.budget_holder.display_name
        return self.budget_holder_name


class SiteIdentity(TimeStampedModel):
    """How the requester will identify themselves on one site of a case."""

    business_case = models.ForeignKey(
        BusinessCase, on_delete=models.CASCADE, related_name="site_identities"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="identities")
    display_name = models.CharField(max_length=100, blank=True)
    uses_pseudonym = models.BooleanField(default=False)
    pseudonym_reason = models.TextField(max_length=1000, blank=True)
    identifies_as_official = models.BooleanField(default=True)
    not_official_reason = models.TextField(max_length=1000, blank=True)

    class Meta:
        ordering = ["site__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_case", "site"], name="site_identity_unique_per_case"
            )
        ]

    def __str__(self):
        return f"{self.display_name} on {self.site}"


class AccessGrant(TimeStampedModel):
    class Status(models.TextChoices):
        AWAITING_PROVISIONING = "awaiting", "Awaiting provisioning"  # ICT has not acted
        ACTIVE = "active", "Active"  # provisioned (usable from its start date)
        EXPIRED = "expired", "Expired"  # reached its end date (provisioned or not)
        REVOKED = "revoked", "Revoked"  # withdrawn by an admin or director
        SURRENDERED = "surrendered", "Given up"  # given up by the holder
        RETURNED = "returned", "Returned by ICT"  # ICT could not provision it

        @classmethod
        def current(cls):
            return [cls.AWAITING_PROVISIONING, cls.ACTIVE]

        @classmethod
        def ended(cls):
            """Ended with access that ICT may have set up and must withdraw."""
            return [cls.EXPIRED, cls.REVOKED, cls.SURRENDERED]

    TRANSITIONS = {
        # Awaiting → expired: access ICT never set up still ends on its end date, so that it
        # leaves ICT's queue and the register's current grants instead of waiting forever.
        Status.AWAITING_PROVISIONING: {
            Status.ACTIVE,
            Status.RETURNED,
            Status.REVOKED,
            Status.EXPIRED,
        },
        Status.ACTIVE: {Status.EXPIRED, Status.REVOKED, Status.SURRENDERED},
        Status.EXPIRED: set(),
        Status.REVOKED: set(),
        Status.SURRENDERED: set(),
        Status.RETURNED: set(),
    }

    business_case = models.OneToOneField(
        BusinessCase, on_delete=models.PROTECT, related_name="grant"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="access_grants",
        db_index=False,  # grant_holder_idx (holder, status) serves lookups by holder
    )
    tier = models.CharField(max_length=10, choices=AccessTier.choices)
    sites = models.ManyToManyField(Site, related_name="grants")
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(
        max_length=12,
        choices=Status.choices,
        default=Status.AWAITING_PROVISIONING,
        editable=False,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants_approved"
    )
    # Set when a deputy approved on behalf of a director.
    approved_on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants_approved_on_their_behalf",
    )
    approved_at = models.DateTimeField()
    # Active tier: who agreed that the paying unit carries the cost (its budget holder, or
    # the director or requester who was also the budget holder); none when nobody was asked.
    cost_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants_cost_agreed",
    )
    paying_business_unit = models.ForeignKey(
        BusinessUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )
    pc_asset_tag = models.CharField(max_length=50, blank=True)
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )

    provisioned_at = models.DateTimeField(null=True, blank=True, editable=False)
    provisioned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants_provisioned",
    )
    returned_reason = models.TextField(blank=True, editable=False)
    expired_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants_revoked",
    )
    revocation_reason = models.TextField(blank=True, editable=False)
    surrendered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The holder chose "let it lapse": no more expiry notices.
    lapse_chosen_at = models.DateTimeField(null=True, blank=True, editable=False)
    # ICT confirmed the access of an ended grant is withdrawn (the sites closed, the PC back).
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants_withdrawn",
        editable=False,
    )

    class Meta:
        ordering = ["end_date", "id"]
        permissions = [
            ("provision_accessgrant", "Can provision or return access grants (ICT)"),
            ("revoke_accessgrant", "Can revoke any access grant"),
        ]
        indexes = [
            models.Index(fields=["holder", "status"], name="grant_holder_idx"),
            models.Index(fields=["status", "end_date", "id"], name="grant_status_end_idx"),
            models.Index(fields=["end_date", "id"], name="grant_end_idx"),
            # The register's default page: current grants by end date; with the tier and
            # the holder alongside, counting the current grants of one tier or of the
            # people a search found reads the index alone.
            models.Index(
                fields=["end_date", "id"],
                include=["tier", "holder"],
                condition=Q(status__in=["awaiting", "active"]),
                name="grant_current_end_idx",
            ),
            # The register filtered to the active tier (about a tenth of current grants):
            # its pages and its count read that tier's entries only, not every current
            # grant's (`oversight/selectors/register_prepared.py`).
            models.Index(
                fields=["end_date", "id"],
                include=["holder"],
                condition=Q(status__in=["awaiting", "active"], tier="active"),
                name="grant_current_active_end_idx",
            ),
            # One person's current grants in page order: "Access in your directorate" reads
            # its page person by person from here (`directorate_page_keys`), so a page costs
            # what the directorate holds, not what the department does.
            models.Index(
                fields=["holder", "end_date", "id"],
                include=["tier"],
                condition=Q(status__in=["awaiting", "active"]),
                name="grant_current_holder_idx",
            ),
            # ICT's "Access to withdraw": ended grants ICT set up and has not yet confirmed
            # withdrawn, oldest first; a handful at any time.
            models.Index(
                fields=["id"],
                condition=Q(
                    status__in=["expired", "revoked", "surrendered"],
                    provisioned_at__isnull=False,
                    withdrawn_at__isnull=True,
                ),
                name="grant_to_withdraw_idx",
            ),
            # "Safe use not confirmed": the active-tier grants in use, a small set even
            # after years, found by holder (a director's people) without the table.
            models.Index(
                fields=["holder"],
                include=["id"],
                condition=Q(status="active", tier="active"),
                name="grant_active_tier_holder_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="grant_end_not_before_start"
            ),
            # Revoked by a person, or by the staff directory import (no person) when the
            # holder left the department: either way, when and why.
            models.CheckConstraint(
                condition=~Q(status="revoked")
                | (Q(revoked_at__isnull=False) & ~Q(revocation_reason="")),
                name="grant_revoked_has_time_and_reason",
            ),
            # Access is withdrawn only after it ended, and only where ICT had set it up.
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True)
                | (
                    Q(status__in=["expired", "revoked", "surrendered"])
                    & Q(provisioned_at__isnull=False)
                ),
                name="grant_withdrawn_after_it_ended",
            ),
            # An expired grant may never have been provisioned (it ended awaiting ICT).
            models.CheckConstraint(
                condition=~Q(status__in=["active", "surrendered"])
                | Q(provisioned_at__isnull=False),
                name="grant_active_was_provisioned",
            ),
        ]

    def __str__(self):
        return f"{self.business_case.reference} ({self.get_status_display()})"


class ExpiryNotice(models.Model):
    """One row per expiry notice: (grant, days before) is unique, so each goes out once."""

    grant = models.ForeignKey(AccessGrant, on_delete=models.PROTECT, related_name="expiry_notices")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "days_before"], name="expiry_notice_once")
        ]

    def __str__(self):
        return f"{self.days_before}-day notice for {self.grant_id}"


class SafeUseReminder(models.Model):
    """The periodic reminder to review friend lists and privacy settings, and its answer."""

    grant = models.ForeignKey(
        AccessGrant, on_delete=models.PROTECT, related_name="safe_use_reminders"
    )
    period = models.PositiveSmallIntegerField(help_text="1 for the first period, 2 for the next…")
    sent_at = models.DateTimeField(auto_now_add=True)
    confirm_by = models.DateField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "period"], name="safe_use_reminder_once")
        ]
        indexes = [
            # "Safe use not confirmed" reads only unconfirmed reminders: one in ten, and
            # their grants mostly ended. Covering, so the home page reads the index alone.
            models.Index(
                fields=["grant"],
                include=["id", "confirm_by", "period"],
                condition=Q(confirmed_at__isnull=True),
                name="safe_use_unconfirmed_idx",
            ),
        ]

    def __str__(self):
        return f"Safe-use reminder {self.period} for {self.grant_id}"


class ReferenceCounter(models.Model):
    """The last case number used in a year; locked while a reference is given out."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"
