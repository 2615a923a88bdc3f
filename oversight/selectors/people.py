"""People read by id, as the oversight pages and the register export name them: the
rows they appear in carry ids, and the few people on a page (or in a chunk of an export)
are read in one small query instead of being joined on every row."""

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from core.lookups import ids_any
from core.prepared import PreparedQuery
from people.models import User, display_name_of


@dataclass(frozen=True)
class PersonOnPage:
    name: str
    business_unit: str
    directorate: str
    email: str = ""


NOBODY = PersonOnPage(name="", business_unit="", directorate="")


def _people(ids: list[int]):
    return User.objects.filter(ids_any(User, "id", ids)).values_list(
        "id",
        "first_name",
        "last_name",
        "email",
        "profile__commonly_used_name",
        "profile__business_unit__name",
        "profile__business_unit__directorate__name",
    )


# Read for every page of the register, its API and the directorate page: built once per
# process and planned once per connection (`core.prepared`), the ids as one array.
_PEOPLE = PreparedQuery("people_on_page", _people, ids=[-(2**62) + 53])


def people_on_page(ids: set[int]) -> dict[int, PersonOnPage]:
    """Each person's name, business unit and directorate, by id, in one query."""
    if not ids:
        return {}
    return {
        pk: PersonOnPage(
            name=display_name_of(common_name, first_name, last_name, email),
            business_unit=unit_name or "",
            directorate=directorate_name or "",
            email=email,
        )
        for pk, first_name, last_name, email, common_name, unit_name, directorate_name in (
            _PEOPLE.run(ids=list(ids))
        )
    }


def display_names(ids: set[int], *, using: str = DEFAULT_DB_ALIAS) -> dict[int, str]:
    """Each person's name (`display_name_of`), by id, in one query."""
    found = (
        User.objects.using(using)
        .filter(pk__in=ids)
        .values_list("pk", "profile__commonly_used_name", "first_name", "last_name", "email")
    )
    return {
        pk: display_name_of(common_name, first, last, email)
        for pk, common_name, first, last, email in found
    }
