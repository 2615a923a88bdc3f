"""Streaming CSV downloads that are safe to open in a spreadsheet.

Rows are read through a server-side cursor 2,000 at a time, so exporting the whole
register or trail never holds it in memory. A cell a spreadsheet would read as a formula
(starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe
(`neutralised`). The rules for a cell's text and its quoting are defined here once; the
register's export (`register_export`) follows them in SQL as well as in Python.
"""

import csv
import datetime
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

CHUNK_SIZE = 2000
# The first characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
# csv.writer's dialect: a cell holding any of these characters is quoted.
DIALECT = csv.excel
QUOTED_IF_CONTAINS = DIALECT.delimiter + DIALECT.quotechar + DIALECT.lineterminator


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


_ECHO_WRITER = csv.writer(_Echo(), dialect=DIALECT)


def neutralised(text: str) -> str:
    """Text as a cell shows it: a formula gets a leading apostrophe."""
    return "'" + text if text and text[0] in _FORMULA_STARTS else text


def csv_cell(value) -> str:
    """One cell as text: ISO dates, blank for None, and formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).isoformat(timespec="seconds")
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        value = str(value)
    return neutralised(value)


def csv_text(*cells: str) -> str:
    """The cells as csv.writer writes them (quoted where needed), without the line end."""
    # An extra empty cell: a row of one empty cell alone would be written as "".
    return _ECHO_WRITER.writerow([*cells, ""])[: -len(DIALECT.delimiter + DIALECT.lineterminator)]


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    yield _ECHO_WRITER.writerow([csv_cell(name) for name in header])
    for row in rows:
        yield _ECHO_WRITER.writerow([csv_cell(value) for value in row])


def csv_response(
    *,
    filename: str,
    header: list[str] | None = None,
    rows: Iterable[Iterable] | None = None,
    content: Iterable[str] | None = None,
):
    """A streamed CSV download: `header` and `rows` (cells go through `csv_cell`), or
    `content`, CSV text already written (like `register_export.register_csv`)."""
    if content is None:
        content = csv_lines(header or [], rows or [])
    response = StreamingHttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


AUDIT_HEADER = [
    "Event",
    "When",
    "Who",
    "Action",
    "Object type",
    "Object id",
    "Object",
    "Client address",
    "User agent",
    "Changes",
    "Hash",
]


def audit_rows(queryset) -> Iterator[list]:
    for event in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield [
            event.id,
            event.occurred_at,
            event.actor_label,
            event.action,
            event.object_type,
            event.object_id,
            event.object_repr,
            event.client_address,
            event.user_agent,
            event.changes,
            event.hash,
        ]
