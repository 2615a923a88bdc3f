"""Service tokens: how another system (a SIEM, an HR system) reads the register and the audit
trail through the read API (`/api/v1/`), without a person's session.

A token is `sns_` and 43 random URL-safe characters (`secrets.token_urlsafe(32)`), shown once
when an admin creates it; only its SHA-256 is stored, and a request's token is looked up by
that hash. Each token has scopes (space-separated, as OAuth 2 writes them), an owner who
answers for its use, and an expiry at most a year away; revoking it is final.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.models import TimeStampedModel


class Scope(models.TextChoices):
    REGISTER_READ = "register:read", "Read the register: grants and business cases"
    CASE_REASONS = (
        "cases:reasons",
        "Read business cases' free text: the business need and people's reasons",
    )
    AUDIT_READ = "audit:read", "Read the audit trail and its feed"


class ServiceToken(TimeStampedModel):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_tokens_owned"
    )
    # The scopes granted, separated by spaces ("register:read audit:read").
    scope = models.CharField(max_length=200)
    # SHA-256 (hex) of the whole token, prefix included.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the token ("sns_AbCd"), to tell tokens apart on the list.
    token_hint = models.CharField(max_length=12, editable=False)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_tokens_created",
        editable=False,
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_tokens_revoked",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    # The rate limit's fixed window: when the current minute began and the requests in it.
    window_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    window_requests = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="service_token_expires_later"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="service_token_revoked_by_someone",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.token_hint}…)"

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def scope_labels(self) -> list[str]:
        return [label for value, label in Scope.choices if value in self.scopes]
