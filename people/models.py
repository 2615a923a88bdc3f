"""The department's structure and its staff.

Organisation (HQ, agency or NDPB) → directorate (with its director) → business unit
(with the cost centre that pays for standalone PCs). Roles are Django groups.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from core.models import TimeStampedModel


class Role(models.TextChoices):
    """Each role is a Django group of the same name, carrying model permissions."""

    STAFF = "staff", "Staff"
    DIRECTOR = "director", "Director"
    # May be named a director's deputy, and then decides cases on their behalf.
    DEPUTY = "deputy", "Deputy director"
    ADMIN = "admin", "Admin"
    AUDITOR = "auditor", "Auditor (read only)"
    ICT = "ict", "ICT provisioning"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Enter an email address")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


def display_name_of(common_name: str | None, first: str | None, last: str | None, email) -> str:
    """How a person is named on every page (`User.display_name`), from plain column values:
    their commonly used name, else their full name, else their email address."""
    if common_name:
        return common_name
    return f"{first or ''} {last or ''}".strip() or (email or "")


class User(AbstractUser):
    """A person who signs in with their email address."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            # Bob@x and bob@x are one person: sign-in and the import compare without case.
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ignoring_case")
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        profile = getattr(self, "profile", None)
        return display_name_of(
            profile.commonly_used_name if profile is not None else None,
            self.first_name,
            self.last_name,
            self.email,
        )

    def has_role(self, role: str) -> bool:
        # Uses the prefetch cache when groups were prefetched.
        return any(group.name == role for group in self.groups.all())


class Organisation(TimeStampedModel):
    class Kind(models.TextChoices):
        HEADQUARTERS = "hq", "Headquarters"
        AGENCY = "agency", "Agency"
        NDPB = "ndpb", "Non-departmental public body"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HEADQUARTERS)
    fallback_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fallback_for_organisations",
        help_text="Decides cases a directorate's director cannot. Empty: the admins decide.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Directorate(TimeStampedModel):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="directorates"
    )
    name = models.CharField(max_length=200)
    director = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directorates_led",
    )

    class Meta:
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="directorate_unique_name_per_organisation"
            )
        ]

    def __str__(self):
        return self.name


class BusinessUnit(TimeStampedModel):
    directorate = models.ForeignKey(
        Directorate, on_delete=models.PROTECT, related_name="business_units"
    )
    name = models.CharField(max_length=200)
    cost_centre = models.CharField(max_length=20, unique=True)
    # The person who agrees to the cost of an active-tier grant this unit pays for (the
    # staff directory's `budget_holder` column); none: the director's approval covers it.
    budget_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="business_units_budget_held",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["directorate", "name"], name="business_unit_unique_name_per_directorate"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.cost_centre})"


class StaffProfile(TimeStampedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    commonly_used_name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200, blank=True)
    # Indexed by `profile_unit_user_idx` below, which also holds the person.
    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.PROTECT, related_name="staff_profiles", db_index=False
    )

    class Meta:
        ordering = ["commonly_used_name"]
        indexes = [
            # A directorate's or a unit's people, read from the index alone: the
            # directorate's access page and the register's unit and directorate filters find
            # grants by these holders' ids instead of joining every grant to its holder.
            models.Index(fields=["business_unit"], include=["user"], name="profile_unit_user_idx"),
        ]

    def __str__(self):
        return self.commonly_used_name

    @property
    def directorate(self) -> Directorate:
        return self.business_unit.directorate


class PersonSearchText(models.Model):
    """A person's email and commonly used name as one text (a line each), which the
    register's holder search reads: one trigram index, one query, each person once.

    PostgreSQL keeps it with triggers on the user and profile tables (people migrations
    0003 and 0006: one set-based upsert per INSERT statement, a row trigger per update or
    deletion), whoever writes them: the portal, the admin, `import_staff` or a bulk load. On
    SQLite (`make run`'s demo database) it stays empty and the search reads both tables.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="search_text",
    )
    text = models.TextField()

    class Meta:
        verbose_name = "search text"  # as the admin lists it when a person is deleted
        indexes = [
            # A common name's register page checks each grant's holder here, thousands of
            # times (`register_prepared`): from the index alone, without reading the row.
            models.Index(fields=["user"], include=["text"], name="person_search_text_holder_idx")
        ]

    def __str__(self):
        return self.text


class RequestTally(models.Model):
    """How many requests of one kind one key made in the current window (the password-link
    page's limits per client address and per email).

    Kept in the database, not Django's cache: the cache is per process (no CACHES is
    configured), so each web worker would count alone and the limit would be multiplied by
    the number of workers. The key is a keyed hash, so the table holds no address.
    """

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="request_tally_one_per_key")
        ]

    def __str__(self):
        return f"{self.kind}: {self.count}"
