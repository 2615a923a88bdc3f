"""Streaming CSV exports that are safe to open in a spreadsheet.

Rows are written one at a time from `.iterator(chunk_size=2000)`, so exporting the whole
register or trail never holds it in memory. A cell a spreadsheet would read as a formula
(starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe.
"""

import csv
import datetime
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier

CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


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
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable]):
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- What each export contains -----------------------------------------------------------

REGISTER_HEADER = [
    "Reference",
    "Holder",
    "Holder email",
    "Organisation",
    "Directorate",
    "Business unit",
    "Sites",
    "Tier",
    "Start date",
    "End date",
    "Approver",
    "Approved on behalf of",
    "Status",
]


# The columns the register export reads: plain values, not model instances, so a chunk of
# 2,000 rows stays small.
_REGISTER_COLUMNS = [
    "pk",
    "business_case__reference",
    "holder__profile__commonly_used_name",
    "holder__first_name",
    "holder__last_name",
    "holder__email",
    "holder__profile__business_unit__directorate__organisation__name",
    "holder__profile__business_unit__directorate__name",
    "holder__profile__business_unit__name",
    "tier",
    "start_date",
    "end_date",
    "approved_by__profile__commonly_used_name",
    "approved_by__first_name",
    "approved_by__last_name",
    "approved_by__email",
    "approved_on_behalf_of__profile__commonly_used_name",
    "approved_on_behalf_of__first_name",
    "approved_on_behalf_of__last_name",
    "approved_on_behalf_of__email",
    "status",
]


def _person(common_name, first, last, email) -> str:
    """The same name `User.display_name` shows."""
    if common_name:
        return common_name
    full = f"{first or ''} {last or ''}".strip()
    return full or email or ""


def _site_names(grant_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    through = AccessGrant.sites.through
    for grant_id, name in (
        through.objects.filter(accessgrant_id__in=grant_ids)
        .order_by("site__name")
        .values_list("accessgrant_id", "site__name")
    ):
        names.setdefault(grant_id, []).append(name)
    return names


def _register_row(values: tuple, sites: dict[int, list[str]]) -> list:
    (
        pk,
        reference,
        holder_name,
        holder_first,
        holder_last,
        holder_email,
        organisation,
        directorate,
        unit,
        tier,
        start,
        end,
        approver_name,
        approver_first,
        approver_last,
        approver_email,
        behalf_name,
        behalf_first,
        behalf_last,
        behalf_email,
        status,
    ) = values
    return [
        reference,
        _person(holder_name, holder_first, holder_last, holder_email),
        holder_email,
        organisation,
        directorate,
        unit,
        "; ".join(sites.get(pk, [])),
        AccessTier(tier).label if tier in AccessTier.values else tier,
        start,
        end,
        _person(approver_name, approver_first, approver_last, approver_email),
        _person(behalf_name, behalf_first, behalf_last, behalf_email),
        AccessGrant.Status(status).label if status in AccessGrant.Status.values else status,
    ]


def register_rows(queryset) -> Iterator[list]:
    """Each grant of the (ordered) queryset as a CSV row, 2,000 at a time: one query for
    the rows (a server-side cursor) and one per chunk for their sites."""
    chunk: list[tuple] = []
    rows = queryset.prefetch_related(None).values_list(*_REGISTER_COLUMNS)
    for values in rows.iterator(chunk_size=CHUNK_SIZE):
        chunk.append(values)
        if len(chunk) == CHUNK_SIZE:
            yield from _register_chunk(chunk)
            chunk = []
    if chunk:
        yield from _register_chunk(chunk)


def _register_chunk(chunk: list[tuple]) -> Iterator[list]:
    sites = _site_names([values[0] for values in chunk])
    for values in chunk:
        yield _register_row(values, sites)


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
