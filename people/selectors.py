"""Read queries about people."""

from dataclasses import dataclass

from django.db.models import QuerySet

from core.prepared import PreparedQuery

from .models import User, display_name_of


def people_for_password_link(*, email: str) -> QuerySet[User]:
    """Who may be sent a "create or reset your password" link for this address: the active
    person with it, whether or not they have a password yet.

    Django's `PasswordResetForm.get_users` leaves out people whose password is unusable,
    which is everyone `import_staff` created: they have never had a password, and this link
    is how they get their first one. People switched off (`is_active` false) get nothing.
    """
    return User.objects.filter(email__iexact=email.strip(), is_active=True)


@dataclass(frozen=True)
class PersonOnHome:
    """What the home page says of the person themselves: their name and the business units
    whose standalone PCs' cost they agree to, A to Z."""

    name: str
    budget_held: list[str]


def _person_on_home(person_id: int):
    return (
        User.objects.filter(pk=person_id)
        .order_by("business_units_budget_held__name")
        .values_list("profile__commonly_used_name", "business_units_budget_held__name")
    )


# Read on every home page: built once per process and planned once per connection
# (`core.prepared`), the name and the units held in one query rather than the profile and
# the units each read on their own.
_PERSON_ON_HOME = PreparedQuery("person_on_home", _person_on_home, person_id=-(2**62) + 83)


def person_on_home(*, user: User) -> PersonOnHome:
    """The person's name (`User.display_name`) and the units whose budget they hold: one
    query, a row for each unit (one without a unit when they hold none)."""
    rows = _PERSON_ON_HOME.run(person_id=user.pk)
    common_name = rows[0][0] if rows else None
    return PersonOnHome(
        name=display_name_of(common_name, user.first_name, user.last_name, user.email),
        budget_held=[unit for _, unit in rows if unit is not None],
    )
