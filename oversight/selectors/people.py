"""People read by id, as the oversight pages and the register export name them: the
rows they appear in carry ids, and the few people on a page (or in a chunk of an export)
are read in one small query instead of being joined on every row."""

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS
from django.db.models import F

from people.models import User, display_name_of


@dataclass(frozen=True)
class PersonOnPage:
    name: str
    business_unit: str
    directorate: str
    email: str = ""


NOBODY = PersonOnPage(name="", business_unit="", directorate="")


def people_on_page(ids: set[int]) -> dict[int, PersonOnPage]:
    """Each person's name, business unit and directorate, by id, in one query."""
    people = User.objects.filter(pk__in=ids).values(
        "id",
        "first_name",
        "last_name",
        "email",
        common_name=F("profile__commonly_used_name"),
        unit_name=F("profile__business_unit__name"),
        directorate_name=F("profile__business_unit__directorate__name"),
    )
    return {
        p["id"]: PersonOnPage(
            name=display_name_of(p["common_name"], p["first_name"], p["last_name"], p["email"]),
            business_unit=p["unit_name"] or "",
            directorate=p["directorate_name"] or "",
            email=p["email"],
        )
        for p in people
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
