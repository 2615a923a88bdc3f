"""Reading the staff directory's CSV: each row parsed and checked, a bad one named by its
line (`StaffImportError`). What the rows change is `people.directory`'s."""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .models import Role

STAFF_CSV_COLUMNS = [
    "email",
    "name",
    "job_title",
    "organisation",
    "directorate",
    "business_unit",
    "cost_centre",
    "role",
]
FIELD_LIMITS = {
    "email": 254,
    "name": 200,
    "job_title": 200,
    "organisation": 200,
    "directorate": 200,
    "business_unit": 200,
    "cost_centre": 20,
}


# Optional: "yes" marks the person who agrees to the cost of what their business unit pays for.
BUDGET_HOLDER_COLUMN = "budget_holder"
YES_NO = {"yes": True, "y": True, "no": False, "n": False, "": False}


class StaffImportError(Exception):
    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class StaffRow:
    line: int
    email: str
    name: str
    job_title: str
    organisation: str
    directorate: str
    business_unit: str
    cost_centre: str
    role: str
    budget_holder: bool = False


def staff_rows_read(lines: Iterable[str]) -> Iterator[StaffRow]:
    """Parse and check each CSV row; raise StaffImportError naming the file's line."""
    # A plain reader, not DictReader: a dict a row is a noticeable part of reading 50,000.
    reader = csv.reader(lines)
    # "Job title", "job-title" and "JOB_TITLE" all name the column job_title.
    header = [
        "_".join(name.strip().lower().replace("-", " ").split())
        for name in (_csv_read(lambda: next(reader, None), 0) or [])
    ]
    missing = [column for column in STAFF_CSV_COLUMNS if column not in header]
    if missing:
        raise StaffImportError(1, f"the header is missing the column(s): {', '.join(missing)}")
    # Each column's place (a column named twice: the last one, as a dict of the row would).
    places = {name: place for place, name in enumerate(header) if name in STAFF_CSV_COLUMNS}
    holder_place = max(
        (place for place, name in enumerate(header) if name == BUDGET_HOLDER_COLUMN), default=None
    )
    roles = {choice.value for choice in Role}
    line = reader.line_num
    while (raw := _csv_read(lambda: next(reader, None), line)) is not None:
        line = reader.line_num
        if not raw:
            continue  # a blank line
        width = len(raw)
        values = {
            name: raw[place].strip() if place < width else "" for name, place in places.items()
        }
        # One search of the whole row; the columns one by one only to name the culprit.
        clean = _UNWANTED_CHARACTER.search("".join(values.values())) is None
        for name in STAFF_CSV_COLUMNS:
            if name != "job_title" and not values[name]:
                raise StaffImportError(line, f"{name} is empty")
            if not clean and (unwanted := _control_character(values[name])):
                raise StaffImportError(line, f"{name} contains the control character {unwanted}")
        for name, limit in FIELD_LIMITS.items():
            if len(values[name]) > limit:
                raise StaffImportError(line, f"{name} is longer than {limit} characters")
        try:
            validate_email(values["email"])
        except ValidationError:
            raise StaffImportError(line, f"'{values['email']}' is not an email address") from None
        holder = (
            raw[holder_place].strip().lower()
            if holder_place is not None and holder_place < width
            else ""
        )
        if holder not in YES_NO:
            raise StaffImportError(line, f"budget_holder '{holder}' is not yes or no")
        role = values["role"].lower()
        if role not in roles:
            raise StaffImportError(
                line, f"role '{values['role']}' is not one of {', '.join(sorted(roles))}"
            )
        yield StaffRow(
            line=line,
            **{**values, "email": values["email"].lower(), "role": role},
            budget_holder=YES_NO[holder],
        )


# Control characters (NUL, line breaks, tabs…: Unicode's category Cc, which is exactly
# U+0000–U+001F and U+007F–U+009F) and the invisible characters that reverse or embed text
# direction (U+202A–U+202E, U+2066–U+2069): in a name, job title, unit or cost centre they
# only break email subjects, CSV cells and pages, as the web forms refuse NUL. One regular
# expression finds them: a file of 50,000 rows has 400,000 values to check.
_UNWANTED_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _control_character(value: str) -> str | None:
    """The first unwanted character in `value`, as U+XXXX, or None."""
    found = _UNWANTED_CHARACTER.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def _csv_read(read, after_line: int):
    """`read()` from the CSV reader; a row the csv module cannot read (a field over its size
    limit, a stray quote in strict mode) is a bad row like any other, named by the line it
    starts on: the one after the last row read (the reader's own count has moved on into
    the row by then)."""
    try:
        return read()
    except csv.Error as error:
        raise StaffImportError(after_line + 1, f"the row cannot be read as CSV ({error})") from None
