"""Writing a staff directory file from the people in the test database."""

from pathlib import Path

from django.core.management import call_command

from people.models import User
from people.staff_csv import STAFF_CSV_COLUMNS

HEADER = ",".join(STAFF_CSV_COLUMNS) + "\n"


def row_of(user: User, **overrides) -> str:
    profile = user.profile
    unit = profile.business_unit
    directorate = unit.directorate
    values = {
        "email": user.email,
        "name": profile.commonly_used_name,
        "job_title": profile.job_title,
        "organisation": directorate.organisation.name,
        "directorate": directorate.name,
        "business_unit": unit.name,
        "cost_centre": unit.cost_centre,
        "role": sorted(group.name for group in user.groups.all())[0],
        **overrides,
    }
    return ",".join(values[column] for column in STAFF_CSV_COLUMNS) + "\n"


def directory_file(
    tmp_path: Path, *, without=(), changes: dict | None = None, extra: str = ""
) -> Path:
    """Everyone active with a profile (superusers aside), as the HR extract would list
    them, less `without`, with `changes` ({user: {column: value}}) and `extra` rows."""
    changes = {user.pk: values for user, values in (changes or {}).items()}
    left = {user.pk for user in without}
    people = (
        User.objects.filter(is_active=True, is_superuser=False, profile__isnull=False)
        .exclude(pk__in=left)
        .select_related("profile__business_unit__directorate__organisation")
        .prefetch_related("groups")
        .order_by("pk")
    )
    text = HEADER + "".join(row_of(user, **changes.get(user.pk, {})) for user in people) + extra
    path = tmp_path / "directory.csv"
    path.write_text(text, encoding="utf-8")
    return path


def import_staff(path: Path, *args, capsys=None) -> str:
    call_command("import_staff", str(path), *args)
    return capsys.readouterr().out if capsys is not None else ""
